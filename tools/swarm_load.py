"""Load for tools/swarm_check.sh: jobs sent through the bot's fleet from inside the bot's task.

Run in the bot's container (`docker exec -i BOT python - ARGS < tools/swarm_load.py`), where
tasks.runner resolves to every runner task. Modes:
- `members`: the runners the fleet finds, one line each with its level;
- `load N SECONDS`: N jobs at once (each sleeps SECONDS and prints its own id), each as its own
  user; prints KILL once every job was taken (the check then kills a runner), and at the end
  one line per job outcome and a summary: `SUMMARY ok=… lost=… other=… runners=… seconds=…`.
Each job's id is printed by the job: an id answered twice, or an answer with another id, is
counted as `other`.
"""

from __future__ import annotations

import asyncio
import collections
import secrets
import sys
import time

from bot.runfleet import RUNNER_LOST, Fleet
from bot.runner.protocol import RunRequest

URL = "tcp://tasks.runner:8765"


def fleet() -> Fleet:
    """Return the bot's fleet over every runner task, with the stack's runner token."""
    with open("/run/secrets/STUDYBOT_RUNNER_TOKEN") as f:
        return Fleet(URL, f.read().strip())


async def members() -> None:
    """Print each runner the fleet finds, and its sandbox level."""
    runners = fleet()
    await runners.info()
    for member in runners.members:
        level = member.info.level if member.info else "no answer"
        print("MEMBER", member.url, level, flush=True)


async def load(jobs: int, seconds: float) -> None:
    """Send `jobs` sleeping jobs at once; say KILL once all were taken; count the outcomes."""
    runners = fleet()
    await runners.info()
    ids = [secrets.token_hex(6) for _ in range(jobs)]
    code = "import time\ntime.sleep({s})\nprint('JOB', {i!r})"
    started = time.monotonic()
    tasks = [
        asyncio.ensure_future(
            runners.run(RunRequest(code.format(s=seconds, i=i), f"swarm-{i}", "cpu"))
        )
        for i in ids
    ]

    # The fleet's counters say when every job was taken; nothing signals it.
    def taken() -> bool:
        return sum(m.in_flight for m in runners.members) >= jobs or all(t.done() for t in tasks)

    while not taken():  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    print("KILL", flush=True)
    results = await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    outcomes: collections.Counter[str] = collections.Counter()
    for job_id, result in zip(ids, results, strict=True):
        if result.status == "ok" and result.stdout == f"JOB {job_id}\n":
            outcomes["ok"] += 1
        elif result.status == "crashed" and result.reason == RUNNER_LOST:
            outcomes["lost"] += 1
        else:
            outcomes["other"] += 1
            print("OTHER", job_id, result.status, result.reason, result.stdout[:80], flush=True)
    print(
        f"SUMMARY ok={outcomes['ok']} lost={outcomes['lost']} other={outcomes['other']} "
        f"runners={len(runners.stats.jobs)} failovers={runners.stats.failovers} "
        f"seconds={elapsed:.2f}",
        flush=True,
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["members"]:
        asyncio.run(members())
    else:
        asyncio.run(load(int(sys.argv[2]), float(sys.argv[3])))

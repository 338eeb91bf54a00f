"""Measure exercise grading end to end through the bot, against a plain /run of the same work.

Starts a local runner (its own socket in a temporary directory) and the real Telegram
application on the fake Bot API of the tests (loopback only). For every exercise in
content/exercises it opens the exercise and times N `/submit`s of the reference solution,
from the update to the verdict's sendMessage: graph exercises run the reference (on freshly
drawn cases) beside the trace of the code, then the graphs in a third job; values exercises
run the reference, then the code; then the comparison in the bot. The baseline, measured in
the same run: N `/run`s of one program drawing the cases and running the reference on them
(one job, update to reply). Prints p50/p95 of
each across all exercises, per exercise, and the ratio. Target: p95 under 1 s.
STUDYBOT_RUN_* variables set the runner's limits (STUDYBOT_RUN_POOL_SIZE=4, say). Needs root,
as the runner's sandbox does.
Usage (from the repository root): python bench/exercises.py [--runs 5] [--content DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("PTB_TIMEDELTA", "true")

from bench.benchlib import percentile  # noqa: E402
from bot.adapters.telegram.app import (  # noqa: E402
    build_application,
    start_application,
    stop_application,
)
from bot.app import open_core  # noqa: E402
from bot.config import CONTENT_DIR, Settings  # noqa: E402
from bot.exercises.grading import case_seeds  # noqa: E402
from bot.exercises.loader import load_exercises  # noqa: E402
from bot.exercises.programs import reference_program  # noqa: E402
from bot.runclient import LocalRunner  # noqa: E402
from bot.services.runs import RunService  # noqa: E402
from tests.fakebotapi import FakeBotAPI  # noqa: E402

TOKEN = "987654321:AAH-fake-token-for-the-exercise-benchmark"  # noqa: S105 - fake


async def measure(
    runs: int, folder: Path, content: Path
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Return per exercise the /submit times and the plain /run times, in ms."""
    settings = Settings.model_validate(
        {
            "STUDYBOT_DATABASE": str(folder / "bot.db"),
            "STUDYBOT_RUNNER_SOCKET": str(folder / "runner.sock"),
            "STUDYBOT_RUN_RATE_PER_MINUTE": 100000,
            "STUDYBOT_LOG_LEVEL": "WARNING",
            **{k: v for k, v in os.environ.items() if k.startswith("STUDYBOT_RUN_")},
        }
    )
    bank = load_exercises(content)
    graded: dict[str, list[float]] = {}
    plain: dict[str, list[float]] = {}
    async with (
        LocalRunner(settings) as client,
        FakeBotAPI(token=TOKEN) as fake,
        open_core(settings, exercises=bank) as core,
    ):
        app = build_application(core, TOKEN, fake.base_url, RunService(client, frozenset()))
        await start_application(app, poll_timeout=1)
        user = 60_000_000

        async def timed(text: str, expect: str) -> float:
            await asyncio.sleep(0.05)  # let the pool refill, as between real users' requests
            since = fake.mark()
            start = time.perf_counter()
            fake.send_message(user, user, text)
            reply = await fake.wait_for_call("sendMessage", chat_id=user, since=since, timeout=60)
            elapsed = (time.perf_counter() - start) * 1000
            if expect not in str(reply.params.get("text")):
                raise SystemExit(f"{text.splitlines()[0]} failed: {reply.params.get('text')}")
            return elapsed

        try:
            for i, exercise in enumerate(bank.exercises):
                user = 60_000_000 + i  # a user each: a fresh rate-limit window
                await timed(f"/exercise {exercise.id}", exercise.id)
                program = reference_program(exercise, 0, case_seeds(0))
                submit = f"/submit\n```python\n{exercise.reference}```"
                await timed(submit, "Solved")  # warm-up
                graded[exercise.id] = [await timed(submit, "Solved") for _ in range(runs)]
                plain[exercise.id] = [
                    await timed(f"/run cpu\n{program}", "OK") for _ in range(runs)
                ]
        finally:
            await stop_application(app)
    return graded, plain


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="submissions per exercise")
    parser.add_argument(
        "--content", type=Path, default=CONTENT_DIR, help="a content folder with exercises/"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studybot-bench-") as tmp:
        graded, plain = asyncio.run(measure(args.runs, Path(tmp), args.content))
    every = [t for times in graded.values() for t in times]
    baseline = [t for times in plain.values() for t in times]
    for exercise_id, times in graded.items():
        print(
            f"{exercise_id:24} /submit p50 {statistics.median(times):6.0f} ms"
            f" · plain /run p50 {statistics.median(plain[exercise_id]):6.0f} ms"
        )
    p50, p95 = statistics.median(every), percentile(every, 95)
    b50, b95 = statistics.median(baseline), percentile(baseline, 95)
    print(
        f"/submit end to end, {len(graded)} exercises x {args.runs}: "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (target p95 < 1000 ms)"
    )
    print(
        "baseline, plain /run of the reference's grading program: "
        f"p50 {b50:.0f} ms, p95 {b95:.0f} ms"
    )
    print(f"ratio /submit / plain /run: p50 {p50 / b50:.2f}x, p95 {p95 / b95:.2f}x")
    return 0 if p95 < 1000 else 1


if __name__ == "__main__":
    raise SystemExit(main())

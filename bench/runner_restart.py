"""Measure a SIGKILLed runner's restart: from the new start to its first /run answer.

Starts `python -m bot.runner` (its own socket in a temporary directory) N times in a row
(default 5): the first start is the baseline (a clean host), each later one follows a SIGKILL
of the previous runner mid-job, so the new one must first sweep what the dead one left (its
cgroups). Prints the seconds from start to the first answer of `print(6 * 7)`, the median of
the restarts against the baseline, and the runner cgroups left at the end (0 expected), plus
the seconds from SIGTERM to exit of the last runner. Needs root, as the runner's sandbox does.
Usage (from the repository root): python bench/runner_restart.py [--restarts 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchlib import runner_env  # noqa: E402
from bot.runclient import RunnerClient  # noqa: E402
from bot.runner.jail.cgroup_v2 import own_v2_cgroup  # noqa: E402
from bot.runner.jail.cgroups import own_cgroup  # noqa: E402
from bot.runner.protocol import RunRequest  # noqa: E402
from bot.runner.sandbox import CGROUP_PREFIX  # noqa: E402


def runner_cgroups() -> int:
    """Count runner cgroups (bases and job cgroups) below this process's own."""
    parents = {p for p in (own_cgroup("memory"), own_v2_cgroup()) if p is not None}
    return sum(
        1 + sum(len(names) for _, names, _ in os.walk(base))
        for parent in parents
        for base in parent.glob(CGROUP_PREFIX + "*")
    )


def start(socket_path: Path, log: Path) -> subprocess.Popen[bytes]:
    socket_path.unlink(missing_ok=True)
    with open(log, "ab") as f:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.runner"],
            env=runner_env(socket_path),
            stdout=f,
            stderr=subprocess.STDOUT,
        )


async def first_answer(url: str, proc: subprocess.Popen[bytes]) -> float:
    """Return the seconds from now until the runner answers a /run correctly."""
    began = time.monotonic()
    client = RunnerClient(url)
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the runner exited with {proc.returncode}")
        result = await client.run(RunRequest("print(6 * 7)", "bench:restart", "cpu"))
        if result.status == "ok" and result.stdout == "42\n":
            return time.monotonic() - began
        await asyncio.sleep(0.05)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studybot-bench-") as folder:
        sock, log = Path(folder) / "runner.sock", Path(folder) / "runner.log"
        url = f"unix:{sock}"
        before = runner_cgroups()
        times: list[float] = []
        proc = start(sock, log)
        times.append(await first_answer(url, proc))
        for _ in range(args.restarts):
            # SIGKILL in the middle of a job: nothing of the runner's own shutdown runs.
            job = asyncio.create_task(
                RunnerClient(url).run(RunRequest("import time; time.sleep(30)", "b:k", "cpu"))
            )
            await asyncio.sleep(0.5)
            proc.kill()
            proc.wait()
            await job
            proc = start(sock, log)
            times.append(await first_answer(url, proc))
        live = runner_cgroups()
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait()
        stop_s = time.monotonic() - sent
        after = runner_cgroups()
    baseline, restarts = times[0], times[1:]
    print(f"first start to first answer (baseline): {baseline:.2f} s")
    print("after a SIGKILL, restart to first answer: " + ", ".join(f"{t:.2f}" for t in restarts))
    median = statistics.median(restarts)
    print(f"median restart {median:.2f} s: {median / baseline:.2f}x the baseline")
    print(f"runner cgroups: {before} before, {live} with the last runner up, {after} after it")
    print(f"SIGTERM to exit of the last runner: {stop_s:.2f} s")


if __name__ == "__main__":
    asyncio.run(main())

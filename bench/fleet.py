"""Measure /run over 1, 2 and 3 runners behind one STUDYBOT_RUNNER_URL, and a runner's failover.

Starts three `python -m bot.runner` processes on loopback TCP (each its own uid range, one
worker lane each) and sends N jobs at once through `bot.runfleet.Fleet` over the first 1, 2
and 3 of them: sleep-bound jobs (0.5 s of `time.sleep`: the dispatch's scaling) and CPU-bound
ones (0.5 s of busy loop: bounded by this machine's cores). Prints jobs per second and p95
latency for each, against the single-runner figure of the same run; then the failover time:
a runner SIGKILLed, the time until the next job (sent at once) is answered by another.
Needs root, as the runner's sandbox does.
Usage (from the repository root): python bench/fleet.py [--jobs 12]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchlib import runner_env  # noqa: E402
from bot.runclient import RunnerClient, RunnerUnavailable  # noqa: E402
from bot.runfleet import Fleet  # noqa: E402
from bot.runner.protocol import RunRequest  # noqa: E402

SLEEP = "import time; time.sleep(0.5); print('ok')"
BUSY = (
    "import time\nend = time.perf_counter() + 0.5\n"
    "while time.perf_counter() < end: pass\nprint('ok')"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start(folder: Path, first_uid: int) -> tuple[str, asyncio.subprocess.Process]:
    url = f"tcp://127.0.0.1:{free_port()}"
    env = runner_env(
        folder / "unused.sock",
        STUDYBOT_RUNNER_LISTEN=url,
        STUDYBOT_RUN_POOL_SIZE="1",
        STUDYBOT_RUN_CPU_CONCURRENCY="1",
        STUDYBOT_RUN_UID_RANGE=f"{first_uid}-{first_uid + 99}",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.runner", env=env, cwd=folder
    )
    client = RunnerClient(url)
    while True:
        try:
            await client.info()
            return url, proc
        except RunnerUnavailable:
            if proc.returncode is not None:
                raise SystemExit(f"a runner exited with {proc.returncode}") from None
            await asyncio.sleep(0.2)


async def burst(fleet: Fleet, code: str, jobs: int) -> tuple[float, float]:
    """Send `jobs` jobs at once; return jobs per second and the p95 latency in seconds."""
    await fleet.refresh(force=True)

    async def one(n: int) -> float:
        began = time.perf_counter()
        result = await fleet.run(RunRequest(code, f"user-{n}", device="cpu"))
        assert result.status == "ok", result
        return time.perf_counter() - began

    began = time.perf_counter()
    latencies = await asyncio.gather(*(one(n) for n in range(jobs)))
    wall = time.perf_counter() - began
    return jobs / wall, statistics.quantiles(latencies, n=20)[-1]


async def main(jobs: int) -> None:
    base = 3_000_000 + secrets.randbelow(10_000) * 1000
    with tempfile.TemporaryDirectory(prefix="studybot-fleet-") as tmp:
        runners = [await start(Path(tmp), base + i * 100) for i in range(3)]
        urls = [url for url, _ in runners]
        try:
            for name, code in (("sleep-bound", SLEEP), ("CPU-bound", BUSY)):
                first = None
                for n in (1, 2, 3):
                    rate, p95 = await burst(Fleet(",".join(urls[:n])), code, jobs)
                    first = first or rate
                    print(
                        f"{name}: {n} runner(s): {rate:.2f} jobs/s (x{rate / first:.2f} of one), "
                        f"p95 {p95:.2f} s"
                    )
            fleet = Fleet(",".join(urls))
            await fleet.refresh(force=True)
            runners[0][1].kill()
            await runners[0][1].wait()
            began = time.perf_counter()
            result = await fleet.run(RunRequest("print('after')", "user-x", device="cpu"))
            took = time.perf_counter() - began
            print(
                f"failover: a job sent right after a runner died answered in {took * 1000:.0f} ms "
                f"({result.status}; failovers counted: {fleet.stats.failovers})"
            )
        finally:
            for _, proc in runners:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=12)
    asyncio.run(main(parser.parse_args().jobs))

"""Measure /bench end to end against /run of the same code, and the noise of its timings.

Starts a runner (its own socket in a temporary directory) and the real Telegram application
against the fake Bot API of the tests (loopback only). Then:
(a) N rounds, alternating, of `/bench` with two trivial snippets and `/run` of the same two
    lines, each timed from the update to the reply's sendMessage; prints p50/p95 of each and
    the ratio bench/run (what the harness costs: torch.utils.benchmark's import, the checked
    runs, calibration and the timing budget);
(b) R repeated `/bench` of the same snippet, for each of a trivial and a matrix-multiply
    snippet; prints the medians read from the answers' tables and their coefficient of
    variation (standard deviation / mean).
Needs root, as the runner's sandbox does.
Usage (from the repository root): python bench/bench_cmd.py [--rounds 10] [--repeats 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("PTB_TIMEDELTA", "true")

from bench.benchlib import percentile, runner_env  # noqa: E402
from bot.adapters.telegram.app import (  # noqa: E402
    build_application,
    start_application,
    stop_application,
)
from bot.app import open_core  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.runclient import RunnerClient  # noqa: E402
from bot.services.runs import RunService  # noqa: E402
from tests.fakebotapi import FakeBotAPI  # noqa: E402

TOKEN = "987654321:AAH-fake-token-for-the-bench-benchmark"  # noqa: S105 - fake
A, B = "torch.ones(8) + 1", "torch.ones(8) * 2"
NOISY = {"trivial": "torch.ones(8) + 1", "matmul": "torch.ones(128, 128) @ torch.ones(128, 128)"}
UNITS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}
ROW = re.compile(r"^(\S+)\s+([\d.]+) (s|ms|µs|ns)\s+([\d.]+) (?:s|ms|µs|ns)\s+([\d,]+)$", re.M)


def fenced(*codes: str) -> str:
    return "\n".join(f"```python\n{code}\n```" for code in codes)


def medians(text: str) -> list[float]:
    """Return the medians of an answer's table (Telegram HTML), in seconds."""
    table = re.search(r"<pre>(.*?)</pre>", text, re.DOTALL)
    rows = ROW.finditer(table.group(1)) if table else iter(())
    return [float(m.group(2)) * UNITS[m.group(3)] for m in rows]


class Bot:
    """The Telegram application on a fake Bot API, sending as a new user each time."""

    def __init__(self, fake: FakeBotAPI) -> None:
        self.fake = fake
        self.user = 60_000_000

    async def ask(self, text: str, expect: str) -> tuple[float, str]:
        """Send a message; return the ms until the reply and the reply's text."""
        await asyncio.sleep(0.05)  # let the pool refill, as between real users' requests
        self.user += 1  # one user each: the runner's rate limit and "busy" are per user
        since = self.fake.mark()
        start = time.perf_counter()
        self.fake.send_message(self.user, self.user, text)
        reply = await self.fake.wait_for_call(
            "sendMessage", chat_id=self.user, since=since, timeout=60
        )
        ms = (time.perf_counter() - start) * 1000
        answer = str(reply.params.get("text"))
        if expect not in answer:
            raise SystemExit(f"unexpected answer to {text!r}: {answer}")
        return ms, answer


async def measure(url: str, folder: Path, rounds: int, repeats: int) -> dict[str, list[float]]:
    settings = Settings.model_validate(
        {"STUDYBOT_DATABASE": str(folder / "bot.db"), "STUDYBOT_LOG_LEVEL": "WARNING"}
    )
    found: dict[str, list[float]] = {"bench": [], "run": []}
    async with FakeBotAPI(token=TOKEN) as fake, open_core(settings) as core:
        runs = RunService(RunnerClient(url), frozenset(), bench_budget_s=settings.bench_budget)
        found["budget"] = [runs.bench_budget_s]
        app = build_application(core, TOKEN, fake.base_url, runs)
        await start_application(app, poll_timeout=1)
        bot = Bot(fake)
        try:
            for _ in range(2):  # warm-up: the bot's first updates, the runner's pool
                await bot.ask("/run " + fenced(A, B), "OK")
                await bot.ask("/bench " + fenced(A, B), "Benchmark")
            for _ in range(rounds):
                found["bench"].append((await bot.ask("/bench " + fenced(A, B), "Benchmark"))[0])
                found["run"].append((await bot.ask("/run " + fenced(A, B), "OK"))[0])
            for name, code in NOISY.items():
                for _ in range(repeats):
                    _ms, answer = await bot.ask("/bench " + fenced(code), "Benchmark")
                    found[name] = [*found.get(name, []), *medians(answer)]
        finally:
            await stop_application(app)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studybot-bench-") as tmp:
        socket_path = Path(tmp) / "runner.sock"
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.runner"], env=runner_env(socket_path), cwd=tmp
        )
        try:
            for _ in range(600):
                if socket_path.exists():
                    break
                time.sleep(0.1)
            found = asyncio.run(
                measure(f"unix:{socket_path}", Path(tmp), args.rounds, args.repeats)
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    bench, run = found["bench"], found["run"]
    print(f"/bench budget {found['budget'][0]:g} s; snippets {A!r} and {B!r}")
    for name, times in (("/bench", bench), ("/run of the same code", run)):
        print(
            f"{name} through the bot (update to reply), {len(times)} runs: "
            f"p50 {statistics.median(times):.0f} ms, p95 {percentile(times, 95):.0f} ms"
        )
    print(f"ratio /bench / /run p50: {statistics.median(bench) / statistics.median(run):.1f}x")
    for name, code in NOISY.items():
        values = found[name]
        cov = statistics.stdev(values) / statistics.mean(values)
        shown = ", ".join(f"{v * 1e6:.3g}" for v in values)
        print(f"noise, {len(values)} × /bench of {code!r}: medians (µs) {shown}")
        print(
            f"  mean {statistics.mean(values) * 1e6:.3g} µs, stdev "
            f"{statistics.stdev(values) * 1e6:.3g} µs, coefficient of variation {cov:.1%}, "
            f"max/min {max(values) / min(values):.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Measure /run latency end to end through the bot and at the runner API, against a cold torch.

Starts a runner (its own socket in a temporary directory), warms it up, times N=50 runs of
`print(torch.randn(3, 3).sum())` through RunnerClient, then N more as `/run` messages through
the real Telegram application and the fake Bot API of the tests (loopback only: from the
update to the reply's sendMessage), and N=5 cold `python -c "import torch"`; prints p50/p95
of each, the ratios (targets: cold/bot >= 60x, bot/runner <= 4x at p50), and the peak memory
of the runner and its pool. Needs root, as the runner's sandbox does.
Usage (from the repository root): python bench/run_latency.py [--runs 50] [--cold 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
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
from bot.runner.protocol import RunRequest  # noqa: E402
from bot.services.runs import RunService  # noqa: E402
from tests.fakebotapi import FakeBotAPI  # noqa: E402

TOKEN = "987654321:AAH-fake-token-for-the-run-benchmark"  # noqa: S105 - fake

SNIPPET = "import torch\nprint(torch.randn(3, 3).sum())"


def tree_rss_kib(pid: int) -> tuple[int, int]:
    """Return (RSS of pid, summed PSS of pid and all its descendants) in KiB.

    PSS splits pages shared by the forked workers among them, so the sum is real memory.
    """

    def field(p: int, path: str, name: str) -> int:
        try:
            for line in Path(f"/proc/{p}/{path}").read_text().splitlines():
                if line.startswith(name):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def children(p: int) -> list[int]:
        out: list[int] = []
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                out += [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
        except OSError:
            pass
        return out

    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += field(p, "smaps_rollup", "Pss:")
        stack += children(p)
    return field(pid, "status", "VmRSS:"), total


async def measure(
    url: str, runs: int, proc: subprocess.Popen[bytes]
) -> tuple[list[float], int, int]:
    client = RunnerClient(url)
    for _ in range(60 * 10):
        try:
            await client.info()
            break
        except ConnectionError:
            if proc.poll() is not None:
                raise SystemExit(f"the runner exited with code {proc.returncode}") from None
            await asyncio.sleep(0.1)
    for i in range(5):
        warm = await client.run(RunRequest(SNIPPET, f"bench:warm{i}"))
        if warm.status != "ok":
            raise SystemExit(f"warm-up run failed: {warm}")
    times, peak_runner, peak_total = [], 0, 0
    for i in range(runs):
        await asyncio.sleep(0.05)  # let the pool refill, as between real users' requests
        start = time.perf_counter()
        result = await client.run(RunRequest(SNIPPET, f"bench:{i}"))
        times.append((time.perf_counter() - start) * 1000)
        if result.status != "ok":
            raise SystemExit(f"run {i} failed: {result}")
        runner_rss, total_rss = tree_rss_kib(proc.pid)
        peak_runner, peak_total = max(peak_runner, runner_rss), max(peak_total, total_rss)
    return times, peak_runner, peak_total


async def through_bot(url: str, runs: int, folder: Path) -> list[float]:
    """Time `/run` messages from the update to the reply, through the whole bot."""
    settings = Settings.model_validate(
        {"STUDYBOT_DATABASE": str(folder / "bot.db"), "STUDYBOT_LOG_LEVEL": "WARNING"}
    )
    times = []
    async with FakeBotAPI(token=TOKEN) as fake, open_core(settings) as core:
        runs_service = RunService(RunnerClient(url), frozenset())
        app = build_application(core, TOKEN, fake.base_url, runs_service)
        await start_application(app, poll_timeout=1)
        try:
            for i in range(runs + 3):
                await asyncio.sleep(0.05)  # let the pool refill, as between real users
                user = 50_000_000 + i  # one user each: the runner's rate limit is per user
                since = fake.mark()
                start = time.perf_counter()
                fake.send_message(user, user, "/run " + SNIPPET.replace("\n", "; "))
                reply = await fake.wait_for_call("sendMessage", chat_id=user, since=since)
                if i >= 3:  # the first ones warm the bot up
                    times.append((time.perf_counter() - start) * 1000)
                if "tensor(" not in str(reply.params.get("text")):
                    raise SystemExit(f"/run through the bot failed: {reply.params}")
                if [c for c in fake.calls(chat_id=user) if c.method != "sendMessage"]:
                    raise SystemExit("a quick /run was not answered with one message alone")
        finally:
            await stop_application(app)
    return times


def cold_imports(n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--cold", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studybot-bench-") as tmp:
        socket_path = Path(tmp) / "runner.sock"
        env = runner_env(socket_path)
        proc = subprocess.Popen([sys.executable, "-m", "bot.runner"], env=env, cwd=tmp)
        try:
            times, peak_runner, peak_total = asyncio.run(
                measure(f"unix:{socket_path}", args.runs, proc)
            )
            info = asyncio.run(RunnerClient(f"unix:{socket_path}").info())
            bot_times = asyncio.run(through_bot(f"unix:{socket_path}", args.runs, Path(tmp)))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    cold = cold_imports(args.cold)
    p50, cold_p50 = statistics.median(times), statistics.median(cold)
    print(f"runner level {info.level}, devices {', '.join(info.devices)}")
    print(
        f"runner API, {args.runs} runs of print(torch.randn(3, 3).sum()): "
        f"p50 {p50:.1f} ms, p95 {percentile(times, 95):.1f} ms"
    )
    bot_p50 = statistics.median(bot_times)
    print(
        f"/run through the bot (update to reply), {args.runs} runs: "
        f"p50 {bot_p50:.1f} ms, p95 {percentile(bot_times, 95):.1f} ms"
    )
    print(
        f"cold `python -c 'import torch'`, {args.cold} runs: "
        f"p50 {cold_p50:.0f} ms, p95 {percentile(cold, 95):.0f} ms"
    )
    print(f"ratio cold/runner API p50: {cold_p50 / p50:.0f}x")
    print(f"ratio cold/bot p50: {cold_p50 / bot_p50:.0f}x (target >= 60x)")
    print(f"ratio bot/runner API p50: {bot_p50 / p50:.1f}x (target <= 4x)")
    print(
        f"peak memory: runner RSS {peak_runner / 1024:.0f} MiB; runner + zygote + pool "
        f"(sum of PSS, shared pages split) {peak_total / 1024:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Measure /run latency at the runner API against a cold `python -c "import torch"`.

Starts a runner (its own socket in a temporary directory), warms it up, times N=50 runs of
`print(torch.randn(3, 3).sum())` through RunnerClient and N=5 cold torch imports, and prints
p50/p90 of both, their ratio, and the peak resident memory of the runner and its pool.
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

from bot.runner.client import RunnerClient  # noqa: E402
from bot.runner.protocol import RunRequest  # noqa: E402

SNIPPET = "import torch\nprint(torch.randn(3, 3).sum())"


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


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
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT),
            "STUDYBOT_RUNNER_SOCKET": str(socket_path),
            "STUDYBOT_RUN_RATE_PER_MINUTE": "100000",
            "STUDYBOT_LOG_LEVEL": "WARNING",
        }
        env |= {k: v for k, v in os.environ.items() if k.startswith("STUDYBOT_SANDBOX_")}
        proc = subprocess.Popen([sys.executable, "-m", "bot.runner"], env=env, cwd=tmp)
        try:
            times, peak_runner, peak_total = asyncio.run(
                measure(f"unix:{socket_path}", args.runs, proc)
            )
            info = asyncio.run(RunnerClient(f"unix:{socket_path}").info())
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    cold = cold_imports(args.cold)
    p50, cold_p50 = statistics.median(times), statistics.median(cold)
    print(f"runner level {info.level}, devices {', '.join(info.devices)}")
    print(
        f"runner API, {args.runs} runs of print(torch.randn(3, 3).sum()): "
        f"p50 {p50:.1f} ms, p90 {percentile(times, 90):.1f} ms"
    )
    print(
        f"cold `python -c 'import torch'`, {args.cold} runs: "
        f"p50 {cold_p50:.0f} ms, p90 {percentile(cold, 90):.0f} ms"
    )
    print(f"ratio cold/warm p50: {cold_p50 / p50:.0f}x")
    print(
        f"peak memory: runner RSS {peak_runner / 1024:.0f} MiB; runner + zygote + pool "
        f"(sum of PSS, shared pages split) {peak_total / 1024:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

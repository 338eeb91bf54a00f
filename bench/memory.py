"""Memory of the bot process: RSS idle and with N subscribed chats (target <= 150 MB, no torch).

Runs `studybot serve` as an operator would (no runner: STUDYBOT_RUNNER_URL points nowhere)
against the fake Bot API of the tests (loopback only), first on an empty database, then on one
with N chats (default 10,000) subscribed at 23:59, so that every chat has its daily job. Reads
VmRSS and whether any torch library is mapped, once the bot polls. Baseline: a bare
`python -c "import telegram.ext"` process.

Then the runner (as root, as its sandbox needs): starts `python -m bot.runner`, runs a few
jobs, waits for its pool to hold its warm workers again, and reads /proc/PID/smaps_rollup of
the runner, the zygote and each warm worker (its keeper and the jail under it): RSS, PSS
(pages shared with the zygote split among the processes that map them: the sum is the real
memory) and USS (pages of that process alone: what one more warm worker costs).
Usage (from the repository root): python bench/memory.py [--chats 10000] [--pool 2]
[--no-runner]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("PTB_TIMEDELTA", "true")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchlib import runner_env  # noqa: E402
from bot.app import open_core  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.runclient import RunnerClient  # noqa: E402
from bot.runner.protocol import RunRequest  # noqa: E402
from tests.fakebotapi import FakeBotAPI  # noqa: E402

TOKEN = "987654321:AAH-fake-token-for-the-memory-benchmark"  # noqa: S105 - fake
TARGET_MB = 150


def rss_mb(pid: int) -> float:
    """Return a process's resident set size in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def maps_torch(pid: int) -> bool:
    """Tell whether a process has any torch library mapped."""
    return "/torch/" in Path(f"/proc/{pid}/maps").read_text()


async def seed(database: Path, chats: int) -> None:
    """Create the schema and `chats` subscribed private chats."""
    async with open_core(Settings.model_validate({"STUDYBOT_DATABASE": str(database)})):
        pass
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with sqlite3.connect(database) as conn:
        conn.executemany(
            "INSERT INTO chats (platform, external_id, type, daily_time, subscribed, created_at)"
            " VALUES ('telegram', ?, 'private', '23:59', 1, ?)",
            ((str(30_000_000 + i), now) for i in range(chats)),
        )


async def serve_rss(database: Path) -> tuple[float, bool]:
    """Start `studybot serve` on `database`; return its RSS once polling, and torch mapped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDYBOT_", "TELEGRAM_"))}
    async with FakeBotAPI(token=TOKEN) as fake:
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=fake.base_url,
            STUDYBOT_DATABASE=str(database),
            STUDYBOT_RUNNER_URL="unix:" + str(database.parent / "no-runner.sock"),
            STUDYBOT_LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", env=env, cwd=database.parent
        )
        try:
            await fake.wait_for_call("getUpdates", timeout=120)
            since = fake.mark()
            await fake.wait_for_call("getUpdates", since=since, timeout=30)  # settled
            return rss_mb(proc.pid), maps_torch(proc.pid)
        finally:
            proc.terminate()
            await proc.wait()


def baseline_mb() -> float:
    """Return the RSS of a bare Python process that imported telegram.ext."""
    code = (
        "import telegram.ext, pathlib\n"
        "print([l for l in pathlib.Path('/proc/self/status').read_text().splitlines()"
        " if l.startswith('VmRSS:')][0].split()[1])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def rollup_kib(pid: int) -> dict[str, int]:
    """Return a process's /proc/PID/smaps_rollup figures in KiB (Rss, Pss, Private_*, …)."""
    figures = {}
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return {}
    for line in lines[1:]:
        name, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            figures[name] = int(rest.split()[0])
    figures["Uss"] = figures.get("Private_Clean", 0) + figures.get("Private_Dirty", 0)
    return figures


def children(pid: int) -> list[int]:
    """Return a process's children, from every thread."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        pass
    return found


def subtree(pid: int) -> list[int]:
    """Return a process and all its descendants."""
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        stack += children(p)
    return found


def summed(pids: list[int]) -> dict[str, int]:
    """Return the RSS, PSS and USS of processes, added up (KiB)."""
    total = {"Rss": 0, "Pss": 0, "Uss": 0}
    for pid in pids:
        figures = rollup_kib(pid)
        for name in total:
            total[name] += figures.get(name, 0)
    return total


async def warm_runner(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Wait for the runner to answer, then run a few jobs so that every part has worked."""
    client = RunnerClient(url)
    for _ in range(600):
        try:
            await client.info()
            break
        except ConnectionError:
            if proc.poll() is not None:
                raise SystemExit(f"the runner exited with code {proc.returncode}") from None
            await asyncio.sleep(0.1)
    for i in range(3):
        result = await client.run(RunRequest("import torch\nprint(torch.ones(2).sum())", f"m{i}"))
        if result.status != "ok":
            raise SystemExit(f"a warm-up job failed: {result}")


def runner_memory(pool: int) -> list[tuple[str, dict[str, int]]]:
    """Start the runner, warm it, and return (part, RSS/PSS/USS in KiB) for each part."""
    with tempfile.TemporaryDirectory(prefix="studybot-memory-runner-") as tmp:
        socket_path = Path(tmp) / "runner.sock"
        env = runner_env(socket_path, STUDYBOT_RUN_POOL_SIZE=str(pool))
        proc = subprocess.Popen([sys.executable, "-m", "bot.runner"], env=env, cwd=tmp)
        try:
            asyncio.run(warm_runner(f"unix:{socket_path}", proc))
            # The pool refills in the background after each job: wait until the zygote has
            # `pool` warm workers again, each a keeper with its jail under it.
            deadline = time.monotonic() + 60
            while True:
                zygotes = [c for c in children(proc.pid) if b"zygote" in _cmdline(c)]
                workers = [w for z in zygotes for w in children(z) if children(w)]
                if len(zygotes) == 1 and len(workers) >= pool:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"the pool did not refill: {zygotes=} {workers=}")
                time.sleep(0.2)
            time.sleep(1)  # let the workers' setup settle before reading their pages
            parts = [("runner", summed([proc.pid])), ("zygote", summed(zygotes))]
            parts += [(f"warm worker {i + 1}", summed(subtree(w))) for i, w in enumerate(workers)]
            parts.append(("all together", summed(subtree(proc.pid))))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return parts


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--pool", type=int, default=2, help="the runner's warm workers")
    parser.add_argument("--no-runner", action="store_true", help="measure the bot only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studybot-memory-") as folder:
        idle_db = Path(folder) / "idle" / "bot.db"
        busy_db = Path(folder) / "busy" / "bot.db"
        for db in (idle_db, busy_db):
            db.parent.mkdir()
        asyncio.run(seed(busy_db, args.chats))
        idle, torch_idle = asyncio.run(serve_rss(idle_db))
        busy, torch_busy = asyncio.run(serve_rss(busy_db))
    base = baseline_mb()
    print(f"baseline: python + telegram.ext imported: {base:.0f} MB")
    print(f"bot idle: {idle:.0f} MB RSS ({idle / base:.1f}x the baseline; target <= {TARGET_MB})")
    print(
        f"bot with {args.chats} subscribed chats: {busy:.0f} MB RSS "
        f"({busy / base:.1f}x the baseline; target <= {TARGET_MB})"
    )
    print(f"torch mapped in the bot process: {torch_idle or torch_busy} (target: False)")
    if args.no_runner:
        return 0
    if os.geteuid() != 0:
        print("runner: not measured (its sandbox needs root; run this as root)")
        return 0
    parts = runner_memory(args.pool)
    print(f"runner with {args.pool} warm workers (MiB; PSS splits shared pages, USS is private):")
    for part, kib in parts:
        print(
            f"  {part}: RSS {kib['Rss'] / 1024:.0f}, PSS {kib['Pss'] / 1024:.0f},"
            f" USS {kib['Uss'] / 1024:.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Memory of the bot process: RSS idle and with N subscribed chats (target <= 150 MB, no torch).

Runs `studybot serve` as an operator would (no runner: STUDYBOT_RUNNER_URL points nowhere)
against the fake Bot API of the tests (loopback only), first on an empty database, then on one
with N chats (default 10,000) subscribed at 23:59, so that every chat has its daily job. Reads
VmRSS and whether any torch library is mapped, once the bot polls. Baseline: a bare
`python -c "import telegram.ext"` process. The runner's memory per warm worker is printed by
bench/run_latency.py (PSS, shared pages counted once).
Usage (from the repository root): python bench/memory.py [--chats 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("PTB_TIMEDELTA", "true")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import open_core  # noqa: E402
from bot.config import Settings  # noqa: E402
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Storage at scale: /streak, /stats and the heaviest leaderboard on a generated database.

Generates 100,000 users with private chats and streaks, 1,000 groups and 5,000,000 attempts
(a tenth of the group answers in one busy group: its all-time board is the heaviest query)
with INSERT…SELECT over a recursive CTE, at schema version 1; then times the migrations to
the current schema on that data, runs each query through the services (median of 20, warm),
and prints its EXPLAIN QUERY PLAN. Baseline: a primary-key lookup on the same database.
Usage (from the repository root): python bench/storage.py [--attempts 5000000] [--users 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import open_core  # noqa: E402
from bot.clock import FixedClock  # noqa: E402
from bot.config import CONTENT_DIR, Settings  # noqa: E402
from bot.content.loader import load_bank  # noqa: E402
from bot.storage.database import MIGRATIONS_DIR  # noqa: E402
from bot.storage.records import BoardPeriods  # noqa: E402

GROUPS = 1_000
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TARGET_MS = 50.0


def generate(database: Path, users: int, attempts: int) -> float:
    """Fill a schema-version-1 database; return the seconds it took."""
    questions = [q.id for q in load_bank(CONTENT_DIR).questions]
    start = time.perf_counter()
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("CREATE TEMP TABLE q (idx INTEGER PRIMARY KEY, id TEXT)")
        conn.executemany("INSERT INTO q VALUES (?, ?)", enumerate(questions))
        stamp = NOW.isoformat(timespec="seconds")
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO users (platform, external_id, name, language, created_at)"
            " SELECT 'telegram', i, 'user ' || i, 'en', ? FROM n",
            (users, stamp),
        )
        # Chat i is user i's private chat; groups come after them.
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO chats (platform, external_id, type, daily_time, subscribed,"
            " created_at) SELECT 'telegram', i, 'private', '09:00', i % 2, ? FROM n",
            (users, stamp),
        )
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO chats (platform, external_id, type, title, daily_time,"
            " created_at) SELECT 'telegram', -1000000 - i, 'supergroup', 'g' || i, '09:00', ?"
            " FROM n",
            (GROUPS, stamp),
        )
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO streaks (user_id, current, longest, last_date, freezes,"
            " freezes_used, updated_at) SELECT i, i % 30, i % 60, '2026-03-09', i % 3, 0, ?"
            " FROM n",
            (users, stamp),
        )
        # Bulk load first, index after: building an index once beats updating it 5M times.
        conn.execute("DROP INDEX attempts_user")
        julian = (NOW.timestamp() / 86400.0) + 2440587.5
        # r: half the answers in the user's private chat (chat u), a twentieth in the busy
        # group (chat users + 1), the rest spread over every group; t: the last 90 days.
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO attempts (user_id, chat_id, question_id, source, chosen,"
            " correct, answered_at, local_date)"
            " SELECT u, CASE WHEN r < 10 THEN u WHEN r = 10 THEN ? + 1"
            "  ELSE ? + 1 + abs(random()) % ? END,"
            " (SELECT id FROM q WHERE idx = i % ?),"  # by primary key
            " CASE WHEN r < 10 THEN 'daily' ELSE 'quiz' END, i % 4, (i % 3 != 1),"
            " strftime('%Y-%m-%dT%H:%M:%S+00:00', t), date(t)"
            " FROM (SELECT i, abs(random()) % ? + 1 AS u,"
            "  ? - (abs(random()) % 9000000) / 100000.0 AS t, abs(random()) % 20 AS r FROM n)",
            (attempts, users, users, GROUPS, len(questions), users, julian),
        )
        conn.execute("CREATE INDEX attempts_user ON attempts (user_id, local_date)")
    return time.perf_counter() - start


def version_one(folder: Path) -> Path:
    """Return a migrations folder holding only the first migration."""
    first = folder / "migrations-v1"
    first.mkdir()
    shutil.copy(sorted(MIGRATIONS_DIR.glob("001_*.sql"))[0], first)
    return first


async def timed(call: Callable[[], Awaitable[object]], runs: int = 20) -> float:
    """Return the median milliseconds of `call` after two warm-up calls."""
    for _ in range(2):
        await call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def measure(
    database: Path, users: int
) -> tuple[float, dict[str, float], dict[str, float], dict[str, str]]:
    """Migrate to the current schema, then time the queries; return figures and plans.

    The first call of each is timed on its own: a week or month board's first read after the
    upgrade counts the group's totals of the period from its answers, once.
    """
    settings = Settings.model_validate({"STUDYBOT_DATABASE": str(database)})
    clock = FixedClock(NOW)
    start = time.perf_counter()
    async with open_core(settings, clock=clock) as core:
        migrated = time.perf_counter() - start
        study, boards = core.study, core.boards
        private = await study.enter(
            platform="telegram",
            user_id="7",
            user_name="user 7",
            language_code="en",
            chat_id="7",
            chat_type="private",
        )
        busy = await study.enter(
            platform="telegram",
            user_id="7",
            user_name="user 7",
            language_code="en",
            chat_id=str(-1000000 - 1),
            chat_type="supergroup",
            chat_title="g1",
        )
        question = core.bank.questions[0].id
        conn = core.db.conn  # its sqlite3 connection's trace shows the SQL run, with values
        seen: list[str] = []
        await conn._execute(conn._conn.set_trace_callback, seen.append)  # type: ignore[no-untyped-call]
        figures, first, plans = {}, {}, {}
        checks: dict[str, Callable[[], Awaitable[object]]] = {
            "baseline: user by primary key": lambda: core.db.fetchone(
                "SELECT * FROM users WHERE id = ?", (users // 2,)
            ),
            "/streak": lambda: study.streak(private),
            "/stats": lambda: study.stats(private),
            "/leaderboard all, busiest group": lambda: boards.leaderboard(busy, "all"),
            "/leaderboard week, busiest group": lambda: boards.leaderboard(busy, "week"),
            "/leaderboard month, busiest group": lambda: boards.leaderboard(busy, "month"),
            "/leaderboard month, private": lambda: boards.leaderboard(private, "month"),
            # After the boards above: the answer also keeps the group's week and month totals.
            "a graded answer in the busiest group (attempt, board totals, streak)": lambda: (
                core.repos.attempts.add(
                    user_id=busy.user.id,
                    chat_id=busy.chat.id,
                    prompt_id=None,
                    question_id=question,
                    source="quiz",
                    chosen=0,
                    correct=True,
                    answered_at=NOW,
                    local_date=NOW.date(),
                    advance_streak=lambda s: s,
                    board_periods=BoardPeriods.at(NOW, busy.chat_zone),
                )
            ),
        }
        for name, call in checks.items():
            start = time.perf_counter()
            await call()
            first[name] = (time.perf_counter() - start) * 1000
            seen.clear()
            await call()
            statements = [
                q
                for q in seen
                if q.lstrip().upper().startswith(("SELECT", "WITH")) and "user_version" not in q
            ]
            plan_lines = []
            for sql in dict.fromkeys(statements):
                for row in await core.db.fetchall("EXPLAIN QUERY PLAN " + sql):
                    plan_lines.append(str(row[3]))
            plans[name] = "; ".join(dict.fromkeys(plan_lines))
            figures[name] = await timed(call)
        await conn._execute(conn._conn.set_trace_callback, None)  # type: ignore[no-untyped-call]
    return migrated, figures, first, plans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=5_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studybot-storage-") as folder:
        tmp = Path(folder)
        database = tmp / "bot.db"
        settings = Settings.model_validate({"STUDYBOT_DATABASE": str(database)})

        async def create() -> None:
            from bot.storage.database import Database

            db = Database(database, version_one(tmp))
            await db.open()
            await db.close()

        asyncio.run(create())
        del settings
        took = generate(database, args.users, args.attempts)
        size = database.stat().st_size / 2**20
        print(
            f"generated {args.users} users, {GROUPS} groups, {args.attempts} attempts in "
            f"{took:.1f} s ({args.attempts / took / 1e6:.2f} M rows/s); {size:.0f} MiB"
        )
        migrated, figures, first, plans = asyncio.run(measure(database, args.users))
        latest = sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql"))[-1].name[:3]
        print(f"migrations 002-{latest} on that data: {migrated:.1f} s")
        base = figures["baseline: user by primary key"]
        for name, ms in figures.items():
            verdict = (
                ""
                if name.startswith("baseline")
                else (" ok" if ms < TARGET_MS else f" OVER {TARGET_MS:.0f} ms")
            )
            print(
                f"{name}: {ms:.2f} ms ({ms / base:.0f}x the baseline){verdict};"
                f" first call {first[name]:.1f} ms"
            )
            print(f"    plan: {plans[name]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The kept all-time board totals: the same board as summing every answer, and the migration."""

from __future__ import annotations

import random
import shutil
import sqlite3
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from bot.app import Core
from bot.clock import FixedClock
from bot.services import streaks
from bot.storage.database import MIGRATIONS_DIR, Database
from bot.storage.quizzes import _LEADERBOARD, _RANK_ALL, _TOP_ALL, BOARD_SOURCES
from bot.storage.records import Streak

SOURCES = ("quiz", "daily", "question", "review")


def _advance(streak: Streak, day: date) -> Streak:
    return streaks.advance(streak, day)


async def _summed(core: Core, chat: int, user: int) -> list[tuple[object, ...]]:
    """Return the all-time board computed from every answer, as before the totals."""
    rows = await core.db.fetchall(_LEADERBOARD, (chat, "", *BOARD_SOURCES, 10, user))
    return [(r["rank"], r["user_id"], r["name"], r["correct"], r["answered"]) for r in rows]


async def test_all_time_board_equals_the_sum_of_answers(core: Core, clock: FixedClock) -> None:
    rng = random.Random(9)  # noqa: S311 - a repeatable test sequence
    chats = []
    for g in range(2):
        members = []
        for u in range(14):
            members.append(
                await core.study.enter(
                    platform="telegram",
                    user_id=str(u),
                    user_name=f"u{u}",
                    language_code="en",
                    chat_id=str(-100 - g),
                    chat_type="supergroup",
                )
            )
        chats.append(members)
    for i in range(400):
        if i in (150, 300):  # one leaves the boards, answers on, another leaves and rejoins
            await core.boards.set_on_boards(chats[0][3], False)
            await core.boards.set_on_boards(chats[1][i % 7], i == 300)
        ctx = rng.choice(rng.choice(chats))
        source = rng.choice(SOURCES)
        now = clock.now()
        today = now.date()
        prompt = await core.repos.prompts.create(ctx.chat.id, "fixture-q1", source, "en", now)
        for _twice in range(rng.choice((1, 2))):  # a second answer to a prompt is ignored
            await core.repos.attempts.add(
                user_id=ctx.user.id,
                chat_id=ctx.chat.id,
                prompt_id=prompt.id,
                question_id="fixture-q1",
                source=source,
                chosen=0,
                correct=rng.random() < 0.6,
                answered_at=now,
                local_date=now.date(),
                advance_streak=partial(_advance, day=today),
            )
        clock.set(now + timedelta(minutes=rng.randrange(1, 300)))
    for members in chats:
        for ctx in members:
            board = await core.repos.boards.leaderboard(ctx.chat.id, None, 10, ctx.user.id)
            got = [(r.rank, r.user_id, r.name, r.correct, r.answered) for r in board]
            assert got == await _summed(core, ctx.chat.id, ctx.user.id)


async def test_all_time_board_walks_and_counts_the_rank_index(core: Core) -> None:
    for sql, params in ((_TOP_ALL, (1, 10)), (_RANK_ALL, (1, 1))):
        rows = await core.db.fetchall("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(r["detail"]) for r in rows)
        assert "USING COVERING INDEX board_totals_rank (chat_id=? AND on_boards=?" in plan, plan
        assert "attempts" not in plan and "SCAN board_totals" not in plan, plan


async def test_migration_backfills_totals_from_earlier_answers(tmp_path: Path) -> None:
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("00[1-4]_*.sql")):
        shutil.copy(path, earlier)
    database = tmp_path / "bot.db"
    async with Database(database, earlier):
        pass
    rng = random.Random(5)  # noqa: S311 - a repeatable test sequence
    with sqlite3.connect(database) as conn:
        for i in range(1, 6):
            conn.execute(
                "INSERT INTO users (id, platform, external_id, name, language, created_at)"
                " VALUES (?, 'telegram', ?, ?, 'en', '2026-03-01T00:00:00+00:00')",
                (i, str(i), f"u{i}"),
            )
        conn.execute("UPDATE users SET on_boards = 0 WHERE id = 2")  # left before the migration
        for c in (-1, -2):
            conn.execute(
                "INSERT INTO chats (id, platform, external_id, type, daily_time, created_at)"
                " VALUES (?, 'telegram', ?, 'supergroup', '09:00', '2026-03-01T00:00:00+00:00')",
                (c, str(c)),
            )
        for _ in range(200):
            conn.execute(
                "INSERT INTO attempts (user_id, chat_id, question_id, source, chosen, correct,"
                " answered_at, local_date) VALUES (?, ?, 'q', ?, 0, ?,"
                " '2026-03-02T00:00:00+00:00', '2026-03-02')",
                (rng.randint(1, 5), rng.choice((-1, -2)), rng.choice(SOURCES), rng.randint(0, 1)),
            )
    async with Database(database) as db:
        assert await db.version() >= 5
        kept = await db.fetchall(
            "SELECT chat_id, user_id, on_boards, correct, answered, first_id FROM board_totals"
            " ORDER BY chat_id, user_id"
        )
        summed = await db.fetchall(
            "SELECT chat_id, user_id, user_id != 2, SUM(correct), COUNT(*), MIN(id) FROM attempts"
            " WHERE source IN ('quiz', 'daily') GROUP BY chat_id, user_id"
            " ORDER BY chat_id, user_id"
        )
        assert [tuple(r) for r in kept] == [tuple(r) for r in summed]
        assert kept

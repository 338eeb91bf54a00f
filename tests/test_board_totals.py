"""The kept board totals (all time, this week, this month): the same boards as summing every
answer, across DST changes, zone changes and the migrations."""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

from bot.app import Core, open_core
from bot.clock import FixedClock, to_iso
from bot.config import Settings
from bot.services import streaks
from bot.services.boards import period_start
from bot.services.study import Context
from bot.storage.boards import _RANK_ALL, _TOP_ALL, BOARD_SOURCES
from bot.storage.database import MIGRATIONS_DIR, Database
from bot.storage.records import BoardPeriods, Streak

SOURCES = ("quiz", "daily", "question", "review")

# The board summed from every answer since a time, as before any kept totals: what they equal.
_LEADERBOARD = f"""
WITH scores AS (
    SELECT a.user_id, u.name, SUM(a.correct) AS correct, COUNT(*) AS answered,
           MIN(a.id) AS first
    FROM attempts AS a JOIN users AS u ON u.id = a.user_id
    WHERE a.chat_id = ? AND a.answered_at >= ? AND u.on_boards = 1
      AND a.source IN ({", ".join("?" for _ in BOARD_SOURCES)})
    GROUP BY a.user_id
), ranked AS (
    SELECT *, ROW_NUMBER() OVER (ORDER BY correct DESC, answered ASC, first ASC) AS rank
    FROM scores
)
SELECT * FROM ranked WHERE rank <= ? OR user_id = ? ORDER BY rank
"""  # noqa: S608 - only placeholders are formatted in


def _advance(streak: Streak, day: date) -> Streak:
    return streaks.advance(streak, day)


async def _summed(
    core: Core, chat: int, user: int, since: datetime | None = None
) -> list[tuple[object, ...]]:
    """Return the board since a time (None: all time) computed from every answer."""
    start = to_iso(since) if since else ""
    rows = await core.db.fetchall(_LEADERBOARD, (chat, start, *BOARD_SOURCES, 10, user))
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
                board_periods=BoardPeriods.at(now, "UTC"),
            )
        clock.set(now + timedelta(minutes=rng.randrange(1, 300)))
    for members in chats:
        for ctx in members:
            periods = BoardPeriods.at(clock.now(), "UTC")
            board = await core.repos.boards.leaderboard(
                ctx.chat.id, "all", periods, 10, ctx.user.id
            )
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


# Zones whose offsets change at the edges that matter: Europe/London (DST on 29 March 2026, at
# 01:00 UTC), America/Santiago (DST off at local midnight on 5 April), Australia/Lord_Howe (a
# half-hour change), Pacific/Kiritimati (UTC+14: its months start a day before UTC's) and
# America/St_Johns (a half-hour offset, DST from 8 March).
ZONES = (
    "Europe/London",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
    "America/St_Johns",
    "UTC",
)


async def _member(core: Core, group: int, user: int) -> Context:
    return await core.study.enter(
        platform="telegram",
        user_id=str(user),
        user_name=f"u{user}",
        language_code="en",
        chat_id=str(group),
        chat_type="supergroup",
    )


async def _answer(core: Core, ctx: Context, source: str, right: bool) -> None:
    """Answer a fresh prompt through the study service, as the adapters do."""
    prompt = await core.repos.prompts.create(
        ctx.chat.id, "fixture-q1", source, "en", core.clock.now()
    )
    question = core.bank.get("fixture-q1")
    assert question is not None
    quiz = question.text("en").quiz
    option = quiz.correct if right else (quiz.correct + 1) % len(quiz.options)
    await core.study.answer(ctx, prompt.id, option)


async def _check_boards(core: Core, ctx: Context) -> None:
    """Compare this week's and month's board with the sum of the answers since their start."""
    for kind in ("week", "month"):
        board = await core.boards.leaderboard(ctx, kind)
        got = [(r.rank, r.user_id, r.name, r.correct, r.answered) for r in board.rows]
        if board.me is not None:
            got.append(
                (
                    board.me.rank,
                    board.me.user_id,
                    board.me.name,
                    board.me.correct,
                    board.me.answered,
                )
            )
        since = period_start(kind, core.clock.now(), ctx.chat_zone)
        assert since is not None and board.since == since
        assert got == await _summed(core, ctx.chat.id, ctx.user.id, since), (kind, since)


async def _kept_zone(core: Core, chat: int) -> str | None:
    row = await core.db.fetchone("SELECT zone FROM board_periods WHERE chat_id = ?", (chat,))
    return str(row["zone"]) if row else None


async def test_week_and_month_boards_equal_the_sum_across_dst_and_zone_changes(
    core: Core, clock: FixedClock
) -> None:
    rng = random.Random(13)  # noqa: S311 - a repeatable test sequence
    clock.set(datetime(2026, 2, 20, 9, 0, tzinfo=UTC))
    groups = (-300, -301)
    members = {g: [await _member(core, g, u) for u in range(1, 13)] for g in groups}
    stale: Context | None = None
    changes = 0
    while clock.now() < datetime(2026, 5, 10, tzinfo=UTC):
        group = rng.choice(groups)
        roll = rng.random()
        if roll < 0.05:
            # The group moves to another zone: the kept weeks and months are counted again.
            ctx = await _member(core, group, 1)
            stale = ctx  # an answer already on its way, in the zone it was entered in
            await core.study.set_timezone(ctx, rng.choice(ZONES))
            changes += 1
        elif roll < 0.08:
            who = rng.choice(members[group])
            await core.boards.set_on_boards(who, rng.random() < 0.5)
        elif roll < 0.1 and stale is not None:
            await _answer(core, stale, "quiz", rng.random() < 0.6)
            stale = None
        else:
            for _ in range(rng.randint(1, 4)):
                ctx = await _member(core, group, rng.randint(1, 12))
                before = await _kept_zone(core, group)
                await _answer(core, ctx, rng.choice(SOURCES), rng.random() < 0.6)
                if before == ctx.chat_zone:
                    # An answer in the kept zone keeps the totals: no recount at the next read.
                    assert await _kept_zone(core, group) == before
        await _check_boards(core, await _member(core, group, rng.randint(1, 12)))
        # Steps of up to 14 hours cross every local midnight, Monday and 1st in turn.
        clock.set(clock.now() + timedelta(minutes=rng.randrange(1, 14 * 60)))
    assert changes >= 5
    for group in groups:  # the boards of both groups, at the end, for every member
        for ctx in members[group]:
            await _check_boards(core, await _member(core, group, ctx.user.id))


async def test_a_new_default_zone_recounts_the_boards_of_chats_without_one(
    make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    # Answers on 31 March at 14:00 UTC, 23:00 in Tokyo; the board read two hours later, when
    # April has begun in Tokyo but not in UTC.
    clock.set(datetime(2026, 3, 31, 14, 0, tzinfo=UTC))
    async with open_core(make_settings(STUDYBOT_TIMEZONE="UTC"), clock=clock) as core:
        for user in range(1, 5):
            ctx = await _member(core, -7, user)
            for _ in range(user):
                await _answer(core, ctx, "quiz", True)
        await _check_boards(core, ctx)
        assert len((await core.boards.leaderboard(ctx, "month")).rows) == 4
    clock.set(datetime(2026, 3, 31, 16, 0, tzinfo=UTC))
    async with open_core(make_settings(STUDYBOT_TIMEZONE="Asia/Tokyo"), clock=clock) as core:
        ctx = await _member(core, -7, 1)
        assert ctx.chat_zone == "Asia/Tokyo"
        assert (await core.boards.leaderboard(ctx, "month")).rows == ()
        await _answer(core, ctx, "daily", True)
        await _check_boards(core, ctx)
        assert await _kept_zone(core, ctx.chat.id) == "Asia/Tokyo"
        board = await core.boards.leaderboard(ctx, "month")
        assert [(r.name, r.correct) for r in board.rows] == [("u1", 1)]


async def test_answers_dated_before_the_kept_period_stay_off_its_board(
    core: Core, clock: FixedClock
) -> None:
    ctx = await _member(core, -9, 1)
    start = clock.now()
    await _answer(core, ctx, "quiz", True)
    await _check_boards(core, ctx)
    clock.set(start + timedelta(days=40))  # a later month, with its own answers
    await _answer(core, ctx, "quiz", False)
    await _check_boards(core, ctx)
    clock.set(start + timedelta(hours=1))  # a clock set back: an answer dated before it
    await _answer(core, ctx, "daily", True)
    clock.set(start + timedelta(days=40, hours=1))
    await _check_boards(core, ctx)
    assert [
        (r.correct, r.answered) for r in (await core.boards.leaderboard(ctx, "month")).rows
    ] == [(0, 1)]
    clock.set(start + timedelta(hours=2))  # the earlier month's board: counted from the answers
    await _check_boards(core, ctx)

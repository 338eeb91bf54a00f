"""Leaderboards from SQL aggregates: ranks, the caller outside the top 10, opting out."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Core
from bot.clock import FixedClock
from bot.services import streaks
from bot.storage.records import BoardPeriods


async def _answer(core: Core, user: int, chat: int, correct: bool, clock: FixedClock) -> None:
    now = clock.now()
    prompt = await core.repos.prompts.create(chat, "fixture-q1", "quiz", "en", now)
    await core.repos.attempts.add(
        user_id=user,
        chat_id=chat,
        prompt_id=prompt.id,
        question_id="fixture-q1",
        source="quiz",
        chosen=0,
        correct=correct,
        answered_at=now,
        local_date=now.date(),
        advance_streak=lambda s: streaks.advance(s, now.date()),
        board_periods=BoardPeriods.at(now, "UTC"),
    )


async def test_top_ten_then_the_caller_with_their_rank(core: Core, clock: FixedClock) -> None:
    group = await core.study.enter(
        platform="telegram",
        user_id="1",
        user_name="u1",
        language_code="en",
        chat_id="-42",
        chat_type="supergroup",
    )
    ctxs = [group]
    for i in range(2, 13):
        ctxs.append(
            await core.study.enter(
                platform="telegram",
                user_id=str(i),
                user_name=f"u{i}",
                language_code="en",
                chat_id="-42",
                chat_type="supergroup",
            )
        )
    # User k answers 13 - k questions right (u1 best, u12 worst), plus one wrong for u3.
    for k, ctx in enumerate(ctxs, start=1):
        for _ in range(13 - k):
            await _answer(core, ctx.user.id, ctx.chat.id, True, clock)
    await _answer(core, ctxs[2].user.id, ctxs[2].chat.id, False, clock)
    last = ctxs[-1]
    board = await core.boards.leaderboard(last, "week")
    assert [r.name for r in board.rows] == [f"u{k}" for k in range(1, 11)]
    assert board.rows[2].answered == 11 and board.rows[2].correct == 10
    assert board.me is not None and board.me.rank == 12 and board.me.name == "u12"
    # Inside the top 10 the caller is not repeated.
    assert (await core.boards.leaderboard(ctxs[0], "week")).me is None
    # Leaving the boards removes a member everywhere; rejoining brings them back.
    await core.boards.set_on_boards(ctxs[0], False)
    board = await core.boards.leaderboard(last, "all")
    assert board.rows[0].name == "u2" and board.me is not None and board.me.rank == 11
    await core.boards.set_on_boards(ctxs[0], True)
    assert (await core.boards.leaderboard(last, "all")).rows[0].name == "u1"
    # Last week's answers are not this week's.
    clock.set(clock.now() + timedelta(days=7))
    assert (await core.boards.leaderboard(last, "week")).rows == ()
    assert len((await core.boards.leaderboard(last, "all")).rows) == 10


async def test_period_boards_walk_and_count_the_rank_index(core: Core) -> None:
    from bot.storage.boards import _RANK_PERIOD, _RECOUNT, _TOP_PERIOD, BOARD_SOURCES

    for sql, params in ((_TOP_PERIOD, (1, "month", 10)), (_RANK_PERIOD, (1, "month", 1))):
        rows = await core.db.fetchall("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(r["detail"]) for r in rows)
        assert "USING COVERING INDEX board_period_totals_rank (chat_id=? AND kind=?" in plan, plan
        assert "attempts" not in plan and "SCAN board_period_totals" not in plan, plan
    # Counting a period again reads the chat's answers since its start, by index.
    rows = await core.db.fetchall(
        "EXPLAIN QUERY PLAN " + _RECOUNT, ("month", 1, "", *BOARD_SOURCES)
    )
    plan = " ".join(str(r["detail"]) for r in rows)
    assert "USING INDEX attempts_chat_time (chat_id=? AND answered_at>?)" in plan, plan

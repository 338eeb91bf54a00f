"""The same end-to-end scenarios as Telegram's and Discord's, on a platform of the contract alone.

The in-memory platform touches only `tests/memory/` and one registration line
(`core.platforms.attach`): whatever it gets right, the services decided.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.errors import UserInputError
from bot.services.quiz_platform import PollSpec, Scoreboard
from bot.services.study import Shown
from tests.memory.people import Member
from tests.memory.platform import MemoryPlatform

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


async def attached(
    core: Core, clock: FixedClock, poll_question_chars: int | None = None
) -> MemoryPlatform:
    platform = MemoryPlatform(clock=clock)
    if poll_question_chars is not None:
        platform.limits = dataclasses.replace(
            platform.limits, poll_question_chars=poll_question_chars
        )
    await core.platforms.attach(platform)  # the one registration line
    return platform


def right(shown: Shown) -> int:
    return shown.question.text(shown.lang).quiz.correct


async def test_daily_at_the_chats_time_once_answered_and_the_streak_grows(
    settings: Settings, clock: FixedClock
) -> None:
    clock.set(NOON)
    async with open_core(settings, clock=clock) as core:
        platform = await attached(core, clock)
        ann = Member(core, platform, "101", "101")
        await ann.subscribe("13:00")
        assert platform.of("prompt") == []
        for day, streak in ((0, 1), (1, 2)):
            clock.set(NOON + timedelta(days=day, hours=1))
            await core.timers.run_due()
            prompts = platform.of("prompt", "101")
            assert len(prompts) == day + 1
            shown = prompts[-1].payload
            assert isinstance(shown, Shown)
            assert (await ann.press(shown.prompt.id, right(shown))).correct
            assert await ann.streak() == streak
    clock.set(NOON + timedelta(days=1, hours=2))  # a restart later that day sends nothing again
    async with open_core(settings, clock=clock) as core:
        again = await attached(core, clock)
        await core.timers.run_due()
        assert again.of("prompt") == []
        assert await Member(core, again, "101", "101").streak() == 2


async def test_a_forged_button_changes_nothing(core: Core, clock: FixedClock) -> None:
    platform = await attached(core, clock)
    ann, bob = Member(core, platform, "101", "101"), Member(core, platform, "102", "102")
    await ann.daily()
    (sent,) = platform.of("prompt", "101")
    assert isinstance(sent.payload, Shown)
    with pytest.raises(UserInputError, match="stale_button"):
        await bob.press(sent.payload.prompt.id, right(sent.payload))  # Ann's question
    assert await bob.streak() == 0


async def test_a_group_quiz_within_the_platforms_limits_ends_with_a_scoreboard(
    core: Core, clock: FixedClock
) -> None:
    platform = await attached(core, clock, poll_question_chars=24)
    ann = Member(core, platform, "101", "-500", group=True)
    bob = Member(core, platform, "102", "-500", group=True)
    await ann.quiz("2")
    for number in range(2):
        polls = await platform.wait_for("poll", "-500", number + 1)
        poll = polls[-1].payload
        assert isinstance(poll, PollSpec)
        assert len(poll.question) <= 24  # the platform's own limit, as data
        for member, option in ((ann, poll.correct), (bob, (poll.correct + 1) % 2)):
            answer = await member.vote(polls[-1].ref, option)
            assert answer is not None and answer.counted
        clock.set(clock.now() + timedelta(seconds=45))
        await core.timers.run_due()
    clock.set(clock.now() + timedelta(seconds=45))
    await core.timers.run_due()
    (board,) = [o.payload for o in platform.of("text", "-500")]
    assert isinstance(board, Scoreboard)
    assert board.asked == 2
    assert [(r.name, r.correct) for r in board.rows] == [("member 101", 2), ("member 102", 0)]
    assert len(platform.of("stop_poll", "-500")) == 2


async def test_two_stops_at_once_end_the_quiz_once_and_the_second_is_told_so(
    core: Core, clock: FixedClock
) -> None:
    # The starter and an admin send /stopquiz together. The scoreboard goes out before the
    # session ends (so a crash between the two posts it again), and the second stop, waiting
    # for the first, once found the quiz ended and said nothing at all.
    platform = await attached(core, clock)
    ann = Member(core, platform, "101", "-500", group=True)
    bob = Member(core, platform, "102", "-500", group=True)
    await ann.quiz("3")
    await platform.wait_for("poll", "-500", 1)
    outcomes = await asyncio.gather(
        ann.stop_quiz(), bob.stop_quiz(admin=True), return_exceptions=True
    )
    assert outcomes[0] is None
    assert isinstance(outcomes[1], UserInputError) and outcomes[1].key == "no_quiz"
    assert len(platform.of("text", "-500")) == 1  # one scoreboard
    chat = await core.repos.chats.by_external(platform.name, "-500")
    assert chat is not None and await core.quiz.running(chat) is None


async def test_a_missed_question_comes_back_for_review(core: Core, clock: FixedClock) -> None:
    platform = await attached(core, clock)
    ann = Member(core, platform, "101", "101")
    await ann.daily()
    (sent,) = platform.of("prompt", "101")
    shown = sent.payload
    assert isinstance(shown, Shown)
    wrong = (right(shown) + 1) % len(shown.question.text(shown.lang).quiz.options)
    assert not (await ann.press(shown.prompt.id, wrong)).correct
    clock.set(clock.now() + timedelta(days=1))
    card = await ann.review()
    assert card is not None and card.question.id == shown.question.id


def test_the_memory_platform_uses_nothing_but_the_services() -> None:
    # The contract is the whole story: no adapter, no storage, no platform library here.
    folder = Path(__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                top = name.split(".")
                assert top[0] not in {"telegram", "discord"}, (path.name, name)
                assert top[:2] not in (["bot", "adapters"], ["bot", "storage"]), (path.name, name)

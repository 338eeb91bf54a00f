"""Reminders: sent once, only when the streak or due cards need it, and across restarts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.errors import UserInputError
from bot.services.reminders import Reminder
from bot.services.study import Context
from tests.memory.platform import MemoryPlatform

DAY2_NOON = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
DAY2_EVENING = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)


async def private(core: Core, uid: str = "u1") -> Context:
    return await core.study.enter(
        platform="test",
        user_id=uid,
        user_name="Ann",
        language_code="en",
        chat_id=uid,
        chat_type="private",
    )


def recorder(core: Core) -> MemoryPlatform:
    platform = MemoryPlatform(name="test")
    core.platforms.add(platform)
    return platform


def reminded(platform: MemoryPlatform) -> list[Reminder]:
    """Return the reminders the in-memory platform was sent, in order."""
    return [o.payload for o in platform.of("text") if isinstance(o.payload, Reminder)]


async def study_once(core: Core, ctx: Context, right: bool = True) -> None:
    shown = await core.study.show(ctx, "question")
    quiz = shown.question.text("en").quiz
    option = quiz.correct if right else (quiz.correct + 1) % len(quiz.options)
    assert (await core.study.answer(ctx, shown.prompt.id, option)).status == "recorded"


async def test_sent_once_when_the_streak_is_at_risk(core: Core, clock: FixedClock) -> None:
    sent = recorder(core)
    ctx = await private(core)
    await study_once(core, ctx)  # day 1: streak 1
    clock.set(DAY2_NOON)
    user = await core.reminders.set(ctx, "20:00")
    assert core.reminders.next_at(user) == DAY2_EVENING
    assert await core.timers.run_due() == 0
    clock.set(DAY2_EVENING)
    assert await core.timers.run_due() == 1
    assert [(r.streak, r.due) for r in reminded(sent)] == [(1, 1)]  # the card is in its 10-min step
    assert core.reminders.next_at(user) == DAY2_EVENING + timedelta(days=1)
    assert await core.timers.run_due() == 0
    assert await core.reminders.remind(user) == "already"
    await core.reminders.resume("test")  # as at a restart later that day
    assert core.reminders.next_at(user) == DAY2_EVENING + timedelta(days=1)
    assert len(reminded(sent)) == 1


async def test_none_once_studied_that_day(core: Core, clock: FixedClock) -> None:
    sent = recorder(core)
    ctx = await private(core)
    await study_once(core, ctx)
    clock.set(DAY2_NOON)
    await study_once(core, ctx)
    user = await core.reminders.set(ctx, "20:00")
    clock.set(DAY2_EVENING)
    assert await core.timers.run_due() == 1
    assert reminded(sent) == []
    assert await core.reminders.remind(user) == "already"  # the day is settled


async def test_none_after_remind_off(core: Core, clock: FixedClock) -> None:
    sent = recorder(core)
    ctx = await private(core)
    await study_once(core, ctx)
    clock.set(DAY2_NOON)
    user = await core.reminders.set(ctx, "20:00")
    user = await core.reminders.set(ctx, "off")
    assert user.remind_at is None
    assert core.reminders.next_at(user) is None
    clock.set(DAY2_EVENING)
    assert await core.timers.run_due() == 0
    assert await core.reminders.remind(user) == "off"
    assert reminded(sent) == []


async def test_none_without_a_streak_or_due_cards(core: Core, clock: FixedClock) -> None:
    sent = recorder(core)
    ctx = await private(core)
    user = await core.reminders.set(ctx, "20:00")
    clock.set(datetime(2026, 3, 10, 20, 0, tzinfo=UTC))
    assert await core.reminders.remind(user) == "not_needed"
    assert reminded(sent) == []


async def test_due_cards_alone_are_reason_enough(core: Core, clock: FixedClock) -> None:
    sent = recorder(core)
    ctx = await private(core)
    await study_once(core, ctx, right=False)  # day 1: a card due a minute later
    clock.set(datetime(2026, 3, 13, 12, 0, tzinfo=UTC))  # two days missed: the streak is gone
    user = await core.reminders.set(ctx, "20:00")
    clock.set(datetime(2026, 3, 13, 20, 0, tzinfo=UTC))
    assert await core.reminders.remind(user) == "sent"
    assert [(r.streak, r.due) for r in reminded(sent)] == [(0, 1)]


async def test_local_time_and_validation(core: Core, clock: FixedClock) -> None:
    ctx = await private(core)
    ctx = await core.study.set_timezone(ctx, "Asia/Shanghai")
    user = await core.reminders.set(ctx, "21:30")
    assert user.remind_at == "21:30"
    assert core.reminders.next_at(user) == datetime(2026, 3, 10, 13, 30, tzinfo=UTC)
    for bad in ("25:00", "9pm", "21:3"):
        with pytest.raises(UserInputError):
            await core.reminders.set(ctx, bad)


async def test_across_a_restart(make_settings: Callable[..., Settings], clock: FixedClock) -> None:
    settings = make_settings()
    async with open_core(settings, clock=clock) as core:
        ctx = await private(core)
        await study_once(core, ctx)
        clock.set(DAY2_NOON)
        await core.reminders.set(ctx, "20:00")
    # Down from noon until after the reminder time: it is sent at start-up, once.
    clock.set(DAY2_EVENING + timedelta(hours=1))
    async with open_core(settings, clock=clock) as core:
        sent = recorder(core)
        await core.reminders.resume("test")
        await core.timers.run_due()
    # Leaving the context waited for a timer the scheduler may have fired itself.
    assert len(reminded(sent)) == 1
    async with open_core(settings, clock=clock) as core:
        again = recorder(core)
        await core.reminders.resume("test")
        user = (await private(core)).user
        assert core.reminders.next_at(user) == DAY2_EVENING + timedelta(days=1)
        assert await core.timers.run_due() == 0
    assert reminded(again) == []

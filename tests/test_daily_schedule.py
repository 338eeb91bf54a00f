"""The daily schedule of the services, driven by the injected clock through a platform sender."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from bot.app import Core
from bot.clock import FixedClock
from bot.services.daily import DeliveryOutcome
from bot.services.daily_schedule import MAX_IN_FLIGHT, RETRY_AFTER_FAILURE
from bot.services.sending import ChatGone, SendFailed, SendRefused
from bot.services.study import Context, Shown
from bot.storage.records import Chat
from tests.memory.platform import MemoryPlatform

PLATFORM = "discord"  # any platform but Telegram's: the rules are not Telegram's


class FakeSender(MemoryPlatform):
    """A platform that records what it was asked to send, and fails when told to."""

    def __init__(self) -> None:
        super().__init__(name=PLATFORM)
        self.sent: list[int] = []
        self.failures: dict[int, Exception] = {}  # the next send to a chat raises this
        self.gate: asyncio.Event | None = None  # when set, sends wait for it
        self.active = 0
        self.peak = 0
        self._changed = asyncio.Condition()

    async def send_prompt(self, chat: Chat, shown: Shown) -> str:
        self.active += 1
        self.peak = max(self.peak, self.active)
        async with self._changed:
            self._changed.notify_all()
        try:
            if self.gate is not None:
                await self.gate.wait()
            if chat.id in self.failures:
                raise self.failures.pop(chat.id)
            self.sent.append(chat.id)
            return f"m{len(self.sent)}"
        finally:
            self.active -= 1
            async with self._changed:
                self._changed.notify_all()

    async def wait(self, until: Callable[[], bool]) -> None:
        """Wait until `until()` holds after a send (the scheduler's own timers send too)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(until), 10)


async def context(core: Core, user: int, platform: str = PLATFORM) -> Context:
    return await core.study.enter(
        platform=platform,
        user_id=str(user),
        user_name=f"u{user}",
        language_code="en",
        chat_id=str(user),
        chat_type="private",
        chat_title="",
    )


async def subscribed_chat(
    core: Core, user: int, at: str = "07:00", platform: str = PLATFORM
) -> Chat:
    return await core.study.subscribe(await context(core, user, platform), at)


@pytest.fixture
def sender(core: Core) -> FakeSender:
    fake = FakeSender()
    core.platforms.add(fake)
    return fake


async def test_a_chat_gets_its_question_at_its_local_time_once_a_day(
    core: Core, clock: FixedClock, sender: FakeSender
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    ctx = await core.study.set_timezone(await context(core, 1), "Asia/Shanghai")  # UTC+8
    chat = await core.study.subscribe(ctx, "15:00")
    schedule = core.daily_schedule
    await schedule.start()
    assert sender.sent == []  # 14:00 in Shanghai: not yet
    assert schedule.next_at(chat.id) == datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
    assert await core.timers.run_due() == 1
    assert sender.sent == [chat.id]
    assert schedule.next_at(chat.id) == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
    # Rebuilt at a restart later that day: nothing is sent again.
    clock.set(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    await schedule.start()
    assert core.timers.pending == 1  # tomorrow's timer, no catch-up
    assert sender.sent == [chat.id]
    clock.set(datetime(2026, 3, 11, 7, 0, tzinfo=UTC))
    assert await core.timers.run_due() == 1
    assert sender.sent == [chat.id, chat.id]


async def test_overdue_chats_are_caught_up_at_start_and_only_once(
    core: Core, clock: FixedClock, sender: FakeSender
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    chats = [await subscribed_chat(core, u) for u in (1, 2)]
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))  # the bot was down at 07:00
    await core.daily_schedule.start()
    await sender.wait(lambda: len(sender.sent) == 2)
    assert sorted(sender.sent) == [c.id for c in chats]
    await core.daily_schedule.start()  # started again: every chat had today's
    assert core.timers.pending == 2  # tomorrow's timers, no catch-up
    assert core.daily_schedule.next_at(chats[0].id) == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)


async def test_a_send_cut_short_by_a_stop_is_counted_not_repeated(
    core: Core, clock: FixedClock, sender: FakeSender, caplog: pytest.LogCaptureFixture
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    chat = await subscribed_chat(core, 1)
    # What a kill during the send leaves: a claim that was never finished.
    claimed = await core.repos.deliveries.claim(
        chat.id, date(2026, 3, 10), core.bank.questions[0].id, clock.now()
    )
    assert claimed is not None
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    with caplog.at_level(logging.WARNING):
        await core.daily_schedule.start()
    assert "1 daily question(s) were being sent when the bot stopped" in caplog.text
    assert core.timers.pending == 1  # tomorrow's timer, no catch-up: at most once
    assert sender.sent == []


async def test_a_failed_send_is_retried_later_a_refused_one_is_not(
    core: Core, clock: FixedClock, sender: FakeSender
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    failing = await subscribed_chat(core, 1)
    refused = await subscribed_chat(core, 2)
    await core.daily_schedule.start()
    sender.failures = {failing.id: SendFailed("the platform is down"), refused.id: SendRefused("")}
    clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
    assert await core.timers.run_due() == 2
    assert sender.sent == []
    assert await core.timers.run_due() == 0  # the retry waits its turn
    clock.set(clock.now() + RETRY_AFTER_FAILURE)
    assert await core.timers.run_due() == 1  # the retry; the refused chat waits for tomorrow
    assert sender.sent == [failing.id]
    assert await core.daily_schedule.deliver(refused.id) == outcome("already")


async def test_a_gone_chat_is_unsubscribed_and_its_timers_dropped(
    core: Core, clock: FixedClock, sender: FakeSender
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    chat = await subscribed_chat(core, 1)
    await core.daily_schedule.start()
    sender.failures = {chat.id: ChatGone("blocked")}
    clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
    assert await core.timers.run_due() == 1
    stored = await core.daily.chat(chat.id)
    assert stored is not None and not stored.subscribed
    assert core.daily_schedule.next_at(chat.id) is None
    assert core.timers.pending == 0


async def test_a_fan_out_keeps_at_most_max_in_flight_sends(
    core: Core, clock: FixedClock, sender: FakeSender
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    chats = MAX_IN_FLIGHT + 10
    for user in range(chats):
        await subscribed_chat(core, 100 + user)
    clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
    sender.gate = gate = asyncio.Event()
    try:
        await core.daily_schedule.start()  # every chat is due now
        await sender.wait(lambda: sender.active == MAX_IN_FLIGHT)
    finally:
        gate.set()
    await sender.wait(lambda: len(sender.sent) == chats)
    assert sender.peak == MAX_IN_FLIGHT


async def test_reschedule_follows_the_chat_and_only_registered_platforms_run(
    core: Core, clock: FixedClock, sender: FakeSender
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    chat = await subscribed_chat(core, 1, "08:00")
    other = await subscribed_chat(core, 2, "08:00", platform="elsewhere")
    schedule = core.daily_schedule
    await schedule.start()
    assert schedule.next_at(other.id) is None  # no sender for that platform in this process
    assert await schedule.reschedule(other) is False
    assert schedule.next_at(other.id) is None
    ctx = await core.study.set_timezone(await context(core, 1), "Europe/Berlin")  # UTC+1
    await schedule.reschedule(ctx.chat)
    assert schedule.next_at(chat.id) == datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    # Moved to a time already behind it today: delivered now.
    moved = await core.study.subscribe(ctx, "06:30")
    assert await schedule.reschedule(moved) is True
    await sender.wait(lambda: sender.sent == [chat.id])
    unsubscribed = await core.study.unsubscribe(ctx)
    await schedule.reschedule(unsubscribed)
    assert schedule.next_at(chat.id) is None
    assert core.timers.pending == 0


async def test_shutdown_drops_the_timers_and_sends_nothing_more(
    core: Core, clock: FixedClock, sender: FakeSender
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    chat = await subscribed_chat(core, 1)
    await core.daily_schedule.start()
    await core.daily_schedule.shutdown()
    assert core.timers.pending == 0
    clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
    assert await core.daily_schedule.deliver(chat.id) == outcome("not_due", None)
    assert sender.sent == []


def outcome(status: str, day: date | None = date(2026, 3, 10)) -> DeliveryOutcome:
    return DeliveryOutcome(status, day)  # type: ignore[arg-type]


async def test_start_up_finds_the_owed_chats_in_one_query_as_each_chat_would(
    core: Core, clock: FixedClock
) -> None:
    # 11:00 UTC: 01:00 on the 11th in Kiritimati (UTC+14), 01:00 on the 10th in Adak (UTC-10).
    clock.set(datetime(2026, 3, 10, 11, 0, tzinfo=UTC))
    question = core.bank.questions[0].id
    chats: dict[str, Chat] = {}
    for user, (name, zone, at) in enumerate(
        [
            ("new", "UTC", "00:30"),
            ("retry", "UTC", "00:30"),
            ("sent", "UTC", "00:30"),
            ("failed", "UTC", "00:30"),
            ("sending", "UTC", "00:30"),
            ("not yet", "UTC", "23:00"),
            ("sent yesterday", "Pacific/Kiritimati", "00:30"),  # its yesterday is UTC's today
            ("sent today", "Pacific/Kiritimati", "00:30"),
            ("west sent", "America/Adak", "00:30"),
        ],
        start=1,
    ):
        ctx = await core.study.set_timezone(await context(core, user), zone)
        chats[name] = await core.study.subscribe(ctx, at)
    deliveries = core.repos.deliveries
    for name, status in [("retry", "retry"), ("sent", "sent"), ("failed", "failed")]:
        await deliveries.claim(chats[name].id, date(2026, 3, 10), question, clock.now())
        await deliveries.finish(chats[name].id, date(2026, 3, 10), status, None, clock.now())
    await deliveries.claim(chats["sending"].id, date(2026, 3, 10), question, clock.now())
    for name, day in [("sent yesterday", 10), ("sent today", 11), ("west sent", 10)]:
        await deliveries.claim(chats[name].id, date(2026, 3, day), question, clock.now())
        await deliveries.finish(chats[name].id, date(2026, 3, day), "sent", None, clock.now())

    owed = await core.daily.pending(PLATFORM, list(chats.values()))

    assert owed == {c.id for c in chats.values() if await core.daily.is_pending(c)}
    assert owed == {chats[n].id for n in ("new", "retry", "sent yesterday")}

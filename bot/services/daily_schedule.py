"""When daily questions go out: one timer per subscribed chat on the services' scheduler.

The rules are the platforms' common ones; each platform only implements the `Platform` contract.
Every subscribed chat of a registered platform has one timer, keyed by the chat, at its next
local daily time; it is rebuilt from the database at start-up, where a chat whose time passed
today without its question gets it at once (the catch-up). A timer that fires late (a busy loop,
a suspended host) still runs: `DailyService.deliver` decides whether today's question is still
owed, so a question is sent at most once per chat and local day, across restarts too (the
`daily_deliveries` claims). A send that surely failed is tried again after RETRY_AFTER_FAILURE;
a chat that is gone is unsubscribed and its timers dropped.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.services.daily import DailyService, DeliveryOutcome, Sender
from bot.services.platform import Platforms
from bot.services.sending import SendFailed
from bot.services.study import Context, Shown
from bot.services.timers import Timers
from bot.storage.records import Chat

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = timedelta(minutes=5)
# Deliveries claimed and not yet answered, at most: a fan-out of 10,000 chats claims each chat
# just before its send rather than all at once, so a crash loses at most this many (one second
# of sends at Telegram's 30 a second).
MAX_IN_FLIGHT = 30


def timer_key(chat_id: int) -> str:
    """Return the key of a chat's daily timer (one per chat: a new schedule replaces it)."""
    return f"daily:{chat_id}"


def _once_key(chat_id: int) -> str:
    """Return the key of a chat's one-off delivery (a catch-up or a retry)."""
    return f"daily-once:{chat_id}"


class DailySchedule:
    """Keep one timer per subscribed chat and deliver through the chat's platform sender."""

    def __init__(
        self, daily: DailyService, timers: Timers, clock: Clock, platforms: Platforms
    ) -> None:
        self.daily = daily
        self.timers = timers
        self.clock = clock
        self.platforms = platforms
        daily.study.schedule_hooks.append(self.reschedule)
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._scheduled: set[int] = set()  # chats with timers, so shutdown can drop them
        self._delivering: set[asyncio.Task[Any]] = set()
        self._stopped = False
        self._counted = False  # the sends cut short by the last stop, counted at the first start

    async def start(self, platform: str | None = None) -> None:
        """Schedule every subscribed chat of `platform` (None: of every registered one).

        Run for each platform as it attaches (`Platforms.attach`); overdue ones are caught
        up. Calling it again rebuilds those timers
        without sending anything twice.
        """
        self._stopped = False
        # Counted first: the catch-ups below start sending while the loop still runs. Once a
        # process: a second start would count the same cut-short sends again.
        interrupted = 0 if self._counted else await self.daily.interrupted()
        self._counted = True
        chats = 0
        overdue = 0
        platforms = [platform] if platform is not None else self.platforms.names
        for name in platforms:
            subscribed = await self.daily.subscribed_chats(name)
            # One query for every chat's delivery of today, not one per chat.
            pending = await self.daily.pending(name, subscribed)
            for chat in subscribed:
                chats += 1
                if self._schedule(chat, chat.id in pending):
                    overdue += 1
        log.info("scheduled %d daily timer(s); %d overdue sent now", chats, overdue)
        if interrupted:
            log.warning(
                "%d daily question(s) were being sent when the bot stopped; not sent again "
                "(at most once), they may be missing in those chats",
                interrupted,
            )

    async def today(self, ctx: Context, send: Sender) -> DeliveryOutcome:
        """Show today's question now (/daily); a send that surely failed is retried later.

        Nothing reached the platform then: this /daily can be asked again, and a subscribed
        chat's delivery is retried (a no-op unless it is due and unsent).
        """
        outcome = await self.daily.today(ctx, send)
        if outcome.status == "failed":
            self.retry_later(ctx.chat.id)
        return outcome

    async def reschedule(self, chat: Chat) -> bool:
        """Set a chat's timer after /subscribe, /timezone or /unsubscribe; deliver if overdue.

        Return True when a delivery was queued for now (after downtime, or after the chat
        moved its time or zone so that today's time is already behind it).
        """
        return self._schedule(chat, await self.daily.is_pending(chat))

    def _schedule(self, chat: Chat, pending: bool) -> bool:
        """Set a chat's timer; queue its delivery for now if today's is `pending`."""
        if not chat.subscribed or chat.platform not in self.platforms or self._stopped:
            self.unschedule(chat.id)
            return False
        self._scheduled.add(chat.id)
        self.timers.at(timer_key(chat.id), self.next_time(chat), lambda: self._fire(chat.id))
        if not pending:
            return False
        self._soon(chat.id)
        return True

    def next_time(self, chat: Chat) -> datetime:
        """Return the chat's next daily time after now, as an aware datetime."""
        at = self.daily.daily_time(chat)
        zone = ZoneInfo(self.daily.zone(chat))
        now = self.clock.now().astimezone(zone)
        today = datetime.combine(now.date(), at.replace(tzinfo=None), tzinfo=zone)
        if today > now:
            return today
        return datetime.combine(now.date() + timedelta(days=1), at.replace(tzinfo=None), zone)

    def next_at(self, chat_id: int) -> datetime | None:
        """Return when a chat's regular daily timer fires next, or None if it has none."""
        return self.timers.when(timer_key(chat_id))

    def unschedule(self, chat_id: int) -> None:
        """Drop a chat's timers, if any."""
        self._scheduled.discard(chat_id)
        self.timers.cancel(timer_key(chat_id))
        self.timers.cancel(_once_key(chat_id))

    def retry_later(self, chat_id: int) -> None:
        """Try the chat's delivery again in a few minutes (a no-op unless it is still due)."""
        self._soon(chat_id, RETRY_AFTER_FAILURE)

    async def deliver(self, chat_id: int) -> DeliveryOutcome:
        """Deliver a chat's daily question now, if it has not had today's."""
        task = asyncio.current_task()
        if task is not None:
            self._delivering.add(task)  # awaited at shutdown
        try:
            return await self._deliver(chat_id)
        finally:
            if task is not None:
                self._delivering.discard(task)

    async def _deliver(self, chat_id: int) -> DeliveryOutcome:
        async with self._in_flight:
            # The service reads the chat (once, under its lock) and asks whether to go on.
            outcome = await self.daily.deliver(chat_id, self._send, self._accepts)
        log.info("daily delivery chat=%s: %s", chat_id, outcome.status)
        if outcome.status == "gone":
            self.unschedule(chat_id)
        elif outcome.status == "failed":
            self.retry_later(chat_id)
        return outcome

    def _accepts(self, chat: Chat) -> bool:
        return chat.platform in self.platforms and not self._stopped

    async def _send(self, chat: Chat, shown: Shown) -> str:
        platform = self.platforms.get(chat.platform)
        if platform is None:
            raise SendFailed(f"{chat.platform} is not attached")
        return await platform.send_prompt(chat, shown)

    async def shutdown(self) -> None:
        """Drop every daily timer and wait for the deliveries under way."""
        self._stopped = True
        for chat_id in list(self._scheduled):
            self.unschedule(chat_id)
        if self._delivering:
            await asyncio.gather(*self._delivering, return_exceptions=True)

    def _soon(self, chat_id: int, after: timedelta = timedelta(0)) -> None:
        # One pending one-off per chat: a newer catch-up or retry replaces it.
        if self._stopped:
            return
        self._scheduled.add(chat_id)
        when = self.clock.now() + after
        self.timers.at(_once_key(chat_id), when, lambda: self._once(chat_id))

    async def _fire(self, chat_id: int) -> None:
        """Deliver at the chat's daily time, then set its timer to the next one."""
        try:
            await self.deliver(chat_id)
        finally:
            chat = await self.daily.chat(chat_id)
            if chat is not None and chat.subscribed and not self._stopped:
                when = self.next_time(chat)
                self.timers.at(timer_key(chat_id), when, lambda: self._fire(chat_id))

    async def _once(self, chat_id: int) -> None:
        await self.deliver(chat_id)

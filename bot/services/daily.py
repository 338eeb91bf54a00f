"""Daily delivery: at most one question per chat and local day, even across restarts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import parse_hhmm
from bot.errors import StudyBotError
from bot.services.study import Context, Shown, StudyService
from bot.storage.records import Chat, Lang
from bot.storage.repos import Repos

log = logging.getLogger(__name__)


class ChatGone(StudyBotError):
    """The chat blocked the bot or no longer exists: stop sending to it."""


class SendFailed(StudyBotError):
    """Sending failed after the adapter's own retries; try again at the next opportunity."""


# The adapter sends a shown question to a chat and returns the platform's message id.
Sender = Callable[[Chat, Shown], Awaitable[str]]


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one chat's daily question."""

    status: Literal["sent", "already", "not_due", "gone", "failed"]
    local_date: date | None = None


class DailyService:
    """Decide when a chat's daily question is due and deliver it exactly once per local day."""

    def __init__(self, repos: Repos, study: StudyService, clock: Clock) -> None:
        self.repos = repos
        self.study = study
        self.clock = clock

    def zone(self, chat: Chat) -> str:
        """Return the zone a chat's schedule runs in."""
        return chat.timezone or self.study.default_zone

    def daily_time(self, chat: Chat) -> time:
        """Return the chat's daily time as an aware time in the chat's zone."""
        at = parse_hhmm(chat.daily_time)
        return at.replace(tzinfo=ZoneInfo(self.zone(chat)))

    async def subscribed_chats(self, platform: str) -> list[Chat]:
        """Return every subscribed chat of a platform."""
        return await self.repos.chats.subscribed(platform)

    async def is_pending(self, chat: Chat, now: datetime | None = None) -> bool:
        """Return True if today's time has passed in the chat's zone and nothing was sent today."""
        now = now or self.clock.now()
        local = now.astimezone(ZoneInfo(self.zone(chat)))
        if local.time().replace(tzinfo=None) < parse_hhmm(chat.daily_time):
            return False
        delivery = await self.repos.deliveries.get(chat.id, local.date())
        return delivery is None or delivery.status == "pending"

    async def deliver(self, chat_id: int, send: Sender) -> DeliveryOutcome:
        """Send today's question to a subscribed chat unless it already got one today."""
        chat = await self.repos.chats.get(chat_id)
        if chat is None or not chat.subscribed:
            return DeliveryOutcome("not_due")
        local = self.clock.now().astimezone(ZoneInfo(self.zone(chat)))
        if local.time().replace(tzinfo=None) < parse_hhmm(chat.daily_time):
            return DeliveryOutcome("not_due")
        return await self._deliver(chat, local.date(), chat.language or "en", send)

    async def today(self, ctx: Context, send: Sender) -> DeliveryOutcome:
        """Show the chat's question of today on request; it counts as today's delivery."""
        chat = ctx.chat
        day = self.clock.now().astimezone(ZoneInfo(self.zone(chat))).date()
        delivery = await self.repos.deliveries.get(chat.id, day)
        question = self.study.bank.get(delivery.question_id) if delivery else None
        if delivery is not None and delivery.status != "pending" and question is not None:
            shown = await self.study.show_question(chat, question, "daily", ctx.lang)
            await self.study.attach_message(shown.prompt.id, await send(chat, shown))
            return DeliveryOutcome("already", day)
        return await self._deliver(chat, day, ctx.lang, send)

    async def _deliver(self, chat: Chat, day: date, lang: Lang, send: Sender) -> DeliveryOutcome:
        now = self.clock.now()
        question = await self.study.pick(chat, chat.topic_filter)
        if not await self.repos.deliveries.claim(chat.id, day, question.id, now):
            return DeliveryOutcome("already", day)
        # A pending claim left by a crash keeps the question it chose.
        delivery = await self.repos.deliveries.get(chat.id, day)
        chosen = self.study.bank.get(delivery.question_id) if delivery else None
        shown = await self.study.show_question(chat, chosen or question, "daily", lang)
        try:
            ref = await send(chat, shown)
        except ChatGone:
            log.info("chat %s is gone; unsubscribing it", chat.id)
            await self.repos.chats.update(chat.id, subscribed=False)
            await self.repos.deliveries.finish(chat.id, day, "failed", shown.prompt.id, now)
            return DeliveryOutcome("gone", day)
        except SendFailed:
            log.warning("daily question for chat %s not sent; will retry", chat.id)
            return DeliveryOutcome("failed", day)
        await self.study.attach_message(shown.prompt.id, ref)
        await self.repos.deliveries.finish(chat.id, day, "sent", shown.prompt.id, self.clock.now())
        return DeliveryOutcome("sent", day)

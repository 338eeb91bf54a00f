"""Daily delivery: at most one question per chat and local day, even across restarts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import parse_hhmm
from bot.content.models import Question
from bot.services.sending import ChatGone, SendFailed, SendRefused, SendUncertain
from bot.services.study import Context, Shown, StudyService
from bot.storage.records import Card, Chat, Lang, User
from bot.storage.repos import Repos

log = logging.getLogger(__name__)


# The due cards a daily question is picked from (the most overdue one that the bank still has).
_PICK_FROM = 20

# The adapter sends a shown question to a chat and returns the platform's message id.
Sender = Callable[[Chat, Shown], Awaitable[str]]


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one chat's daily question."""

    # "repeated": today's question shown again on request; "already": nothing sent, because
    # today's delivery is in flight elsewhere or was refused for today.
    status: Literal["sent", "repeated", "already", "not_due", "gone", "failed", "refused"]
    local_date: date | None = None


class DailyService:
    """Decide when a chat's daily question is due and deliver it exactly once per local day."""

    def __init__(
        self, repos: Repos, study: StudyService, clock: Clock, review_cap: int = 10
    ) -> None:
        self.review_cap = review_cap  # reviews offered under a private daily question
        self.repos = repos
        self.study = study
        self.clock = clock
        # One delivery at a time per chat: the scheduled job, a catch-up and two members'
        # /daily may all arrive together, and only one of them may send.
        self._locks: dict[int, asyncio.Lock] = {}
        # Told of each scheduled delivery's outcome (metrics).
        self.observers: list[Callable[[DeliveryOutcome], None]] = []

    def zone(self, chat: Chat) -> str:
        """Return the zone a chat's schedule runs in."""
        return chat.timezone or self.study.default_zone

    def daily_time(self, chat: Chat) -> time:
        """Return the chat's daily time as an aware time in the chat's zone."""
        at = parse_hhmm(chat.daily_time)
        return at.replace(tzinfo=ZoneInfo(self.zone(chat)))

    async def chat(self, chat_id: int) -> Chat | None:
        """Return a chat as stored now."""
        return await self.repos.chats.get(chat_id)

    async def subscribed_chats(self, platform: str) -> list[Chat]:
        """Return every subscribed chat of a platform."""
        return await self.repos.chats.subscribed(platform)

    def due_today(self, chat: Chat) -> date | None:
        """Return the chat's local date if its daily time has passed there today, else None."""
        local = self.clock.now().astimezone(ZoneInfo(self.zone(chat)))
        if local.time().replace(tzinfo=None) < parse_hhmm(chat.daily_time):
            return None
        return local.date()

    async def interrupted(self) -> int:
        """Count today's sends cut short by a stop: each may or may not have reached its chat.

        At most once: such a chat is not sent another automatically (its members can ask with
        /daily), so a crash costs at most one message per chat that was in flight.
        """
        return await self.repos.deliveries.in_flight(self.clock.now() - timedelta(days=1))

    async def is_pending(self, chat: Chat) -> bool:
        """Return True if today's time has passed in the chat's zone and nothing was sent today."""
        day = self.due_today(chat)
        if day is None:
            return False
        delivery = await self.repos.deliveries.get(chat.id, day)
        return delivery is None or delivery.status == "retry"

    async def deliver(
        self, chat_id: int, send: Sender, accept: Callable[[Chat], bool] | None = None
    ) -> DeliveryOutcome:
        """Send today's question to a subscribed chat unless it already got one today.

        A chat that `accept` refuses (no sender for its platform, a schedule shutting down) is
        left alone: "not_due", and no observer is told.
        """
        outcome = await self._deliver_due(chat_id, send, accept)
        if outcome is None:
            return DeliveryOutcome("not_due")
        for observe in self.observers:
            observe(outcome)
        return outcome

    async def pending(self, platform: str, chats: list[Chat]) -> set[int]:
        """Return the ids of `chats` (one platform's) whose question of today is owed now.

        What `is_pending` tells of one chat, for all of them in one query (start-up).
        """
        days = {chat.id: self.due_today(chat) for chat in chats}
        known = [d for d in days.values() if d is not None]
        if not known:
            return set()
        statuses = await self.repos.deliveries.statuses_since(platform, min(known))
        return {
            chat_id
            for chat_id, day in days.items()
            if day is not None and statuses.get((chat_id, day), "retry") == "retry"
        }

    async def _deliver_due(
        self, chat_id: int, send: Sender, accept: Callable[[Chat], bool] | None
    ) -> DeliveryOutcome | None:
        async with self._lock(chat_id):
            chat = await self.repos.chats.get(chat_id)
            if chat is not None and accept is not None and not accept(chat):
                return None
            if chat is None or not chat.subscribed:
                return DeliveryOutcome("not_due")
            day = self.due_today(chat)
            if day is None:
                return DeliveryOutcome("not_due")
            return await self._deliver(chat, day, chat.language or "en", send)

    async def today(self, ctx: Context, send: Sender) -> DeliveryOutcome:
        """Show the chat's question of today on request; it counts as today's delivery.

        Shown again later the same day, it is the same prompt, so it is answered only once.
        """
        chat = ctx.chat
        async with self._lock(chat.id):
            day = self.clock.now().astimezone(ZoneInfo(self.zone(chat))).date()
            delivery = await self.repos.deliveries.get(chat.id, day)
            if delivery is not None and delivery.status in {"sent", "sending"}:
                found = await self.study.prompt(delivery.prompt_id) if delivery.prompt_id else None
                if found is not None:
                    prompt, question = found
                    # In the language asked in now: /lang may have changed since it went out.
                    shown = Shown(prompt=prompt, question=question, lang=ctx.lang)
                    shown = await self._with_reviews(chat, shown)
                    return await self._repeat(shown, day, send, chat)
            # Asked for, today's question goes out even where a scheduled send was refused or
            # cut short by a crash: the user is here and wants it.
            return await self._deliver(chat, day, ctx.lang, send, asked=True)

    async def _repeat(self, shown: Shown, day: date, send: Sender, chat: Chat) -> DeliveryOutcome:
        try:
            ref = await send(chat, shown)
        except SendFailed:
            return DeliveryOutcome("failed", day)
        except SendUncertain:
            return DeliveryOutcome("repeated", day)
        except (ChatGone, SendRefused):
            return DeliveryOutcome("refused", day)
        await self.study.attach_message(shown.prompt.id, ref)
        return DeliveryOutcome("repeated", day)

    def _lock(self, chat_id: int) -> asyncio.Lock:
        return self._locks.setdefault(chat_id, asyncio.Lock())

    async def _owner(self, chat: Chat) -> User | None:
        """Return the user of a private chat (same platform id), None for a group."""
        if chat.is_group or chat.type != "private":
            return None
        return await self.repos.users.by_external(chat.platform, chat.external_id)

    async def _due_cards(self, chat: Chat) -> list[Card] | None:
        """Return the due cards of a private chat's user, most overdue first; None for a group.

        Read once per delivery: they pick the question and count the reviews offered under it.
        """
        owner = await self._owner(chat)
        if owner is None:
            return None
        return await self.study.cards.due(
            owner, self.clock.now(), max(_PICK_FROM, self.review_cap + 1)
        )

    async def _pick(self, chat: Chat, due: list[Card] | None) -> Question:
        """Pick the day's question: in a private chat the most overdue card, else a new one."""
        for card in (due or [])[:_PICK_FROM]:
            question = self.study.bank.get(card.question_id)
            if question is not None:
                return question
        return await self.study.pick(chat, chat.topic_filter)

    async def _with_reviews(self, chat: Chat, shown: Shown, due: list[Card] | None = None) -> Shown:
        """Offer the private chat's other due cards (up to the cap) under the daily question."""
        if due is None:
            due = await self._due_cards(chat)
            if due is None:
                return shown
        others = [c for c in due[: self.review_cap + 1] if c.question_id != shown.question.id]
        return replace(shown, review_due=min(len(others), self.review_cap))

    async def _deliver(
        self, chat: Chat, day: date, lang: Lang, send: Sender, *, asked: bool = False
    ) -> DeliveryOutcome:
        now = self.clock.now()
        due = await self._due_cards(chat)
        question = await self._pick(chat, due)
        claimed = await self.repos.deliveries.claim(chat.id, day, question.id, now, asked=asked)
        if claimed is None:
            return DeliveryOutcome("already", day)
        # A delivery retried after a failed send keeps the question it chose first.
        chosen = self.study.bank.get(claimed)
        shown = await self.study.show_question(chat, chosen or question, "daily", lang)
        if due is not None:
            shown = await self._with_reviews(chat, shown, due)
        finish = self.repos.deliveries.finish
        try:
            ref = await send(chat, shown)
        except ChatGone:
            log.info("chat %s is gone; unsubscribing it", chat.id)
            await self.repos.chats.update(chat.id, subscribed=False)
            await finish(chat.id, day, "failed", shown.prompt.id, now)
            return DeliveryOutcome("gone", day)
        except SendRefused as e:
            log.warning("daily question for chat %s refused for today: %s", chat.id, e)
            await finish(chat.id, day, "failed", shown.prompt.id, now)
            return DeliveryOutcome("refused", day)
        except SendUncertain as e:
            log.warning("daily question for chat %s may not have arrived: %s", chat.id, e)
            await finish(chat.id, day, "sent", shown.prompt.id, now)
            return DeliveryOutcome("sent", day)
        except SendFailed:
            log.warning("daily question for chat %s not sent; will retry", chat.id)
            await finish(chat.id, day, "retry", shown.prompt.id, now)
            return DeliveryOutcome("failed", day)
        await finish(chat.id, day, "sent", shown.prompt.id, self.clock.now(), ref)
        return DeliveryOutcome("sent", day)

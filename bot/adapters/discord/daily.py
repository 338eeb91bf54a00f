"""Daily questions in Discord channels and DMs: the sender, the schedule and /subscribe."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import discord

from bot.adapters import render
from bot.adapters.discord.base import PLATFORM, channel_of
from bot.adapters.discord.study import StudyHandlers, question_message
from bot.app import Core
from bot.content.loader import ContentBank
from bot.i18n import _
from bot.services.sending import ChatGone, SendFailed, SendRefused, SendUncertain
from bot.services.study import Context, Shown
from bot.storage.records import Chat

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = timedelta(minutes=5)
# Deliveries in flight at once: discord.py keeps to each route's bucket, and this keeps a
# fan-out to many channels well under the global limit of 50 requests a second.
MAX_IN_FLIGHT = 10


class DiscordDailySender:
    """Post a shown question in a channel (or DM) and map Discord's failures."""

    platform = PLATFORM

    def __init__(self, client: discord.Client, bank: Callable[[], ContentBank]) -> None:
        self.client = client
        self.bank = bank  # the bank in use: /admin reload replaces it

    async def send_daily(self, chat: Chat, shown: Shown) -> str:
        """Post the question with its buttons; return the message id."""
        question, view = question_message(self.bank(), shown)
        try:
            channel = await channel_of(self.client, chat)
            message = await channel.send(embed=question, view=view)
        except (discord.NotFound, discord.Forbidden) as e:
            # The channel is gone, or the bot may no longer post there: stop, do not retry.
            raise ChatGone(f"{e.status} {e.text}") from e
        except discord.HTTPException as e:
            if e.status >= 500 or e.status == 429:
                raise SendFailed(f"{e.status} {e.text}") from e
            raise SendRefused(f"{e.status} {e.text}") from e
        except TimeoutError as e:
            raise SendUncertain("timed out") from e
        except (aiohttp.ClientError, OSError) as e:
            raise SendFailed(str(e)) from e
        return str(message.id)

    async def __call__(self, chat: Chat, shown: Shown) -> str:
        """Send, as the services' Sender callable."""
        return await self.send_daily(chat, shown)


class DiscordDailySchedule:
    """One timer per subscribed Discord chat on the services' scheduler, rebuilt at start."""

    def __init__(self, core: Core, sender: DiscordDailySender) -> None:
        self.core = core
        self.sender = sender
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._chats: dict[int, Chat] = {}  # as last scheduled: its time and zone

    async def start(self) -> None:
        """Schedule every subscribed chat; deliver at once where today's time has passed."""
        chats = await self.core.daily.subscribed_chats(PLATFORM)
        for chat in chats:
            await self.schedule(chat)
        log.info("discord: scheduled %d daily question(s)", len(chats))

    def _key(self, chat_id: int) -> str:
        return f"discord-daily:{chat_id}"

    async def schedule(self, chat: Chat) -> None:
        """(Re)schedule a chat's next delivery; deliver now if today's is due and unsent."""
        timers = self.core.timers
        if not chat.subscribed:
            timers.cancel(self._key(chat.id))
            self._chats.pop(chat.id, None)
            return
        self._chats[chat.id] = chat
        if await self.core.daily.is_pending(chat):
            timers.at(self._key(chat.id), self.core.clock.now(), self._job(chat.id))
            return
        timers.at(self._key(chat.id), self._next(chat), self._job(chat.id))

    def _next(self, chat: Chat) -> datetime:
        """Return the next time the chat's daily time comes round, after now."""
        zone = ZoneInfo(self.core.daily.zone(chat))
        now = self.core.clock.now().astimezone(zone)
        at = self.core.daily.daily_time(chat)
        when = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
        if when <= now:
            when = (now + timedelta(days=1)).replace(
                hour=at.hour, minute=at.minute, second=0, microsecond=0
            )
        return when

    def _job(self, chat_id: int) -> Any:
        async def run() -> None:
            async with self._in_flight:
                outcome = await self.core.daily.deliver(chat_id, self.sender)
            log.info("discord daily delivery chat=%s: %s", chat_id, outcome.status)
            chat = self._chats.get(chat_id)
            if outcome.status == "gone" or chat is None:
                self._chats.pop(chat_id, None)
                return
            if outcome.status == "failed":
                when = self.core.clock.now() + RETRY_AFTER_FAILURE
                self.core.timers.at(self._key(chat_id), when, self._job(chat_id))
                return
            self.core.timers.at(self._key(chat_id), self._next(chat), self._job(chat_id))

        return run


class SubscribeHandlers:
    """/subscribe and /unsubscribe for a channel or a DM."""

    def __init__(self, study: StudyHandlers, schedule: DiscordDailySchedule) -> None:
        self.study = study
        self.core = study.core
        self.schedule = schedule

    async def subscribe(
        self,
        interaction: discord.Interaction[Any],
        ctx: Context,
        time: str | None,
        topic: str | None,
    ) -> None:
        """Post the daily question here at a local time (Manage Server in server channels)."""
        self.study.require_admin(interaction, ctx)
        args = [a for a in (time, topic) if a]
        chat = await self.core.study.subscribe_args(ctx, args)
        await self.schedule.schedule(chat)
        zone = self.core.daily.zone(chat)
        text = render.subscribed(self.core.bank, ctx.lang, chat, zone, self.core.clock.now())
        await self.study.reply(interaction, text)

    async def unsubscribe(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """Stop the daily question here."""
        self.study.require_admin(interaction, ctx)
        chat = await self.core.study.unsubscribe(ctx)
        await self.schedule.schedule(chat)
        await self.study.reply(
            interaction, _(ctx.lang, "Unsubscribed. /subscribe brings the daily question back.")
        )

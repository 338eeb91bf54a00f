"""Daily questions in Discord channels and DMs: the sender and /subscribe.

When they go out is the services' DailySchedule; this module only posts them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import discord
from aiolimiter import AsyncLimiter

from bot.adapters import render
from bot.adapters.discord.base import PLATFORM, channel_of
from bot.adapters.discord.study import StudyHandlers, question_message
from bot.content.loader import ContentBank
from bot.i18n import _
from bot.services.model import Chat
from bot.services.sending import ChatGone, SendFailed, SendRefused, SendUncertain
from bot.services.study import Context, Shown

log = logging.getLogger(__name__)


# Discord allows 50 requests a second per bot across all routes, and discord.py keeps only to
# each route's bucket: a fan-out to many channels keeps under the global limit by itself. A
# leaky bucket of 10 per quarter second sends 40 a second and at most 50 in any one second.
FANOUT_BURST = 10
FANOUT_PERIOD_S = 0.25


class DiscordDailySender:
    """Post a shown question in a channel (or DM) and map Discord's failures."""

    platform = PLATFORM

    def __init__(
        self,
        client: discord.Client,
        bank: Callable[[], ContentBank],
        limiter: AsyncLimiter | None = None,
    ) -> None:
        self.client = client
        self.bank = bank  # the bank in use: /admin reload replaces it
        self.limiter = limiter or AsyncLimiter(FANOUT_BURST, FANOUT_PERIOD_S)

    async def send_daily(self, chat: Chat, shown: Shown) -> str:
        """Post the question with its buttons; return the message id."""
        question, view = question_message(self.bank(), shown)

        async def post() -> str:
            async with self.limiter:
                channel = await channel_of(self.client, chat)
            message = await channel.send(embed=question, view=view)
            return str(message.id)

        return await mapped(post, self.limiter)


async def mapped(post: Callable[[], Awaitable[str]], limiter: AsyncLimiter) -> str:
    """Run one send within the fan-out budget; map Discord's failures to the services' terms."""
    try:
        async with limiter:
            return await post()
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


class SubscribeHandlers:
    """/subscribe and /unsubscribe for a channel or a DM."""

    def __init__(self, study: StudyHandlers) -> None:
        self.study = study
        self.core = study.core

    async def subscribe(
        self,
        interaction: discord.Interaction[Any],
        ctx: Context,
        time: str | None,
        topic: str | None,
    ) -> None:
        """Post the daily question here at a local time (Manage Server in server channels)."""
        await self.study.require_admin(interaction, ctx)
        args = [a for a in (time, topic) if a]
        chat = await self.core.study.subscribe_args(ctx, args)
        zone = self.core.daily.zone(chat)
        text = render.subscribed(self.core.bank, ctx.lang, chat, zone, self.core.clock.now())
        await self.study.reply(interaction, text)

    async def unsubscribe(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """Stop the daily question here."""
        await self.study.require_admin(interaction, ctx)
        await self.core.study.unsubscribe(ctx)
        await self.study.reply(
            interaction, _(ctx.lang, "Unsubscribed. /subscribe brings the daily question back.")
        )

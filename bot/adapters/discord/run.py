"""The Discord side of `studybot serve`: log in, connect, and close on stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord

from bot.adapters.discord.client import StudyClient
from bot.adapters.serve import PlatformFailed
from bot.app import Core
from bot.metrics.bot import BotMetrics
from bot.metrics.health import Check, Unhealthy
from bot.services.runs import RunService

log = logging.getLogger(__name__)

# Beyond a /run's wall time, how long a stop waits for the interactions being handled.
STOP_GRACE_S = 10.0


class DiscordFailed(PlatformFailed):
    """Discord refused the bot for good (a wrong token, say)."""


class DiscordPlatform:
    """The Discord bot on a core; sets `stop` if the connection ends for good."""

    name = "discord"

    def __init__(
        self,
        core: Core,
        runs: RunService,
        stop: asyncio.Event,
        metrics: BotMetrics | None = None,
    ) -> None:
        settings = core.settings
        assert settings.discord_bot_token is not None  # noqa: S101 - checked by serve_main
        self._token = settings.discord_bot_token.get_secret_value()
        self.base_url = settings.discord_api_base_url
        self.stop_event = stop
        # Read by discord.py for every request (REST and interaction webhooks): set before any.
        discord.http.Route.BASE = self.base_url
        self.client = StudyClient(core, runs, metrics)
        self.failure: str | None = None
        self._task: asyncio.Task[None] | None = None

    def checks(self) -> dict[str, Check]:
        """Return the health check of the gateway connection."""

        async def gateway() -> str:
            if not self.client.is_ready() or self.client.is_closed():
                raise Unhealthy("not connected to the Discord gateway")
            return f"latency {self.client.latency * 1000:.0f} ms"

        return {"discord_gateway": gateway}

    async def start(self) -> None:
        """Log in (REST), register the commands, then connect to the gateway until ready."""
        try:
            await self.client.login(self._token)
        except discord.LoginFailure:
            await self.client.close()
            raise DiscordFailed("invalid DISCORD_BOT_TOKEN: the Discord API rejected it") from None
        self._task = asyncio.create_task(self._connect(), name="discord-gateway")
        ready = asyncio.create_task(self.client.wait_until_ready())
        await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if self._task.done():
            await self._task
            raise DiscordFailed(self.failure or "the Discord gateway closed")
        log.info("discord started; API %s", self.base_url)

    async def _connect(self) -> None:
        try:
            await self.client.connect(reconnect=True)
        except discord.DiscordException as e:
            self.failure = f"the Discord gateway refused the bot: {type(e).__name__}"
            log.error("discord: %s", self.failure)
            self.stop_event.set()

    async def stop(self) -> None:
        """Take no new interactions and let running ones (a /run within its limit) end."""
        grace = self.client.core.settings.run_wall_time_s + STOP_GRACE_S
        cut = await self.client.inflight.drain(grace)
        if cut:
            log.warning("discord: %d interaction(s) still running at the stop were cut", cut)

    async def close(self) -> None:
        """Close the gateway and the HTTP session (after every timer stopped)."""
        self.client.core.platforms.detach(self.name)  # nothing sends through it any more
        await self.client.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

"""Run the Discord adapter against the fake Discord API for a test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.adapters.discord.run import DiscordPlatform
from bot.app import Core
from bot.metrics.bot import BotMetrics
from bot.services.runs import RunService
from tests.fakediscord import FakeDiscord


@asynccontextmanager
async def running(
    core: Core,
    fake: FakeDiscord,
    runs: RunService | None = None,
    metrics: BotMetrics | None = None,
) -> AsyncIterator[DiscordPlatform]:
    """Start the Discord platform on `core`, connected to `fake`, and stop it afterwards."""
    runs = runs or RunService(None, frozenset())
    platform = DiscordPlatform(core, runs, asyncio.Event(), metrics)
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()
        await core.stop_timers()
        await platform.close()

"""The command tree: the one gate and the one error path of commands, buttons and modals."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from bot.adapters import render
from bot.adapters.discord.base import Base, Inflight, locale_lang
from bot.errors import DatabaseDamaged, UserInputError
from bot.i18n import _
from bot.metrics.bot import BotMetrics

log = logging.getLogger(__name__)


class StudyTree(app_commands.CommandTree[discord.Client]):
    """Refuse interactions while stopping, time commands, and answer every failure once."""

    def __init__(
        self, client: discord.Client, base: Base, inflight: Inflight, metrics: BotMetrics
    ) -> None:
        super().__init__(
            client,
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True
            ),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        )
        self.base = base
        self.inflight = inflight
        self.metrics = metrics

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        """Take the interaction unless stopping; a stop waits for the ones taken."""
        if not self.inflight.accepting:
            return False  # stopping: Discord tells the user the interaction failed
        task = asyncio.current_task()
        if task is not None and task not in self.inflight.tasks:
            self.inflight.tasks.add(task)
            task.add_done_callback(self.inflight.tasks.discard)
            command = interaction.command
            if interaction.type is discord.InteractionType.application_command and command:
                started = time.monotonic()
                name = command.name

                def timed(_task: asyncio.Task[Any]) -> None:
                    self.metrics.command(name, time.monotonic() - started)

                task.add_done_callback(timed)
        return True

    async def guard(
        self, interaction: discord.Interaction[Any], handler: Callable[[], Awaitable[None]]
    ) -> None:
        """Run a button's or a modal's handler through the same gate and error path."""
        if not await self.interaction_check(interaction):
            return
        try:
            await handler()
        except Exception as e:  # the one error path: every failure is answered there
            await self.failed(interaction, e)

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError, /
    ) -> None:
        """Answer a failed command (the cause, unwrapped, decides how)."""
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        await self.failed(interaction, cause)

    async def failed(self, interaction: discord.Interaction[Any], error: Exception) -> None:
        """Answer bad input with its usage; log the unexpected once and apologise."""
        lang = interaction.extras.get("lang") or locale_lang(interaction)
        if isinstance(error, app_commands.CheckFailure):
            return  # refused while stopping: nothing to answer
        if isinstance(error, UserInputError):
            await self.base.problem(interaction, lang, error)
            return
        if isinstance(error, DatabaseDamaged):
            # Logged once where it was met; the user gets one line.
            await self._say(interaction, _(lang, render.DATABASE_DAMAGED))
            return
        log.error(
            "unhandled error handling a Discord interaction %s (type %s) channel=%s user=%s",
            interaction.id,
            interaction.type.name,
            interaction.channel_id,
            interaction.user.id,
            exc_info=error,
        )
        await self._say(
            interaction, _(lang, "Sorry, something went wrong on my side. Please try again.")
        )

    async def _say(self, interaction: discord.Interaction[Any], text: str) -> None:
        try:
            await self.base.reply(interaction, text, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not answer interaction %s", interaction.id, exc_info=True)

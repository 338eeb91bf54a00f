"""The discord.py client: gateway from the API, the command tree, and button routing."""

from __future__ import annotations

import logging
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from bot.adapters.discord.base import Base, Inflight, custom_id
from bot.adapters.discord.commands import Routes, Translator
from bot.adapters.discord.daily import DiscordDailySender, SubscribeHandlers
from bot.adapters.discord.exercises import SUBMIT, ExerciseHandlers
from bot.adapters.discord.platform import DiscordChats
from bot.adapters.discord.quiz import DiscordQuizSender, QuizHandlers
from bot.adapters.discord.review import AdminHandlers, ReviewHandlers
from bot.adapters.discord.runcode import RunHandlers
from bot.adapters.discord.study import StudyHandlers
from bot.app import Core
from bot.services.runs import RunService

log = logging.getLogger(__name__)


class StudyClient(discord.Client):
    """The bot on Discord: interactions only, so no privileged intent."""

    def __init__(self, core: Core, runs: RunService) -> None:
        # The bot has no voice: discord.py's warnings about voice libraries would only alarm.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.core = core
        self.inflight = Inflight()
        base = Base(core, runs, self.inflight)
        self.sender = DiscordDailySender(self, lambda: core.bank)  # its limiter: all fan-outs
        run = RunHandlers(base)
        self.study = StudyHandlers(core, runs, self.inflight, run)
        self.quiz = QuizHandlers(base)
        self.review = ReviewHandlers(base)
        self.exercises = ExerciseHandlers(base, run)
        self.routes = Routes(
            base,
            self.study,
            SubscribeHandlers(self.study),
            self.quiz,
            run,
            self.review,
            AdminHandlers(base),
            self.exercises,
        )
        self.tree: app_commands.CommandTree[StudyClient] = app_commands.CommandTree(
            self,
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True
            ),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        )
        self.routes.install(self.tree)
        self.chats = DiscordChats(self, self.sender, DiscordQuizSender(self, base))
        if core.admin not in runs.observers:  # /admin stats counts runs on every platform
            runs.observers.append(core.admin)

    async def close(self) -> None:
        """Close the connection, then the /stats drawing worker."""
        try:
            await super().close()
        finally:
            self.study.pictures.close()

    async def setup_hook(self) -> None:
        """Take the gateway URL from the API, register the commands, rebuild the schedules."""
        # A plain Client never asks GET /gateway/bot and would open Discord's built-in URL.
        _shards, url, _limits = await self.http.get_bot_gateway()
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        await self.tree.set_translator(Translator())
        synced = await self.tree.sync()  # one bulk overwrite of the global commands
        log.info("discord: %d application command(s) registered", len(synced))
        await self.core.platforms.attach(self.chats)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Route our buttons by custom id (commands and modals go through the tree and views)."""
        if interaction.type is not discord.InteractionType.component:
            return
        kind = custom_id(interaction)
        if kind.startswith("dq:"):
            await self.study.guarded(interaction, self.study.button)
        elif kind.startswith("qz:"):
            await self.study.guarded(interaction, self.quiz.button)
        elif kind.startswith("rv:"):
            await self.study.guarded(interaction, self.review.button)
        elif kind == SUBMIT:
            await self.study.guarded(interaction, self.exercises.button)

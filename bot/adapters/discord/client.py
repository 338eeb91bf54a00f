"""The discord.py client: gateway and shards from the API, the command tree, the buttons."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket

from bot.adapters.discord.base import Base, Inflight
from bot.adapters.discord.buddies import BuddyHandlers
from bot.adapters.discord.buttons import DYNAMIC_ITEMS
from bot.adapters.discord.commands import Routes, Translator
from bot.adapters.discord.daily import DiscordDailySender, SubscribeHandlers
from bot.adapters.discord.exercises import ExerciseHandlers
from bot.adapters.discord.platform import DiscordChats
from bot.adapters.discord.quiz import DiscordQuizSender, QuizHandlers
from bot.adapters.discord.review import AdminHandlers, ReviewHandlers
from bot.adapters.discord.runcode import RunHandlers
from bot.adapters.discord.study import StudyHandlers
from bot.adapters.discord.sync import sync_commands
from bot.adapters.discord.tree import StudyTree
from bot.app import Core
from bot.metrics.bot import BotMetrics
from bot.services.runs import RunService

log = logging.getLogger(__name__)

IDENTIFY_WAIT_S = 5.0


class StudyClient(discord.AutoShardedClient):
    """The bot on Discord: interactions only, so no privileged intent; shards as Discord says."""

    def __init__(self, core: Core, runs: RunService, metrics: BotMetrics | None = None) -> None:
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
        self.metrics = metrics or BotMetrics()
        self.identify_concurrency = 1  # from GET /gateway/bot at start
        self.inflight = Inflight()
        self.base = base = Base(core, runs)
        self.sender = DiscordDailySender(self, lambda: core.bank)  # its limiter: all fan-outs
        run = RunHandlers(base)
        self.study = StudyHandlers(core, runs, run)
        self.quiz = QuizHandlers(base)
        self.review = ReviewHandlers(base)
        self.exercises = ExerciseHandlers(base, run)
        self.buddies = BuddyHandlers(base)
        self.routes = Routes(
            base,
            self.study,
            SubscribeHandlers(self.study),
            self.quiz,
            run,
            self.review,
            AdminHandlers(base),
            self.exercises,
            self.buddies,
        )
        self.tree = StudyTree(self, base, self.inflight, self.metrics)
        self.routes.install(self.tree)
        self.chats = DiscordChats(self, self.sender, DiscordQuizSender(self, base))
        # Shared with Telegram in one process: each observer is added once.
        for observer in (core.admin, self.metrics):  # /admin stats counts runs everywhere
            if observer not in runs.observers:
                runs.observers.append(observer)
        if self.metrics.delivery not in core.daily.observers:
            core.daily.observers.append(self.metrics.delivery)

    async def close(self) -> None:
        """Close the connection, then the /stats drawing worker."""
        try:
            await super().close()
        finally:
            self.study.pictures.close()

    async def setup_hook(self) -> None:
        """Take the gateway from the API, register the buttons and commands, rebuild schedules."""
        _shards, url, limits = await self.http.get_bot_gateway()
        # discord.py falls back to its built-in URL where no gateway is given: use the API's.
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        self.identify_concurrency = max(1, int(limits.get("max_concurrency", 1)))
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        await self.tree.set_translator(Translator())
        await sync_commands(self.tree)
        await self.core.platforms.attach(self.chats)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait 5 s before a shard's IDENTIFY only where Discord's concurrency asks it."""
        # Shards identify in buckets of `max_concurrency` (key: shard id modulo it), one per
        # bucket every 5 s; discord.py would wait 5 s before every shard after the first.
        if not initial and (shard_id or 0) % self.identify_concurrency == 0:
            await asyncio.sleep(IDENTIFY_WAIT_S)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Count every interaction (the tree and the dynamic items route them)."""
        self.metrics.update(interaction.type.name)

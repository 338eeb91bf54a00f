"""/bench on Discord: a form for the setup and snippets A and B, timed like /run's code."""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot.adapters.bench_render import bench_reply
from bot.adapters.discord.base import MAX_CONTENT, acknowledge
from bot.adapters.discord.buttons import StudyModal
from bot.adapters.discord.markdown import cut, document_markdown
from bot.adapters.discord.runcode import MODAL_CODE_CHARS, RunHandlers
from bot.i18n import _
from bot.services.bench import BenchService
from bot.services.model import Lang
from bot.services.runs import device_word
from bot.services.study import Context

log = logging.getLogger(__name__)


class BenchModal(StudyModal):
    """Three paragraph fields: an optional setup, snippet A, and an optional snippet B."""

    def __init__(
        self, handlers: BenchHandlers, lang: Lang, user_id: int, device: str | None
    ) -> None:
        # discord.py keys open modals by custom id alone: one per user, or users would swap
        # each other's form (and device).
        title = _(lang, "Time PyTorch snippets")[:45]
        super().__init__(title=title, custom_id=f"bench:modal:{user_id}")
        self.handlers = handlers
        self.device = device

        def field(label: str, name: str, required: bool) -> discord.ui.TextInput[BenchModal]:
            return discord.ui.TextInput(
                label=label[:45],
                style=discord.TextStyle.paragraph,
                custom_id=name,
                required=required,
                max_length=MODAL_CODE_CHARS,
            )

        self.setup = field(_(lang, "Setup (optional, run once before both)"), "setup", False)
        self.a = field(_(lang, "Snippet A"), "a", True)
        self.b = field(_(lang, "Snippet B (optional, compared with A)"), "b", False)
        for item in (self.setup, self.a, self.b):
            self.add_item(item)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        """Time the submitted snippets."""
        ctx = await self.handlers.run.base.enter(interaction)
        await self.handlers.submitted(
            interaction, ctx, self.setup.value, self.a.value, self.b.value, self.device
        )


class BenchHandlers:
    """Open the /bench form and time what it holds, with /run's rules."""

    def __init__(self, run: RunHandlers) -> None:
        self.run = run
        self.benches = BenchService(run.runs)

    async def bench(
        self, interaction: discord.Interaction[Any], ctx: Context, device: str | None
    ) -> None:
        """Open the form (the first response), once /run's rules let this user run code."""
        self.run.check(interaction, ctx)
        modal = BenchModal(self, ctx.lang, interaction.user.id, device)
        await interaction.response.send_modal(modal)

    async def submitted(
        self,
        interaction: discord.Interaction[Any],
        ctx: Context,
        setup: str,
        a: str,
        b: str,
        device: str | None,
    ) -> None:
        """Time the form's snippets (the interaction is deferred) and edit in the table."""
        self.run.check(interaction, ctx)
        bench = self.benches.of_parts(a, b, setup, device_word(device or "")[0])
        await acknowledge(interaction)
        await self.run.after_quiz_poll(interaction, ctx)
        user = f"discord:{interaction.user.id}"
        report = await self.benches.run(bench, user, self.run.queue_line(interaction, ctx))
        answer = bench_reply(ctx.lang, report, self.run.core.settings.run_wall_time_s)
        await interaction.edit_original_response(
            content=cut(document_markdown(answer), MAX_CONTENT)
        )

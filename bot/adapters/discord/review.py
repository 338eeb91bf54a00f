"""Review, reminders and operators on Discord: /review and its cards, /remind, /admin."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.adapters import render, review_render
from bot.adapters.admin_render import (
    admin_refused,
    admin_stats,
    admin_usage,
    bank_refused,
    bank_reloaded,
)
from bot.adapters.discord.base import Base, embed, respond
from bot.adapters.discord.buttons import ReviewButton
from bot.adapters.discord.study import REVIEW_DUE, question_message
from bot.adapters.discord.usage import usage as discord_usage
from bot.document import Document
from bot.errors import ContentError
from bot.i18n import _
from bot.services.study import Context

log = logging.getLogger(__name__)

# "rv:<prompt>:<option>" answers a review card (":c" when a daily batch, capped, served it);
# "rv:go" starts a review (the reminder's button), "rv:daily" the daily question's batch.
START = "rv:go"


def card_view(prompt_id: int, options: int, capped: bool = False) -> discord.ui.View:
    """Return the option buttons of a review card."""
    view = discord.ui.View(timeout=None)
    tail = ":c" if capped else ""
    for i in range(options):
        view.add_item(
            ReviewButton(f"rv:{prompt_id}:{i}{tail}", label=render.LETTERS[i], row=i // 5)
        )
    return view


def start_view(lang: str) -> discord.ui.View:
    """Return the reminder's "Start" button."""
    view = discord.ui.View(timeout=None)
    label = review_render.start_button("zh" if lang == "zh" else "en")
    view.add_item(ReviewButton(START, label=label, style=discord.ButtonStyle.secondary))
    return view


class ReviewHandlers:
    """/review, /remind and the review buttons; cards are personal (ephemeral in servers)."""

    def __init__(self, base: Base) -> None:
        self.base = base
        self.core = base.core

    async def review(
        self, interaction: discord.Interaction[Any], ctx: Context, retention: str | None
    ) -> None:
        """Serve the user's most overdue card, or set their desired retention."""
        if retention is not None:
            changed = await self.core.review.set_retention(ctx, retention)
            text = review_render.retention_set(ctx.lang, changed)
            await self.base.reply(interaction, text, ephemeral=self.base.personal(ctx))
            return
        await self.serve(interaction, ctx)

    async def serve(
        self, interaction: discord.Interaction[Any], ctx: Context, *, capped: bool = False
    ) -> None:
        """Answer with the next due card, or say where the user stands.

        `capped`: the batch started under the daily question, which stops after
        STUDYBOT_DAILY_REVIEWS reviews that day (/review itself goes on until none is due).
        """
        private = self.base.personal(ctx)
        cap = self.core.settings.daily_reviews
        if capped and await self.core.review.reviewed_today(ctx) >= cap:
            text = review_render.daily_batch_done(ctx.lang, cap)
            await self.base.reply(interaction, text, ephemeral=private)
            return
        shown = await self.core.review.next(ctx)
        if shown is None:
            summary = await self.core.review.summary(ctx)
            text = review_render.summary(ctx.lang, summary, ctx.user_zone, self.core.clock.now())
            await self.base.reply(interaction, text, ephemeral=private)
            return
        body = render.question(self.core.bank, shown.question, shown.lang, "review")
        options = len(shown.question.text(shown.lang).quiz.options)
        view = card_view(shown.prompt.id, options, capped)
        await respond(interaction, embeds=[embed(body)], view=view, ephemeral=private)

    async def button(self, interaction: discord.Interaction[Any], match: re.Match[str]) -> None:
        """Answer a review card (then the next comes), or start reviewing from a reminder."""
        ctx = await self.base.enter(interaction)
        pressed = match.string
        if pressed == START:
            await self.serve(interaction, ctx)
            return
        if pressed == REVIEW_DUE:
            if await self.core.review.due_now(ctx):
                await self.serve(interaction, ctx, capped=True)
            else:  # nothing due any more: a new question keeps the streak
                await self.send_new(interaction, ctx)
            return
        found = await self.core.study.pressed(ctx, int(match["prompt"]))
        result = await self.core.study.answer(ctx, found[0].id, int(match["opt"]))
        if result.status != "recorded" or result.question is None:
            text = (
                render.verdict_short(result)
                if result.question
                else _(ctx.lang, "This question is no longer available.")
            )
            await self.base.reply(interaction, text, ephemeral=True)
            return
        body = render.question(self.core.bank, result.question, result.lang, "review")
        await interaction.edit_original_response(
            embed=embed(body + render.verdict(result)), view=None
        )
        await self.base.send_leech(interaction, ctx, result)
        await self.serve(interaction, ctx, capped=match["capped"] is not None)

    async def send_new(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """Answer with a new question (its buttons are the study ones)."""
        shown = await self.core.study.show(ctx, "question")
        question, view = question_message(self.core.bank, shown)
        ref = await respond(
            interaction, embeds=[question], view=view, ephemeral=self.base.personal(ctx)
        )
        await self.core.study.attach_message(shown.prompt.id, ref)

    async def remind(
        self, interaction: discord.Interaction[Any], ctx: Context, at: str | None
    ) -> None:
        """Set (HH:MM) or stop (off) the user's reminder, or show it."""
        user = await self.core.reminders.set(ctx, at) if at else ctx.user
        zone = self.core.reminders.zone(user)
        text = review_render.remind_set(ctx.lang, user.remind_at, zone)
        if not at and user.remind_at is None:
            text += discord_usage(ctx.lang, "usage_remind") or Document()
        await self.base.reply(interaction, text, ephemeral=self.base.personal(ctx))


class AdminHandlers:
    """/admin stats and /admin reload, for operators (discord:<id> in STUDYBOT_ADMIN_IDS)."""

    def __init__(self, base: Base) -> None:
        self.base = base
        self.core = base.core

    async def admin(
        self, interaction: discord.Interaction[Any], ctx: Context, action: str | None
    ) -> None:
        """Show the bot's numbers, or reload the question bank (only the operator sees it)."""
        if not self.core.access.is_operator(ctx):
            await self.base.reply(interaction, admin_refused(ctx.lang), ephemeral=True)
            return
        if action == "stats":
            text = admin_stats(ctx.lang, await self.core.admin.stats(self.base.runs))
        elif action == "reload":
            try:
                text = bank_reloaded(ctx.lang, await self.core.admin.reload())
            except ContentError as err:  # the operator's bank, not their input: list why
                text = bank_refused(ctx.lang, list(err.problems))
        else:
            text = admin_usage(ctx.lang)
        await self.base.reply(interaction, text)

"""/admin stats and /admin reload, for the operators (STUDYBOT_ADMIN_IDS) in a private chat."""

from __future__ import annotations

from telegram import Update

from bot.adapters.admin_render import (
    admin_refused,
    admin_stats,
    admin_usage,
    bank_refused,
    bank_reloaded,
)
from bot.adapters.telegram.handlers import Ctx, Handlers, command
from bot.errors import ContentError
from bot.services.runs import RunService
from bot.services.study import Context


class AdminHandlers:
    """The operators' commands."""

    def __init__(self, base: Handlers, runs: RunService) -> None:
        self.base = base
        self.runs = runs

    @command
    async def admin(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Show the bot's numbers, or reload the question bank."""
        if ctx.chat.is_group or not self.base.core.access.is_operator(ctx):
            await self.base.reply(update, admin_refused(ctx.lang))
            return
        args = Handlers.args(context)
        core = self.base.core
        if args == ["stats"]:
            await self.base.reply(update, admin_stats(ctx.lang, await core.admin.stats(self.runs)))
        elif args == ["reload"]:
            try:
                bank = await core.admin.reload()
            except ContentError as err:  # the operator's bank, not their input: list why
                await self.base.reply(update, bank_refused(ctx.lang, list(err.problems)))
                return
            await self.base.reply(update, bank_reloaded(ctx.lang, bank))
        else:
            await self.base.reply(update, admin_usage(ctx.lang))

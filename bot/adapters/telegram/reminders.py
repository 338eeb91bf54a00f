"""Reminders on Telegram: /remind and the reminder message with its start button."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.adapters import review_render
from bot.adapters.telegram.handlers import Handlers, command
from bot.errors import UserInputError
from bot.services.study import Context

Ctx = ContextTypes.DEFAULT_TYPE


class RemindHandlers:
    """/remind HH:MM or /remind off."""

    def __init__(self, base: Handlers) -> None:
        self.base = base
        self.core = base.core

    @command
    async def remind(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Set or stop the user's reminder, or show it."""
        args = self.base.args(context)
        if len(args) > 1:
            raise UserInputError("usage_remind")
        user = await self.core.reminders.set(ctx, args[0]) if args else ctx.user
        zone = self.core.reminders.zone(user)
        text = review_render.remind_set(ctx.lang, user.remind_at, zone)
        if not args and user.remind_at is None:
            text += self.base.problem(ctx, UserInputError("usage_remind"))
        await self.base.reply(update, text)

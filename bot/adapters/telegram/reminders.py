"""Reminders on Telegram: /remind and the reminder message with its start button."""

from __future__ import annotations

from telegram import Bot, Message, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.adapters import review_render
from bot.adapters.telegram.handlers import Handlers, command
from bot.adapters.telegram.keyboards import start_review_keyboard
from bot.adapters.telegram.sending import send_mapped
from bot.errors import UserInputError
from bot.services.reminders import Reminder
from bot.services.study import Context

Ctx = ContextTypes.DEFAULT_TYPE


class TelegramReminderSender:
    """Send a reminder to the user's private chat, with a button to start."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def __call__(self, reminder: Reminder) -> None:
        """Send one reminder (failures are mapped to the services' terms)."""
        text = review_render.reminder(reminder)
        markup = start_review_keyboard(review_render.start_button(reminder.lang))

        async def call(chat_id: int) -> Message:
            sent: Message = await self.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
            return sent

        async def no_migration(_new_id: int) -> bool:
            return False  # a private chat never migrates

        await send_mapped(call, int(reminder.user.external_id), no_migration)


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
            text += "\n" + self.base.problem(ctx, UserInputError("usage_remind"))
        await self.base.reply(update, text)

"""Questions sent through the Bot API: the Telegram sender of the services' daily schedule."""

from __future__ import annotations

from typing import Final

from telegram import Bot, ReplyParameters
from telegram.constants import ParseMode

from bot.adapters import render
from bot.adapters.telegram.keyboards import question_keyboard
from bot.adapters.telegram.markup import to_html
from bot.adapters.telegram.sending import send_mapped
from bot.app import Core
from bot.services.model import Chat
from bot.services.study import Shown

PLATFORM: Final = "telegram"


class TelegramDailySender:
    """Send question messages with their buttons; Bot API failures become send errors."""

    platform = PLATFORM

    def __init__(self, core: Core, bot: Bot) -> None:
        self.core = core
        self.bot = bot

    async def send_daily(self, chat: Chat, shown: Shown) -> str:
        """Send a scheduled daily question (the services' DailySender)."""
        return await self.send(chat, shown)

    async def send(self, chat: Chat, shown: Shown, reply_to: int | None = None) -> str:
        """Send a question message; map Bot API failures to the services' send errors.

        The one sender of questions, scheduled or asked for (/daily, /question in reply to
        `reply_to`), so that every path learns whether a send surely failed.
        """
        text = render.question(self.core.bank, shown.question, shown.lang, shown.prompt.kind)
        markup = question_keyboard(
            shown.prompt.id,
            len(shown.question.text(shown.lang).quiz.options),
            shown.lang,
            shown.review_due,
            hint=shown.question.text(shown.lang).hint is not None,
        )
        reply = (
            None
            if reply_to is None
            else ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        )

        async def call(chat_id: int) -> str:
            message = await self.bot.send_message(
                chat_id=chat_id,
                text=to_html(text),
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                reply_parameters=reply,
            )
            return str(message.message_id)

        return await send_mapped(
            call, int(chat.external_id), lambda new: self.core.study.follow_migration(chat, new)
        )

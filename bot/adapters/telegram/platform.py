"""Telegram's implementation of the platform contract (`bot.services.platform.Platform`)."""

from __future__ import annotations

from telegram import Bot, InputFile, Message
from telegram.constants import ParseMode

from bot.adapters import quiz_render, review_render
from bot.adapters.telegram.delivery import PLATFORM, TelegramDailySender
from bot.adapters.telegram.keyboards import start_review_keyboard
from bot.adapters.telegram.markup import to_html
from bot.adapters.telegram.quiz import TelegramQuizSender
from bot.adapters.telegram.sending import send_mapped
from bot.app import Core
from bot.document import Document
from bot.services.model import Chat, User
from bot.services.platform import Limits, Notice, Reminder
from bot.services.quiz_platform import CloseReason, PollSpec, Scoreboard, SentPoll
from bot.services.study import Shown

# Bot API limits (TELEGRAM.md): a poll's question 300 characters, an option 100, a message
# 4096. No reply is private to one member of a group.
LIMITS = Limits(
    poll_question_chars=300, poll_option_chars=100, text_chars=4096, private_replies=False
)


class TelegramChats:
    """Send prompts, polls, notices, pictures and files through the Bot API."""

    name = PLATFORM
    limits = LIMITS

    def __init__(self, core: Core, bot: Bot, daily: TelegramDailySender, quiz: TelegramQuizSender):
        self.core = core
        self.bot = bot
        self.daily = daily
        self.quiz = quiz

    async def send_prompt(self, chat: Chat, shown: Shown) -> str:
        """Send a question with its buttons."""
        return await self.daily.send(chat, shown)

    async def send_poll(self, chat: Chat, poll: PollSpec) -> SentPoll:
        """Send a native quiz poll (its code first, if any)."""
        return await self.quiz.send_poll(chat, poll)

    async def stop_poll(
        self, chat: Chat, poll: PollSpec, message_ref: str, reason: CloseReason
    ) -> None:
        """Close a native poll."""
        await self.quiz.stop_poll(chat, poll, message_ref, reason)

    async def send_text(self, to: Chat | User, notice: Notice) -> str:
        """Send a scoreboard, a reminder (with its start button) or a document."""
        markup = None
        if isinstance(notice, Scoreboard):
            document = quiz_render.scoreboard(notice)
        elif isinstance(notice, Reminder):
            document = review_render.reminder(notice)
            markup = start_review_keyboard(review_render.start_button(notice.lang))
        else:
            document = notice
        text = to_html(document)

        async def call(chat_id: int) -> Message:
            sent: Message = await self.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
            return sent

        return str((await self._send(to, call)).message_id)

    async def send_photo(self, to: Chat | User, png: bytes, caption: Document) -> str:
        """Send a picture with its caption."""

        async def call(chat_id: int) -> Message:
            sent: Message = await self.bot.send_photo(
                chat_id, png, caption=to_html(caption), parse_mode=ParseMode.HTML
            )
            return sent

        return str((await self._send(to, call)).message_id)

    async def send_file(self, to: Chat | User, name: str, data: bytes, caption: Document) -> str:
        """Send a file with its caption."""

        async def call(chat_id: int) -> Message:
            sent: Message = await self.bot.send_document(
                chat_id,
                InputFile(data, filename=name),
                caption=to_html(caption),
                parse_mode=ParseMode.HTML,
            )
            return sent

        return str((await self._send(to, call)).message_id)

    async def _send(self, to: Chat | User, call) -> Message:  # type: ignore[no-untyped-def]
        if isinstance(to, User):
            # A user's private chat has the user's id; a private chat never migrates.
            async def stay(_new_id: int) -> bool:
                return False

            return await send_mapped(call, int(to.external_id), stay)
        chat = to
        return await send_mapped(
            call,
            int(chat.external_id),
            lambda new_id: self.core.study.follow_migration(chat, new_id),
        )

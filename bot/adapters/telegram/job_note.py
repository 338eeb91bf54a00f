"""What a /run, /bench or /submit job shows on Telegram before its answer: the queue, "typing"."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from telegram import Message
from telegram.constants import ChatAction, ParseMode
from telegram.error import TelegramError

from bot import document
from bot.adapters.telegram.markup import to_html
from bot.i18n import _
from bot.services.model import Lang

log = logging.getLogger(__name__)

T = TypeVar("T")

# A job done within this long is answered with one message; a longer one shows "typing" first.
QUICK_RESULT_S = 0.5


class JobNote:
    """The one message a job's user sees before the answer, which then replaces it.

    The queue position appears only when the runner's queue is not empty; `may_send=False` (an
    edited /run, whose earlier reply is edited instead) only edits a note already sent.
    """

    def __init__(self, message: Message, lang: Lang, *, may_send: bool = True) -> None:
        self.message = message
        self.lang = lang
        self.may_send = may_send
        self.sent: Message | None = None

    async def queued(self, position: int) -> None:
        """Show (or update) the job's place in the runner's queue; never fail the job for it."""
        line = _(self.lang, "⏳ In queue: position {position}", position=position)
        try:
            if self.sent is not None:
                await self.sent.edit_text(line)
            elif self.may_send:
                self.sent = await self.message.reply_text(line)
        except TelegramError:
            log.debug("could not show the queue position", exc_info=True)

    async def show(self, text: document.Document) -> None:
        """Send the note (the quiz hold, said once, before the job is queued)."""
        self.sent = await self.message.reply_html(to_html(text))

    async def answer(self, text: document.Document) -> Message:
        """Put the answer in place of the note, or reply with it when there was none."""
        if self.sent is None:
            return await self.message.reply_html(to_html(text), disable_web_page_preview=True)
        await self.sent.edit_text(
            to_html(text), parse_mode=ParseMode.HTML, disable_web_page_preview=True
        )
        return self.sent


async def with_typing(job: Awaitable[T], message: Message) -> T:
    """Await a job; one still running after QUICK_RESULT_S gets "typing" as a sign of life.

    A quick job is answered with its result alone: one message and no request before it.
    """
    task = asyncio.ensure_future(job)
    try:
        done, _pending = await asyncio.wait({task}, timeout=QUICK_RESULT_S)
        if not done:
            try:
                await message.get_bot().send_chat_action(message.chat_id, ChatAction.TYPING)
            except TelegramError:
                log.debug("could not show that a job is running", exc_info=True)
        return await task
    finally:
        task.cancel()

"""/run on Telegram: code from text, fences, replies or .py files; replies edited on re-run."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram import CallbackQuery, Document, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import document
from bot.adapters import render
from bot.adapters.run_render import run_reply
from bot.adapters.telegram.handlers import Handlers
from bot.adapters.telegram.job_note import JobNote, with_typing
from bot.adapters.telegram.markup import to_html
from bot.content.models import Question
from bot.errors import UserInputError
from bot.i18n import _
from bot.runner.protocol import RunFile
from bot.services.runs import RunService, snippet_job, strip_command
from bot.services.study import Context

log = logging.getLogger(__name__)

Ctx = ContextTypes.DEFAULT_TYPE
EDIT_WINDOW = timedelta(minutes=2)
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


@dataclass
class _Sent:
    reply_id: int
    at: datetime


class RunHandlers:
    """Handle /run and its edits; remember replies for two minutes so edits re-run in place."""

    def __init__(self, base: Handlers, runs: RunService) -> None:
        self.base = base
        self.runs = runs
        self.replies: dict[tuple[int, int], _Sent] = {}

    def _forget_old(self, now: datetime) -> None:
        for key in [k for k, v in self.replies.items() if now - v.at > EDIT_WINDOW]:
            del self.replies[key]

    async def run(self, update: Update, context: Ctx) -> None:
        """Run the code of a /run message (new or edited) and reply with the result.

        Not a @command: a problem with an edited /run replaces the earlier reply in place, as
        its result would; it is rendered by the same `problem` as every command's.
        """
        message = update.effective_message
        if message is None or update.effective_user is None:
            return
        edited = update.edited_message is not None
        now = self.base.core.clock.now()
        self._forget_old(now)
        key = (message.chat_id, message.message_id)
        if edited and key not in self.replies:
            return  # an edit older than the window, or of a message we never answered
        ctx = await self.base.context_of(update)
        if ctx is None:
            return
        text = message.text or message.caption or ""
        setting = strip_command(text).strip().lower()
        try:
            if setting in {"on", "off"}:
                await self._switch(update, context, ctx, setting == "on")
                return
            self.runs.check_allowed(update.effective_user.id, ctx.chat)
            job = self.runs.parse(text, await self.fallback_code(message, context))
        except UserInputError as err:
            await self._answer(message, key, edited, self.base.problem(ctx, err), now)
            return

        # The queue note of a new /run becomes its answer; an edited one's answer replaces its
        # earlier reply instead, so it sends no note of its own.
        note = JobNote(message, ctx.lang, may_send=not edited)

        async def held() -> None:
            nonlocal edited
            await self._answer(message, key, edited, render.held_for_quiz(ctx.lang), now)
            edited = True  # the result replaces the note
            note.may_send = False  # and so does the queue line

        await self.base.core.quiz.hold_code(ctx.chat.id, held)
        job_of = self.runs.run(job, f"tg:{update.effective_user.id}", note.queued)
        result = await with_typing(job_of, message)
        reply = run_reply(ctx.lang, result, self.base.core.settings.run_wall_time_s)
        if note.sent is not None and not edited:
            self.replies[key] = _Sent((await note.answer(reply.text)).message_id, now)
        else:
            await self._answer(message, key, edited, reply.text, now)
        await self._send_files(message, reply.files)

    async def run_snippet(self, query: CallbackQuery, ctx: Context, question: Question) -> None:
        """Run a question's snippet for whoever pressed "▶ Run it"; reply under the answer.

        The same rules as /run: the allowlist and the chat's switch, the runner's per-user
        limits (the same user key), and no run while a quiz poll is open in the chat.
        """
        message = query.message if isinstance(query.message, Message) else None
        if question.snippet is None or message is None:
            await query.answer(_(ctx.lang, "This question has no snippet to run."))
            return
        await query.answer()
        try:
            self.runs.check_allowed(query.from_user.id, ctx.chat)
        except UserInputError as err:
            await message.reply_html(to_html(self.base.problem(ctx, err)))
            return
        note = JobNote(message, ctx.lang)  # the quiz hold, the queue, then the answer
        await self.base.core.quiz.hold_code(
            ctx.chat.id, lambda: note.show(render.held_for_quiz(ctx.lang))
        )
        job = self.runs.run(snippet_job(question.snippet), f"tg:{query.from_user.id}", note.queued)
        result = await with_typing(job, message)
        reply = run_reply(ctx.lang, result, self.base.core.settings.run_wall_time_s)
        await note.answer(reply.text)
        await self._send_files(message, reply.files)

    async def _answer(
        self,
        message: Message,
        key: tuple[int, int],
        edited: bool,
        text: document.Document,
        now: datetime,
    ) -> None:
        sent = self.replies.get(key)
        if edited and sent is not None:
            try:
                await message.get_bot().edit_message_text(
                    to_html(text),
                    chat_id=message.chat_id,
                    message_id=sent.reply_id,
                    parse_mode=ParseMode.HTML,
                )
            except BadRequest as e:
                if "not modified" not in e.message.lower():
                    raise
            return
        reply = await message.reply_html(to_html(text))
        self.replies[key] = _Sent(reply.message_id, now)

    async def _send_files(self, message: Message, files: tuple[RunFile, ...]) -> None:
        for file in files:
            if file.is_image and len(file.data) <= MAX_PHOTO_BYTES:
                await message.reply_photo(file.data, filename=file.name)
            elif len(file.data) <= MAX_DOCUMENT_BYTES:
                await message.reply_document(file.data, filename=file.name)

    async def fallback_code(
        self, message: Message, context: Ctx, usage: str = "usage_run"
    ) -> str | None:
        """Return code from an attached .py file or the replied-to message."""
        if message.document is not None:
            return await self._document_code(message.document, context, usage)
        replied = message.reply_to_message
        if replied is None:
            return None
        if replied.document is not None:
            return await self._document_code(replied.document, context, usage)
        return replied.text or replied.caption

    async def _document_code(self, document: Document, context: Ctx, usage: str) -> str:
        name = (document.file_name or "").lower()
        if not name.endswith(".py"):
            raise UserInputError(usage)
        limit = self.runs.max_code_bytes
        if (document.file_size or 0) > limit:
            raise UserInputError("run_too_long", limit=limit // 1024)
        file = await context.bot.get_file(document.file_id)
        data = bytes(await file.download_as_bytearray())
        if len(data) > limit:
            raise UserInputError("run_too_long", limit=limit // 1024)
        return data.decode("utf-8", errors="replace")

    async def _switch(self, update: Update, context: Ctx, ctx: Context, on: bool) -> None:
        if not ctx.chat.is_group:
            raise UserInputError("usage_run")
        await self.base.require_admin(update, context, ctx)
        await self.base.core.study.set_run_enabled(ctx, on)
        await self.base.reply(
            update,
            _(ctx.lang, "/run is now on in this group.")
            if on
            else _(ctx.lang, "/run is now off in this group."),
        )

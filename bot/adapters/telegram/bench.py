"""/bench on Telegram: fenced blocks after the command (or in the replied-to message)."""

from __future__ import annotations

import asyncio
import logging

from telegram import Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.adapters import render
from bot.adapters.bench_render import bench_reply
from bot.adapters.telegram.handlers import Handlers, command
from bot.adapters.telegram.markup import to_html
from bot.adapters.telegram.run_handlers import QUICK_RESULT_S
from bot.i18n import _
from bot.services.bench import BenchService
from bot.services.runs import RunService
from bot.services.study import Context

log = logging.getLogger(__name__)

Ctx = ContextTypes.DEFAULT_TYPE


class BenchHandlers:
    """Time snippets on the /run runner, with /run's allowlist, limits and quiz-poll wait."""

    def __init__(self, base: Handlers, runs: RunService) -> None:
        self.base = base
        self.benches = BenchService(runs)

    @command
    async def bench(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Time the message's blocks: one alone, two compared, three with a shared setup."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        self.benches.check_allowed(user.id, ctx.chat)
        replied = message.reply_to_message
        fallback = (replied.text or replied.caption) if replied is not None else None
        bench = self.benches.parse(message.text or message.caption or "", fallback)
        await self.base.core.quiz.hold_code(
            ctx.chat.id, lambda: self.base.reply(update, render.held_for_quiz(ctx.lang))
        )
        status: Message | None = None

        async def on_queued(position: int) -> None:
            nonlocal status
            line = _(ctx.lang, "⏳ In queue: position {position}", position=position)
            try:
                if status is None:
                    status = await message.reply_text(line)
                else:
                    await status.edit_text(line)
            except TelegramError:
                log.debug("could not show the queue position", exc_info=True)

        task = asyncio.ensure_future(self.benches.run(bench, f"tg:{user.id}", on_queued))
        try:
            done, _pending = await asyncio.wait({task}, timeout=QUICK_RESULT_S)
            if not done:
                try:
                    await context.bot.send_chat_action(message.chat_id, ChatAction.TYPING)
                except TelegramError:
                    log.debug("could not show that a bench is running", exc_info=True)
            report = await task
        finally:
            task.cancel()
        answer = bench_reply(ctx.lang, report, self.base.core.settings.run_wall_time_s)
        if status is not None:
            await status.edit_text(to_html(answer), parse_mode=ParseMode.HTML)
        else:
            await self.base.reply(update, answer)

"""/bench on Telegram: fenced blocks after the command (or in the replied-to message)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.adapters import render
from bot.adapters.bench_render import bench_reply
from bot.adapters.telegram.handlers import Handlers, command
from bot.adapters.telegram.job_note import JobNote, with_typing
from bot.services.bench import BenchService
from bot.services.runs import RunService
from bot.services.study import Context

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
        note = JobNote(message, ctx.lang)  # the quiz hold, the queue, then the table
        await self.base.core.quiz.hold_code(
            ctx.chat.id, lambda: note.show(render.held_for_quiz(ctx.lang))
        )
        report = await with_typing(self.benches.run(bench, f"tg:{user.id}", note.queued), message)
        await note.answer(bench_reply(ctx.lang, report, self.base.core.settings.run_wall_time_s))

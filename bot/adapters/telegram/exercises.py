"""Coding exercises on Telegram: /exercise, /exercises, /submit, /hint, /giveup."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.adapters import exercise_render, render
from bot.adapters.telegram.handlers import Handlers, command
from bot.adapters.telegram.run_handlers import QUICK_RESULT_S, RunHandlers
from bot.i18n import _
from bot.services.exercises import parse_submission
from bot.services.runs import RunService
from bot.services.study import Context

log = logging.getLogger(__name__)

Ctx = ContextTypes.DEFAULT_TYPE


class ExerciseHandlers:
    """Show exercises and grade submissions on the /run runner."""

    def __init__(self, base: Handlers, runs: RunService, run_handlers: RunHandlers) -> None:
        self.base = base
        self.runs = runs
        self.run_handlers = run_handlers

    @command
    async def exercise(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Show an exercise by id or topic, or the next unsolved one."""
        shown = await self.base.core.exercises.show(ctx, " ".join(self.base.args(context)))
        await self.base.reply(update, exercise_render.exercise(shown))

    @command
    async def exercises(self, update: Update, context: Ctx, ctx: Context) -> None:
        """List every exercise with the user's state."""
        entries = await self.base.core.exercises.overview(ctx)
        await self.base.reply(update, exercise_render.overview(ctx.lang, entries))

    @command
    async def hint(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Give the hint of what was shown last here: a question's, or the exercise's next one."""
        prompt_id = await self.base.core.exercises.hint_target(ctx)
        found = await self.base.core.study.prompt(prompt_id) if prompt_id else None
        if found is not None:
            prompt, question = found
            hint = question.text(prompt.language).hint
            text = f"💡 {hint}" if hint else _(ctx.lang, "This question has no hint.")
            await self.base.reply(update, text)
            return
        shown = await self.base.core.exercises.hint(ctx)
        await self.base.reply(update, exercise_render.hint(ctx.lang, shown))

    @command
    async def giveup(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Show the reference solution of the current exercise after an attempt."""
        exercise = await self.base.core.exercises.give_up(ctx)
        await self.base.reply(update, exercise_render.gave_up(ctx.lang, exercise))

    @command
    async def submit(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Grade code sent like /run's (inline, fenced, a reply, a .py file) for the exercise."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        self.runs.check_allowed(user.id, ctx.chat)
        fallback = await self.run_handlers.fallback_code(message, context, "usage_submit")
        code = parse_submission(
            message.text or message.caption or "", fallback, self.runs.max_code_bytes
        )
        await self.base.core.quiz.hold_code(
            ctx.chat.id, lambda: self.base.reply(update, render.held_for_quiz(ctx.lang))
        )
        task = asyncio.ensure_future(
            self.base.core.exercises.submit(ctx, code, self.runs, f"tg:{user.id}")
        )
        try:
            done, _pending = await asyncio.wait({task}, timeout=QUICK_RESULT_S)
            if not done:
                try:
                    await context.bot.send_chat_action(message.chat_id, ChatAction.TYPING)
                except TelegramError:
                    log.debug("could not show that grading is running", exc_info=True)
            submitted = await task
        finally:
            task.cancel()
        wall = self.base.core.settings.run_wall_time_s
        await self.base.reply(update, exercise_render.verdict(ctx.lang, submitted, wall))

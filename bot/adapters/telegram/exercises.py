"""Coding exercises on Telegram: /exercise, /exercises, /submit, /hint, /giveup."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.adapters import exercise_render, render
from bot.adapters.telegram.handlers import Handlers, command
from bot.adapters.telegram.job_note import JobNote, with_typing
from bot.adapters.telegram.run_handlers import RunHandlers
from bot.i18n import _
from bot.services.exercises import parse_submission
from bot.services.runs import RunService
from bot.services.study import Context

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
        note = JobNote(message, ctx.lang)  # the quiz hold, then the verdict in its place
        await self.base.core.quiz.hold_code(
            ctx.chat.id, lambda: note.show(render.held_for_quiz(ctx.lang))
        )
        submitted = await with_typing(
            self.base.core.exercises.submit(ctx, code, self.runs, f"tg:{user.id}"), message
        )
        wall = self.base.core.settings.run_wall_time_s
        await note.answer(exercise_render.verdict(ctx.lang, submitted, wall))

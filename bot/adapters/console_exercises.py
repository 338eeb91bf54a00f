"""Coding exercises in the console: /exercise, /exercises, /submit (a block), /hint, /giveup."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.adapters import console_usage, exercise_render, render
from bot.adapters.run_render import run_problem
from bot.errors import UserInputError
from bot.i18n import _
from bot.services.exercises import parse_submission
from bot.services.study import Context

if TYPE_CHECKING:
    from bot.adapters.console import Console


class ConsoleExercises:
    """The exercise commands of one console."""

    def __init__(self, console: Console) -> None:
        self.console = console

    async def dispatch(self, ctx: Context, command: str, arg: str, line: str) -> bool:
        """Handle an exercise command; False if `command` is not one."""
        service, say = self.console.core.exercises, self.console.say
        if command == "/exercise":
            shown = await service.show(ctx, arg)
            self.console.focus = "exercise"
            say(exercise_render.exercise(shown, console_usage.how_to_submit(ctx.lang)))
        elif command == "/exercises":
            say(exercise_render.overview(ctx.lang, await service.overview(ctx)))
        elif command == "/giveup":
            say(exercise_render.gave_up(ctx.lang, await service.give_up(ctx)))
        elif command == "/submit":
            await self.submit(ctx, line)
        else:
            return False
        return True

    async def hint(self, ctx: Context) -> None:
        """Print the current exercise's next hint."""
        self.console.say(
            exercise_render.hint(ctx.lang, await self.console.core.exercises.hint(ctx))
        )

    async def submit(self, ctx: Context, line: str) -> None:
        """Grade `/submit code`; a bare /submit reads a block until a line with only `.`."""
        console, runs = self.console, self.console.runs
        if runs is None:
            console.say(run_problem(ctx.lang, UserInputError("run_unavailable"), operator=True))
            return
        if await console.core.exercises.current(ctx) is None:
            raise UserInputError("no_exercise")
        try:
            runs.check_allowed(None, ctx.chat)
        except UserInputError as err:
            console.say(run_problem(ctx.lang, err, operator=True))
            return
        text = line
        if line.strip().lower() == "/submit":
            block = await console.read_block(ctx)
            if block is None:
                return
            text = block
        code = parse_submission(text, None, runs.max_code_bytes)
        await console.core.quiz.hold_code(
            ctx.chat.id, lambda: console.say_async(render.held_for_quiz(ctx.lang))
        )
        if runs.warming:
            console.say(_(ctx.lang, "⏳ The /run sandbox is warming up…"))
        try:
            submitted = await console.core.exercises.submit(
                ctx, code, runs, f"console:{console.user}"
            )
        except UserInputError as err:  # the runner did not start after all
            console.say(run_problem(ctx.lang, err, operator=True))
            return
        console.say(
            exercise_render.verdict(ctx.lang, submitted, console.core.settings.run_wall_time_s)
        )

"""Coding exercises on Discord: /exercise, /exercises, /submit (option or modal), /hint, /giveup."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import discord

from bot.adapters import exercise_render, render
from bot.adapters.discord.base import Base, embed, routed
from bot.adapters.discord.runcode import MODAL_CODE_CHARS, RunHandlers
from bot.errors import UserInputError
from bot.exercises.models import EXERCISE_TOPICS
from bot.i18n import _
from bot.services.exercises import parse_submission
from bot.services.model import Lang
from bot.services.study import Context

log = logging.getLogger(__name__)

# The "Submit" button under a shown exercise: it opens the modal for the user's current one.
SUBMIT = "ex:submit"
MODAL = "ex:modal"
MAX_CHOICES = 25
# The modal is prefilled with the user's last submission: kept in memory for this many users
# (a restart falls back to the starter code).
REMEMBERED_SUBMISSIONS = 1000


def exercise_view(lang: Lang) -> discord.ui.View:
    """Return the "Submit" button under a shown exercise."""
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Button(
            label=_(lang, "📝 Submit"), custom_id=SUBMIT, style=discord.ButtonStyle.primary
        )
    )
    return routed(view)


class SubmitModal(discord.ui.Modal):
    """A paragraph field for the code of the current exercise, prefilled."""

    def __init__(self, handlers: ExerciseHandlers, lang: Lang, title: str, code: str) -> None:
        super().__init__(title=_(lang, "Submit: {title}", title=title)[:45], custom_id=MODAL)
        self.handlers = handlers
        self.code: discord.ui.TextInput[SubmitModal] = discord.ui.TextInput(
            label=_(lang, "Code")[:45],
            style=discord.TextStyle.paragraph,
            custom_id="code",
            default=code[:MODAL_CODE_CHARS] or None,
            max_length=MODAL_CODE_CHARS,
        )
        self.add_item(self.code)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        """Grade the submitted code."""
        code = self.code.value

        async def handle(inter: discord.Interaction[Any], ctx: Context) -> None:
            await self.handlers.grade(inter, ctx, code)

        await self.handlers.base.guarded(interaction, handle)


class ExerciseHandlers:
    """Show exercises and grade submissions on the /run runner; answers are personal."""

    def __init__(self, base: Base, run: RunHandlers) -> None:
        self.base = base
        self.core = base.core
        self.runs = base.runs
        self.run = run
        self._last: OrderedDict[tuple[int, str], str] = OrderedDict()

    def choices(self, lang: Lang, typed: str) -> list[discord.app_commands.Choice[str]]:
        """Return the topics and exercise ids whose id or title contains what was typed."""
        low = typed.strip().lower()
        found = [
            discord.app_commands.Choice(
                name=f"{exercise_render.topic_name(lang, t)} ({t})"[:100], value=t
            )
            for t in EXERCISE_TOPICS
            if low in t or low in exercise_render.topic_name(lang, t).lower()
        ]
        found += [
            discord.app_commands.Choice(name=f"{x.id} · {x.title.get(lang)}"[:100], value=x.id)
            for x in self.core.exercises.bank.exercises
            if low in x.id or low in x.title.get(lang).lower()
        ]
        return found[:MAX_CHOICES]

    async def exercise(
        self, interaction: discord.Interaction[Any], ctx: Context, which: str | None
    ) -> None:
        """Show an exercise by id or topic, or the next unsolved one, with "Submit"."""
        shown = await self.core.exercises.show(ctx, which or "")
        how = _(
            ctx.lang,
            "Press 📝 Submit below for a code box, or /submit code:… for one line. "
            "/hint gives a hint; /giveup shows the solution after one attempt.",
        )
        await interaction.response.send_message(
            embed=embed(exercise_render.exercise(shown, how)),
            view=exercise_view(ctx.lang),
            ephemeral=self.base.personal(ctx),
        )

    async def exercises(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """List every exercise with the user's state."""
        entries = await self.core.exercises.overview(ctx)
        text = exercise_render.overview(ctx.lang, entries)
        await self.base.reply(interaction, "", embeds=[embed(text)], ephemeral=True)

    async def hint(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """Give the hint of what was shown last here: a question's, or the exercise's next one."""
        prompt_id = await self.core.exercises.hint_target(ctx)
        found = await self.core.study.prompt(prompt_id) if prompt_id else None
        if found is not None:
            prompt, question = found
            hint = question.text(prompt.language).hint
            text = f"💡 {render.e(hint)}" if hint else _(ctx.lang, "This question has no hint.")
        else:
            text = exercise_render.hint(ctx.lang, await self.core.exercises.hint(ctx))
        await self.base.reply(interaction, text, ephemeral=True)  # spoils nothing for others

    async def giveup(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """Show the reference solution of the current exercise after an attempt."""
        exercise = await self.core.exercises.give_up(ctx)
        text = exercise_render.gave_up(ctx.lang, exercise)
        await self.base.reply(interaction, "", embeds=[embed(text)], ephemeral=True)

    async def submit(
        self, interaction: discord.Interaction[Any], ctx: Context, code: str | None
    ) -> None:
        """Grade `code`; without it, open the modal (prefilled) for the current exercise."""
        if code and code.strip():
            await self.grade(interaction, ctx, code)
            return
        await self.open_modal(interaction, ctx)

    async def button(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """The "Submit" button under a shown exercise: open the modal."""
        await self.open_modal(interaction, ctx)

    async def open_modal(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """Open the modal with the user's last submission, or the starter code."""
        current = await self.core.exercises.current(ctx)
        if current is None:
            raise UserInputError("no_exercise")
        self.run.check(interaction, ctx)
        exercise = current[0]
        code = self._last.get((ctx.user.id, exercise.id), exercise.starter)
        if len(code) > MODAL_CODE_CHARS:  # a cut program would only confuse: start over
            code = exercise.starter
        title = exercise.title.get(ctx.lang)
        await interaction.response.send_modal(SubmitModal(self, ctx.lang, title, code))

    async def grade(self, interaction: discord.Interaction[Any], ctx: Context, text: str) -> None:
        """Defer at once, grade the code on the runner, then edit the response with the verdict."""
        self.run.check(interaction, ctx)
        code = parse_submission(text, None, self.runs.max_code_bytes)
        if await self.core.exercises.current(ctx) is None:
            raise UserInputError("no_exercise")
        await interaction.response.defer(thinking=True, ephemeral=self.base.personal(ctx))
        await self.run.after_quiz_poll(interaction, ctx)  # submitted code runs like /run's
        submitted = await self.core.exercises.submit(
            ctx, code, self.runs, f"discord:{interaction.user.id}"
        )
        self._remember(ctx.user.id, submitted.exercise.id, code)
        wall = self.core.settings.run_wall_time_s
        text = exercise_render.verdict(ctx.lang, submitted, wall)
        await interaction.edit_original_response(content=None, embed=embed(text))

    def _remember(self, user_id: int, exercise_id: str, code: str) -> None:
        key = (user_id, exercise_id)
        self._last[key] = code
        self._last.move_to_end(key)
        while len(self._last) > REMEMBERED_SUBMISSIONS:
            self._last.popitem(last=False)

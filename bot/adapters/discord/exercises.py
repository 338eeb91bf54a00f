"""Coding exercises on Discord: /exercise, /exercises, /submit (option or modal), /hint, /giveup."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import discord

from bot.adapters import exercise_render
from bot.adapters.discord.base import Base, acknowledge, embed, in_group, locale_lang, respond
from bot.adapters.discord.buttons import StudyModal, SubmitButton
from bot.adapters.discord.runcode import MODAL_CODE_CHARS, RunHandlers
from bot.document import Document
from bot.errors import UserInputError
from bot.exercises.models import EXERCISE_TOPICS, Exercise
from bot.i18n import _
from bot.services.exercises import parse_submission
from bot.services.model import Lang
from bot.services.study import Context

log = logging.getLogger(__name__)

MAX_CHOICES = 25
# The modal is prefilled with the user's last submission: kept in memory for this many users
# (a restart falls back to the starter code).
REMEMBERED_SUBMISSIONS = 1000


def exercise_view(lang: Lang, exercise_id: str) -> discord.ui.View:
    """Return the "Submit" button under a shown exercise."""
    view = discord.ui.View(timeout=None)
    view.add_item(SubmitButton(exercise_id, label=_(lang, "📝 Submit")))
    return view


class SubmitModal(StudyModal):
    """A paragraph field for the code of the current exercise, prefilled."""

    def __init__(
        self, handlers: ExerciseHandlers, lang: Lang, user_id: int, exercise: Exercise, code: str
    ) -> None:
        # discord.py keys open modals by custom id alone: one per user and exercise.
        title = _(lang, "Submit: {title}", title=exercise.title.get(lang))[:45]
        super().__init__(title=title, custom_id=f"ex:modal:{user_id}:{exercise.id}")
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
        ctx = await self.handlers.base.enter(interaction, ephemeral=in_group(interaction))
        await self.handlers.grade(interaction, ctx, self.code.value)


class ExerciseHandlers:
    """Show exercises and grade submissions on the /run runner; answers are personal."""

    def __init__(self, base: Base, run: RunHandlers) -> None:
        self.base = base
        self.core = base.core
        self.runs = base.runs
        self.run = run
        # By Discord user id and exercise: the "Submit" button opens the modal before any
        # database work.
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
        await respond(
            interaction,
            embeds=[embed(exercise_render.exercise(shown, how))],
            view=exercise_view(ctx.lang, shown.exercise.id),
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
            text: Document | str = (
                f"💡 {hint}" if hint else _(ctx.lang, "This question has no hint.")
            )
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

    async def button(self, interaction: discord.Interaction[Any], exercise_id: str | None) -> None:
        """The "Submit" button under a shown exercise: open its modal (the submit is checked)."""
        exercise = self.core.exercises.bank.get(exercise_id) if exercise_id else None
        if exercise is None:  # a button from before it carried the exercise
            await self.open_modal(interaction, await self.base.enter(interaction, defer=False))
            return
        await interaction.response.send_modal(
            self._modal(interaction, locale_lang(interaction), exercise)
        )

    async def open_modal(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """Open the modal with the user's last submission, or the starter code."""
        current = await self.core.exercises.current(ctx)
        if current is None:
            raise UserInputError("no_exercise")
        self.run.check(interaction, ctx)
        await interaction.response.send_modal(self._modal(interaction, ctx.lang, current[0]))

    def _modal(
        self, interaction: discord.Interaction[Any], lang: Lang, exercise: Exercise
    ) -> SubmitModal:
        code = self._last.get((interaction.user.id, exercise.id), exercise.starter)
        if len(code) > MODAL_CODE_CHARS:  # a cut program would only confuse: start over
            code = exercise.starter
        return SubmitModal(self, lang, interaction.user.id, exercise, code)

    async def grade(self, interaction: discord.Interaction[Any], ctx: Context, text: str) -> None:
        """Defer at once, grade the code on the runner, then edit the response with the verdict."""
        self.run.check(interaction, ctx)
        code = parse_submission(text, None, self.runs.max_code_bytes)
        if await self.core.exercises.current(ctx) is None:
            raise UserInputError("no_exercise")
        await acknowledge(interaction, ephemeral=self.base.personal(ctx))
        await self.run.after_quiz_poll(interaction, ctx)  # submitted code runs like /run's
        submitted = await self.core.exercises.submit(
            ctx, code, self.runs, f"discord:{interaction.user.id}"
        )
        self._remember(interaction.user.id, submitted.exercise.id, code)
        wall = self.core.settings.run_wall_time_s
        verdict = exercise_render.verdict(ctx.lang, submitted, wall)
        await interaction.edit_original_response(content=None, embed=embed(verdict))

    def _remember(self, user_id: int, exercise_id: str, code: str) -> None:
        key = (user_id, exercise_id)
        self._last[key] = code
        self._last.move_to_end(key)
        while len(self._last) > REMEMBERED_SUBMISSIONS:
            self._last.popitem(last=False)

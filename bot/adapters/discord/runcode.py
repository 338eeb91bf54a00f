"""/run on Discord: the code option, a modal for long code, and the "Run code" message menu."""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.adapters import render
from bot.adapters.discord.base import MAX_CONTENT, Base, RunRefused, acknowledge
from bot.adapters.discord.buttons import StudyModal
from bot.adapters.discord.markdown import code_block, document_markdown, markdown_of
from bot.adapters.run_render import combined_output, run_problem, status_line
from bot.content.models import Question
from bot.document import bold, doc
from bot.errors import UserInputError
from bot.i18n import _
from bot.runner.protocol import RunFile, RunResult
from bot.services.model import Lang
from bot.services.runs import Job, snippet_job
from bot.services.study import Context

log = logging.getLogger(__name__)

MAX_FILES = 10
MODAL_CODE_CHARS = 4000


def run_message(
    lang: Lang, r: RunResult, wall_limit_s: float, upload_limit: int
) -> tuple[str, list[RunFile]]:
    """Return the text of a /run reply (≤ 2,000 characters) and the files to attach."""
    head = document_markdown(doc(bold(status_line(lang, r, wall_limit_s))))
    if r.status in {"rejected", "crashed"}:
        return head, []
    meta = _(lang, "{device} · {ms} ms", device=r.device or "?", ms=round(r.duration_ms))
    output = combined_output(r)
    files: list[RunFile] = []
    notes: list[str] = []
    if r.output_truncated:
        notes.append(_(lang, "Output was cut at the runner's limit."))
    lines = [head, markdown_of(meta)]
    if output:
        room = MAX_CONTENT - sum(len(s) + 1 for s in [*lines, *notes]) - 60
        block, was_cut = code_block(output, room)
        lines.append(block)
        if was_cut or r.output_truncated:
            files.append(RunFile(name="output.txt", data=output.encode(), is_image=False))
            notes.append(_(lang, "The whole output is attached as output.txt."))
    else:
        lines.append(markdown_of(_(lang, "(no output)")))
    skipped = 0
    for file in r.files:
        if len(files) < MAX_FILES and len(file.data) <= upload_limit:
            files.append(file)
        else:
            skipped += 1
    if skipped:
        notes.append(_(lang, "{n} file(s) too large or too many to attach.", n=skipped))
    return "\n".join(lines + [markdown_of(note) for note in notes])[:MAX_CONTENT], files


class RunModal(StudyModal):
    """A paragraph field for multi-line code."""

    def __init__(self, handlers: RunHandlers, lang: Lang, user_id: int, device: str | None) -> None:
        # discord.py keys open modals by custom id alone: one per user, or users would swap
        # each other's modal (and device).
        super().__init__(title=_(lang, "Run PyTorch code")[:45], custom_id=f"run:modal:{user_id}")
        self.handlers = handlers
        self.device = device
        self.code: discord.ui.TextInput[RunModal] = discord.ui.TextInput(
            label=_(lang, "Code")[:45],
            style=discord.TextStyle.paragraph,
            custom_id="code",
            max_length=MODAL_CODE_CHARS,
        )
        self.add_item(self.code)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        """Run the submitted code."""
        ctx = await self.handlers.base.enter(interaction)
        await self.handlers.run_code(interaction, ctx, self.code.value, self.device)


class RunHandlers:
    """Run code for /run, its modal and the message menu, with the Telegram rules."""

    def __init__(self, base: Base) -> None:
        self.base = base
        self.core = base.core
        self.runs = base.runs

    async def run(
        self,
        interaction: discord.Interaction[Any],
        ctx: Context,
        code: str | None,
        device: str | None,
    ) -> None:
        """Run `code`; switch /run on or off (managers); without code, open the modal."""
        word = (code or "").strip().lower()
        if word in {"on", "off"}:
            if not ctx.chat.is_group:
                raise UserInputError("usage_run")
            await self.base.require_admin(interaction, ctx)
            await self.core.study.set_run_enabled(ctx, word == "on")
            text = (
                _(ctx.lang, "/run is now on in this group.")
                if word == "on"
                else _(ctx.lang, "/run is now off in this group.")
            )
            await self.base.reply(interaction, text)
            return
        if not word:
            self.check(interaction, ctx)
            modal = RunModal(self, ctx.lang, interaction.user.id, device)
            await interaction.response.send_modal(modal)
            return
        await self.run_code(interaction, ctx, code or "", device)

    async def run_message(
        self, interaction: discord.Interaction[Any], ctx: Context, message: discord.Message
    ) -> None:
        """Run the fenced code (or the whole text) of a message."""
        await self.run_code(interaction, ctx, message.content, None)

    def check(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """Raise RunRefused (with why) unless this user may run code here now."""
        try:
            self.runs.check_allowed(interaction.user.id, ctx.chat)
        except UserInputError as err:
            raise RunRefused(run_problem(ctx.lang, err)) from None

    async def run_code(
        self,
        interaction: discord.Interaction[Any],
        ctx: Context,
        code: str,
        device: str | None,
    ) -> None:
        """Parse the code, then run it."""
        self.check(interaction, ctx)
        text = "/run " + (f"{device} " if device else "") + code
        await self.run_job(interaction, ctx, self.runs.parse(text))

    async def run_snippet(
        self, interaction: discord.Interaction[Any], ctx: Context, question: Question
    ) -> None:
        """Run a question's snippet for whoever pressed "Run it", with the /run rules."""
        if question.snippet is None:
            raise UserInputError("no_snippet")
        self.check(interaction, ctx)
        await self.run_job(interaction, ctx, snippet_job(question.snippet))

    async def after_quiz_poll(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """Hold code back (saying so) while a quiz question is open in the chat."""
        await self.core.quiz.hold_code(
            ctx.chat.id,
            lambda: interaction.edit_original_response(
                content=markdown_of(render.held_for_quiz(ctx.lang))
            ),
        )

    @staticmethod
    def queue_line(
        interaction: discord.Interaction[Any], ctx: Context
    ) -> Callable[[int], Awaitable[None]]:
        """Return what shows a job's place in the runner's queue in the deferred response."""

        async def on_queued(position: int) -> None:
            line = _(ctx.lang, "⏳ In queue: position {position}", position=position)
            try:
                await interaction.edit_original_response(content=line)
            except discord.HTTPException:
                log.debug("could not show the queue position", exc_info=True)

        return on_queued

    async def run_job(self, interaction: discord.Interaction[Any], ctx: Context, job: Job) -> None:
        """Run the job (the interaction is deferred), then edit the response with the result."""
        await acknowledge(interaction)
        await self.after_quiz_poll(interaction, ctx)
        user = f"discord:{interaction.user.id}"
        result = await self.runs.run(job, user, self.queue_line(interaction, ctx))
        content, files = run_message(
            ctx.lang, result, self.core.settings.run_wall_time_s, interaction.filesize_limit
        )
        attachments = [discord.File(io.BytesIO(f.data), filename=f.name) for f in files]
        await interaction.edit_original_response(content=content, attachments=attachments)

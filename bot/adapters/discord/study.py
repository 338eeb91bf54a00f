"""Questions on Discord: embeds with option buttons, verdicts, and the study commands."""

from __future__ import annotations

import io
import logging
from typing import Any, Protocol

import discord

from bot.adapters import readiness_render, render, review_render, stats_render
from bot.adapters.commands import menu
from bot.adapters.discord.base import PLATFORM, Base, embed, locale_lang, respond
from bot.adapters.discord.buttons import Press, QuestionButton, ReviewButton, StudyModal
from bot.adapters.discord.markdown import cut
from bot.adapters.stats_picture import PictureRenderer
from bot.app import Core
from bot.content.loader import ContentBank
from bot.content.models import Question
from bot.document import Document, doc, lines
from bot.errors import UserInputError
from bot.i18n import _
from bot.services.model import Chat, Lang
from bot.services.runs import RunService
from bot.services.sending import SendFailed
from bot.services.study import Context, Shown

log = logging.getLogger(__name__)

STATS_PICTURE = "stats.png"

MAX_BUTTONS_PER_ROW = 5
# "Review n due" under a private daily question: a batch capped at STUDYBOT_DAILY_REVIEWS a day.
REVIEW_DUE = "rv:daily"


def question_view(
    prompt_id: int,
    options: int,
    lang: Lang,
    *,
    answers: bool = True,
    hint: bool = False,
    review_due: int = 0,
) -> discord.ui.View:
    """Return the option buttons, "Hint", "Show answer" and "Review n due" (private dailies)."""
    view = discord.ui.View(timeout=None)
    last_row = (options + MAX_BUTTONS_PER_ROW - 1) // MAX_BUTTONS_PER_ROW if answers else 0
    if hint and answers:
        view.add_item(
            QuestionButton(Press("hint", prompt_id), label=_(lang, "💡 Hint"), row=last_row)
        )
    if answers:
        for i in range(options):
            view.add_item(
                QuestionButton(
                    Press("answer", prompt_id, i),
                    label=render.LETTERS[i],
                    style=discord.ButtonStyle.primary,
                    row=i // MAX_BUTTONS_PER_ROW,
                )
            )
    view.add_item(
        QuestionButton(Press("reveal", prompt_id), label=_(lang, "💡 Show answer"), row=last_row)
    )
    if review_due > 0:
        view.add_item(
            ReviewButton(
                REVIEW_DUE,
                label=review_render.review_due_button(lang, review_due),
                style=discord.ButtonStyle.success,
                row=last_row + 1,
            )
        )
    return view


def answer_view(prompt_id: int, lang: Lang, runnable: bool) -> discord.ui.View:
    """Return the buttons under a reference answer: run its snippet, report a problem."""
    view = discord.ui.View(timeout=None)
    if runnable:
        view.add_item(QuestionButton(Press("run", prompt_id), label=_(lang, "▶ Run it")))
    view.add_item(QuestionButton(Press("report", prompt_id), label=_(lang, "⚠ Report a problem")))
    return view


def question_message(bank: ContentBank, shown: Shown) -> tuple[discord.Embed, discord.ui.View]:
    """Return a shown question as an embed with its buttons."""
    text = render.question(bank, shown.question, shown.lang, shown.prompt.kind)
    texts = shown.question.text(shown.lang)
    view = question_view(
        shown.prompt.id,
        len(texts.quiz.options),
        shown.lang,
        hint=texts.hint is not None,
        review_due=shown.review_due,
    )
    return embed(text), view


class SnippetRunner(Protocol):
    """Runs a question's snippet for whoever pressed "Run it"."""

    async def run_snippet(
        self, interaction: discord.Interaction[Any], ctx: Context, question: Question
    ) -> None:
        """Run the snippet with the /run rules and answer with the result."""
        ...


class ReportModal(StudyModal):
    """Ask what is wrong with a question; the answer is stored for the operators."""

    def __init__(self, study: StudyHandlers, lang: Lang, user_id: int, prompt_id: int) -> None:
        # discord.py keys open modals by custom id alone: one per user and question.
        custom_id = f"report:{user_id}:{prompt_id}"
        super().__init__(title=_(lang, "⚠ Report a problem")[:45], custom_id=custom_id)
        self.study = study
        self.prompt_id = prompt_id
        self.text: discord.ui.TextInput[ReportModal] = discord.ui.TextInput(
            label=_(lang, "What is wrong?")[:45],
            style=discord.TextStyle.paragraph,
            custom_id="text",
            max_length=1000,
        )
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        """Store the report (the question must be one shown in this chat)."""
        ctx = await self.study.enter(interaction, ephemeral=True)
        await self.study.core.study.pressed(ctx, self.prompt_id)
        filed = await self.study.core.reports.report_prompt(ctx, self.prompt_id, self.text.value)
        await self.study.reply(interaction, render.report_filed(ctx.lang, filed), ephemeral=True)


class StudyHandlers(Base):
    """The study commands and the question buttons."""

    def __init__(self, core: Core, runs: RunService, tools: SnippetRunner) -> None:
        super().__init__(core, runs)
        self.tools = tools
        self.pictures = PictureRenderer()  # closed by the client

    async def _respond_question(self, interaction: discord.Interaction[Any], shown: Shown) -> str:
        """Answer the interaction with a question; return the message id (the send of /daily)."""
        question, view = question_message(self.core.bank, shown)
        try:
            return await respond(interaction, embeds=[question], view=view)
        except discord.HTTPException as e:
            raise SendFailed(str(e)) from e

    # -- commands -----------------------------------------------------------------------
    async def help(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """List the commands."""
        commands = [[f"/{name} — {text}"] for name, text in menu(PLATFORM, ctx.lang)]
        page = doc(lines(*commands), _(ctx.lang, "Answer with the buttons under each question."))
        await self.reply(interaction, "", embeds=[embed(page)])

    async def daily(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """Show today's question of this channel (or DM)."""

        answered: list[str] = []

        async def send(chat: Chat, shown: Shown) -> str:
            answered.append(await self._respond_question(interaction, shown))
            return answered[-1]

        outcome = await self.core.daily_schedule.today(ctx, send)
        if answered:
            return
        text: Document | str
        if outcome.status == "failed":
            text = _(ctx.lang, "Discord did not take the question just now. Try /daily again.")
        else:
            text = render.daily_problem(ctx.lang, outcome.status) or _(
                ctx.lang, "Today's question was already sent in this chat; see above."
            )
        await self.reply(interaction, text, ephemeral=True)

    async def question(
        self, interaction: discord.Interaction[Any], ctx: Context, topic: str | None
    ) -> None:
        """Show a question, optionally from one topic."""
        shown = await self.core.study.show(ctx, "question", topic)
        ref = await self._respond_question(interaction, shown)
        await self.core.study.attach_message(shown.prompt.id, ref)

    async def topics(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """List topics with counts."""
        await self.reply(interaction, "", embeds=[embed(render.topics(self.core.bank, ctx.lang))])

    async def streak(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """Show the user's streak (only to them in a server channel)."""
        friends = await self.core.buddies.friends(ctx)
        text = render.streak(ctx.lang, await self.core.study.streak(ctx), friends)
        await self.reply(interaction, text, ephemeral=self.personal(ctx))

    async def ready(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """Show interview readiness by topic (only to them in a server channel)."""
        ready = await self.core.readiness.readiness(ctx)
        text = readiness_render.readiness(self.core.bank, ctx.lang, ready)
        await self.reply(interaction, "", embeds=[embed(text)], ephemeral=self.personal(ctx))

    async def stats(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """Show the user's statistics picture with its caption (only to them in a server)."""
        overview = await self.core.stats.overview(ctx)
        if overview.empty:
            await self.reply(
                interaction, stats_render.empty(ctx.lang), ephemeral=self.personal(ctx)
            )
            return
        picture = await self.pictures.render(
            stats_render.picture_spec(self.core.bank, ctx.lang, overview)
        )
        card = embed(
            stats_render.caption(self.core.bank, ctx.lang, overview, in_english=picture.in_english)
        )
        card.set_image(url=f"attachment://{STATS_PICTURE}")
        image = discord.File(io.BytesIO(picture.png), filename=STATS_PICTURE)
        await interaction.edit_original_response(embed=card, attachments=[image])

    async def timezone(
        self, interaction: discord.Interaction[Any], ctx: Context, zone: str
    ) -> None:
        """Set the time zone (the user's in DMs, the channel's in a server)."""
        await self.require_admin(interaction, ctx)
        ctx = await self.core.study.set_timezone(ctx, zone)
        shown = ctx.chat_zone if ctx.chat.is_group else ctx.user_zone
        await self.reply(interaction, _(ctx.lang, "Time zone set to {zone}.", zone=shown))

    async def lang(self, interaction: discord.Interaction[Any], ctx: Context, value: str) -> None:
        """Set the language (the user's in DMs, the channel's in a server)."""
        if value.strip().lower() not in {"zh", "en"}:
            raise UserInputError("usage_lang")
        await self.require_admin(interaction, ctx)
        ctx = await self.core.study.set_language(ctx, value)
        await self.reply(interaction, _(ctx.lang, "I will speak English from now on."))

    # -- buttons ------------------------------------------------------------------------
    async def button(self, interaction: discord.Interaction[Any], press: Press) -> None:
        """Grade an option, reveal the answer, or open the report form; refuse foreign ids."""
        if press.action == "report":  # a form answers first: its submit checks the question
            lang = locale_lang(interaction)
            modal = ReportModal(self, lang, interaction.user.id, press.prompt_id)
            await interaction.response.send_modal(modal)
            return
        # "Run it" answers with a message of its own (the result); the others follow up.
        ctx = await self.enter(interaction, thinking=press.action == "run")
        forged = press.action == "answer" and press.option < 0
        prompt, question = await self.core.study.pressed(ctx, None if forged else press.prompt_id)
        if press.action == "reveal":
            await self._reveal(interaction, ctx, prompt.id)
            return
        if press.action == "hint":
            hint = question.text(ctx.lang).hint  # in the language of whoever pressed
            text = f"💡 {hint}" if hint else _(ctx.lang, "This question has no hint.")
            await self.reply(interaction, text, ephemeral=True)  # spoils nothing for others
            return
        if press.action == "run":
            await self.tools.run_snippet(interaction, ctx, question)
            return
        result = await self.core.study.answer(ctx, prompt.id, press.option)
        if result.status == "stale" or result.question is None:
            await self.reply(
                interaction, _(ctx.lang, "This question is no longer available."), ephemeral=True
            )
            return
        if ctx.chat.is_group or result.status == "already":
            # The question stays open for the others; the verdict is for this member alone.
            await self.reply(interaction, render.verdict(result), ephemeral=True)
        else:
            body = render.question(self.core.bank, question, prompt.language, prompt.kind)
            edited = embed(body + render.verdict(result))
            options = len(question.text(prompt.language).quiz.options)
            view = question_view(prompt.id, options, prompt.language, answers=False)
            await interaction.edit_original_response(embed=edited, view=view)
        await self.send_leech(interaction, ctx, result)

    async def _reveal(
        self, interaction: discord.Interaction[Any], ctx: Context, prompt_id: int
    ) -> None:
        found = await self.core.study.prompt(prompt_id)
        assert found is not None  # noqa: S101 - checked by the caller
        prompt, question = found
        # An ephemeral reply shows it to the presser alone.
        if await self.core.study.reveal(ctx, prompt_id, privately=True) == "answer_first":
            await self.reply(
                interaction,
                _(ctx.lang, "Answer first; then you can see the reference answer."),
                ephemeral=True,
            )
            return
        text = render.reference_answer(question, prompt.language)
        view = answer_view(prompt_id, ctx.lang, question.snippet is not None)
        await respond(interaction, embeds=[embed(text)], view=view, ephemeral=ctx.chat.is_group)


def short(text: str) -> str:
    """Shorten a line for an autocomplete choice (100 characters at most)."""
    return cut(text, 100)

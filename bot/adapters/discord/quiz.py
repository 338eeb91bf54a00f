"""Quizzes on Discord: one message per question with option buttons and a countdown."""

from __future__ import annotations

import logging
from datetime import UTC, timedelta
from typing import Any

import discord

from bot.adapters import quiz_render, render
from bot.adapters.discord.base import PLATFORM, Base, channel_of, embed
from bot.adapters.discord.buttons import QuizButton
from bot.document import CodeBlock, Document, bold, doc, lines
from bot.errors import UserInputError
from bot.i18n import _
from bot.services.model import Chat
from bot.services.quiz_platform import CloseReason, PollSpec, SentPoll
from bot.services.sending import ChatGone, SendFailed, SendRefused
from bot.services.study import Context

log = logging.getLogger(__name__)


def poll_ref(poll: PollSpec) -> str:
    """Return the reference of a poll (known before it is sent, so buttons can carry it)."""
    return f"{poll.session_id}-{poll.position}"


def poll_view(poll: PollSpec, *, disabled: bool = False) -> discord.ui.View:
    """Return one button per option."""
    view = discord.ui.View(timeout=None)
    for i in range(len(poll.options)):
        style = discord.ButtonStyle.primary
        if disabled and i == poll.correct:
            style = discord.ButtonStyle.success
        view.add_item(
            QuizButton(
                f"qz:{poll_ref(poll)}:{i}",
                label=render.LETTERS[i],
                style=style,
                disabled=disabled,
                row=i // 5,
            )
        )
    return view


def poll_embed(
    poll: PollSpec, deadline: int | None, reveal: Document | None = None
) -> discord.Embed:
    """Render a quiz question; with `reveal`, the answer and explanation too."""
    head = _(poll.lang, "Question {n} of {total}:", n=poll.number + 1, total=poll.total)
    text = doc(
        bold(poll.question),
        CodeBlock(poll.code) if poll.code else None,
        lines(*(render.option_line(i, o) for i, o in enumerate(poll.options))),
    )
    shown = embed(text + (reveal or Document()), title=head)
    if deadline is not None and reveal is None:
        # Discord shows <t:…:R> as a live countdown in each reader's own clock.
        shown.description = f"{shown.description}\n\n⏱ <t:{deadline}:R>"
    return shown


class DiscordQuizSender:
    """Show the group-quiz service's polls as button messages in a channel."""

    def __init__(self, client: discord.Client, base: Base) -> None:
        self.client = client
        self.base = base

    async def _channel(self, chat: Chat) -> discord.abc.Messageable:
        return await channel_of(self.client, chat)

    async def send_poll(self, chat: Chat, poll: PollSpec) -> SentPoll:
        """Post the question with its buttons and a countdown to the deadline."""
        now = self.base.core.clock.now()
        deadline = int((now + timedelta(seconds=poll.open_seconds)).timestamp())
        try:
            channel = await self._channel(chat)
            message = await channel.send(embed=poll_embed(poll, deadline), view=poll_view(poll))
        except (discord.NotFound, discord.Forbidden) as e:
            raise ChatGone(str(e)) from e
        except discord.HTTPException as e:
            if e.status >= 500:
                raise SendFailed(str(e)) from e
            raise SendRefused(str(e)) from e
        return SentPoll(
            poll_ref=poll_ref(poll), message_ref=str(message.id), sent_at=now.astimezone(UTC)
        )

    async def stop_poll(
        self, chat: Chat, poll: PollSpec, message_ref: str, reason: CloseReason
    ) -> None:
        """Reveal the answer and the explanation, and disable the buttons."""
        reveal = quiz_render.closed_unanswered(poll, reason)
        channel = await self._channel(chat)
        message = discord.PartialMessage(channel=channel, id=int(message_ref))  # type: ignore[arg-type]
        try:
            await message.edit(
                embed=poll_embed(poll, None, reveal), view=poll_view(poll, disabled=True)
            )
        except discord.NotFound:
            log.info("quiz message %s in chat %s is gone", message_ref, chat.id)


class QuizHandlers:
    """/quiz, /stopquiz, /leaderboard and the quiz buttons."""

    def __init__(self, base: Base) -> None:
        self.base = base
        self.core = base.core

    async def quiz(
        self,
        interaction: discord.Interaction[Any],
        ctx: Context,
        count: int | None,
        topic: str | None,
    ) -> None:
        """Start a quiz of N questions, optionally on one topic."""
        args = [str(a) for a in (count, topic) if a is not None]
        session = await self.core.quiz.start(ctx, args)  # QuizRunning says who runs one
        await self.base.reply(interaction, quiz_render.intro(self.core.bank, ctx.lang, session))
        await self.core.quiz.begin(session.id)

    async def stopquiz(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """End the running quiz (its starter, a member with Manage Server, or an operator)."""
        if await self.core.quiz.running(ctx.chat) is None:
            raise UserInputError("no_quiz")
        await self.core.quiz.stop(ctx, privileged=await self.base.is_admin(interaction, ctx))
        await self.base.reply(interaction, _(ctx.lang, "⏹ Quiz stopped."), ephemeral=True)

    async def leaderboard(
        self, interaction: discord.Interaction[Any], ctx: Context, period: str | None
    ) -> None:
        """Show the board (server channel) or the caller's totals (DM); or leave or rejoin it."""
        word = period.lower() if period else None
        if word in {"on", "off"}:
            await self.core.boards.set_on_boards(ctx, word == "on")
            text = quiz_render.boards_switched(ctx.lang, word == "on")
            await self.base.reply(interaction, text, ephemeral=True)
            return
        board = await self.core.boards.leaderboard(ctx, word)
        zone = ctx.chat_zone if ctx.chat.is_group else ctx.user_zone
        await self.base.reply(
            interaction, "", embeds=[embed(quiz_render.leaderboard(ctx.lang, board, zone))]
        )

    async def button(self, interaction: discord.Interaction[Any], ref: str, option: int) -> None:
        """Score a press on a quiz button; late and repeated presses are refused politely."""
        ctx = await self.base.enter(interaction)
        user = interaction.user
        answer = await self.core.quiz.answer(
            platform=PLATFORM,
            poll_ref=ref,
            user_id=str(user.id),
            user_name=user.display_name or user.name,
            language_code=str(interaction.locale),
            option_ids=[option],
        )
        if answer is None or answer.poll is None:
            text = _(ctx.lang, "This question is no longer available.")
        elif not answer.counted:
            text = _(ctx.lang, "Too late, or already answered: this vote does not count.")
        else:
            text = _(ctx.lang, "✅ Answer recorded. The answer comes when the time is up.")
        await self.base.reply(interaction, text, ephemeral=True)

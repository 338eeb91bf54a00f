"""Quizzes on Telegram: native quiz polls, /quiz, /stopquiz, /leaderboard and poll answers."""

from __future__ import annotations

import logging
from datetime import UTC

from telegram import Message, Poll, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, ContextTypes

from bot.adapters import quiz_render
from bot.adapters.telegram.delivery import PLATFORM
from bot.adapters.telegram.handlers import Handlers, command
from bot.adapters.telegram.markup import to_html
from bot.adapters.telegram.sending import send_mapped
from bot.app import Core
from bot.errors import UserInputError
from bot.services.model import Chat
from bot.services.quiz_platform import CloseReason, PollSpec, QuizRunning, SentPoll
from bot.services.study import Context

log = logging.getLogger(__name__)

Ctx = ContextTypes.DEFAULT_TYPE


class TelegramQuizSender:
    """Show quiz sessions as native, non-anonymous quiz polls (so votes arrive as updates)."""

    def __init__(self, core: Core, application: Application) -> None:  # type: ignore[type-arg]
        self.core = core
        self.application = application

    async def send_poll(self, chat: Chat, poll: PollSpec) -> SentPoll:
        """Send the code (if the question has some) and then the quiz poll."""
        bot = self.application.bot

        async def call(chat_id: int) -> Message:
            if poll.code:
                await bot.send_message(
                    chat_id, to_html(quiz_render.code(poll)), parse_mode=ParseMode.HTML
                )
            sent: Message = await bot.send_poll(
                chat_id,
                question=poll.question,
                options=list(poll.options),
                type=Poll.QUIZ,
                is_anonymous=False,
                correct_option_ids=[poll.correct],
                explanation=poll.explanation,
                open_period=poll.open_seconds,
            )
            return sent

        message = await send_mapped(call, int(chat.external_id), self._follow(chat))
        assert message.poll is not None  # noqa: S101 - sendPoll returns the poll
        return SentPoll(
            poll_ref=message.poll.id,
            message_ref=str(message.message_id),
            sent_at=message.date.astimezone(UTC),
        )

    async def stop_poll(
        self, chat: Chat, poll: PollSpec, message_ref: str, reason: CloseReason
    ) -> None:
        """Close a poll before Telegram's own open period does (or after: then it says so)."""
        try:
            await self.application.bot.stop_poll(int(chat.external_id), int(message_ref))
        except BadRequest as e:
            if "already closed" not in e.message.lower():
                raise

    def _follow(self, chat: Chat):  # type: ignore[no-untyped-def]
        return lambda new_id: self.core.study.follow_migration(chat, new_id)


class QuizHandlers:
    """/quiz, /stopquiz and /leaderboard, and the poll answers that score a quiz."""

    def __init__(self, base: Handlers) -> None:
        self.base = base
        self.core = base.core

    @command
    async def quiz(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Start a quiz of N questions, optionally on one topic."""
        try:
            session = await self.core.quiz.start(ctx, self.base.args(context))
        except QuizRunning as running:
            await self._point_at_running(update, ctx, running)
            return
        intro = quiz_render.intro(self.core.bank, ctx.lang, session)
        await self.base.reply(update, intro)
        await self.core.quiz.begin(session.id)

    @command
    async def stopquiz(self, update: Update, context: Ctx, ctx: Context) -> None:
        """End the running quiz (its starter, a group admin or an operator)."""
        if await self.core.quiz.running(ctx.chat) is None:
            raise UserInputError("no_quiz")
        privileged = await self.base.is_admin(update, context, ctx)
        await self.core.quiz.stop(ctx, privileged=privileged)

    @command
    async def leaderboard(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Show the board (group) or the caller's totals (private); or leave or rejoin it."""
        args = self.base.args(context)
        if len(args) > 1:
            raise UserInputError("usage_leaderboard")
        word = args[0].lower() if args else None
        if word in {"on", "off"}:
            await self.core.boards.set_on_boards(ctx, word == "on")
            await self.base.reply(update, quiz_render.boards_switched(ctx.lang, word == "on"))
            return
        board = await self.core.boards.leaderboard(ctx, word)
        zone = ctx.chat_zone if ctx.chat.is_group else ctx.user_zone
        await self.base.reply(update, quiz_render.leaderboard(ctx.lang, board, zone))

    async def poll_answer(self, update: Update, context: Ctx) -> None:
        """Score a vote on one of our quiz polls (a vote carries no chat: the poll id maps it)."""
        answer = update.poll_answer
        if answer is None or answer.user is None:
            return  # a vote cast as a chat (anonymous admin) belongs to nobody's score
        user = answer.user
        await self.core.quiz.answer(
            platform=PLATFORM,
            poll_ref=answer.poll_id,
            user_id=str(user.id),
            user_name=user.full_name or user.username or str(user.id),
            language_code=user.language_code,
            option_ids=list(answer.option_ids),
        )

    async def _point_at_running(self, update: Update, ctx: Context, running: QuizRunning) -> None:
        text = to_html(self.base.problem(ctx, running))
        message = update.effective_message
        if message is None:
            return
        reply_to = running.message_ref
        if reply_to is None:
            await message.reply_html(text)
            return
        await message.get_bot().send_message(
            message.chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_parameters=ReplyParameters(
                message_id=int(reply_to), allow_sending_without_reply=True
            ),
        )

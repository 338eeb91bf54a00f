"""The console as a platform of the contract: quiz polls with lettered options, notices."""

from __future__ import annotations

import asyncio

from bot.adapters import quiz_render, render, review_render
from bot.adapters.console_base import ConsoleBase
from bot.adapters.terminal import to_terminal
from bot.document import Document
from bot.errors import UserInputError
from bot.i18n import _
from bot.services.model import Chat, User
from bot.services.platform import Limits, Notice, Reminder
from bot.services.quiz_platform import CloseReason, PollSpec, Scoreboard, SentPoll
from bot.services.study import Context, Shown

PLATFORM = "console"

# How long a letter typed between two quiz polls waits for the next poll.
NEXT_POLL_WAIT_S = 10.0

# A terminal has room for anything; nobody else shares it.
LIMITS = Limits(
    poll_question_chars=1000, poll_option_chars=1000, text_chars=1 << 20, private_replies=True
)


class ConsolePlatform(ConsoleBase):
    """Show what the services send: questions, quiz polls, scoreboards, reminders."""

    name = PLATFORM
    limits = LIMITS

    async def send_prompt(self, chat: Chat, shown: Shown) -> str:
        """Print a question."""
        await self.show(shown)
        return PLATFORM

    async def send_text(self, to: Chat | User, notice: Notice) -> str:
        """Print a scoreboard (after the verdict, when the last answer ended the quiz)."""
        if isinstance(notice, Scoreboard):
            self.poll = None
            text = to_terminal(quiz_render.scoreboard(notice), self.color)
            if self._held is not None:
                self._held.append(text)
            else:
                self.write(text)
        elif isinstance(notice, Reminder):
            self.write(to_terminal(review_render.reminder(notice), self.color))
            self.say(_(notice.lang, "Type /review or /daily to start."))
        else:
            self.write(to_terminal(notice, self.color))
        return PLATFORM

    async def send_photo(self, to: Chat | User, png: bytes, caption: Document) -> str:
        """Save a picture and print where it is, with its caption."""
        return await self.send_file(to, "picture.png", png, caption)

    async def send_file(self, to: Chat | User, name: str, data: bytes, caption: Document) -> str:
        """Save a file and print where it is, with its caption."""
        path = self.save_file(name, data)
        self.write(to_terminal(caption, self.color))
        self.write(path)
        return path

    async def send_poll(self, chat: Chat, poll: PollSpec) -> SentPoll:
        """Print a quiz question with lettered options and open it for answers."""
        self._poll_seq += 1
        ref = f"{self.user}-{poll.session_id}-{self._poll_seq}"
        self.say(quiz_render.poll_text(poll))
        self.poll = (ref, poll)
        self._poll_opened.set()
        self._poll_opened = asyncio.Event()
        return SentPoll(poll_ref=ref, message_ref=ref, sent_at=self.core.clock.now())

    async def stop_poll(
        self, chat: Chat, poll: PollSpec, message_ref: str, reason: CloseReason
    ) -> None:
        """Close the poll; say the answer if it was not answered here."""
        if message_ref not in self._answered_polls:
            self.say(quiz_render.closed_unanswered(poll, reason))
        if self.poll is not None and self.poll[0] == message_ref:
            self.poll = None

    async def answer_quiz(self, ctx: Context, text: str) -> bool:
        """Answer the open quiz poll with a letter or number; False if no quiz is running."""
        if self.poll is None:
            if await self.core.quiz.running(ctx.chat) is None:
                return False
            # Typed between two polls (or piped ahead): it answers the next one.
            opened = self._poll_opened
            try:
                await asyncio.wait_for(opened.wait(), NEXT_POLL_WAIT_S)
            except TimeoutError:
                return False
            if self.poll is None:
                return False
        ref, poll = self.poll
        index = option_index(text, len(poll.options))
        if index is None:
            self.say(
                _(
                    ctx.lang,
                    "Answer with a letter (A–{last}) or /answer to see the answer.",
                    last=render.LETTERS[len(poll.options) - 1],
                )
            )
            return True
        self._answered_polls.add(ref)
        self._held = []
        try:
            result = await self.core.quiz.answer(
                platform=PLATFORM,
                poll_ref=ref,
                user_id=self.user,
                user_name=self.user,
                language_code=None,
                option_ids=[index],
            )
            if result is not None and result.poll is not None:
                self.say(quiz_render.quiz_verdict(result.poll, index, result.counted))
        finally:
            held, self._held = self._held, None
            for text in held:
                self.write(text)
        return True

    async def leaderboard(self, ctx: Context, arg: str) -> None:
        """Show the console user's totals for a period, or leave or rejoin the boards."""
        words = arg.lower().split()
        if len(words) > 1:
            raise UserInputError("usage_leaderboard")
        if words and words[0] in {"on", "off"}:
            await self.core.boards.set_on_boards(ctx, words[0] == "on")
            self.say(quiz_render.boards_switched(ctx.lang, words[0] == "on"))
            return
        board = await self.core.boards.leaderboard(ctx, words[0] if words else None)
        self.say(quiz_render.leaderboard(ctx.lang, board, ctx.user_zone))


def option_index(text: str, options: int) -> int | None:
    """Return the 0-based option a letter (A) or number (1) names, or None."""
    choice = text.strip().upper()
    if len(choice) == 1 and choice in render.LETTERS[:options]:
        return render.LETTERS.index(choice)
    if choice.isdigit() and 1 <= int(choice) <= options:
        return int(choice) - 1
    return None

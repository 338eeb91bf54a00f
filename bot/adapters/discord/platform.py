"""Discord's implementation of the platform contract (`bot.services.platform.Platform`)."""

from __future__ import annotations

import io

import discord

from bot.adapters import quiz_render, review_render
from bot.adapters.discord.base import COLOUR, MAX_DESCRIPTION, PLATFORM, channel_of
from bot.adapters.discord.daily import DiscordDailySender, mapped
from bot.adapters.discord.markdown import cut, document_markdown
from bot.adapters.discord.quiz import DiscordQuizSender
from bot.adapters.discord.review import start_view
from bot.document import Document
from bot.i18n import _
from bot.services.model import Chat, User
from bot.services.platform import Limits, Notice, Reminder
from bot.services.quiz_platform import CloseReason, PollSpec, Scoreboard, SentPoll
from bot.services.study import Shown

# Discord (DISCORD.md): an embed's description 4096 characters, a message 2000; a quiz is a
# message with buttons, its question in an embed title (256); a button label 80. An
# ephemeral reply shows something to one member alone.
LIMITS = Limits(
    poll_question_chars=256, poll_option_chars=80, text_chars=2000, private_replies=True
)


class DiscordChats:
    """Send prompts, quiz messages, notices, pictures and files through discord.py."""

    name = PLATFORM
    limits = LIMITS

    def __init__(
        self, client: discord.Client, daily: DiscordDailySender, quiz: DiscordQuizSender
    ) -> None:
        self.client = client
        self.daily = daily
        self.quiz = quiz

    async def send_prompt(self, chat: Chat, shown: Shown) -> str:
        """Post a question with its buttons."""
        return await self.daily.send_daily(chat, shown)

    async def send_poll(self, chat: Chat, poll: PollSpec) -> SentPoll:
        """Post a quiz question with its option buttons."""
        return await self.quiz.send_poll(chat, poll)

    async def stop_poll(
        self, chat: Chat, poll: PollSpec, message_ref: str, reason: CloseReason
    ) -> None:
        """Reveal the answer on the quiz message and disable its buttons."""
        await self.quiz.stop_poll(chat, poll, message_ref, reason)

    async def send_text(self, to: Chat | User, notice: Notice) -> str:
        """Post a scoreboard (as an embed), a reminder (with its start button) or a document."""
        if isinstance(notice, Scoreboard):
            title = _(notice.lang, "🏆 Scoreboard")
            body = document_markdown(quiz_render.scoreboard(notice))
            box = discord.Embed(title=title, description=cut(body, MAX_DESCRIPTION), colour=COLOUR)
            return await self._post(to, embed=box)
        if isinstance(notice, Reminder):
            text = document_markdown(review_render.reminder(notice))
            return await self._post(to, content=text, view=start_view(notice.lang))
        return await self._post(to, content=cut(document_markdown(notice), LIMITS.text_chars))

    async def send_photo(self, to: Chat | User, png: bytes, caption: Document) -> str:
        """Post a picture with its caption."""
        return await self.send_file(to, "picture.png", png, caption)

    async def send_file(self, to: Chat | User, name: str, data: bytes, caption: Document) -> str:
        """Post a file with its caption."""
        file = discord.File(io.BytesIO(data), filename=name)
        return await self._post(to, content=cut(document_markdown(caption), 2000), file=file)

    async def _post(self, to: Chat | User, **message: object) -> str:
        async def post() -> str:
            if isinstance(to, User):
                channel: discord.abc.Messageable = await self.client.create_dm(
                    discord.Object(int(to.external_id))
                )
            else:
                channel = await channel_of(self.client, to)
            sent = await channel.send(**message)  # type: ignore[call-overload]
            return str(sent.id)

        return await mapped(post, self.daily.limiter)

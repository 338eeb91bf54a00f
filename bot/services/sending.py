"""What a platform's sender may raise; every scheduled send (daily, quiz) maps to these."""

from __future__ import annotations

from bot.errors import StudyBotError


class ChatGone(StudyBotError):
    """The chat blocked the bot or no longer exists: stop sending to it."""


class SendFailed(StudyBotError):
    """The message surely did not go out (after the adapter's retries); try again later."""


class SendUncertain(StudyBotError):
    """The message may or may not have gone out (a timeout): count it as sent."""


class SendRefused(StudyBotError):
    """The platform refused the message for good (rights, format): give up on it."""

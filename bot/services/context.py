"""Who is talking and what is shown: the values every study use case passes around."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.content.models import Question
from bot.services import streaks
from bot.services.cards import Rated
from bot.storage.records import Chat, Lang, Prompt, User


def language_from_code(code: str | None) -> Lang:
    """Map a platform language code to ours: zh* is Chinese, everything else English."""
    return "zh" if code and code.lower().startswith("zh") else "en"


@dataclass(frozen=True)
class Context:
    """The user and chat of one incoming event, with the language and zone to answer in."""

    user: User
    chat: Chat
    lang: Lang
    user_zone: str
    chat_zone: str


@dataclass(frozen=True)
class Shown:
    """A question about to be shown: its prompt row and content."""

    prompt: Prompt
    question: Question
    lang: Lang
    review_due: int = 0  # under a private daily question: how many reviews to offer


@dataclass(frozen=True)
class AnswerResult:
    """The outcome of pressing an option."""

    status: Literal["recorded", "already", "stale"]
    question: Question | None = None
    lang: Lang = "en"
    chosen: int = -1
    correct: bool = False
    streak: streaks.StreakView | None = None
    streak_grew: bool = False
    card: Rated | None = None  # the user's card of the question after this answer

"""What a platform shows of a quiz session (polls, scoreboards), and what a vote became."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.errors import UserInputError
from bot.storage.records import Lang, QuizSession, ScoreRow

CloseReason = Literal["deadline", "answered", "stopped"]


@dataclass(frozen=True)
class PollSpec:
    """One quiz poll as a platform shows it: options already shuffled."""

    session_id: int
    position: int  # the poll's row in the session, unique (a replacement has its own)
    number: int  # 0-based, shown as [number + 1/total]: a replacement keeps the lost one's
    total: int
    lang: Lang
    question: str  # plain text, at most 300 characters
    code: str | None  # shown in a formatted message just before the poll
    options: tuple[str, ...]
    correct: int
    explanation: str
    open_seconds: int


@dataclass(frozen=True)
class SentPoll:
    """What the platform answered when a poll went out."""

    poll_ref: str
    message_ref: str
    sent_at: datetime  # as the platform reports it


@dataclass(frozen=True)
class Scoreboard:
    """The result of a session: rows best first."""

    lang: Lang
    asked: int
    rows: tuple[ScoreRow, ...]
    stopped: bool
    private: bool


@dataclass(frozen=True)
class QuizAnswer:
    """What became of one vote."""

    counted: bool
    correct: bool = False
    poll: PollSpec | None = None


class QuizRunning(UserInputError):
    """The chat already has a running session."""

    def __init__(self, session: QuizSession, number: int, message_ref: str | None) -> None:
        super().__init__("quiz_running", question=max(number, 1), total=session.total)
        self.message_ref = message_ref

"""Frozen records the repositories return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from bot.clock import month_start, week_start

Lang = Literal["zh", "en"]


@dataclass(frozen=True)
class User:
    """A person on one platform."""

    id: int
    platform: str
    external_id: str
    name: str
    language: Lang | None
    timezone: str | None
    retention: float | None = None  # None: the bot's STUDYBOT_RETENTION
    remind_at: str | None = None  # HH:MM in the user's zone; None: no reminder


@dataclass(frozen=True)
class Chat:
    """A conversation the bot is in: private, group or the console."""

    id: int
    platform: str
    external_id: str
    type: str
    title: str
    language: Lang | None
    timezone: str | None
    daily_time: str
    subscribed: bool
    topic_filter: str | None
    run_enabled: bool

    @property
    def is_group(self) -> bool:
        """Return True for group and supergroup chats."""
        return self.type in {"group", "supergroup"}


@dataclass(frozen=True)
class Prompt:
    """A question shown in a chat."""

    id: int
    chat_id: int
    question_id: str
    kind: str
    language: Lang
    message_ref: str | None
    created_at: datetime


@dataclass(frozen=True)
class Attempt:
    """One answer by one user."""

    id: int
    user_id: int
    chat_id: int
    prompt_id: int | None
    question_id: str
    source: str
    chosen: int
    correct: bool
    answered_at: datetime
    local_date: date


@dataclass(frozen=True)
class Delivery:
    """A chat's daily question for one local date."""

    chat_id: int
    local_date: date
    question_id: str
    prompt_id: int | None
    status: Literal["sending", "retry", "sent", "failed"]


@dataclass(frozen=True)
class Streak:
    """A user's streak as stored (not yet judged against today)."""

    user_id: int
    current: int
    longest: int
    last_date: date | None
    freezes: int
    freezes_used: int
    day_end: datetime | None = None  # when the last counted day ends, in the zone it counted in


@dataclass(frozen=True)
class UserStats:
    """Totals of a user's attempts."""

    answered: int
    correct: int
    days: int
    by_topic: dict[str, tuple[int, int]]  # topic -> (answered, correct)
    exercises_solved: int = 0


QuizStatus = Literal["running", "finished", "stopped"]
PollStatus = Literal["sending", "retry", "open", "closed", "lost"]


@dataclass(frozen=True)
class QuizSession:
    """A quiz in a chat: N questions asked one after another as quiz polls."""

    id: int
    chat_id: int
    starter_id: int
    topic: str | None
    questions: tuple[str, ...]
    language: Lang
    open_seconds: int
    position: int  # polls claimed so far; the current poll is position - 1
    next_at: datetime | None
    status: QuizStatus
    started_at: datetime

    @property
    def total(self) -> int:
        """Return how many questions the session asks."""
        return len(self.questions)


@dataclass(frozen=True)
class QuizPoll:
    """One question of a session as a poll: what was shown and whether it is open."""

    id: int
    session_id: int
    position: int  # the poll's row in the session: one more for each poll claimed
    number: int  # how many polls of the session were asked before it (lost ones are not)
    question_id: str
    prompt_id: int | None
    option_order: tuple[int, ...]
    correct: int
    poll_ref: str | None
    message_ref: str | None
    status: PollStatus
    attempts: int
    sent_at: datetime | None
    deadline: datetime | None


@dataclass(frozen=True)
class ScoreRow:
    """One player's result in a quiz session, best first."""

    user_id: int
    name: str
    correct: int
    answered: int
    mean_ms: int


@dataclass(frozen=True)
class LeaderRow:
    """One member's standing on a chat's leaderboard."""

    rank: int
    user_id: int
    name: str
    correct: int
    answered: int


@dataclass(frozen=True)
class BoardPeriods:
    """The local week and month a moment falls in, in the zone a group's boards count in."""

    zone: str
    week: datetime  # local midnight of the Monday
    month: datetime  # local midnight of the 1st

    @classmethod
    def at(cls, now: datetime, zone: str) -> BoardPeriods:
        """Return the week and month of the instant `now` in `zone`."""
        return cls(zone, week_start(now, zone), month_start(now, zone))

    def start(self, kind: Literal["week", "month"]) -> datetime:
        """Return the start of the week or the month."""
        return self.week if kind == "week" else self.month


@dataclass(frozen=True)
class PeriodTotals:
    """A user's answers over a period, across chats."""

    answered: int
    correct: int
    quiz_answered: int
    quiz_correct: int
    days: int
    chats: int


@dataclass(frozen=True)
class Card:
    """A user's spaced-repetition card for one question, as the scheduler left it."""

    user_id: int
    question_id: str
    state: int  # fsrs State: 1 learning, 2 review, 3 relearning
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None
    lapses: int
    leech: bool


@dataclass(frozen=True)
class Report:
    """A problem a user reported about a question."""

    id: int
    question_id: str
    user_name: str
    user_platform: str
    chat_id: int
    text: str
    created_at: datetime
    closed_at: datetime | None = None


@dataclass(frozen=True)
class ExerciseProgress:
    """A user's progress on one coding exercise."""

    exercise_id: str
    attempts: int
    hints_used: int
    first_shown: datetime
    solved_at: datetime | None
    gave_up_at: datetime | None


InviteStatus = Literal["pending", "accepted", "declined", "expired"]


@dataclass(frozen=True)
class Invitation:
    """An invitation to a friend streak, posted in a chat both people are in."""

    id: int
    chat_id: int
    inviter: User
    invitee: User
    message_ref: str | None
    status: InviteStatus
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Friendship:
    """Two friends as one of them sees it: the friend, and the first date that can count."""

    friend: User
    since: date  # the earlier of the two local dates on the day they became friends

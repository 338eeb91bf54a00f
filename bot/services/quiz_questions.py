"""Which questions a quiz session asks, and how each is shown as a poll.

A session plans its N questions when it starts. A poll that may have gone out (a crash between
its send and its record, a timeout) is never sent again: its place goes to another question
that this session has not asked, so the session still asks N.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection

from bot.clock import Clock
from bot.content.loader import ContentBank
from bot.content.models import Question
from bot.errors import UserInputError
from bot.services.quiz_platform import PollSpec
from bot.storage.records import Chat, QuizPoll, QuizSession
from bot.storage.repos import Repos
from bot.text import excerpt


class QuestionPicker:
    """Choose a session's questions: those the chat's quizzes asked least recently first."""

    def __init__(self, repos: Repos, bank: ContentBank, clock: Clock) -> None:
        self.repos = repos
        self.bank = bank
        self.clock = clock

    async def choose(
        self, chat: Chat, topic: str | None, count: int, exclude: Collection[str] = ()
    ) -> list[Question]:
        """Pick distinct questions: never asked in this chat's quizzes first, then the oldest."""
        pool = [q for q in self.bank.in_topic(topic) if q.id not in exclude]
        last = await self.repos.quizzes.last_asked(chat.id)
        salt = f"{chat.id}:{self.clock.now().isoformat()}"

        def order(q: Question) -> tuple[int, str]:
            return last.get(q.id, 0), hashlib.sha256(f"{salt}:{q.id}".encode()).hexdigest()

        return sorted(pool, key=order)[:count]

    async def next(self, chat: Chat, session: QuizSession) -> Question | None:
        """Return the question of the session's next poll; None if none is left to ask.

        The planned questions in order, skipping those a poll of the session already took
        (a lost one included) or that left the bank; then a replacement from the session's
        topic, then from any topic.
        """
        used = set(await self.repos.quizzes.question_ids(session.id))
        for question_id in session.questions:
            question = self.bank.get(question_id)
            if question_id not in used and question is not None:
                return question
        exclude = used | set(session.questions)
        for topic in (session.topic, None) if session.topic else (None,):
            spare = await self.choose(chat, topic, 1, exclude)
            if spare:
                return spare[0]
        return None

    def spec(self, session: QuizSession, poll: QuizPoll, limit: int | None = None) -> PollSpec:
        """Return how a platform shows a poll of the session, its question cut to `limit`."""
        question = self.bank.get(poll.question_id)
        assert question is not None  # noqa: S101 - the bank is loaded once per process
        quiz = question.text(session.language).quiz
        prefix = f"[{poll.number + 1}/{session.total}] "
        stem = quiz.stem if quiz.code else quiz.question
        text = prefix + stem
        if limit is not None and len(text) > limit:
            text = text[: limit - 1] + "…"
        return PollSpec(
            session_id=session.id,
            position=poll.position,
            number=poll.number,
            total=session.total,
            lang=session.language,
            question=text,
            code=quiz.code,
            options=tuple(quiz.options[i] for i in poll.option_order),
            correct=poll.correct,
            explanation=quiz.explanation,
            open_seconds=session.open_seconds,
        )


DEFAULT_QUESTIONS = 5
MAX_QUESTIONS = 20
_TOPIC_LIKE = re.compile(r"[a-z][a-z0-9_-]*")


def parse_quiz_args(args: list[str], topic_ok: Callable[[str], bool]) -> tuple[int, str | None]:
    """Parse `[N] [topic]` in either order; raise UserInputError("usage_quiz") otherwise."""
    count: int | None = None
    topic: str | None = None
    for word in args:
        if word.isdigit() and count is None:
            count = int(word)
            if not 1 <= count <= MAX_QUESTIONS:
                raise UserInputError("usage_quiz")
        elif topic is None and (word.lower() == "all" or topic_ok(word.lower())):
            topic = word.lower()
        elif topic is None and _TOPIC_LIKE.fullmatch(word.lower()):
            # A word where a topic goes: say which topic is unknown, as /question does.
            raise UserInputError("unknown_topic", topic=excerpt(word, 40))
        else:
            raise UserInputError("usage_quiz")
    return count or DEFAULT_QUESTIONS, None if topic in (None, "all") else topic

"""Quiz sessions, their polls and answers, and the leaderboards: all SQL of group quizzes."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import cast

import aiosqlite

from bot.clock import from_iso, to_iso
from bot.storage.database import Database
from bot.storage.records import (
    Lang,
    PollStatus,
    QuizPoll,
    QuizSession,
    QuizStatus,
    ScoreRow,
)


def _session(row: aiosqlite.Row) -> QuizSession:
    return QuizSession(
        id=row["id"],
        chat_id=row["chat_id"],
        starter_id=row["starter_id"],
        topic=row["topic"],
        questions=tuple(json.loads(row["questions"])),
        language=cast(Lang, row["language"]),
        open_seconds=row["open_seconds"],
        position=row["position"],
        next_at=from_iso(row["next_at"]) if row["next_at"] else None,
        status=cast(QuizStatus, row["status"]),
        started_at=from_iso(row["started_at"]),
    )


def _poll(row: aiosqlite.Row) -> QuizPoll:
    return QuizPoll(
        id=row["id"],
        session_id=row["session_id"],
        position=row["position"],
        number=row["number"],
        question_id=row["question_id"],
        prompt_id=row["prompt_id"],
        option_order=tuple(json.loads(row["option_order"])),
        correct=row["correct"],
        poll_ref=row["poll_ref"],
        message_ref=row["message_ref"],
        status=cast(PollStatus, row["status"]),
        attempts=row["attempts"],
        sent_at=from_iso(row["sent_at"]) if row["sent_at"] else None,
        deadline=from_iso(row["deadline"]) if row["deadline"] else None,
    )


# A poll with its number: the polls of its session before it that were not lost. Polls are
# claimed one at a time, each after the one before was closed or lost, so it never changes.
_POLLS = (
    "SELECT p.*, (SELECT COUNT(*) FROM quiz_polls AS b WHERE b.session_id = p.session_id"
    " AND b.position < p.position AND b.status <> 'lost') AS number FROM quiz_polls AS p"
)
_ASKED = ("open", "closed")  # statuses of a poll that went out and was recorded


def _iso_ms(at: datetime) -> str:
    """Format a poll time with milliseconds: answer times are measured against it."""
    return at.isoformat(timespec="milliseconds")


class QuizRepo:
    """Sessions, polls and answers."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        chat_id: int,
        starter_id: int,
        topic: str | None,
        questions: list[str],
        language: Lang,
        open_seconds: int,
        now: datetime,
    ) -> QuizSession | None:
        """Start a session; None if the chat already has a running one."""
        try:
            async with self.db.transaction() as conn:
                cursor = await conn.execute(
                    "INSERT INTO quiz_sessions (chat_id, starter_id, topic, questions, language,"
                    " open_seconds, status, started_at) VALUES (?, ?, ?, ?, ?, ?, 'running', ?)",
                    (
                        chat_id,
                        starter_id,
                        topic,
                        json.dumps(questions),
                        language,
                        open_seconds,
                        to_iso(now),
                    ),
                )
                session_id = cast(int, cursor.lastrowid)
        except sqlite3.IntegrityError:
            return None
        return await self.session(session_id)

    async def session(self, session_id: int) -> QuizSession | None:
        """Return a session by id."""
        row = await self.db.fetchone("SELECT * FROM quiz_sessions WHERE id = ?", (session_id,))
        return _session(row) if row else None

    async def running(self, chat_id: int) -> QuizSession | None:
        """Return the chat's running session, if any."""
        row = await self.db.fetchone(
            "SELECT * FROM quiz_sessions WHERE chat_id = ? AND status = 'running'", (chat_id,)
        )
        return _session(row) if row else None

    async def running_on(self, platform: str) -> list[QuizSession]:
        """Return every running session in chats of a platform."""
        rows = await self.db.fetchall(
            "SELECT s.* FROM quiz_sessions AS s JOIN chats AS c ON c.id = s.chat_id"
            " WHERE s.status = 'running' AND c.platform = ? ORDER BY s.id",
            (platform,),
        )
        return [_session(r) for r in rows]

    async def end(self, session_id: int, status: QuizStatus, now: datetime) -> bool:
        """Mark a running session finished or stopped; False if it had ended already."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE quiz_sessions SET status = ?, ended_at = ?, next_at = NULL"
                " WHERE id = ? AND status = 'running'",
                (status, to_iso(now), session_id),
            )
            return cursor.rowcount > 0

    async def shorten(self, poll_id: int, deadline: datetime) -> bool:
        """Bring an open poll's deadline forward to `deadline`; False if it was not later."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE quiz_polls SET deadline = ? WHERE id = ? AND status = 'open'"
                " AND deadline > ?",
                (_iso_ms(deadline), poll_id, _iso_ms(deadline)),
            )
            return cursor.rowcount == 1

    async def set_next_at(self, session_id: int, at: datetime | None) -> None:
        """Remember when the next poll is due after an early close."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE quiz_sessions SET next_at = ? WHERE id = ?",
                (_iso_ms(at) if at else None, session_id),
            )

    async def claim(
        self,
        session: QuizSession,
        question_id: str,
        option_order: list[int],
        correct: int,
    ) -> QuizPoll | None:
        """Claim the session's next position before sending its poll (at most once each).

        Return None if another step already claimed it.
        """
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE quiz_sessions SET position = position + 1, next_at = NULL"
                " WHERE id = ? AND position = ? AND status = 'running'",
                (session.id, session.position),
            )
            if cursor.rowcount == 0:
                return None
            cursor = await conn.execute(
                "INSERT INTO quiz_polls (session_id, position, question_id, option_order,"
                " correct, status, attempts) VALUES (?, ?, ?, ?, ?, 'sending', 1)",
                (session.id, session.position, question_id, json.dumps(option_order), correct),
            )
            poll_id = cast(int, cursor.lastrowid)
        return await self.poll(poll_id)

    async def reclaim(self, poll_id: int) -> bool:
        """Claim a poll whose send surely failed for one more try."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE quiz_polls SET status = 'sending', attempts = attempts + 1"
                " WHERE id = ? AND status = 'retry'",
                (poll_id,),
            )
            return cursor.rowcount > 0

    async def sent(
        self,
        poll_id: int,
        *,
        poll_ref: str,
        message_ref: str,
        prompt_id: int,
        sent_at: datetime,
        deadline: datetime,
    ) -> QuizPoll:
        """Record that a claimed poll went out and is open until `deadline`."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE quiz_polls SET status = 'open', poll_ref = ?, message_ref = ?,"
                " prompt_id = ?, sent_at = ?, deadline = ? WHERE id = ?",
                (poll_ref, message_ref, prompt_id, _iso_ms(sent_at), _iso_ms(deadline), poll_id),
            )
        poll = await self.poll(poll_id)
        assert poll is not None  # noqa: S101 - just written
        return poll

    async def set_status(self, poll_id: int, status: PollStatus, now: datetime) -> None:
        """Mark a claimed poll for retry, or lost (it may or may not have gone out)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE quiz_polls SET status = ?, closed_at = ? WHERE id = ?",
                (status, _iso_ms(now) if status == "lost" else None, poll_id),
            )

    async def close(self, poll_id: int, now: datetime) -> bool:
        """Close an open poll; False if it was closed already."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE quiz_polls SET status = 'closed', closed_at = ?"
                " WHERE id = ? AND status = 'open'",
                (_iso_ms(now), poll_id),
            )
            return cursor.rowcount > 0

    async def poll(self, poll_id: int) -> QuizPoll | None:
        """Return a poll by id."""
        row = await self.db.fetchone(f"{_POLLS} WHERE p.id = ?", (poll_id,))
        return _poll(row) if row else None

    async def poll_at(self, session_id: int, position: int) -> QuizPoll | None:
        """Return the poll at a position of a session."""
        row = await self.db.fetchone(
            f"{_POLLS} WHERE p.session_id = ? AND p.position = ?",
            (session_id, position),
        )
        return _poll(row) if row else None

    async def by_ref(self, poll_ref: str) -> QuizPoll | None:
        """Return the poll with this platform poll id."""
        row = await self.db.fetchone(f"{_POLLS} WHERE p.poll_ref = ?", (poll_ref,))
        return _poll(row) if row else None

    async def asked(self, session_id: int) -> int:
        """Return how many polls of the session went out and were recorded."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM quiz_polls WHERE session_id = ? AND status IN (?, ?)",
            (session_id, *_ASKED),
        )
        return int(row["n"]) if row else 0

    async def question_ids(self, session_id: int) -> list[str]:
        """Return the questions the session's polls took, lost ones included, in order."""
        rows = await self.db.fetchall(
            "SELECT question_id FROM quiz_polls WHERE session_id = ? ORDER BY position",
            (session_id,),
        )
        return [r["question_id"] for r in rows]

    async def add_answer(
        self,
        *,
        poll: QuizPoll,
        user_id: int,
        chosen: int,
        elapsed_ms: int,
        now: datetime,
    ) -> bool:
        """Store a user's first answer to a poll; False if they had answered it."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO quiz_answers (poll_id, session_id, user_id, chosen,"
                " correct, elapsed_ms, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    poll.id,
                    poll.session_id,
                    user_id,
                    chosen,
                    int(chosen == poll.correct),
                    elapsed_ms,
                    _iso_ms(now),
                ),
            )
            return cursor.rowcount > 0

    async def players(self, session_id: int) -> set[int]:
        """Return the users who answered any poll of the session."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT user_id FROM quiz_answers WHERE session_id = ?", (session_id,)
        )
        return {r["user_id"] for r in rows}

    async def answered(self, poll_id: int) -> set[int]:
        """Return the users who answered a poll."""
        rows = await self.db.fetchall(
            "SELECT user_id FROM quiz_answers WHERE poll_id = ?", (poll_id,)
        )
        return {r["user_id"] for r in rows}

    async def scores(self, session_id: int) -> list[ScoreRow]:
        """Return the session's results: most correct, then fastest, then who answered first."""
        rows = await self.db.fetchall(
            "SELECT a.user_id, u.name, SUM(a.correct) AS correct, COUNT(*) AS answered,"
            " CAST(ROUND(AVG(a.elapsed_ms)) AS INTEGER) AS mean_ms, MIN(a.id) AS first"
            " FROM quiz_answers AS a JOIN users AS u ON u.id = a.user_id"
            " WHERE a.session_id = ? GROUP BY a.user_id"
            " ORDER BY correct DESC, mean_ms ASC, first ASC",
            (session_id,),
        )
        return [
            ScoreRow(r["user_id"], r["name"], r["correct"], r["answered"], r["mean_ms"])
            for r in rows
        ]

    async def last_asked(self, chat_id: int) -> dict[str, int]:
        """Return, per question, the id of its latest quiz poll in the chat (higher: later)."""
        rows = await self.db.fetchall(
            "SELECT p.question_id, MAX(p.id) AS last FROM quiz_polls AS p"
            " JOIN quiz_sessions AS s ON s.id = p.session_id WHERE s.chat_id = ?"
            " GROUP BY p.question_id",
            (chat_id,),
        )
        return {r["question_id"]: r["last"] for r in rows}


# A board from kept totals (all time: board_totals; this week or month: board_period_totals),
# in the order of summing the answers: most correct, fewest answered, who answered first. The
# top walks the table's rank index; a member's rank is one plus the members ordered before them.

"""Quiz sessions, their polls and answers, and the leaderboards: all SQL of group quizzes."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Literal, cast

import aiosqlite

from bot.clock import from_iso, to_iso
from bot.storage.database import Database
from bot.storage.records import (
    BoardPeriods,
    Lang,
    LeaderRow,
    PeriodTotals,
    PollStatus,
    QuizPoll,
    QuizSession,
    QuizStatus,
    ScoreRow,
)

# Attempts that count on a group's leaderboard.
BOARD_SOURCES = ("quiz", "daily", "exercise")  # exercise: first solves only


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
_TOP = """
SELECT ROW_NUMBER() OVER (ORDER BY t.correct DESC, t.answered ASC, t.first_id ASC) AS rank,
       t.user_id, u.name, t.correct, t.answered
FROM (
    SELECT user_id, correct, answered, first_id FROM {table}
    WHERE chat_id = ?{kind} AND on_boards = 1
    ORDER BY correct DESC, answered ASC, first_id ASC LIMIT ?
) AS t JOIN users AS u ON u.id = t.user_id
ORDER BY rank
"""
_RANK = """
SELECT t.user_id, u.name, t.correct, t.answered,
       1 + (SELECT COUNT(*) FROM {table} AS o
            WHERE o.chat_id = t.chat_id{o_kind} AND o.on_boards = 1 AND o.correct > t.correct)
         + (SELECT COUNT(*) FROM {table} AS o
            WHERE o.chat_id = t.chat_id{o_kind} AND o.on_boards = 1 AND o.correct = t.correct
              AND (o.answered, o.first_id) < (t.answered, t.first_id)) AS rank
FROM {table} AS t JOIN users AS u ON u.id = t.user_id
WHERE t.chat_id = ?{t_kind} AND t.user_id = ? AND t.on_boards = 1
"""
_TOP_ALL = _TOP.format(table="board_totals", kind="")
_RANK_ALL = _RANK.format(table="board_totals", o_kind="", t_kind="")
_TOP_PERIOD = _TOP.format(table="board_period_totals", kind=" AND kind = ?")
_RANK_PERIOD = _RANK.format(
    table="board_period_totals", o_kind=" AND o.kind = t.kind", t_kind=" AND t.kind = ?"
)
# A chat's totals of this week or month, counted again from its answers.
_RECOUNT = f"""
INSERT INTO board_period_totals (chat_id, kind, user_id, on_boards, correct, answered, first_id)
SELECT a.chat_id, ?, a.user_id, u.on_boards, SUM(a.correct), COUNT(*), MIN(a.id)
FROM attempts AS a JOIN users AS u ON u.id = a.user_id
WHERE a.chat_id = ? AND a.answered_at >= ?
  AND a.source IN ({", ".join("?" for _ in BOARD_SOURCES)})
GROUP BY a.user_id
"""  # noqa: S608 - only placeholders are formatted in
_KINDS: tuple[Literal["week", "month"], ...] = ("week", "month")


async def count_on_boards(
    conn: aiosqlite.Connection,
    *,
    attempt_id: int,
    chat_id: int,
    user_id: int,
    source: str,
    correct: bool,
    periods: BoardPeriods | None,
) -> None:
    """Add a new attempt to its chat's board totals, in the caller's transaction.

    `periods`: the attempt's week and month in the chat's zone; None drops the chat's period
    totals, to be counted again from the answers when a board is next read.
    """
    if source not in BOARD_SOURCES:
        return
    await conn.execute(
        "INSERT INTO board_totals (chat_id, user_id, on_boards, correct, answered, first_id)"
        " SELECT ?, id, on_boards, ?, 1, ? FROM users WHERE id = ?"
        " ON CONFLICT (chat_id, user_id) DO UPDATE SET"
        " correct = correct + excluded.correct, answered = answered + 1,"
        " first_id = MIN(first_id, excluded.first_id)",
        (chat_id, int(correct), attempt_id, user_id),
    )
    async with conn.execute(
        "SELECT zone, week_start, month_start FROM board_periods WHERE chat_id = ?", (chat_id,)
    ) as cursor:
        kept = await cursor.fetchone()
    if kept is None:
        return  # not counted yet: the next board read counts the chat's answers
    if periods is None or kept["zone"] != periods.zone:
        # Weeks of another zone start at other instants: count again at the next read.
        await conn.execute("DELETE FROM board_periods WHERE chat_id = ?", (chat_id,))
        return
    for kind in _KINDS:
        start = to_iso(periods.start(kind))
        if start < kept[f"{kind}_start"]:
            continue  # dated before the kept period (a clock set back): not on its board
        if start > kept[f"{kind}_start"]:
            # The first answer of a new week or month: the previous one's rows go.
            await conn.execute(
                "DELETE FROM board_period_totals WHERE chat_id = ? AND kind = ?", (chat_id, kind)
            )
            await conn.execute(
                f"UPDATE board_periods SET {kind}_start = ? WHERE chat_id = ?",  # noqa: S608
                (start, chat_id),
            )
        await conn.execute(
            "INSERT INTO board_period_totals"
            " (chat_id, kind, user_id, on_boards, correct, answered, first_id)"
            " SELECT ?, ?, id, on_boards, ?, 1, ? FROM users WHERE id = ?"
            " ON CONFLICT (chat_id, kind, user_id) DO UPDATE SET"
            " correct = correct + excluded.correct, answered = answered + 1,"
            " first_id = MIN(first_id, excluded.first_id)",
            (chat_id, kind, int(correct), attempt_id, user_id),
        )


class BoardRepo:
    """Leaderboards from kept totals: all time, and this week and month in the chat's zone."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def leaderboard(
        self,
        chat_id: int,
        period: Literal["week", "month", "all"],
        periods: BoardPeriods,
        limit: int,
        user_id: int,
    ) -> list[LeaderRow]:
        """Return the chat's top `limit` members of a period, plus `user_id` wherever it ranks.

        `periods` holds the chat's current week and month, in its zone.
        """
        if period == "all":
            rows = await self.db.fetchall(_TOP_ALL, (chat_id, limit))
            if all(r["user_id"] != user_id for r in rows):
                rows += await self.db.fetchall(_RANK_ALL, (chat_id, user_id))
        elif await self._counted(chat_id, period, periods):
            rows = await self.db.fetchall(_TOP_PERIOD, (chat_id, period, limit))
            if all(r["user_id"] != user_id for r in rows):
                rows += await self.db.fetchall(_RANK_PERIOD, (chat_id, period, user_id))
        else:
            rows = []
        return [
            LeaderRow(r["rank"], r["user_id"], r["name"], r["correct"], r["answered"]) for r in rows
        ]

    async def _counted(
        self, chat_id: int, kind: Literal["week", "month"], periods: BoardPeriods
    ) -> bool:
        """Make the chat's kept totals hold this week or month; False if nobody answered yet."""
        kept = await self.db.fetchone(
            "SELECT zone, week_start, month_start FROM board_periods WHERE chat_id = ?",
            (chat_id,),
        )
        if kept is not None and kept["zone"] == periods.zone:
            start = to_iso(periods.start(kind))
            if kept[f"{kind}_start"] == start:
                return True
            if kept[f"{kind}_start"] < start:
                return False  # every answer since is counted, and none was given this period
        await self._recount(chat_id, periods)
        return True

    async def _recount(self, chat_id: int, periods: BoardPeriods) -> None:
        """Count a chat's totals of this week and month again from its answers.

        Run once per chat: for its first board since the upgrade, after a change of its zone,
        or for a period before the kept one.
        """
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM board_period_totals WHERE chat_id = ?", (chat_id,))
            for kind in _KINDS:
                await conn.execute(
                    _RECOUNT, (kind, chat_id, to_iso(periods.start(kind)), *BOARD_SOURCES)
                )
            await conn.execute(
                "INSERT OR REPLACE INTO board_periods (chat_id, zone, week_start, month_start)"
                " VALUES (?, ?, ?, ?)",
                (chat_id, periods.zone, to_iso(periods.week), to_iso(periods.month)),
            )

    async def totals(self, user_id: int, since: datetime | None) -> PeriodTotals:
        """Return a user's answers since a time, across every chat."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n, COALESCE(SUM(correct), 0) AS c,"
            " COALESCE(SUM(source = 'quiz'), 0) AS qn,"
            " COALESCE(SUM(source = 'quiz' AND correct), 0) AS qc,"
            " COUNT(DISTINCT local_date) AS days, COUNT(DISTINCT chat_id) AS chats"
            " FROM attempts WHERE user_id = ? AND answered_at >= ?",
            (user_id, to_iso(since) if since else ""),
        )
        assert row is not None  # noqa: S101 - an aggregate always returns a row
        return PeriodTotals(row["n"], row["c"], row["qn"], row["qc"], row["days"], row["chats"])

    async def set_on_boards(self, user_id: int, on: bool) -> None:
        """Put a user on the leaderboards or take them off."""
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE users SET on_boards = ? WHERE id = ?", (int(on), user_id))
            for table in ("board_totals", "board_period_totals"):
                await conn.execute(
                    f"UPDATE {table} SET on_boards = ? WHERE user_id = ?",  # noqa: S608
                    (int(on), user_id),
                )

    async def on_boards(self, user_id: int) -> bool:
        """Return whether a user appears on leaderboards."""
        row = await self.db.fetchone("SELECT on_boards FROM users WHERE id = ?", (user_id,))
        return bool(row["on_boards"]) if row else True

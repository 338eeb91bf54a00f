"""Questions shown in chats and the answers given to them."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import cast

import aiosqlite

from bot.clock import from_iso, to_iso
from bot.storage.boards import count_on_boards
from bot.storage.database import Database
from bot.storage.deliveries import load_streak, store_streak
from bot.storage.records import (
    Attempt,
    BoardPeriods,
    Lang,
    Prompt,
    Streak,
)


def _prompt(row: aiosqlite.Row) -> Prompt:
    return Prompt(
        id=row["id"],
        chat_id=row["chat_id"],
        question_id=row["question_id"],
        kind=row["kind"],
        language=cast(Lang, row["language"]),
        message_ref=row["message_ref"],
        created_at=from_iso(row["created_at"]),
    )


def _attempt(row: aiosqlite.Row) -> Attempt:
    return Attempt(
        id=row["id"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        prompt_id=row["prompt_id"],
        question_id=row["question_id"],
        source=row["source"],
        chosen=row["chosen"],
        correct=bool(row["correct"]),
        answered_at=from_iso(row["answered_at"]),
        local_date=date.fromisoformat(row["local_date"]),
    )


class PromptRepo:
    """Questions shown in chats, and each chat's history for picking the next one."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, chat_id: int, question_id: str, kind: str, language: Lang, now: datetime
    ) -> Prompt:
        """Record that a question is being shown in a chat."""
        prompt_id = await self.db.write(
            lambda conn: cast(
                int,
                conn.execute(
                    "INSERT INTO prompts (chat_id, question_id, kind, language, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (chat_id, question_id, kind, language, to_iso(now)),
                ).lastrowid,
            )
        )
        # Built from what was written rather than read back: a fan-out creates thousands.
        return Prompt(prompt_id, chat_id, question_id, kind, language, None, from_iso(to_iso(now)))

    async def get(self, prompt_id: int) -> Prompt | None:
        """Return the prompt with this id, or None."""
        row = await self.db.fetchone("SELECT * FROM prompts WHERE id = ?", (prompt_id,))
        return _prompt(row) if row else None

    async def mark_revealed(self, prompt_id: int, now: datetime) -> bool:
        """Mark a prompt's reference answer as posted; False if it already was."""

        def mark(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE prompts SET revealed_at = ? WHERE id = ? AND revealed_at IS NULL",
                (to_iso(now), prompt_id),
            )
            return cursor.rowcount == 1

        return await self.db.write(mark)

    async def set_message_ref(self, prompt_id: int, message_ref: str) -> None:
        """Remember the platform's message id of a prompt."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE prompts SET message_ref = ? WHERE id = ?", (message_ref, prompt_id)
            )

    async def ask_counts(self, chat_id: int) -> dict[str, int]:
        """Return how many times each question was shown in a chat."""
        rows = await self.db.fetchall(
            "SELECT question_id, COUNT(*) AS n FROM prompts WHERE chat_id = ? GROUP BY question_id",
            (chat_id,),
        )
        return {r["question_id"]: r["n"] for r in rows}


class AttemptRepo:
    """Answers."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        *,
        user_id: int,
        chat_id: int,
        prompt_id: int | None,
        question_id: str,
        source: str,
        chosen: int,
        correct: bool,
        answered_at: datetime,
        local_date: date,
        advance_streak: Callable[[Streak], Streak],
        board_periods: BoardPeriods | None,
        guard: Callable[[aiosqlite.Connection], Awaitable[bool]] | None = None,
    ) -> tuple[Attempt, Streak] | None:
        """Record an answer, count it on the boards and advance the streak in one transaction.

        `board_periods`: the answer's week and month in the chat's zone (None: not known, and
        the chat's week and month boards are counted again from the answers when next read).

        Return None, changing nothing, if this user already answered this prompt or if
        `guard` (run first, in the same transaction) says False.
        """
        # Over 60 lines on purpose: one transaction (the answer, its boards, the streak) reads
        # as one, and most of its lines are the answer's columns.
        async with self.db.transaction() as conn:
            if guard is not None and not await guard(conn):
                return None
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO attempts (user_id, chat_id, prompt_id, question_id, source,"
                " chosen, correct, answered_at, local_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    chat_id,
                    prompt_id,
                    question_id,
                    source,
                    chosen,
                    int(correct),
                    to_iso(answered_at),
                    local_date.isoformat(),
                ),
            )
            if cursor.rowcount == 0:
                return None
            attempt_id = cast(int, cursor.lastrowid)
            # The answer days friend streaks are counted from (bot/services/buddies.py).
            await conn.execute(
                "INSERT OR IGNORE INTO answer_days (user_id, local_date) VALUES (?, ?)",
                (user_id, local_date.isoformat()),
            )
            await count_on_boards(
                conn,
                attempt_id=attempt_id,
                chat_id=chat_id,
                user_id=user_id,
                source=source,
                correct=correct,
                periods=board_periods,
            )
            streak = advance_streak(await load_streak(conn, user_id))
            await store_streak(conn, streak, answered_at)
        attempt = Attempt(
            id=attempt_id,
            user_id=user_id,
            chat_id=chat_id,
            prompt_id=prompt_id,
            question_id=question_id,
            source=source,
            chosen=chosen,
            correct=correct,
            answered_at=answered_at,
            local_date=local_date,
        )
        return attempt, streak

    async def for_prompt(self, prompt_id: int, user_id: int) -> Attempt | None:
        """Return the user's answer to a prompt, if any."""
        row = await self.db.fetchone(
            "SELECT * FROM attempts WHERE prompt_id = ? AND user_id = ?", (prompt_id, user_id)
        )
        if row is None:
            return None
        return _attempt(row)

    async def totals(self, user_id: int) -> list[tuple[str, int, int]]:
        """Return (question_id, answered, correct) for each question the user answered."""
        rows = await self.db.fetchall(
            "SELECT question_id, COUNT(*) AS n, SUM(correct) AS c FROM attempts"
            " WHERE user_id = ? GROUP BY question_id",
            (user_id,),
        )
        return [(r["question_id"], r["n"], r["c"] or 0) for r in rows]

    async def per_day(self, user_id: int, since: date) -> dict[date, int]:
        """Return how many answers the user gave on each local date from `since` on."""
        rows = await self.db.fetchall(
            "SELECT local_date, COUNT(*) AS n FROM attempts WHERE user_id = ? AND local_date >= ?"
            " GROUP BY local_date",
            (user_id, since.isoformat()),
        )
        return {date.fromisoformat(r["local_date"]): r["n"] for r in rows}

    async def answered_on(self, user_id: int, local_date: date) -> bool:
        """Return True if the user answered anything on a local date."""
        row = await self.db.fetchone(
            "SELECT 1 FROM attempts WHERE user_id = ? AND local_date = ? LIMIT 1",
            (user_id, local_date.isoformat()),
        )
        return row is not None

    async def count_on(self, user_id: int, local_date: date, source: str) -> int:
        """Return how many answers of one source the user gave on a local date."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM attempts WHERE user_id = ? AND local_date = ? AND source = ?",
            (user_id, local_date.isoformat(), source),
        )
        return int(row[0]) if row else 0

    async def active_days(self, user_id: int) -> int:
        """Return the number of distinct local dates the user answered on."""
        row = await self.db.fetchone(
            "SELECT COUNT(DISTINCT local_date) FROM attempts WHERE user_id = ?", (user_id,)
        )
        return int(row[0]) if row else 0

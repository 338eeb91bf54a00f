"""Coding exercise progress: attempts, hints, first solves, give-ups, the current exercise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import aiosqlite

from bot.clock import from_iso, to_iso
from bot.storage.database import Database
from bot.storage.records import ExerciseProgress


def _progress(row: aiosqlite.Row) -> ExerciseProgress:
    return ExerciseProgress(
        exercise_id=row["exercise_id"],
        attempts=row["attempts"],
        hints_used=row["hints_used"],
        first_shown=from_iso(row["first_shown"]),
        solved_at=from_iso(row["solved_at"]) if row["solved_at"] else None,
        gave_up_at=from_iso(row["gave_up_at"]) if row["gave_up_at"] else None,
    )


class ExerciseRepo:
    """Per-user exercise state."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def show(self, user_id: int, exercise_id: str, now: datetime) -> ExerciseProgress:
        """Make `exercise_id` the user's current exercise; return their progress on it."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT OR IGNORE INTO exercise_progress (user_id, exercise_id, first_shown)"
                " VALUES (?, ?, ?)",
                (user_id, exercise_id, to_iso(now)),
            )
            await conn.execute(
                "INSERT INTO exercise_current (user_id, exercise_id, shown_at, prompt_mark)"
                " VALUES (?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM prompts))"
                " ON CONFLICT (user_id) DO UPDATE SET exercise_id = excluded.exercise_id,"
                " shown_at = excluded.shown_at, prompt_mark = excluded.prompt_mark",
                (user_id, exercise_id, to_iso(now)),
            )
        found = await self.get(user_id, exercise_id)
        if found is None:  # written just above; only a concurrent delete of the user gets here
            raise LookupError(f"no progress row for user {user_id}")
        return found

    async def current(self, user_id: int) -> tuple[str, datetime] | None:
        """Return the user's current exercise and when it was shown, if any."""
        row = await self.db.fetchone(
            "SELECT exercise_id, shown_at FROM exercise_current WHERE user_id = ?", (user_id,)
        )
        return (row["exercise_id"], from_iso(row["shown_at"])) if row else None

    async def question_since(self, user_id: int, chat_id: int) -> int | None:
        """Return the newest prompt of the chat shown after the user's current exercise.

        None when the exercise came last (or the user has none and the chat no question).
        """
        row = await self.db.fetchone(
            "SELECT MAX(p.id) FROM prompts AS p WHERE p.chat_id = ? AND p.id >"
            " COALESCE((SELECT prompt_mark FROM exercise_current WHERE user_id = ?), 0)",
            (chat_id, user_id),
        )
        return int(row[0]) if row and row[0] is not None else None

    async def get(self, user_id: int, exercise_id: str) -> ExerciseProgress | None:
        """Return the user's progress on one exercise."""
        row = await self.db.fetchone(
            "SELECT * FROM exercise_progress WHERE user_id = ? AND exercise_id = ?",
            (user_id, exercise_id),
        )
        return _progress(row) if row else None

    async def all(self, user_id: int) -> dict[str, ExerciseProgress]:
        """Return the user's progress on every exercise they have seen."""
        rows = await self.db.fetchall(
            "SELECT * FROM exercise_progress WHERE user_id = ?", (user_id,)
        )
        return {row["exercise_id"]: _progress(row) for row in rows}

    async def solved_count(self, user_id: int) -> int:
        """Return how many exercises the user has solved."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM exercise_progress WHERE user_id = ? AND solved_at IS NOT NULL",
            (user_id,),
        )
        return int(row[0]) if row else 0

    async def add_attempt(self, user_id: int, exercise_id: str) -> None:
        """Count one graded submission."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE exercise_progress SET attempts = attempts + 1"
                " WHERE user_id = ? AND exercise_id = ?",
                (user_id, exercise_id),
            )

    def first_solve(
        self, user_id: int, exercise_id: str, now: datetime
    ) -> Callable[[aiosqlite.Connection], Awaitable[bool]]:
        """Return a step that marks the first solve in a caller's transaction (False: not first)."""

        async def step(conn: aiosqlite.Connection) -> bool:
            cursor = await conn.execute(
                "UPDATE exercise_progress SET solved_at = ?"
                " WHERE user_id = ? AND exercise_id = ? AND solved_at IS NULL",
                (to_iso(now), user_id, exercise_id),
            )
            return cursor.rowcount == 1

        return step

    async def use_hint(self, user_id: int, exercise_id: str, limit: int) -> int:
        """Count one more hint (at most `limit`); return how many the user has now used."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE exercise_progress SET hints_used = MIN(hints_used + 1, ?)"
                " WHERE user_id = ? AND exercise_id = ?",
                (limit, user_id, exercise_id),
            )
        found = await self.get(user_id, exercise_id)
        return found.hints_used if found else 0

    async def give_up(self, user_id: int, exercise_id: str, now: datetime) -> None:
        """Record the first give-up on an exercise."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE exercise_progress SET gave_up_at = COALESCE(gave_up_at, ?)"
                " WHERE user_id = ? AND exercise_id = ?",
                (to_iso(now), user_id, exercise_id),
            )

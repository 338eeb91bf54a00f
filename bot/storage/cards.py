"""Spaced-repetition cards, their review log, and reminder claims."""

from __future__ import annotations

from datetime import date, datetime

import aiosqlite

from bot.clock import from_iso, to_iso
from bot.storage.database import Database
from bot.storage.records import Card


def _card(row: aiosqlite.Row) -> Card:
    return Card(
        user_id=row["user_id"],
        question_id=row["question_id"],
        state=row["state"],
        step=row["step"],
        stability=row["stability"],
        difficulty=row["difficulty"],
        due=from_iso(row["due"]),
        last_review=from_iso(row["last_review"]) if row["last_review"] else None,
        lapses=row["lapses"],
        leech=bool(row["leech"]),
    )


_CARD_UPSERT = (
    "INSERT INTO cards (user_id, question_id, state, step, stability, difficulty, due,"
    " last_review, lapses, leech, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (user_id, question_id) DO UPDATE SET state = excluded.state,"
    " step = excluded.step, stability = excluded.stability, difficulty = excluded.difficulty,"
    " due = excluded.due, last_review = excluded.last_review, lapses = excluded.lapses,"
    " leech = excluded.leech"
)


class CardRepo:
    """One card per (user, question) and the log of every rating."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: int, question_id: str) -> Card | None:
        """Return the user's card of a question, or None if it was never rated."""
        row = await self.db.fetchone(
            "SELECT * FROM cards WHERE user_id = ? AND question_id = ?", (user_id, question_id)
        )
        return _card(row) if row else None

    async def save(
        self, card: Card, *, prompt_id: int | None, rating: int, source: str, now: datetime
    ) -> bool:
        """Store a rated card and log the rating in one transaction.

        Return False, changing nothing, for a second self-rating of the same prompt.
        """
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO review_log (user_id, question_id, prompt_id, rating,"
                " source, reviewed_at, due) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    card.user_id,
                    card.question_id,
                    prompt_id,
                    rating,
                    source,
                    to_iso(now),
                    to_iso(card.due),
                ),
            )
            if cursor.rowcount == 0:
                return False
            await conn.execute(
                _CARD_UPSERT,
                (
                    card.user_id,
                    card.question_id,
                    card.state,
                    card.step,
                    card.stability,
                    card.difficulty,
                    to_iso(card.due),
                    to_iso(card.last_review) if card.last_review else None,
                    card.lapses,
                    int(card.leech),
                    to_iso(now),
                ),
            )
        return True

    async def self_rated(self, prompt_id: int, user_id: int) -> bool:
        """Return True if the user already rated themselves on this prompt."""
        row = await self.db.fetchone(
            "SELECT 1 FROM review_log WHERE prompt_id = ? AND user_id = ? AND source = 'self'",
            (prompt_id, user_id),
        )
        return row is not None

    async def due(self, user_id: int, now: datetime, limit: int) -> list[Card]:
        """Return the user's due cards that are not leeches, most overdue first."""
        rows = await self.db.fetchall(
            "SELECT * FROM cards WHERE user_id = ? AND leech = 0 AND due <= ?"
            " ORDER BY due, question_id LIMIT ?",
            (user_id, to_iso(now), limit),
        )
        return [_card(r) for r in rows]

    async def count_due(self, user_id: int, until: datetime) -> int:
        """Return how many of the user's cards (leeches aside) are due by `until`."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM cards WHERE user_id = ? AND leech = 0 AND due <= ?",
            (user_id, to_iso(until)),
        )
        return int(row[0]) if row else 0

    async def next_due(self, user_id: int, after: datetime) -> datetime | None:
        """Return when the user's next card (leeches aside) falls due after `after`."""
        row = await self.db.fetchone(
            "SELECT MIN(due) FROM cards WHERE user_id = ? AND leech = 0 AND due > ?",
            (user_id, to_iso(after)),
        )
        return from_iso(row[0]) if row and row[0] else None

    async def all(self, user_id: int) -> list[Card]:
        """Return every card of the user."""
        rows = await self.db.fetchall("SELECT * FROM cards WHERE user_id = ?", (user_id,))
        return [_card(r) for r in rows]

    async def by_state(self, user_id: int) -> dict[int, int]:
        """Return how many of the user's cards are in each fsrs state."""
        rows = await self.db.fetchall(
            "SELECT state, COUNT(*) AS n FROM cards WHERE user_id = ? GROUP BY state", (user_id,)
        )
        return {r["state"]: r["n"] for r in rows}

    async def due_before(self, user_id: int, until: datetime) -> list[datetime]:
        """Return the due times of the user's cards (leeches aside) before `until`."""
        rows = await self.db.fetchall(
            "SELECT due FROM cards WHERE user_id = ? AND leech = 0 AND due < ?",
            (user_id, to_iso(until)),
        )
        return [from_iso(r["due"]) for r in rows]

    async def count(self, user_id: int) -> int:
        """Return how many cards the user has."""
        row = await self.db.fetchone("SELECT COUNT(*) FROM cards WHERE user_id = ?", (user_id,))
        return int(row[0]) if row else 0


class ReminderRepo:
    """Reminders: at most one per user and local date."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, user_id: int, local_date: date, now: datetime) -> bool:
        """Claim the user's reminder of a date; False if it was claimed before."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO reminders (user_id, local_date, status, claimed_at)"
                " VALUES (?, ?, 'sending', ?)",
                (user_id, local_date.isoformat(), to_iso(now)),
            )
            return cursor.rowcount > 0

    async def claimed(self, user_id: int, local_date: date) -> bool:
        """Return True if the user's reminder of a date was claimed."""
        row = await self.db.fetchone(
            "SELECT 1 FROM reminders WHERE user_id = ? AND local_date = ?",
            (user_id, local_date.isoformat()),
        )
        return row is not None

    async def finish(self, user_id: int, local_date: date, status: str) -> None:
        """Mark a claimed reminder as sent, skipped or failed."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE reminders SET status = ? WHERE user_id = ? AND local_date = ?",
                (status, user_id, local_date.isoformat()),
            )

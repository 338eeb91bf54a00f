"""Daily deliveries (one per chat and local day) and streaks."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime

import aiosqlite

from bot.clock import from_iso, to_iso
from bot.storage.database import Database
from bot.storage.records import (
    Delivery,
    Streak,
)


def _streak(row: aiosqlite.Row) -> Streak:
    return Streak(
        user_id=row["user_id"],
        current=row["current"],
        longest=row["longest"],
        last_date=date.fromisoformat(row["last_date"]) if row["last_date"] else None,
        freezes=row["freezes"],
        freezes_used=row["freezes_used"],
        day_end=from_iso(row["last_day_end"]) if row["last_day_end"] else None,
    )


_CLAIM = (
    "INSERT INTO daily_deliveries (chat_id, local_date, question_id, status, claimed_at)"
    " VALUES (?, ?, ?, 'sending', ?) ON CONFLICT (chat_id, local_date) DO UPDATE SET"
    " status = 'sending', claimed_at = excluded.claimed_at WHERE daily_deliveries.status = 'retry'"
    " RETURNING question_id"
)
# Asked for by a user, a delivery refused for today or cut short by a crash is tried again.
_CLAIM_ASKED = _CLAIM.replace("= 'retry'", "IN ('retry', 'failed', 'sending')")


class DeliveryRepo:
    """Daily deliveries: at most one per chat and local date."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(
        self,
        chat_id: int,
        local_date: date,
        question_id: str,
        now: datetime,
        *,
        asked: bool = False,
    ) -> str | None:
        """Claim the chat's delivery for a date: new, marked for retry or (`asked`) not yet sent.

        Return the question of the claimed delivery (a retried one keeps its first), else None.
        """
        sql = _CLAIM_ASKED if asked else _CLAIM
        args = (chat_id, local_date.isoformat(), question_id, to_iso(now))
        rows = await self.db.write(lambda conn: conn.execute(sql, args).fetchall())
        return str(rows[0][0]) if rows else None

    async def in_flight(self, since: datetime) -> int:
        """Count deliveries claimed since `since` and left "sending" (a crash cut them short)."""
        row = await self.db.fetchone(
            "SELECT count(*) AS n FROM daily_deliveries"
            " WHERE status = 'sending' AND claimed_at >= ?",
            (to_iso(since),),
        )
        return int(row["n"]) if row else 0

    async def statuses_since(self, platform: str, since: date) -> dict[tuple[int, date], str]:
        """Return the status of each subscribed chat's deliveries on `since` or later.

        One query for a start-up that schedules every chat, instead of one per chat.
        """
        rows = await self.db.fetchall(
            "SELECT d.chat_id, d.local_date, d.status FROM chats c"
            " JOIN daily_deliveries d ON d.chat_id = c.id AND d.local_date >= ?"
            " WHERE c.platform = ? AND c.subscribed = 1",
            (since.isoformat(), platform),
        )
        return {(r["chat_id"], date.fromisoformat(r["local_date"])): r["status"] for r in rows}

    async def get(self, chat_id: int, local_date: date) -> Delivery | None:
        """Return the delivery of a chat on a date, or None."""
        row = await self.db.fetchone(
            "SELECT * FROM daily_deliveries WHERE chat_id = ? AND local_date = ?",
            (chat_id, local_date.isoformat()),
        )
        if row is None:
            return None
        return Delivery(
            chat_id=row["chat_id"],
            local_date=date.fromisoformat(row["local_date"]),
            question_id=row["question_id"],
            prompt_id=row["prompt_id"],
            status=row["status"],
        )

    async def finish(
        self,
        chat_id: int,
        local_date: date,
        status: str,
        prompt_id: int | None,
        now: datetime,
        message_ref: str | None = None,
    ) -> None:
        """Mark a claimed delivery as sent, failed, or to be retried (and its prompt's message)."""

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE daily_deliveries SET status = ?, prompt_id = ?, sent_at = ?"
                " WHERE chat_id = ? AND local_date = ?",
                (status, prompt_id, to_iso(now), chat_id, local_date.isoformat()),
            )
            if message_ref is not None and prompt_id is not None:
                conn.execute(
                    "UPDATE prompts SET message_ref = ? WHERE id = ?", (message_ref, prompt_id)
                )

        await self.db.write(run)


_STREAK_UPSERT = (
    "INSERT INTO streaks (user_id, current, longest, last_date, freezes, freezes_used, updated_at,"
    " last_day_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
    " current = excluded.current, longest = excluded.longest, last_date = excluded.last_date,"
    " freezes = excluded.freezes, freezes_used = excluded.freezes_used,"
    " updated_at = excluded.updated_at, last_day_end = excluded.last_day_end"
)


async def load_streak(conn: aiosqlite.Connection, user_id: int) -> Streak:
    async with conn.execute("SELECT * FROM streaks WHERE user_id = ?", (user_id,)) as cursor:
        row = await cursor.fetchone()
    return _streak(row) if row else Streak(user_id, 0, 0, None, 0, 0)


async def store_streak(conn: aiosqlite.Connection, streak: Streak, now: datetime) -> None:
    await conn.execute(
        _STREAK_UPSERT,
        (
            streak.user_id,
            streak.current,
            streak.longest,
            streak.last_date.isoformat() if streak.last_date else None,
            streak.freezes,
            streak.freezes_used,
            to_iso(now),
            to_iso(streak.day_end) if streak.day_end else None,
        ),
    )


class StreakRepo:
    """Per-user streak state."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: int) -> Streak:
        """Return the user's streak (zeros if none yet)."""
        return await load_streak(self.db.conn, user_id)

    async def save(self, streak: Streak, now: datetime) -> None:
        """Store the user's streak."""
        async with self.db.transaction() as conn:
            await store_streak(conn, streak, now)

"""Reports of problems with questions, as users file them and operators read them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

import aiosqlite

from bot.clock import from_iso, to_iso
from bot.storage.database import Database
from bot.storage.records import Report

# How long a "what is wrong?" message waits for its reply.
REQUEST_LIFETIME = timedelta(days=2)

_SELECT = (
    "SELECT r.id, r.question_id, u.name, u.platform, r.chat_id, r.text, r.created_at,"
    " r.closed_at FROM reports r JOIN users u ON u.id = r.user_id"
)


def _report(row: aiosqlite.Row) -> Report:
    return Report(
        id=row[0],
        question_id=row[1],
        user_name=row[2],
        user_platform=row[3],
        chat_id=row[4],
        text=row[5],
        created_at=from_iso(row[6]),
        closed_at=from_iso(row[7]) if row[7] else None,
    )


class ReportRepo:
    """Store reports and list the open ones."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self, question_id: str, user_id: int, chat_id: int, text: str, now: datetime
    ) -> int:
        """Store a report and return its id."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO reports (question_id, user_id, chat_id, text, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (question_id, user_id, chat_id, text, to_iso(now)),
            )
            return cast(int, cursor.lastrowid)

    async def count_open(self) -> int:
        """Count the reports nobody has closed."""
        row = await self.db.fetchone("SELECT count(*) FROM reports WHERE closed_at IS NULL")
        return int(row[0]) if row else 0

    async def newest_open(self, limit: int) -> list[Report]:
        """Return up to `limit` open reports, newest first."""
        rows = await self.db.fetchall(
            _SELECT + " WHERE r.closed_at IS NULL ORDER BY r.id DESC LIMIT ?", (limit,)
        )
        return [_report(row) for row in rows]

    async def close(self, report_id: int, now: datetime) -> bool:
        """Close an open report; False if there is no such open report."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE reports SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
                (to_iso(now), report_id),
            )
            return cursor.rowcount == 1

    async def ask(
        self,
        chat_id: int,
        message_ref: str,
        item: str,
        prompt_id: int | None,
        user_id: int,
        now: datetime,
    ) -> None:
        """Remember a "what is wrong?" message waiting for the user's reply."""
        async with self.db.transaction() as conn:
            # Requests nobody answered within two days are forgotten: the table stays small.
            await conn.execute(
                "DELETE FROM report_requests WHERE created_at < ?",
                (to_iso(now - REQUEST_LIFETIME),),
            )
            await conn.execute(
                "INSERT OR REPLACE INTO report_requests"
                " (chat_id, message_ref, prompt_id, item, user_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (chat_id, message_ref, prompt_id, item, user_id, to_iso(now)),
            )

    async def request(
        self, chat_id: int, message_ref: str, user_id: int, now: datetime
    ) -> tuple[str, int | None] | None:
        """Return (item, prompt id) of the user's open request behind a message, or None."""
        row = await self.db.fetchone(
            "SELECT item, prompt_id FROM report_requests WHERE chat_id = ? AND message_ref = ?"
            " AND user_id = ? AND created_at >= ?",
            (chat_id, message_ref, user_id, to_iso(now - REQUEST_LIFETIME)),
        )
        return (row[0], row[1]) if row else None

    async def add_answering(
        self,
        chat_id: int,
        message_ref: str,
        question_id: str,
        user_id: int,
        text: str,
        now: datetime,
    ) -> int:
        """Store the report that answers a request and forget the request, in one transaction."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM report_requests WHERE chat_id = ? AND message_ref = ?",
                (chat_id, message_ref),
            )
            cursor = await conn.execute(
                "INSERT INTO reports (question_id, user_id, chat_id, text, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (question_id, user_id, chat_id, text, to_iso(now)),
            )
            return cast(int, cursor.lastrowid)

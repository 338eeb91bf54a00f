"""Counts for operators: users, chats, subscriptions and answers since a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_iso
from bot.storage.database import Database


@dataclass(frozen=True)
class Totals:
    """How many users, chats, subscribed chats, and answers since a time there are."""

    users: int
    chats: int
    subscribed: int
    answers: int


class StatsRepo:
    """Read-only counts over the whole database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def totals(self, since: datetime) -> Totals:
        """Count users, chats, subscribed chats, and attempts answered at or after `since`."""
        row = await self.db.fetchone(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM chats),"
            " (SELECT count(*) FROM chats WHERE subscribed = 1),"
            " (SELECT count(*) FROM attempts WHERE answered_at >= ?)",
            (to_iso(since),),
        )
        assert row is not None  # noqa: S101 - a SELECT of counts always has one row
        return Totals(int(row[0]), int(row[1]), int(row[2]), int(row[3]))

"""Users and chats, keyed by (platform, external id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import aiosqlite

from bot.clock import to_iso
from bot.storage.database import Database
from bot.storage.records import (
    Chat,
    Lang,
    User,
)


def user_of(row: aiosqlite.Row, prefix: str = "") -> User:
    """Build a user from a row whose user columns carry `prefix` (a join names them apart)."""
    return User(
        id=row[f"{prefix}id"],
        platform=row[f"{prefix}platform"],
        external_id=row[f"{prefix}external_id"],
        name=row[f"{prefix}name"],
        language=cast(Lang | None, row[f"{prefix}language"]),
        timezone=row[f"{prefix}timezone"],
        retention=row[f"{prefix}retention"],
        remind_at=row[f"{prefix}remind_at"],
    )


def _chat(row: aiosqlite.Row) -> Chat:
    return Chat(
        id=row["id"],
        platform=row["platform"],
        external_id=row["external_id"],
        type=row["type"],
        title=row["title"],
        language=cast(Lang | None, row["language"]),
        timezone=row["timezone"],
        daily_time=row["daily_time"],
        subscribed=bool(row["subscribed"]),
        topic_filter=row["topic_filter"],
        run_enabled=bool(row["run_enabled"]),
    )


class UserRepo:
    """Users keyed by (platform, external id)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(
        self,
        platform: str,
        external_id: str,
        name: str,
        now: datetime,
        language: Lang | None = None,
    ) -> User:
        """Create the user on first sight, refresh a changed name; return it.

        A known user whose name did not change costs one read and no write: every update
        passes here, and a write would queue behind the daily fan-out's.
        """
        known = await self.by_external(platform, external_id)
        if known is not None and known.name == name and (known.language or not language):
            return known
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO users (platform, external_id, name, language, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, external_id) DO UPDATE SET"
                " name = excluded.name, language = COALESCE(users.language, excluded.language)",
                (platform, external_id, name, language, to_iso(now)),
            )
        user = await self.by_external(platform, external_id)
        assert user is not None  # noqa: S101 - just written
        return user

    async def by_external(self, platform: str, external_id: str) -> User | None:
        """Return the user with this platform id, or None."""
        row = await self.db.fetchone(
            "SELECT * FROM users WHERE platform = ? AND external_id = ?", (platform, external_id)
        )
        return user_of(row) if row else None

    async def get(self, user_id: int) -> User | None:
        """Return the user with this id, or None."""
        row = await self.db.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
        return user_of(row) if row else None

    async def set_language(self, user_id: int, language: Lang) -> None:
        """Store the user's language."""
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))

    async def set_timezone(self, user_id: int, timezone: str) -> None:
        """Store the user's IANA time zone."""
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE users SET timezone = ? WHERE id = ?", (timezone, user_id))

    async def set_retention(self, user_id: int, retention: float | None) -> None:
        """Store the user's desired retention (None: the bot's default)."""
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE users SET retention = ? WHERE id = ?", (retention, user_id))

    async def set_remind_at(self, user_id: int, remind_at: str | None) -> None:
        """Store the user's reminder time, HH:MM local (None: no reminder)."""
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE users SET remind_at = ? WHERE id = ?", (remind_at, user_id))

    async def with_reminders(self, platform: str) -> list[User]:
        """Return the users of a platform who set a reminder time."""
        rows = await self.db.fetchall(
            "SELECT * FROM users WHERE platform = ? AND remind_at IS NOT NULL ORDER BY id",
            (platform,),
        )
        return [user_of(r) for r in rows]


class ChatRepo:
    """Chats keyed by (platform, external id), with their schedule."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(
        self,
        platform: str,
        external_id: str,
        type_: str,
        title: str,
        daily_time: str,
        now: datetime,
    ) -> Chat:
        """Create the chat on first sight (with the default daily time), refresh type and title.

        A known chat whose type and title did not change costs one read and no write.
        """
        known = await self.by_external(platform, external_id)
        if known is not None and (known.type, known.title) == (type_, title):
            return known
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO chats (platform, external_id, type, title, daily_time, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, external_id)"
                " DO UPDATE SET type = excluded.type, title = excluded.title",
                (platform, external_id, type_, title, daily_time, to_iso(now)),
            )
        chat = await self.by_external(platform, external_id)
        assert chat is not None  # noqa: S101 - just written
        return chat

    async def by_external(self, platform: str, external_id: str) -> Chat | None:
        """Return the chat with this platform id, or None."""
        row = await self.db.fetchone(
            "SELECT * FROM chats WHERE platform = ? AND external_id = ?", (platform, external_id)
        )
        return _chat(row) if row else None

    async def get(self, chat_id: int) -> Chat | None:
        """Return the chat with this id, or None."""
        row = await self.db.fetchone("SELECT * FROM chats WHERE id = ?", (chat_id,))
        return _chat(row) if row else None

    async def set_external_id(self, chat_id: int, external_id: str) -> bool:
        """Follow a chat to its new platform id (a group upgraded to a supergroup).

        Return False, changing nothing, if another chat already has that id.
        """
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE chats SET external_id = ? WHERE id = ? AND NOT EXISTS (SELECT 1 FROM"
                " chats AS other WHERE other.platform = chats.platform"
                " AND other.external_id = ?)",
                (external_id, chat_id, external_id),
            )
            return cursor.rowcount > 0

    async def subscribed(self, platform: str) -> list[Chat]:
        """Return every subscribed chat of a platform."""
        rows = await self.db.fetchall(
            "SELECT * FROM chats WHERE platform = ? AND subscribed = 1 ORDER BY id", (platform,)
        )
        return [_chat(r) for r in rows]

    async def update(self, chat_id: int, **fields: Any) -> Chat:
        """Set some of: language, timezone, daily_time, subscribed, topic_filter, run_enabled."""
        allowed = {
            "language",
            "timezone",
            "daily_time",
            "subscribed",
            "topic_filter",
            "run_enabled",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot update chat fields {sorted(unknown)}")
        if fields:
            assignments = ", ".join(f"{name} = ?" for name in fields)
            values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
            async with self.db.transaction() as conn:
                await conn.execute(
                    f"UPDATE chats SET {assignments} WHERE id = ?",  # noqa: S608 - names whitelisted
                    (*values, chat_id),
                )
        chat = await self.get(chat_id)
        if chat is None:
            raise LookupError(f"no chat {chat_id}")
        return chat

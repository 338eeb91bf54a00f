"""Repositories: all SQL of the bot, returning frozen records."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, cast

import aiosqlite

from bot.clock import from_iso, to_iso
from bot.storage.cards import CardRepo, ReminderRepo
from bot.storage.database import Database
from bot.storage.exercises import ExerciseRepo
from bot.storage.quizzes import BoardRepo, QuizRepo, count_on_boards
from bot.storage.records import (
    Attempt,
    BoardPeriods,
    Chat,
    Delivery,
    Lang,
    Prompt,
    Streak,
    User,
)
from bot.storage.reports import ReportRepo


def _user(row: aiosqlite.Row) -> User:
    return User(
        id=row["id"],
        platform=row["platform"],
        external_id=row["external_id"],
        name=row["name"],
        language=cast(Lang | None, row["language"]),
        timezone=row["timezone"],
        retention=row["retention"],
        remind_at=row["remind_at"],
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
        return _user(row) if row else None

    async def get(self, user_id: int) -> User | None:
        """Return the user with this id, or None."""
        row = await self.db.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
        return _user(row) if row else None

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
        return [_user(r) for r in rows]


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
            await count_on_boards(
                conn,
                attempt_id=attempt_id,
                chat_id=chat_id,
                user_id=user_id,
                source=source,
                correct=correct,
                periods=board_periods,
            )
            streak = advance_streak(await _load_streak(conn, user_id))
            await _store_streak(conn, streak, answered_at)
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


async def _load_streak(conn: aiosqlite.Connection, user_id: int) -> Streak:
    async with conn.execute("SELECT * FROM streaks WHERE user_id = ?", (user_id,)) as cursor:
        row = await cursor.fetchone()
    return _streak(row) if row else Streak(user_id, 0, 0, None, 0, 0)


async def _store_streak(conn: aiosqlite.Connection, streak: Streak, now: datetime) -> None:
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
        return await _load_streak(self.db.conn, user_id)

    async def save(self, streak: Streak, now: datetime) -> None:
        """Store the user's streak."""
        async with self.db.transaction() as conn:
            await _store_streak(conn, streak, now)


class Repos:
    """All repositories over one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.users = UserRepo(db)
        self.chats = ChatRepo(db)
        self.prompts = PromptRepo(db)
        self.attempts = AttemptRepo(db)
        self.deliveries = DeliveryRepo(db)
        self.streaks = StreakRepo(db)
        self.quizzes = QuizRepo(db)
        self.boards = BoardRepo(db)
        self.cards = CardRepo(db)
        self.reminders = ReminderRepo(db)
        self.reports = ReportRepo(db)
        self.exercises = ExerciseRepo(db)

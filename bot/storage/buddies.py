"""Friend streaks: invitations, friendships and the local dates each user answered on."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from typing import cast

import aiosqlite

from bot.clock import from_iso, to_iso
from bot.storage.database import Database
from bot.storage.people import user_of
from bot.storage.records import Friendship, Invitation, InviteStatus

_INVITE = (
    "SELECT i.*, a.id AS a_id, a.platform AS a_platform, a.external_id AS a_external_id,"
    " a.name AS a_name, a.language AS a_language, a.timezone AS a_timezone,"
    " a.retention AS a_retention, a.remind_at AS a_remind_at,"
    " b.id AS b_id, b.platform AS b_platform, b.external_id AS b_external_id,"
    " b.name AS b_name, b.language AS b_language, b.timezone AS b_timezone,"
    " b.retention AS b_retention, b.remind_at AS b_remind_at"
    " FROM buddy_invites AS i JOIN users AS a ON a.id = i.inviter_id"
    " JOIN users AS b ON b.id = i.invitee_id"
)


def _invitation(row: aiosqlite.Row) -> Invitation:
    return Invitation(
        id=row["id"],
        chat_id=row["chat_id"],
        inviter=user_of(row, "a_"),
        invitee=user_of(row, "b_"),
        message_ref=row["message_ref"],
        status=cast(InviteStatus, row["status"]),
        created_at=from_iso(row["created_at"]),
        expires_at=from_iso(row["expires_at"]),
    )


def _pair(one: int, other: int) -> tuple[int, int]:
    return (one, other) if one < other else (other, one)


class BuddyRepo:
    """Invitations and friendships; the answer days live beside the answers (AttemptRepo)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def invite(
        self, chat_id: int, inviter_id: int, invitee_id: int, now: datetime, expires: datetime
    ) -> Invitation:
        """Store a pending invitation and return it."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO buddy_invites (chat_id, inviter_id, invitee_id, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?)",
                (chat_id, inviter_id, invitee_id, to_iso(now), to_iso(expires)),
            )
            invite_id = cast(int, cursor.lastrowid)
        found = await self.invitation(invite_id)
        assert found is not None  # noqa: S101 - just written
        return found

    async def invitation(self, invite_id: int) -> Invitation | None:
        """Return the invitation with this id, or None."""
        row = await self.db.fetchone(f"{_INVITE} WHERE i.id = ?", (invite_id,))
        return _invitation(row) if row else None

    async def set_message_ref(self, invite_id: int, message_ref: str) -> None:
        """Remember which platform message shows an invitation."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE buddy_invites SET message_ref = ? WHERE id = ?", (message_ref, invite_id)
            )

    async def pending_between(self, one: int, other: int, now: datetime) -> Invitation | None:
        """Return an invitation between two users, either way, still open at `now`."""
        row = await self.db.fetchone(
            f"{_INVITE} WHERE i.status = 'pending' AND i.expires_at > ? AND"
            " ((i.inviter_id = ? AND i.invitee_id = ?) OR (i.inviter_id = ? AND i.invitee_id = ?))"
            " ORDER BY i.id DESC LIMIT 1",
            (to_iso(now), one, other, other, one),
        )
        return _invitation(row) if row else None

    async def close(self, invite_id: int, status: InviteStatus) -> bool:
        """Close a pending invitation (declined or expired); False if it was not pending."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE buddy_invites SET status = ? WHERE id = ? AND status = 'pending'",
                (status, invite_id),
            )
            return cursor.rowcount > 0

    async def accept(self, invite: Invitation, since: date, now: datetime, limit: int) -> str:
        """Accept a pending invitation and make the two friends, in one transaction.

        Return "accepted", or why not: "gone" (no longer pending), "friends" (already),
        "inviter_full" or "invitee_full" (one of them has `limit` friends).
        """
        a, b = _pair(invite.inviter.id, invite.invitee.id)

        def run(conn: sqlite3.Connection) -> str:
            status = conn.execute(
                "SELECT status FROM buddy_invites WHERE id = ?", (invite.id,)
            ).fetchone()
            if status is None or status[0] != "pending":
                return "gone"
            if conn.execute(
                "SELECT 1 FROM buddies WHERE user_a = ? AND user_b = ?", (a, b)
            ).fetchone():
                conn.execute(
                    "UPDATE buddy_invites SET status = 'declined' WHERE id = ?", (invite.id,)
                )
                return "friends"
            for who, full in (
                (invite.inviter.id, "inviter_full"),
                (invite.invitee.id, "invitee_full"),
            ):
                if _count(conn, who) >= limit:
                    return full
            conn.execute(
                "INSERT INTO buddies (user_a, user_b, since, created_at) VALUES (?, ?, ?, ?)",
                (a, b, since.isoformat(), to_iso(now)),
            )
            conn.execute("UPDATE buddy_invites SET status = 'accepted' WHERE id = ?", (invite.id,))
            return "accepted"

        return await self.db.write(run)

    async def count(self, user_id: int) -> int:
        """Return how many friends a user has."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM buddies WHERE user_a = ? OR user_b = ?", (user_id, user_id)
        )
        return int(row[0]) if row else 0

    async def are_friends(self, one: int, other: int) -> bool:
        """Tell whether two users are friends."""
        row = await self.db.fetchone(
            "SELECT 1 FROM buddies WHERE user_a = ? AND user_b = ?", _pair(one, other)
        )
        return row is not None

    async def friends(self, user_id: int) -> list[Friendship]:
        """Return a user's friends, oldest friendship first."""
        rows = await self.db.fetchall(
            "SELECT u.*, f.since FROM buddies AS f JOIN users AS u"
            " ON u.id = CASE WHEN f.user_a = ? THEN f.user_b ELSE f.user_a END"
            " WHERE f.user_a = ? OR f.user_b = ? ORDER BY f.created_at, u.id",
            (user_id, user_id, user_id),
        )
        return [Friendship(user_of(r), date.fromisoformat(r["since"])) for r in rows]

    async def end(self, one: int, other: int) -> bool:
        """End a friendship; False if there was none."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM buddies WHERE user_a = ? AND user_b = ?", _pair(one, other)
            )
            return cursor.rowcount > 0

    async def common_days(self, one: int, other: int, since: date) -> list[date]:
        """Return the local dates from `since` on that both users answered on, latest first."""
        rows = await self.db.fetchall(
            "SELECT a.local_date FROM answer_days AS a JOIN answer_days AS b"
            " ON b.user_id = ? AND b.local_date = a.local_date"
            " WHERE a.user_id = ? AND a.local_date >= ? ORDER BY a.local_date DESC",
            (other, one, since.isoformat()),
        )
        return [date.fromisoformat(r[0]) for r in rows]

    async def days_since(self, user_id: int, since: date) -> set[date]:
        """Return the local dates from `since` on that a user answered on."""
        rows = await self.db.fetchall(
            "SELECT local_date FROM answer_days WHERE user_id = ? AND local_date >= ?",
            (user_id, since.isoformat()),
        )
        return {date.fromisoformat(r[0]) for r in rows}


def _count(conn: sqlite3.Connection, user_id: int) -> int:
    row = conn.execute(
        "SELECT COUNT(*) FROM buddies WHERE user_a = ? OR user_b = ?", (user_id, user_id)
    ).fetchone()
    return int(row[0])

"""Leaderboards from kept totals: all time, this week and this month."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import aiosqlite

from bot.clock import to_iso
from bot.storage.database import Database
from bot.storage.records import (
    BoardPeriods,
    LeaderRow,
    PeriodTotals,
)

# Attempts that count on a group's leaderboard.
BOARD_SOURCES = ("quiz", "daily", "exercise")  # exercise: first solves only


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

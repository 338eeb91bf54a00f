"""Leaderboards: a group's top members by correct answers there, or a user's own totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.clock import Clock
from bot.errors import UserInputError
from bot.services.study import Context
from bot.storage.records import BoardPeriods, LeaderRow, PeriodTotals
from bot.storage.repos import Repos

Period = Literal["week", "month", "all"]
PERIODS: tuple[Period, ...] = ("week", "month", "all")
TOP = 10


@dataclass(frozen=True)
class Leaderboard:
    """A group's board (rows, and the caller's own row if outside the top) or private totals."""

    period: Period
    since: datetime | None  # the period's start, in the zone it was counted in
    rows: tuple[LeaderRow, ...]
    me: LeaderRow | None
    totals: PeriodTotals | None  # private chats: the caller's totals across chats
    on_boards: bool


def period_start(period: Period, now: datetime, zone: str) -> datetime | None:
    """Return the local start of this week (Monday) or month in `zone`; None for all time."""
    if period == "all":
        return None
    return BoardPeriods.at(now, zone).start(period)


class BoardService:
    """Answer /leaderboard and let members leave or rejoin the boards."""

    def __init__(self, repos: Repos, clock: Clock) -> None:
        self.repos = repos
        self.clock = clock

    async def leaderboard(self, ctx: Context, period: str | None) -> Leaderboard:
        """Return the board of the chat (group) or the caller's totals (private chat)."""
        name = (period or "week").strip().lower()
        if name not in PERIODS:
            raise UserInputError("usage_leaderboard")
        chosen: Period = name
        zone = ctx.chat_zone if ctx.chat.is_group else ctx.user_zone
        now = self.clock.now()
        since = period_start(chosen, now, zone)
        on = await self.repos.boards.on_boards(ctx.user.id)
        if not ctx.chat.is_group:
            totals = await self.repos.boards.totals(ctx.user.id, since)
            return Leaderboard(chosen, since, (), None, totals, on)
        periods = BoardPeriods.at(now, zone)
        found = await self.repos.boards.leaderboard(ctx.chat.id, chosen, periods, TOP, ctx.user.id)
        rows = tuple(r for r in found if r.rank <= TOP)
        me = next((r for r in found if r.user_id == ctx.user.id and r.rank > TOP), None)
        return Leaderboard(chosen, since, rows, me, None, on)

    async def set_on_boards(self, ctx: Context, on: bool) -> None:
        """Put the caller on the leaderboards or take them off (their stats stay)."""
        await self.repos.boards.set_on_boards(ctx.user.id, on)

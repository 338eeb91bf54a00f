"""Streak rules: a day counts when the user answers at least one question in their own zone.

Freezes: one is earned for each full 7-day run (at most 2 banked) and is spent automatically to
bridge a missed day; missed days that freezes cannot cover reset the streak.

Changing zones: a streak remembers when its last counted day ends (a UTC instant, in the zone
that day was counted in). Every judgement is made in the user's zone now, against the date
that instant falls on there: a new day counts only once the last counted one has ended, so one
real day never makes two streak days (moving east), and none is lost or counted twice (west).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import local_date
from bot.storage.records import Streak

MAX_FREEZES = 2
FREEZE_EVERY = 7


def advance(streak: Streak, day: date) -> Streak:
    """Return the streak after the user answered on local date `day`."""
    last = streak.last_date
    if last is not None and day <= last:
        # Same day, or an earlier date after moving west across zones: already counted.
        return streak
    freezes, used = streak.freezes, streak.freezes_used
    if last is None:
        current = 1
    else:
        missed = (day - last).days - 1
        if missed == 0:
            current = streak.current + 1
        elif missed <= freezes:
            freezes -= missed
            used += missed
            current = streak.current + 1
        else:
            current = 1
    if current % FREEZE_EVERY == 0:
        freezes = min(MAX_FREEZES, freezes + 1)
    return replace(
        streak,
        current=current,
        longest=max(streak.longest, current),
        last_date=day,
        freezes=freezes,
        freezes_used=used,
    )


def end_of_day(day: date, zone: str) -> datetime:
    """Return the UTC instant at which local date `day` ends in `zone`."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def last_counted_in(streak: Streak, zone: str) -> date | None:
    """Return the last counted day as a date in `zone`: the date its last moment falls on there."""
    if streak.day_end is None:
        return streak.last_date  # counted before day ends were kept: take the date as it is
    return local_date(streak.day_end - timedelta(microseconds=1), zone)


def advance_at(streak: Streak, now: datetime, zone: str) -> Streak:
    """Return the streak after the user answered at instant `now` while in `zone`."""
    seen = replace(streak, last_date=last_counted_in(streak, zone))
    today = local_date(now, zone)
    after = advance(seen, today)
    if after is seen:
        return streak  # that day has counted already
    return replace(after, day_end=end_of_day(today, zone))


def view_at(streak: Streak, now: datetime, zone: str) -> StreakView:
    """Judge a stored streak at instant `now` in the user's `zone`, without changing it."""
    return view(replace(streak, last_date=last_counted_in(streak, zone)), local_date(now, zone))


@dataclass(frozen=True)
class StreakView:
    """A streak as it stands today, for display."""

    current: int
    longest: int
    freezes: int
    answered_today: bool
    at_risk: bool  # alive, but lost unless the user answers today (or a freeze covers it)


def view(streak: Streak, today: date) -> StreakView:
    """Judge a stored streak against the user's local `today` without changing it."""
    last = streak.last_date
    if last is None:
        return StreakView(0, streak.longest, streak.freezes, False, False)
    if today <= last:
        return StreakView(streak.current, streak.longest, streak.freezes, True, False)
    missed = (today - last).days - 1
    if missed > streak.freezes:
        return StreakView(0, streak.longest, streak.freezes, False, False)
    return StreakView(streak.current, streak.longest, streak.freezes, False, True)

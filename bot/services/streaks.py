"""Streak rules: a day counts when the user answers at least one question in their own zone.

Freezes: one is earned for each full 7-day run (at most 2 banked) and is spent automatically to
bridge a missed day; missed days that freezes cannot cover reset the streak.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

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

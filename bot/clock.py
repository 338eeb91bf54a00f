"""An injectable clock: the code asks it for the time so tests can move it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current time, aware, in UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that stays where it is put; tests move it with `set` and `advance`."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        """Return the time the clock was set to."""
        return self._at

    def set(self, at: datetime) -> None:
        """Move the clock to `at` (aware)."""
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)


def local_date(at: datetime, zone: str) -> date:
    """Return the calendar date of the instant `at` in the IANA zone `zone`."""
    return at.astimezone(ZoneInfo(zone)).date()


def week_start(at: datetime, zone: str) -> datetime:
    """Return the local midnight starting the week (Monday) of the instant `at` in `zone`."""
    day = local_date(at, zone)
    return _midnight(day - timedelta(days=day.weekday()), zone)


def month_start(at: datetime, zone: str) -> datetime:
    """Return the local midnight starting the month of the instant `at` in `zone`."""
    return _midnight(local_date(at, zone).replace(day=1), zone)


def _midnight(day: date, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))


def to_iso(at: datetime) -> str:
    """Format an aware datetime as a UTC ISO string for storage."""
    return at.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(value: str) -> datetime:
    """Parse a stored UTC ISO string."""
    return datetime.fromisoformat(value).astimezone(UTC)

"""Time zone names as people type them: exact matches regardless of case, and close matches."""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from bot.text import excerpt


@cache
def _zones() -> dict[str, str]:
    """Map each IANA zone name, lower-cased, to its proper spelling."""
    return {zone.lower(): zone for zone in sorted(available_timezones())}


def canonical_zone(name: str) -> str | None:
    """Return the IANA zone `name` spells in any case ("asia/shanghai"), or None."""
    return _zones().get(name.strip().lower())


# "+08:00", "UTC+8", "gmt-5:30": an offset, not a zone name.
_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$")
# Asked for by an offset, these come first, then the other cities of that offset.
_WELL_KNOWN = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Australia/Perth",
    "Pacific/Auckland",
    "Africa/Johannesburg",
    "Africa/Lagos",
]


def zones_at_offset(text: str, now: datetime, limit: int = 3) -> list[str]:
    """Return up to `limit` city zones at the UTC offset `text` spells ("+08:00"), at `now`."""
    found = _OFFSET.match(text.strip().lower())
    if found is None:
        return []
    sign, hours, minutes = found.groups()
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0)) * (-1 if sign == "-" else 1)
    cities = [z for z in _zones().values() if "/" in z and z.split("/")[0] in _REGIONS]
    order = {zone: i for i, zone in enumerate(_WELL_KNOWN)}
    cities.sort(key=lambda z: (order.get(z, len(order)), z))
    at = now.astimezone(UTC)
    return [z for z in cities if at.astimezone(ZoneInfo(z)).utcoffset() == offset][:limit]


_REGIONS = {"Africa", "America", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"}


def suggest_zones(name: str, limit: int = 3, now: datetime | None = None) -> list[str]:
    """Return up to `limit` zones whose name or city is close to `name`, best first.

    An offset ("+08:00", "UTC-5") gives the cities at that offset at `now`.
    """
    if now is not None and _OFFSET.match(name.strip().lower()):
        return zones_at_offset(name, now, limit)
    wanted = excerpt(name.strip(), 64).lower().replace(" ", "_")
    zones = _zones()
    city = wanted.rsplit("/", 1)[-1]
    same_city = [zone for low, zone in zones.items() if low.rsplit("/", 1)[-1] == city]
    close = difflib.get_close_matches(wanted, list(zones), n=limit, cutoff=0.6)
    by_city = {low.rsplit("/", 1)[-1]: low for low in zones if "/" in low}
    close_cities = difflib.get_close_matches(city, list(by_city), n=limit, cutoff=0.75)
    found = same_city + [zones[low] for low in close] + [zones[by_city[c]] for c in close_cities]
    return list(dict.fromkeys(found))[:limit]

"""Time zone names as people type them: exact matches regardless of case, and close matches."""

from __future__ import annotations

import difflib
from functools import cache
from zoneinfo import available_timezones

from bot.text import excerpt


@cache
def _zones() -> dict[str, str]:
    """Map each IANA zone name, lower-cased, to its proper spelling."""
    return {zone.lower(): zone for zone in sorted(available_timezones())}


def canonical_zone(name: str) -> str | None:
    """Return the IANA zone `name` spells in any case ("asia/shanghai"), or None."""
    return _zones().get(name.strip().lower())


def suggest_zones(name: str, limit: int = 3) -> list[str]:
    """Return up to `limit` zones whose name or city is close to `name`, best first."""
    wanted = excerpt(name.strip(), 64).lower().replace(" ", "_")
    zones = _zones()
    city = wanted.rsplit("/", 1)[-1]
    same_city = [zone for low, zone in zones.items() if low.rsplit("/", 1)[-1] == city]
    close = difflib.get_close_matches(wanted, list(zones), n=limit, cutoff=0.6)
    by_city = {low.rsplit("/", 1)[-1]: low for low in zones if "/" in low}
    close_cities = difflib.get_close_matches(city, list(by_city), n=limit, cutoff=0.75)
    found = same_city + [zones[low] for low in close] + [zones[by_city[c]] for c in close_cities]
    return list(dict.fromkeys(found))[:limit]

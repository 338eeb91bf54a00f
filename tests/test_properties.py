"""Properties: parsing of times, zones, topics and /run code; streaks across zones and DST."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.clock import FixedClock, local_date
from bot.config import check_timezone, parse_hhmm
from bot.content.loader import load_bank
from bot.errors import UserInputError
from bot.services import streaks
from bot.services.cards import CardService
from bot.services.runs import parse_job, strip_command
from bot.services.study import StudyService
from bot.services.zones import canonical_zone, suggest_zones
from bot.storage.records import Streak
from bot.storage.repos import Repos
from tests.conftest import FIXTURE_BANK

ZONES = sorted(available_timezones() - {"Factory", "localtime"})
DST_ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Tehran",
    "America/St_Johns",
]
BANK = load_bank(FIXTURE_BANK)
STUDY = StudyService(
    cast(Repos, None),
    BANK,
    FixedClock(datetime(2026, 3, 1, tzinfo=UTC)),
    "UTC",
    "09:00",
    cast(CardService, None),
)
_ANY_CODE = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="`\x00"), min_size=1
).filter(lambda s: s.strip() != "")


# -- times ----------------------------------------------------------------------------------


@given(st.integers(0, 23), st.integers(0, 59), st.booleans(), st.sampled_from(["", " ", "\t"]))
def test_every_valid_time_parses_padded_or_not(h: int, m: int, pad: bool, space: str) -> None:
    text = f"{h:02d}:{m:02d}" if pad else f"{h}:{m:02d}"
    assert parse_hhmm(space + text + space) == time(h, m)


@given(st.one_of(st.text(max_size=12), st.from_regex(r"\s?\d{1,3}:\d{1,3}\s?", fullmatch=True)))
def test_any_text_is_a_time_or_a_value_error(text: str) -> None:
    try:
        parsed = parse_hhmm(text)
    except ValueError:
        return
    else:
        # Any script's digits (full-width ones from a Chinese keyboard too) read as numbers.
        hours, minutes = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip()).groups()  # type: ignore[union-attr]
        assert parsed == time(int(hours), int(minutes))


# -- time zones -------------------------------------------------------------------------------


@given(st.sampled_from(ZONES), st.sampled_from([str.lower, str.upper, str.swapcase, str]))
def test_every_zone_is_found_in_any_case(zone: str, spell: object) -> None:
    typed = spell(zone)  # type: ignore[operator]
    assert canonical_zone(f" {typed} ") == zone
    assert check_timezone(zone) == zone


@given(st.text(max_size=80))
def test_suggestions_are_real_zones_and_at_most_three(text: str) -> None:
    found = suggest_zones(text)
    assert len(found) <= 3
    assert set(found) <= set(ZONES) | {"Factory", "localtime"}


@given(
    st.integers(min_value=-12, max_value=14),
    st.sampled_from([0, 30, 45]),
    # Naive bounds, as hypothesis wants them; each value is made UTC below.
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),  # noqa: DTZ001
)
def test_an_offset_suggests_cities_at_that_offset_then(
    hours: int, minutes: int, at: datetime
) -> None:
    now = at.replace(tzinfo=UTC)
    sign = "-" if hours < 0 else "+"
    text = f"{sign}{abs(hours):02d}:{minutes:02d}"
    offset = timedelta(hours=hours) + timedelta(minutes=minutes) * (-1 if hours < 0 else 1)
    found = suggest_zones(text, now=now)
    assert len(found) <= 3
    for zone in found:
        assert now.astimezone(ZoneInfo(zone)).utcoffset() == offset, (text, zone, now)


def test_an_offset_follows_daylight_saving() -> None:
    winter, summer = datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 7, 15, tzinfo=UTC)
    assert suggest_zones("UTC-4", now=summer)[0] == "America/New_York"
    assert "America/New_York" not in suggest_zones("UTC-4", now=winter)
    assert suggest_zones("-05:00", now=winter)[0] == "America/New_York"
    assert suggest_zones("+08:00", now=winter)[:1] == ["Asia/Shanghai"]


# -- topics -----------------------------------------------------------------------------------


@given(
    st.sampled_from([t.id for t in BANK.topics if BANK.in_topic(t.id)]),
    st.sampled_from([str.lower, str.upper, str.title]),
)
def test_topic_ids_match_in_any_case_and_spacing(topic: str, spell: object) -> None:
    assert STUDY.topic_or_error(f"  {spell(topic)} ") == topic  # type: ignore[operator]


@given(st.text(min_size=1, max_size=40))
def test_unknown_topic_error_names_what_was_typed(text: str) -> None:
    assume(BANK.topic(text.strip().lower()) is None)
    with pytest.raises(UserInputError) as raised:
        STUDY.topic_or_error(text)
    assert raised.value.key == "unknown_topic"
    assert raised.value.params["topic"] == text.strip().lower()


# -- /run code --------------------------------------------------------------------------------


@given(_ANY_CODE, st.sampled_from(["/run", "/run@StudyBot", "/RUN"]))
def test_code_after_the_command_is_the_code(code: str, command: str) -> None:
    first = code.split(maxsplit=1)[0].lower() if code.split() else ""
    assume(first not in {"cpu", "gpu", "cuda", "auto"})
    job = parse_job(f"{command} {code}")
    assert job.code == code.strip()
    assert job.device == "auto"


@given(_ANY_CODE, st.sampled_from(["cpu", "gpu", "cuda", "GPU", "auto"]))
def test_device_word_is_taken_off_the_code(code: str, device: str) -> None:
    job = parse_job(f"/run {device} {code}")
    assert job.device == {"cuda": "gpu"}.get(device.lower(), device.lower())
    assert job.code == code.strip()


@given(
    st.lists(_ANY_CODE, min_size=1, max_size=3),
    st.sampled_from(["python", "py", "python3", "", "Python"]),
    st.text(st.characters(blacklist_characters="`"), max_size=20),
)
def test_fenced_blocks_are_joined_and_prose_dropped(
    blocks: list[str], language: str, prose: str
) -> None:
    assume(all(b.strip("\n").strip() for b in blocks))
    fences = "".join(f"\n```{language}\n{b}\n```\n{prose}" for b in blocks)
    job = parse_job(f"/run {prose}{fences}")
    assert job.code == "\n".join(f"\n{b}\n".strip("\n") for b in blocks)


@given(_ANY_CODE, st.booleans())
def test_bare_run_takes_the_replied_message_or_the_file(code: str, fenced: bool) -> None:
    fallback = f"```python\n{code}\n```" if fenced else code
    job = parse_job("/run", fallback)
    assert job.code == (f"\n{code}\n".strip("\n") if fenced else code.strip())
    # The message's own code wins over the fallback.
    assert parse_job("/run print(1)", fallback).code == "print(1)"


@given(st.text(max_size=200), st.one_of(st.none(), st.text(max_size=200)))
def test_parsing_never_fails_but_with_a_usage_error(text: str, fallback: str | None) -> None:
    try:
        job = parse_job(text, fallback, max_bytes=100)
    except UserInputError as err:
        problem: str | None = err.key
    else:
        problem = None
        assert job.code.strip()
        assert len(job.code.encode()) <= 100
    assert problem in {None, "usage_run", "run_too_long"}
    assert isinstance(strip_command(text), str)


# -- streaks across zones and DST ---------------------------------------------------------------


@given(
    st.dates(date(2025, 1, 1), date(2027, 12, 1)),
    st.sampled_from(DST_ZONES),
    st.lists(st.integers(0, 23 * 60 + 59), min_size=1, max_size=60),
)
def test_one_answer_each_local_day_counts_every_day_through_dst(
    start: date, zone: str, minutes: list[int]
) -> None:
    s = Streak(1, 0, 0, None, 0, 0)
    tz = ZoneInfo(zone)
    for i, minute in enumerate(minutes):
        day = start + timedelta(days=i)
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
        now = local.astimezone(UTC)
        assume(local_date(now, zone) == day)  # skip local times a DST gap does not have
        s = streaks.advance_at(s, now, zone)
        assert streaks.advance_at(s, now, zone) == s  # twice the same day counts once
        assert streaks.view_at(s, now, zone).answered_today
    assert s.current == len(minutes)
    assert s.freezes == min(streaks.MAX_FREEZES, len(minutes) // streaks.FREEZE_EVERY)


@given(
    st.sampled_from(DST_ZONES),
    st.lists(st.integers(1, 3 * 24 * 60), min_size=1, max_size=40),
)
def test_streak_invariants_for_any_answer_times_in_a_dst_zone(zone: str, gaps: list[int]) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    s = Streak(1, 0, 0, None, 0, 0)
    days: set[date] = set()
    for gap in gaps:
        now += timedelta(minutes=gap)
        days.add(local_date(now, zone))
        before = s
        s = streaks.advance_at(s, now, zone)
        assert 0 <= s.freezes <= streaks.MAX_FREEZES
        assert 1 <= s.current <= s.longest
        assert s.longest >= before.longest
        assert s.freezes_used >= before.freezes_used
        view = streaks.view_at(s, now, zone)
        assert view.answered_today and not view.at_risk
        # Tomorrow the streak is at risk, or already broken when no freeze covers a missed day.
        later = streaks.view_at(s, now + timedelta(days=2), zone)
        assert not later.answered_today
        assert later.current in {0, s.current}
    assert s.current <= len(days) + s.freezes_used

"""Streak rules, unit and through the service with an injected clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.app import Core
from bot.clock import FixedClock
from bot.services import streaks
from bot.services.study import Context
from bot.storage.records import Streak

D = date(2026, 3, 1)


def run(days: list[date]) -> Streak:
    s = Streak(1, 0, 0, None, 0, 0)
    for d in days:
        s = streaks.advance(s, d)
    return s


def test_consecutive_days_count_and_same_day_counts_once() -> None:
    s = run([D, D, D + timedelta(1), D + timedelta(2), D + timedelta(2)])
    assert (s.current, s.longest, s.last_date) == (3, 3, D + timedelta(2))


def test_freeze_earned_each_full_week_capped_at_two() -> None:
    assert run([D + timedelta(i) for i in range(6)]).freezes == 0
    assert run([D + timedelta(i) for i in range(7)]).freezes == 1
    assert run([D + timedelta(i) for i in range(14)]).freezes == 2
    assert run([D + timedelta(i) for i in range(21)]).freezes == 2


def test_freeze_bridges_one_missed_day() -> None:
    days = [D + timedelta(i) for i in range(7)]  # earns one freeze
    s = run([*days, D + timedelta(8)])  # day 7 missed
    assert (s.current, s.freezes, s.freezes_used) == (8, 0, 1)


def test_two_missed_days_without_freezes_reset() -> None:
    s = run([D, D + timedelta(1), D + timedelta(4)])
    assert (s.current, s.longest) == (1, 2)


def test_one_missed_day_without_freeze_resets() -> None:
    assert run([D, D + timedelta(2)]).current == 1


def test_view_judges_against_today_without_changing_state() -> None:
    s = run([D, D + timedelta(1)])
    assert streaks.view(s, D + timedelta(1)).answered_today
    assert streaks.view(s, D + timedelta(2)).at_risk
    assert streaks.view(s, D + timedelta(2)).current == 2
    assert streaks.view(s, D + timedelta(3)).current == 0  # broken, no freeze


@given(st.lists(st.integers(min_value=0, max_value=60), max_size=40))
def test_invariants_hold_for_any_answer_days(offsets: list[int]) -> None:
    s = run([D + timedelta(o) for o in sorted(offsets)])
    assert 0 <= s.freezes <= 2
    assert s.current <= s.longest
    assert s.current <= len(set(offsets)) + s.freezes_used


# -- through the service with an injected clock -------------------------------------------


async def enter(core: Core, zone: str | None = None) -> Context:
    ctx = await core.study.enter(
        platform="test",
        user_id="u1",
        user_name="Ann",
        language_code="en",
        chat_id="c1",
        chat_type="private",
    )
    if zone:
        ctx = await core.study.set_timezone(ctx, zone)
    return ctx


async def answer_now(core: Core, ctx: Context) -> int:
    shown = await core.study.show(ctx, "question")
    result = await core.study.answer(ctx, shown.prompt.id, 0)
    assert result.status == "recorded"
    return (await core.study.streak(ctx)).current


async def test_2359_and_0001_local_are_two_days(core: Core, clock: FixedClock) -> None:
    ctx = await enter(core, "Asia/Shanghai")  # UTC+8
    clock.set(datetime(2026, 3, 10, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai
    assert await answer_now(core, ctx) == 1
    clock.set(datetime(2026, 3, 10, 16, 1, tzinfo=UTC))  # 00:01 next day in Shanghai
    assert await answer_now(core, ctx) == 2


async def test_same_utc_day_split_by_local_midnight_only(core: Core, clock: FixedClock) -> None:
    ctx = await enter(core, "UTC")
    clock.set(datetime(2026, 3, 10, 0, 1, tzinfo=UTC))
    assert await answer_now(core, ctx) == 1
    clock.set(datetime(2026, 3, 10, 23, 59, tzinfo=UTC))
    assert await answer_now(core, ctx) == 1


async def test_dst_spring_forward_day_counts_once(core: Core, clock: FixedClock) -> None:
    # Europe/Berlin jumps 02:00 -> 03:00 on 2026-03-29: a 23-hour day.
    ctx = await enter(core, "Europe/Berlin")
    clock.set(datetime(2026, 3, 28, 22, 30, tzinfo=UTC))  # 23:30 CET on the 28th
    assert await answer_now(core, ctx) == 1
    clock.set(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))  # 01:30 CET on the 29th
    assert await answer_now(core, ctx) == 2
    clock.set(datetime(2026, 3, 29, 21, 30, tzinfo=UTC))  # 23:30 CEST, still the 29th
    assert await answer_now(core, ctx) == 2
    clock.set(datetime(2026, 3, 29, 22, 30, tzinfo=UTC))  # 00:30 CEST on the 30th
    assert await answer_now(core, ctx) == 3


async def test_dst_fall_back_day(core: Core, clock: FixedClock) -> None:
    # America/New_York falls back on 2026-11-01: a 25-hour day.
    ctx = await enter(core, "America/New_York")
    clock.set(datetime(2026, 11, 1, 4, 30, tzinfo=UTC))  # 00:30 EDT on Nov 1
    assert await answer_now(core, ctx) == 1
    clock.set(datetime(2026, 11, 2, 4, 30, tzinfo=UTC))  # 23:30 EST, still Nov 1
    assert await answer_now(core, ctx) == 1
    clock.set(datetime(2026, 11, 2, 5, 30, tzinfo=UTC))  # 00:30 EST on Nov 2
    assert await answer_now(core, ctx) == 2


async def test_changing_zone_keeps_stored_dates(core: Core, clock: FixedClock) -> None:
    ctx = await enter(core, "Asia/Tokyo")  # UTC+9
    clock.set(datetime(2026, 3, 10, 16, 0, tzinfo=UTC))  # Mar 11 01:00 in Tokyo
    assert await answer_now(core, ctx) == 1
    # Flying to Los Angeles (UTC-7 in March): it is still Mar 10 there. Already counted.
    ctx = await core.study.set_timezone(ctx, "America/Los_Angeles")
    clock.set(datetime(2026, 3, 10, 18, 0, tzinfo=UTC))  # Mar 10 11:00 in LA
    assert await answer_now(core, ctx) == 1
    rows = await core.db.fetchall("SELECT local_date FROM attempts ORDER BY id")
    assert [r["local_date"] for r in rows] == ["2026-03-11", "2026-03-10"]
    clock.set(datetime(2026, 3, 12, 18, 0, tzinfo=UTC))  # Mar 12 in LA: next counted day
    assert await answer_now(core, ctx) == 2


async def test_freeze_bridges_a_missed_day_end_to_end(core: Core, clock: FixedClock) -> None:
    ctx = await enter(core, "UTC")
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for i in range(7):
        clock.set(start + timedelta(days=i))
        await answer_now(core, ctx)
    assert (await core.repos.streaks.get(ctx.user.id)).freezes == 1
    clock.set(start + timedelta(days=8))  # day 7 missed
    assert (await core.study.streak(ctx)).at_risk
    assert await answer_now(core, ctx) == 8
    stored = await core.repos.streaks.get(ctx.user.id)
    assert (stored.freezes, stored.freezes_used) == (0, 1)


async def test_two_missed_days_reset_end_to_end(core: Core, clock: FixedClock) -> None:
    ctx = await enter(core, "UTC")
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for i in range(3):
        clock.set(start + timedelta(days=i))
        await answer_now(core, ctx)
    clock.set(start + timedelta(days=5))
    assert (await core.study.streak(ctx)).current == 0
    assert await answer_now(core, ctx) == 1
    assert (await core.study.streak(ctx)).longest == 3


# -- changing time zone -----------------------------------------------------------------


async def test_zone_jump_east_never_makes_two_days_of_one(core: Core, clock: FixedClock) -> None:
    ctx = await enter(core, "UTC")
    clock.set(datetime(2026, 3, 10, 16, 38, tzinfo=UTC))
    assert await answer_now(core, ctx) == 1
    # Shanghai (UTC+8) is already on Mar 11, but the UTC day counted has not ended yet.
    ctx = await core.study.set_timezone(ctx, "Asia/Shanghai")
    clock.set(datetime(2026, 3, 10, 16, 58, tzinfo=UTC))  # Mar 11 00:58 in Shanghai
    assert await answer_now(core, ctx) == 1
    view = await core.study.streak(ctx)
    assert view.answered_today and not view.at_risk
    clock.set(datetime(2026, 3, 11, 1, 0, tzinfo=UTC))  # Mar 11 09:00: the same day there
    assert await answer_now(core, ctx) == 1
    clock.set(datetime(2026, 3, 12, 1, 0, tzinfo=UTC))  # Mar 12 09:00: a new day, none missed
    assert await answer_now(core, ctx) == 2
    clock.set(datetime(2026, 3, 13, 1, 0, tzinfo=UTC))
    assert await answer_now(core, ctx) == 3


async def test_zone_jump_west_neither_repeats_nor_loses_a_day(
    core: Core, clock: FixedClock
) -> None:
    ctx = await enter(core, "Asia/Shanghai")
    clock.set(datetime(2026, 3, 11, 1, 0, tzinfo=UTC))  # Mar 11 09:00 in Shanghai
    assert await answer_now(core, ctx) == 1
    ctx = await core.study.set_timezone(ctx, "America/Los_Angeles")  # UTC-7 in March
    clock.set(datetime(2026, 3, 11, 2, 0, tzinfo=UTC))  # Mar 10 19:00 in Los Angeles
    assert await answer_now(core, ctx) == 1
    clock.set(datetime(2026, 3, 11, 17, 0, tzinfo=UTC))  # Mar 11 10:00: counted in Shanghai
    assert await answer_now(core, ctx) == 1
    assert (await core.study.streak(ctx)).answered_today
    clock.set(datetime(2026, 3, 12, 17, 0, tzinfo=UTC))  # Mar 12 10:00: the next day
    view = await core.study.streak(ctx)
    assert view.at_risk and view.current == 1  # alive, not broken by the move
    assert await answer_now(core, ctx) == 2


def test_streak_counted_before_day_ends_were_kept_uses_its_date() -> None:
    legacy = Streak(1, 3, 3, D, 0, 0)  # day_end NULL: stored by an older version
    later = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert streaks.advance_at(legacy, later, "UTC").current == 4
    assert streaks.view_at(legacy, later - timedelta(days=1), "UTC").answered_today


ZONES = [
    "UTC",
    "Asia/Shanghai",
    "America/Los_Angeles",
    "Pacific/Kiritimati",  # UTC+14
    "Pacific/Pago_Pago",  # UTC-11
    "Asia/Kathmandu",  # UTC+5:45
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Europe/Berlin",
]


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=40 * 60), st.sampled_from(ZONES)),
        max_size=60,
    )
)
def test_no_zone_hopping_fits_two_streak_days_in_one_real_day(
    steps: list[tuple[int, str]],
) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    s = Streak(1, 0, 0, None, 0, 0)
    for minutes, zone in steps:
        now += timedelta(minutes=minutes)
        after = streaks.advance_at(s, now, zone)
        if after != s:
            assert after.current <= s.current + 1
            assert after.day_end is not None
            if s.day_end is not None:
                # Each counted day ends at least one (23-hour, DST) day after the one before.
                assert after.day_end - s.day_end >= timedelta(hours=23)
        s = after

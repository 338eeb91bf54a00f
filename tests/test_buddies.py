"""Friend streaks in the services: the two-zone rule, invitations, limits, expiry, reminders."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.errors import UserInputError
from bot.services.buddies import INVITE_HOURS, MAX_FRIENDS, needs_answer, pair_days
from bot.services.reminders import Reminder
from bot.services.study import Context
from bot.storage.database import MIGRATIONS_DIR, Database
from bot.storage.records import Streak
from bot.storage.repos import Repos
from tests.memory.platform import MemoryPlatform

SHANGHAI, LOS_ANGELES = "Asia/Shanghai", "America/Los_Angeles"
D = date(2026, 3, 6)  # Los Angeles moves to summer time on 2026-03-08


def local(day: date, hour: int, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)).astimezone(UTC)


async def member(
    core: Core, uid: str, name: str, *, zone: str | None = None, chat: str = "g1"
) -> Context:
    """Enter a member of a group chat, with their own time zone if given."""
    ctx = await core.study.enter(
        platform="test",
        user_id=uid,
        user_name=name,
        language_code="en",
        chat_id=chat,
        chat_type="group",
    )
    if zone is not None:
        await core.repos.users.set_timezone(ctx.user.id, zone)
        user = await core.repos.users.get(ctx.user.id)
        assert user is not None
        ctx = core.study.context(user, ctx.chat)
    return ctx


async def invite(core: Core, by: Context, to: Context) -> int:
    made = await core.buddies.invite(
        by,
        user_id=to.user.external_id,
        user_name=to.user.name,
        language_code="en",
        is_bot=False,
    )
    return made.id


async def befriend(core: Core, one: Context, other: Context) -> None:
    answer = await core.buddies.answer(other, await invite(core, one, other), accept=True)
    assert answer.outcome == "accepted"


async def answer_at(core: Core, clock: FixedClock, ctx: Context, when: datetime) -> None:
    """Answer a new question rightly at `when` (its card is then not due again for days)."""
    clock.set(when)
    shown = await core.study.show(ctx, "question")
    right = shown.question.en.quiz.correct
    assert (await core.study.answer(ctx, shown.prompt.id, right)).status == "recorded"


async def refused(key: str, call: Awaitable[object]) -> UserInputError:
    """Await a service call that must refuse with `key`; return the error."""
    with pytest.raises(UserInputError) as caught:
        await call
    assert caught.value.key == key
    return caught.value


# -- the rule, as pure functions ------------------------------------------------------------
@pytest.mark.parametrize(
    ("common", "today", "days"),
    [
        ([], D, 0),
        ([D], D, 1),
        ([D - timedelta(days=1)], D, 1),  # yesterday: alive, today still open
        ([D - timedelta(days=2)], D, 0),  # a day missed by either: broken
        ([D, D - timedelta(days=1), D - timedelta(days=2)], D, 3),
        ([D, D - timedelta(days=1), D - timedelta(days=3)], D, 2),  # the run ends at the gap
    ],
)
def test_pair_days_is_the_run_ending_today_or_yesterday(
    common: list[date], today: date, days: int
) -> None:
    assert pair_days(common, today) == days


def test_needs_answer_only_when_my_answer_today_can_keep_it() -> None:
    yesterday = D - timedelta(days=1)
    # Both answered yesterday, I have not today: my answer keeps it, whatever the friend's day.
    assert needs_answer(3, yesterday, D, {yesterday}, D, {yesterday})
    assert needs_answer(3, yesterday, D, {yesterday}, D + timedelta(days=1), {yesterday, D})
    # Answered today already, or nothing to keep.
    assert not needs_answer(3, yesterday, D, {yesterday, D}, D, {yesterday})
    assert not needs_answer(0, None, D, set(), D, set())
    # The friend is a day behind and has yesterday still open: my today will be needed.
    two_ago = D - timedelta(days=2)
    assert needs_answer(2, two_ago, D, {two_ago, yesterday}, yesterday, {two_ago})
    # I missed yesterday: today's answer cannot save it.
    assert not needs_answer(2, two_ago, D, {two_ago}, yesterday, {two_ago})
    # The friend's yesterday is over without an answer: lost as well.
    assert not needs_answer(2, two_ago, D, {two_ago, yesterday}, D, {two_ago})


# -- across two zones, through the services --------------------------------------------------
async def test_two_zones_across_the_date_line_and_a_dst_change(
    core: Core, clock: FixedClock
) -> None:
    clock.set(local(D, 8, SHANGHAI))  # Shanghai's 6th, Los Angeles' 5th
    ann = await member(core, "ann", "Ann", zone=SHANGHAI)
    bob = await member(core, "bob", "Bob", zone=LOS_ANGELES)
    await befriend(core, ann, bob)
    # Each answers on the 6th to the 9th in their own zone: Ann at 09:00 in Shanghai, Bob at
    # 18:00 in Los Angeles (the next day in Shanghai), across the 8th's change to summer time.
    events = []
    for n in range(4):
        day = D + timedelta(days=n)
        events += [(local(day, 9, SHANGHAI), ann), (local(day, 18, LOS_ANGELES), bob)]
    for when, who in sorted(events, key=lambda e: e[0]):
        await answer_at(core, clock, who, when)
    # Shanghai's 10th 11:00 is Los Angeles' 9th 20:00: four days, Ann's today still open.
    clock.set(local(D + timedelta(days=4), 11, SHANGHAI))
    [seen_by_ann] = await core.buddies.friends(ann)
    assert (seen_by_ann.friend.name, seen_by_ann.days) == ("Bob", 4)
    assert not seen_by_ann.mine_done and seen_by_ann.friend_done
    assert seen_by_ann.needs_me and not seen_by_ann.friend_answered
    [seen_by_bob] = await core.buddies.friends(bob)
    assert seen_by_bob.days == 4 and seen_by_bob.mine_done and not seen_by_bob.needs_me
    # Ann skips her 10th; Bob answers his. Not shown broken until both 10ths are over.
    await answer_at(core, clock, bob, local(D + timedelta(days=4), 18, LOS_ANGELES))
    clock.set(local(D + timedelta(days=4), 23, LOS_ANGELES))
    assert [f.days for f in await core.buddies.friends(ann)] == [4]
    clock.set(local(D + timedelta(days=5), 1, LOS_ANGELES))
    assert [f.days for f in await core.buddies.friends(ann)] == [0]
    assert [f.days for f in await core.buddies.friends(bob)] == [0]


async def test_days_before_the_friendship_do_not_count(core: Core, clock: FixedClock) -> None:
    ann = await member(core, "ann", "Ann")
    bob = await member(core, "bob", "Bob")
    for who in (ann, bob):
        await answer_at(core, clock, who, clock.now() - timedelta(days=1))
    clock.set(clock.now() + timedelta(days=1, minutes=1))
    await befriend(core, ann, bob)
    assert [f.days for f in await core.buddies.friends(ann)] == [0]


# -- invitations -----------------------------------------------------------------------------
async def test_refusals_self_bot_friends_pending_and_private_chat(core: Core) -> None:
    ann = await member(core, "ann", "Ann")
    bob = await member(core, "bob", "Bob")
    buddies = core.buddies
    await refused("buddy_self", invite(core, ann, ann))
    bot = buddies.invite(ann, user_id="b0t", user_name="Bot", language_code=None, is_bot=True)
    await refused("buddy_bot", bot)
    first = await invite(core, ann, bob)
    await refused("buddy_pending", invite(core, ann, bob))
    await refused("buddy_pending", invite(core, bob, ann))  # either way round
    await buddies.answer(bob, first, accept=True)
    err = await refused("buddy_already", invite(core, bob, ann))
    assert err.params["name"] == "Ann"
    alone = await core.study.enter(
        platform="test",
        user_id="ann",
        user_name="Ann",
        language_code="en",
        chat_id="ann",
        chat_type="private",
    )
    await refused("buddy_needs_group", invite(core, alone, bob))


async def test_at_most_five_friends_each(core: Core) -> None:
    ann = await member(core, "ann", "Ann")
    others = [await member(core, f"u{i}", f"Friend {i}") for i in range(MAX_FRIENDS + 1)]
    stranger = await member(core, "s", "Stranger")
    late = await invite(core, ann, others[MAX_FRIENDS - 1])  # pending while Ann has room
    for other in others[: MAX_FRIENDS - 1]:
        await befriend(core, ann, other)
    await befriend(core, others[MAX_FRIENDS], ann)  # her fifth, invited by the other side
    await refused("buddy_limit_you", invite(core, ann, stranger))
    err = await refused("buddy_limit", invite(core, stranger, ann))
    assert err.params == {"name": "Ann", "limit": MAX_FRIENDS}
    # The invitation sent while she had room cannot be accepted now either.
    err = await refused("buddy_limit", core.buddies.answer(others[MAX_FRIENDS - 1], late, True))
    assert err.params["name"] == "Ann"
    assert len(await core.buddies.friends(ann)) == MAX_FRIENDS
    await core.buddies.end(ann, others[0].user.id)
    assert (await core.buddies.answer(others[MAX_FRIENDS - 1], late, True)).outcome == "accepted"


async def test_only_the_invitees_press_counts(core: Core) -> None:
    ann = await member(core, "ann", "Ann")
    bob = await member(core, "bob", "Bob")
    carol = await member(core, "carol", "Carol")
    made = await invite(core, ann, bob)
    err = await refused("buddy_not_yours", core.buddies.answer(carol, made, True))
    assert err.params["name"] == "Bob"
    await refused("buddy_not_yours", core.buddies.answer(ann, made, True))  # not the inviter
    await refused("buddy_invite_gone", core.buddies.answer(bob, 999_999, True))  # forged id
    await refused("buddy_invite_gone", core.buddies.answer(bob, None, True))
    elsewhere = await member(core, "bob", "Bob", chat="g2")  # the same id, pressed elsewhere
    await refused("buddy_invite_gone", core.buddies.answer(elsewhere, made, True))
    assert await core.buddies.friends(bob) == []
    assert (await core.buddies.answer(bob, made, False)).outcome == "declined"
    await refused("buddy_invite_gone", core.buddies.answer(bob, made, True))  # closed
    assert await core.buddies.friends(bob) == []


async def test_an_invitation_expires(core: Core, clock: FixedClock) -> None:
    ann = await member(core, "ann", "Ann")
    bob = await member(core, "bob", "Bob")
    made = await invite(core, ann, bob)
    clock.set(clock.now() + timedelta(hours=INVITE_HOURS))
    assert (await core.buddies.answer(bob, made, True)).outcome == "expired"
    await refused("buddy_invite_gone", core.buddies.answer(bob, made, True))
    assert await core.buddies.friends(ann) == []
    await befriend(core, ann, bob)  # a new one may be sent at once


async def test_a_restart_between_invitation_and_acceptance(
    make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    settings = make_settings()
    async with open_core(settings, clock=clock) as core:
        made = await invite(
            core, await member(core, "ann", "Ann"), await member(core, "bob", "Bob")
        )
    clock.set(clock.now() + timedelta(hours=1))
    async with open_core(settings, clock=clock) as core:
        bob = await member(core, "bob", "Bob")
        assert (await core.buddies.answer(bob, made, True)).outcome == "accepted"
        assert [f.friend.name for f in await core.buddies.friends(bob)] == ["Ann"]


async def test_either_friend_ends_it_by_name_or_id(core: Core) -> None:
    ann = await member(core, "ann", "Ann")
    bob = await member(core, "bob", "Bob Smith")
    await befriend(core, ann, bob)
    await refused("buddy_not_friend", core.buddies.end_named(ann, "@carol"))
    assert (await core.buddies.end_named(ann, "@bobsmith")).name == "Bob Smith"
    assert await core.buddies.friends(bob) == []
    await befriend(core, bob, ann)
    await refused("buddy_not_your_list", core.buddies.end_pressed(bob, ann.user.id, ann.user.id))
    assert (await core.buddies.end_pressed(bob, bob.user.id, ann.user.id)).name == "Ann"
    await refused("buddy_not_friend", core.buddies.end_member(bob, "ann"))


# -- reminders ---------------------------------------------------------------------------------
def reminders_to(core: Core) -> MemoryPlatform:
    platform = MemoryPlatform(name="test")
    core.platforms.add(platform)
    return platform


def sent(platform: MemoryPlatform) -> list[Reminder]:
    return [o.payload for o in platform.of("text") if isinstance(o.payload, Reminder)]


async def test_the_reminder_names_the_friend_who_answered(core: Core, clock: FixedClock) -> None:
    outbox = reminders_to(core)
    ann = await member(core, "ann", "Ann")
    bob = await member(core, "bob", "Bob")
    await befriend(core, ann, bob)
    day1 = clock.now()
    for who in (ann, bob):
        await answer_at(core, clock, who, day1)
    await answer_at(core, clock, bob, day1 + timedelta(days=1))  # Bob has answered on day 2
    user = await core.reminders.set(ann, "20:00")
    clock.set(datetime(2026, 3, 11, 20, 0, tzinfo=UTC))
    assert await core.reminders.remind(user) == "sent"
    [reminder] = sent(outbox)
    assert reminder.streak == 1
    assert [(f.name, f.days, f.answered) for f in reminder.friends] == [("Bob", 1, True)]


async def test_the_reminder_names_the_friend_whose_answer_is_missing(
    core: Core, clock: FixedClock
) -> None:
    outbox = reminders_to(core)
    ann = await member(core, "ann", "Ann")
    bob = await member(core, "bob", "Bob")
    await befriend(core, ann, bob)
    for who in (ann, bob):
        await answer_at(core, clock, who, clock.now())
    await answer_at(core, clock, ann, clock.now() + timedelta(days=1))  # only Ann on day 2
    ann_user = await core.reminders.set(ann, "20:00")
    bob_user = await core.reminders.set(bob, "20:00")
    clock.set(datetime(2026, 3, 11, 20, 0, tzinfo=UTC))
    # Ann has answered, yet hears of Bob, whose answer the streak still needs.
    assert await core.reminders.remind(ann_user) == "sent"
    [to_ann] = sent(outbox)
    assert (to_ann.streak, to_ann.due) == (0, 0)
    assert [(f.name, f.days, f.needs_me, f.needs_friend) for f in to_ann.friends] == [
        ("Bob", 1, False, True)
    ]
    assert await core.reminders.remind(bob_user) == "sent"
    to_bob = sent(outbox)[1]
    assert [(f.name, f.needs_me, f.needs_friend, f.answered) for f in to_bob.friends] == [
        ("Ann", True, False, True)
    ]
    # Both answered on day 3: nobody's answer is missing, so no reminder at all.
    for who in (ann, bob):
        await answer_at(core, clock, who, datetime(2026, 3, 12, 12, 0, tzinfo=UTC))
    clock.set(datetime(2026, 3, 12, 20, 0, tzinfo=UTC))
    assert await core.reminders.remind(ann_user) == "studied"
    assert len(sent(outbox)) == 2


async def test_a_friend_streak_alone_is_reason_for_a_reminder(
    core: Core, clock: FixedClock
) -> None:
    outbox = reminders_to(core)
    ann = await member(core, "ann", "Ann")
    bob = await member(core, "bob", "Bob")
    await befriend(core, ann, bob)
    for who in (ann, bob):
        await answer_at(core, clock, who, clock.now())
    # Ann's own streak gives no reason today (none kept, and no card of hers to review):
    # Bob's streak does.
    await core.repos.streaks.save(Streak(ann.user.id, 0, 1, None, 0, 0), clock.now())
    async with core.repos.db.transaction() as conn:
        await conn.execute("DELETE FROM cards WHERE user_id = ?", (ann.user.id,))
    user = await core.reminders.set(ann, "20:00")
    clock.set(datetime(2026, 3, 11, 20, 0, tzinfo=UTC))
    assert await core.reminders.remind(user) == "sent"
    [reminder] = sent(outbox)
    assert reminder.streak == 0 and reminder.due == 0
    assert [(f.name, f.days, f.answered) for f in reminder.friends] == [("Bob", 1, False)]
    # Without the friend streak the same day needs no reminder.
    await core.buddies.end(ann, bob.user.id)
    clock.set(datetime(2026, 3, 12, 20, 0, tzinfo=UTC))
    assert await core.reminders.remind(user) == "not_needed"


EARLIER = (
    "INSERT INTO users (id, platform, external_id, created_at)"
    " VALUES (1, 't', 'u1', '2026-03-01T00:00:00+00:00')",
    "INSERT INTO chats (id, platform, external_id, type, daily_time, created_at)"
    " VALUES (1, 't', 'c1', 'private', '09:00', '2026-03-01T00:00:00+00:00')",
    "INSERT INTO attempts (user_id, chat_id, question_id, source, chosen, correct, answered_at,"
    " local_date) VALUES"
    " (1, 1, 'q1', 'daily', 0, 1, '2026-03-01T10:00:00+00:00', '2026-03-01'),"
    " (1, 1, 'q2', 'daily', 0, 1, '2026-03-01T11:00:00+00:00', '2026-03-01'),"
    " (1, 1, 'q3', 'daily', 0, 0, '2026-03-03T10:00:00+00:00', '2026-03-03')",
)


async def test_the_migration_copies_earlier_answers_into_answer_days(tmp_path: Path) -> None:
    before = tmp_path / "db"
    before.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("00[0-9]_*.sql")):  # 001 … 009: before friend streaks
        shutil.copy(path, before / path.name)
    async with Database(tmp_path / "x.db", before) as db:
        await db.write(lambda c: [c.execute(sql) for sql in EARLIER])
    async with Database(tmp_path / "x.db") as db:
        days = await Repos(db).buddies.days_since(1, date(2026, 1, 1))
    assert days == {date(2026, 3, 1), date(2026, 3, 3)}

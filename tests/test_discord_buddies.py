"""Friend streaks end to end on Discord: the real discord.py client against the fake API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.discord.run import DiscordPlatform
from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from tests.discordbot import running
from tests.fakediscord import BOT_ID, OTHER_CHANNEL_ID, FakeDiscord, Sent, dm_channel

ALICE = 111111111111111111
BOB = 222222222222222222
CAROL = 333333333333333333
SHANGHAI, LOS_ANGELES = "Asia/Shanghai", "America/Los_Angeles"
FIRST = date(2026, 3, 7)  # Los Angeles moves to summer time on the 8th


def local(day: date, hour: int, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as api:
        api.names.update({ALICE: "Alice", BOB: "Bob", CAROL: "Carol"})
        yield api


@pytest.fixture
async def dcore(
    make_settings: Callable[..., Settings], fake: FakeDiscord, clock: FixedClock
) -> AsyncIterator[Core]:
    settings = make_settings(DISCORD_BOT_TOKEN=fake.token, DISCORD_API_BASE_URL=fake.base_url)
    async with open_core(settings, clock=clock) as core:
        yield core


@pytest.fixture
async def bot(dcore: Core, fake: FakeDiscord) -> AsyncIterator[DiscordPlatform]:
    async with running(dcore, fake) as platform:
        yield platform


async def invite(fake: FakeDiscord, by: int, to: int) -> Sent:
    """Invite a member with /buddy friend: in the server channel; return the invitation."""
    invitation = await fake.reply(await fake.slash("buddy", user_id=by, guild=True, friend=to))
    assert not invitation.ephemeral and "invites" in invitation.text, invitation.text
    return invitation


async def answer(fake: FakeDiscord, clock: FixedClock, user: int, when: datetime) -> None:
    """At `when`, ask for a question in the user's DM and press its first option."""
    clock.set(when)
    question = await fake.reply(await fake.slash("question", user_id=user))
    first = next(b["custom_id"] for b in question.buttons if b["custom_id"].startswith("dq:a:"))
    await fake.reply(await fake.click(question, first, user_id=user))


async def test_invite_accept_two_zones_remind_break_and_end(
    bot: DiscordPlatform, fake: FakeDiscord, dcore: Core, clock: FixedClock
) -> None:
    clock.set(local(FIRST, 8, SHANGHAI))  # Shanghai's 7th, Los Angeles' 6th
    await fake.reply(await fake.slash("timezone", user_id=ALICE, zone=SHANGHAI))
    await fake.reply(await fake.slash("timezone", user_id=BOB, zone=LOS_ANGELES))
    invitation = await invite(fake, ALICE, BOB)
    accept, decline = (b["custom_id"] for b in invitation.buttons)
    assert accept.startswith("bd:") and decline.endswith(":d")
    # Only Bob's press counts: Carol's is refused, to her alone.
    carol = await fake.reply(await fake.click(invitation, accept, user_id=CAROL, guild=True))
    assert carol.ephemeral and "Only Bob can answer this invitation." in carol.content
    # Discord only sends ids of the message's buttons; one pressed where it was not posted
    # (the same id from another channel) is refused as a stale one.
    elsewhere = await fake.click(
        invitation, accept, user_id=BOB, guild=True, channel_id=OTHER_CHANNEL_ID
    )
    forged = await fake.reply(elsewhere)
    assert forged.ephemeral and "no longer open" in forged.content
    accepted = await fake.reply(await fake.click(invitation, accept, user_id=BOB, guild=True))
    assert "Bob accepted" in accepted.text and not accepted.payload.get("components")

    # The 7th and the 8th in each one's zone, across Los Angeles' change to summer time.
    events = []
    for n in range(2):
        day = FIRST + timedelta(days=n)
        events += [(local(day, 9, SHANGHAI), ALICE), (local(day, 18, LOS_ANGELES), BOB)]
    for when, user in sorted(events):
        await answer(fake, clock, user, when)

    clock.set(local(FIRST + timedelta(days=2), 11, SHANGHAI))  # Los Angeles' 8th, 20:00
    streak = await fake.reply(await fake.slash("streak", user_id=ALICE, guild=True))
    assert streak.ephemeral
    assert "**Bob**: 🔥 2 days · you ⏳ · Bob ✅" in streak.text

    # Alice's reminder names the friend streak her answer keeps, and Bob's missing one too.
    await fake.reply(await fake.slash("remind", user_id=ALICE, time="21:00"))
    clock.set(local(FIRST + timedelta(days=2), 21, SHANGHAI))
    assert await dcore.timers.run_due() == 1
    dm = await fake.wait_for(lambda: fake.channel_messages.get(dm_channel(ALICE)))
    assert (
        "🤝 Your 2\\-day streak with Bob needs both your answers today: neither of you has "
        "answered yet." in dm[-1].text
    )

    # Alice misses her 9th; once Los Angeles' 9th is over the streak is broken.
    clock.set(local(FIRST + timedelta(days=3), 1, LOS_ANGELES))
    streak = await fake.reply(await fake.slash("streak", user_id=BOB))
    assert "**Alice**: 🔥 0 days" in streak.text

    # Bob ends it with the member option; Alice is not messaged.
    before = len(fake.channel_messages.get(dm_channel(ALICE), []))
    ended = await fake.reply(
        await fake.slash("buddy", user_id=BOB, guild=True, friend=ALICE, action="end")
    )
    assert ended.ephemeral and "Your friend streak with Alice has ended." in ended.content
    assert len(fake.channel_messages.get(dm_channel(ALICE), [])) == before
    listing = await fake.reply(await fake.slash("buddy", user_id=ALICE))
    assert "No friend streaks yet" in listing.text


async def test_the_list_ends_a_friend_streak_and_buttons_survive_a_restart(
    make_settings: Callable[..., Settings], fake: FakeDiscord, clock: FixedClock
) -> None:
    settings = make_settings(DISCORD_BOT_TOKEN=fake.token, DISCORD_API_BASE_URL=fake.base_url)
    async with open_core(settings, clock=clock) as core, running(core, fake):
        invitation = await invite(fake, ALICE, BOB)
    async with open_core(settings, clock=clock) as core, running(core, fake):
        accept = invitation.buttons[0]["custom_id"]
        accepted = await fake.reply(await fake.click(invitation, accept, user_id=BOB, guild=True))
        assert "Bob accepted" in accepted.text
        listing = await fake.reply(await fake.slash("buddy", user_id=BOB, guild=True))
        assert listing.ephemeral and "Alice" in listing.text
        [end] = listing.buttons
        assert end["label"] == "End with Alice"
        refused = await fake.reply(
            await fake.click(listing, end["custom_id"], user_id=ALICE, guild=True)
        )
        assert "Only whoever asked for this list" in refused.content
        done = await fake.click(listing, end["custom_id"], user_id=BOB, guild=True)
        said = await fake.wait_for(lambda: done.followups)
        assert "has ended" in said[-1].content
        assert (
            await core.buddies.friends(
                await core.study.enter(
                    platform="discord",
                    user_id=str(ALICE),
                    user_name="Alice",
                    language_code="en",
                    chat_id=str(ALICE),
                    chat_type="private",
                )
            )
            == []
        )


async def test_refusals_in_a_dm_for_a_bot_and_oneself(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    dm = await fake.reply(await fake.slash("buddy", user_id=ALICE, friend=BOB))
    assert "server channel, not in a DM" in dm.content
    robot = await fake.reply(await fake.slash("buddy", user_id=ALICE, guild=True, friend=BOT_ID))
    assert robot.ephemeral and "Bots do not answer" in robot.content
    me = await fake.reply(await fake.slash("buddy", user_id=ALICE, guild=True, friend=ALICE))
    assert "cannot invite yourself" in me.content
    usage = await fake.reply(await fake.slash("buddy", user_id=ALICE, guild=True, action="end"))
    assert "/buddy friend:@name" in usage.content

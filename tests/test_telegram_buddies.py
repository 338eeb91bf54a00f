"""Friend streaks end to end on Telegram: the real PTB client against the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from telegram.ext import Application

from bot.app import Core
from bot.clock import FixedClock
from tests.fakebotapi import BotMessage, FakeBotAPI
from tests.test_telegram import TOKEN, running

App = Application[Any, Any, Any, Any, Any, Any]

ANN, BOB, CAROL = 1001, 1002, 1003
NAMES = {ANN: "Ann", BOB: "Bob", CAROL: "Carol"}
GROUP = -100200300
SHANGHAI, LOS_ANGELES = "Asia/Shanghai", "America/Los_Angeles"
FIRST = date(2026, 3, 6)  # Los Angeles moves to summer time on the 8th


def local(day: date, hour: int, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api


@pytest.fixture
async def bot(core: Core, fake: FakeBotAPI) -> AsyncIterator[App]:
    async with running(core, fake) as app:
        yield app


async def say(fake: FakeBotAPI, text: str, user: int, *, chat: int | None = None, **kw: Any) -> str:
    """Send a message as a user (in their private chat by default); return the bot's answer."""
    chat = user if chat is None else chat
    since = fake.mark()
    kind = "private" if chat > 0 else "supergroup"
    fake.send_message(chat, user, text, chat_type=kind, first_name=NAMES[user], **kw)
    call = await fake.wait_for_call("sendMessage", chat_id=chat, since=since)
    return str(call.params["text"])


def post(fake: FakeBotAPI, user: int, text: str = "hello all") -> int:
    """Post a plain message in the group (the bot does not answer it); return its id."""
    return fake.send_message(GROUP, user, text, chat_type="supergroup", first_name=NAMES[user])


async def press(fake: FakeBotAPI, message: BotMessage, data: str, user: int) -> Any:
    """Press a button (by its data) as a user; return the answerCallbackQuery call."""
    query = fake.press_button_raw(message.chat_id, user, message.message_id, data)
    return await fake.wait_for_callback_answer(query)


async def invite(fake: FakeBotAPI, by: int, to: int) -> BotMessage:
    """Reply /buddy to a group message of `to`; return the invitation."""
    text = await say(fake, "/buddy", by, chat=GROUP, reply_to_message=post(fake, to))
    assert "invites" in text, text
    return fake.last_message(GROUP)


async def answer(fake: FakeBotAPI, clock: FixedClock, user: int, when: datetime) -> None:
    """At `when`, ask for a question in the private chat and press its first option."""
    clock.set(when)
    await say(fake, "/question", user)
    question = fake.last_message(user)
    since = fake.mark()
    await press(fake, question, question.callback_data[0], user)
    await fake.wait_for_call("editMessageText", since=since)


async def test_invite_accept_two_zones_remind_break_and_end(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    clock.set(local(FIRST, 8, SHANGHAI))  # Shanghai's 6th, Los Angeles' 5th
    assert SHANGHAI in await say(fake, f"/timezone {SHANGHAI}", ANN)
    assert LOS_ANGELES in await say(fake, f"/timezone {LOS_ANGELES}", BOB)
    invitation = await invite(fake, ANN, BOB)
    data = invitation.callback_data
    assert len(data) == 2 and all(len(d.encode()) <= 64 for d in data)
    assert "Bob" in (invitation.text or "") and "48 hours" in (invitation.text or "")
    # Only Bob's press counts: Carol's and a forged one change nothing.
    call = await press(fake, invitation, data[0], CAROL)
    assert call.params["text"] == "Only Bob can answer this invitation."
    call = await press(fake, invitation, "b:999999:a", BOB)
    assert call.params["text"] == "This invitation is no longer open."
    since = fake.mark()
    await press(fake, invitation, data[0], BOB)
    edit = await fake.wait_for_call("editMessageText", since=since)
    assert "Bob accepted" in str(edit.params["text"])
    assert not fake.message(GROUP, invitation.message_id).callback_data  # buttons gone

    # The 6th to the 9th in each one's zone: Ann at 09:00 in Shanghai, Bob at 18:00 in Los
    # Angeles (already the next day in Shanghai), across Los Angeles' change to summer time.
    events = []
    for n in range(4):
        day = FIRST + timedelta(days=n)
        events += [(local(day, 9, SHANGHAI), ANN), (local(day, 18, LOS_ANGELES), BOB)]
    for when, user in sorted(events):
        await answer(fake, clock, user, when)

    # Shanghai's 10th 11:00 is Los Angeles' 9th 20:00: four days; Ann's today still open.
    clock.set(local(FIRST + timedelta(days=4), 11, SHANGHAI))
    text = await say(fake, "/streak", ANN)
    assert "Friend streaks" in text and "Bob</b>: 🔥 4 days · you ⏳ · Bob ✅" in text
    assert "Ann</b>: 🔥 4 days · you ✅ · Ann ⏳" in await say(fake, "/streak", BOB)

    # Ann's reminder at 21:00 in Shanghai (06:00 of Bob's 10th) names the friend streak that
    # needs her answer, and Bob's, still missing too.
    assert "21:00" in await say(fake, "/remind 21:00", ANN)
    clock.set(local(FIRST + timedelta(days=4), 21, SHANGHAI))
    since = fake.mark()
    assert await core.timers.run_due() == 1
    reminder = await fake.wait_for_call("sendMessage", chat_id=ANN, since=since)
    assert (
        "Your 4-day streak with Bob needs both your answers today: neither of you has answered"
        in str(reminder.params["text"])
    )
    # Bob's at 08:00 in Los Angeles (23:00 of Ann's 10th): neither answer is in yet.
    assert "08:00" in await say(fake, "/remind 08:00", BOB)
    clock.set(local(FIRST + timedelta(days=4), 8, LOS_ANGELES))
    since = fake.mark()
    assert await core.timers.run_due() == 1
    reminder = await fake.wait_for_call("sendMessage", chat_id=BOB, since=since)
    assert "needs both your answers today: neither of you has answered yet" in str(
        reminder.params["text"]
    )

    # Ann misses her 10th: once Los Angeles' 10th is over too, the streak is broken.
    await answer(fake, clock, BOB, local(FIRST + timedelta(days=4), 18, LOS_ANGELES))
    clock.set(local(FIRST + timedelta(days=5), 1, LOS_ANGELES))
    assert "Bob</b>: 🔥 0 days" in await say(fake, "/streak", ANN)

    # Either ends it; the other is not messaged, their list is simply empty.
    since = fake.mark()
    assert "has ended" in await say(fake, "/buddy end @bob", ANN, chat=GROUP)
    assert not [c for c in fake.calls("sendMessage") if c.chat_id == BOB and c.seq >= since]
    assert "No friend streaks yet" in await say(fake, "/buddy", BOB)


async def test_the_list_ends_a_friend_streak_with_its_owners_button(
    bot: App, fake: FakeBotAPI
) -> None:
    invitation = await invite(fake, ANN, BOB)
    since = fake.mark()
    await press(fake, invitation, invitation.callback_data[0], BOB)
    await fake.wait_for_call("editMessageText", since=since)
    text = await say(fake, "/buddy", BOB, chat=GROUP)
    assert "Friend streaks (1 of 5)" in text and "Ann" in text
    listing = fake.last_message(GROUP)
    [end] = listing.callback_data
    call = await press(fake, listing, end, ANN)  # Ann may end it too, but not from Bob's list
    assert call.params["text"] == "Only whoever asked for this list can use its buttons."
    since = fake.mark()
    call = await press(fake, listing, end, BOB)
    assert call.params["text"] == "Your friend streak with Ann has ended."
    edit = await fake.wait_for_call("editMessageText", since=since)
    assert "No friend streaks yet" in str(edit.params["text"])
    assert "No friend streaks yet" in await say(fake, "/buddy", ANN)


async def test_refusals_are_clear(bot: App, fake: FakeBotAPI) -> None:
    usage = await say(fake, "/buddy @bob", ANN, chat=GROUP)  # no replied-to message
    assert "reply /buddy to a message of the member you invite" in usage
    mine = post(fake, ANN)
    assert "cannot invite yourself" in await say(
        fake, "/buddy", ANN, chat=GROUP, reply_to_message=mine
    )
    await say(fake, "/help", ANN, chat=GROUP)
    from_bot = fake.last_message(GROUP).message_id
    assert "Bots do not answer" in await say(
        fake, "/buddy", ANN, chat=GROUP, reply_to_message=from_bot
    )
    await invite(fake, ANN, BOB)
    pending = await say(fake, "/buddy", BOB, chat=GROUP, reply_to_message=post(fake, ANN))
    assert "already waiting" in pending
    assert "/buddy" in await say(fake, "/help", ANN)  # in the menu and /help

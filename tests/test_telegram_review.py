"""Personal review end to end: the real PTB Application against the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from telegram.ext import Application

from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from tests.fakebotapi import BotMessage, FakeBotAPI
from tests.test_telegram import GROUP, TOKEN, USER, running, say

App = Application[Any, Any, Any, Any, Any, Any]
OTHER = 1002
# Under every reference answer of the fixture bank (each question has a snippet).
TOOLS = ["▶ Run it", "⚠ Report a problem"]


@pytest.fixture
async def fake(clock: FixedClock) -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN, clock=lambda: clock.now().timestamp()) as api:
        yield api


@pytest.fixture
async def bot(core: Core, fake: FakeBotAPI) -> AsyncIterator[App]:
    async with running(core, fake) as app:
        yield app


async def right_option(core: Core, message: BotMessage) -> int:
    """Return the index of the right option of the question a message shows."""
    prompt_id = int(message.callback_data[0].split(":")[1])
    found = await core.study.prompt(prompt_id)
    assert found is not None
    return found[1].text(found[0].language).quiz.correct


async def press(fake: FakeBotAPI, chat: int, message: BotMessage, data: str, user: int) -> str:
    query = fake.press_button(chat, user, message.message_id, data)
    answer = await fake.wait_for_callback_answer(query)
    return str(answer.params.get("text", ""))


async def miss_one(fake: FakeBotAPI, core: Core) -> BotMessage:
    """Ask a question in the private chat and answer it wrong."""
    await say(fake, "/question tensors")
    question = fake.last_message(USER)
    wrong = (await right_option(core, question) + 1) % 4
    await press(fake, USER, question, question.callback_data[wrong], USER)
    return question


async def test_nothing_learned_yet_says_how_to_start(bot: App, fake: FakeBotAPI) -> None:
    reply = await say(fake, "/review")
    assert "Nothing to review yet" in reply
    assert "/daily" in reply


async def test_a_missed_question_comes_back_a_minute_later(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    missed = await miss_one(fake, core)
    reply = await say(fake, "/review")
    assert "Nothing left to review right now" in reply
    assert "1 more card is due later today" in reply
    assert "12:01" in reply
    clock.set(clock.now() + timedelta(minutes=1))
    text = await say(fake, "/review")
    assert "Review" in text
    card = fake.last_message(USER)
    assert card.text is not None and missed.text is not None
    assert card.text.splitlines()[-1] == missed.text.splitlines()[-1]
    assert all(len(d.encode()) <= 64 for d in card.callback_data)
    assert all(d.startswith("v:") for d in card.callback_data[:-1])
    # Right this time: the verdict, then (nothing else due) where the user stands.
    since = fake.mark()
    verdict = await press(
        fake, USER, card, card.callback_data[await right_option(core, card)], USER
    )
    assert "Correct" in verdict
    after = await fake.wait_for_call("sendMessage", chat_id=USER, since=since)
    assert "Nothing left to review right now" in str(after.params["text"])
    logged = await core.db.fetchall("SELECT source, rating FROM review_log ORDER BY id")
    assert [(r["source"], r["rating"]) for r in logged] == [("question", 1), ("review", 3)]


async def test_self_rating_after_reading_the_answer(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    await say(fake, "/question tensors")
    question = fake.last_message(USER)
    since = fake.mark()
    fake.press_button(USER, USER, question.message_id, question.callback_data[-1])
    call = await fake.wait_for_call("sendMessage", chat_id=USER, since=since)
    reference = fake.message(USER, call.result["message_id"])
    assert "Quiz answer" in (reference.text or "")
    assert [b["text"] for b in reference.buttons] == [
        "🔁 Again",
        "😓 Hard",
        "🙂 Good",
        "😎 Easy",
        *TOOLS,
    ]
    since = fake.mark()
    text = await press(fake, USER, reference, reference.callback_data[0], USER)
    assert "comes back at 12:01" in text
    await fake.wait_for_call("editMessageReplyMarkup", since=since)
    assert [b["text"] for b in fake.message(USER, reference.message_id).buttons] == TOOLS
    query = fake.press_button_raw(USER, USER, reference.message_id, reference.callback_data[3])
    again = await fake.wait_for_callback_answer(query)
    assert "already rated" in str(again.params.get("text"))
    # Answering after rating oneself still counts as an answer.
    await press(fake, USER, question, question.callback_data[0], USER)
    assert len(await core.db.fetchall("SELECT * FROM review_log")) == 2


async def test_no_rating_buttons_once_answered(bot: App, fake: FakeBotAPI, core: Core) -> None:
    question = await miss_one(fake, core)
    since = fake.mark()
    fake.press_button(USER, USER, question.message_id, question.callback_data[-1])
    call = await fake.wait_for_call("sendMessage", chat_id=USER, since=since)
    assert [b["text"] for b in fake.message(USER, call.result["message_id"]).buttons] == TOOLS


async def test_retention(bot: App, fake: FakeBotAPI, core: Core) -> None:
    assert "90%" in await say(fake, "/review retention")
    reply = await say(fake, "/review retention 0.85")
    assert "85%" in reply
    assert "fewer reviews a day" in reply
    assert "more reviews a day" in await say(fake, "/review retention 0.95")
    assert "Usage: /review retention" in await say(fake, "/review retention 0.5")
    assert "Usage: /review" in await say(fake, "/review everything")


async def test_in_a_group_review_goes_private(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    await miss_one(fake, core)
    clock.set(clock.now() + timedelta(minutes=2))
    since = fake.mark()
    reply = await say(fake, "/review", chat=GROUP)
    assert "privately" in reply
    card = await fake.wait_for_call("sendMessage", chat_id=USER, since=since)
    assert "Review" in str(card.params["text"])


async def test_in_a_group_without_a_private_chat_review_mentions_the_user(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    await miss_one(fake, core)
    clock.set(clock.now() + timedelta(minutes=2))
    fake.block_bot(USER)
    reply = await say(fake, "/review", chat=GROUP)
    assert f"tg://user?id={USER}" in reply
    card = fake.last_message(GROUP)
    # Another member's press does not count for the owner's card.
    text = await press(fake, GROUP, card, card.callback_data[0], OTHER)
    assert "belongs to someone else" in text
    assert len(await core.db.fetchall("SELECT * FROM review_log")) == 1
    verdict = await press(
        fake, GROUP, card, card.callback_data[await right_option(core, card)], USER
    )
    assert "Correct" in verdict
    assert len(await core.db.fetchall("SELECT * FROM review_log")) == 2


async def test_reminder_with_a_start_button(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    assert "Usage: /remind" in await say(fake, "/remind 8pm")
    await say(fake, "/question tensors")
    question = fake.last_message(USER)
    right = question.callback_data[await right_option(core, question)]
    await press(fake, USER, question, right, USER)
    assert "20:00 (UTC)" in await say(fake, "/remind 20:00")
    clock.set(clock.now() + timedelta(days=1, hours=8))
    since = fake.mark()
    assert await core.timers.run_due() == 1
    call = await fake.wait_for_call("sendMessage", chat_id=USER, since=since)
    assert "1-day streak ends today" in str(call.params["text"])
    reminder = fake.message(USER, call.result["message_id"])
    assert reminder.callback_data == ["v:go"]
    since = fake.mark()
    await press(fake, USER, reminder, "v:go", USER)
    card = await fake.wait_for_call("sendMessage", chat_id=USER, since=since)
    assert "Review" in str(card.params["text"])
    assert "Reminders are off" in await say(fake, "/remind off")


async def test_private_daily_offers_the_due_reviews(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    await miss_one(fake, core)
    await say(fake, "/question")
    other = fake.last_message(USER)
    wrong = other.callback_data[(await right_option(core, other) + 1) % 4]
    await press(fake, USER, other, wrong, USER)
    clock.set(clock.now() + timedelta(days=1))
    assert "Daily question" in await say(fake, "/daily")
    question = fake.last_message(USER)
    assert question.buttons[-1] == {"text": "🔁 Review 1 due", "callback_data": "v:go"}
    since = fake.mark()
    await press(fake, USER, question, "v:go", USER)
    card = await fake.wait_for_call("sendMessage", chat_id=USER, since=since)
    assert "Review" in str(card.params["text"])


async def test_stats_is_a_picture_with_a_caption(bot: App, fake: FakeBotAPI, core: Core) -> None:
    assert "No answers yet" in await say(fake, "/stats")
    await miss_one(fake, core)
    since = fake.mark()
    fake.send_message(USER, USER, "/stats", chat_type="private", language_code="en")
    call = await fake.wait_for_call("sendPhoto", chat_id=USER, since=since)
    caption = str(call.params["caption"])
    assert "Streak: 1 day" in caption
    assert "Accuracy: 0% (0/1)" in caption
    assert "Due today: 1 card" in caption
    photo = fake.message(USER, call.result["message_id"]).photo
    assert photo is not None
    assert (photo[-1]["width"], photo[-1]["height"]) == (1200, 800)


async def test_the_daily_batch_stops_at_its_cap_and_review_goes_on(
    fake: FakeBotAPI, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    settings = make_settings(STUDYBOT_DAILY_REVIEWS="1")
    async with open_core(settings, clock=clock) as core, running(core, fake):
        for _ in range(3):  # three different questions, each answered wrong
            await say(fake, "/question")
            asked = fake.last_message(USER)
            wrong = asked.callback_data[(await right_option(core, asked) + 1) % 4]
            await press(fake, USER, asked, wrong, USER)
        clock.set(clock.now() + timedelta(days=1))
        await say(fake, "/daily")  # itself the most overdue card
        question = fake.last_message(USER)
        assert question.buttons[-1] == {"text": "🔁 Review 1 due", "callback_data": "v:go"}
        since = fake.mark()
        await press(fake, USER, question, "v:go", USER)
        await fake.wait_for_call("sendMessage", chat_id=USER, since=since)
        card = fake.last_message(USER)
        assert all(d.endswith(":c") for d in card.callback_data[:-1])
        since = fake.mark()
        await press(fake, USER, card, card.callback_data[await right_option(core, card)], USER)
        done = await fake.wait_for_call("sendMessage", chat_id=USER, since=since)
        assert "today's batch: 1 review" in str(done.params["text"])
        # /review itself is not capped: the third card is still there.
        assert "Review" in await say(fake, "/review")
        third = fake.last_message(USER)
        assert not any(d.endswith(":c") for d in third.callback_data)

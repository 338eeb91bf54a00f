"""A quiz poll that may have gone out is never sent again: another question takes its place.

The session still asks the N questions it announced, numbered [k/N] without a gap, and the
scoreboard counts what was asked. In process with a send that times out, and with a real
`studybot serve` killed between a poll's send and its record.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from bot.app import open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.services.quiz_votes import EARLY_CLOSE_GRACE
from tests.fakebotapi import FakeBotAPI
from tests.test_faults_crash import serve
from tests.test_telegram import TOKEN, running
from tests.test_telegram_quiz import (  # noqa: F401 - fixtures
    ALICE,
    GROUP,
    advance,
    closing_soon,
    correct,
    fake,
    next_poll,
    quiz_settings,
    say,
    vote,
)

PREFIX = re.compile(r"^\[(\d+)/(\d+)\] ")


def shown(api: FakeBotAPI, chat: int) -> list[str]:
    """The questions of every poll the chat got, answered in time to the bot or not."""
    return [str(m.poll["question"]) for m in api.messages(chat) if m.poll]


def numbers(questions: list[str]) -> list[str]:
    return [q[: q.index("] ") + 1] if PREFIX.match(q) else "?" for q in questions]


def stems(questions: list[str]) -> list[str]:
    return [PREFIX.sub("", q) for q in questions]


async def test_a_poll_whose_send_timed_out_is_replaced_by_another_question(
    fake: FakeBotAPI,  # noqa: F811
    quiz_settings: Settings,  # noqa: F811
    clock: FixedClock,
) -> None:
    async with open_core(quiz_settings, clock=clock) as core, running(core, fake):
        since = say(fake, "/quiz 3")
        first = await next_poll(fake, since)
        await vote(core, fake, first, ALICE, correct(first), after=2)
        # The second poll reaches the group, but its answer comes after PTB's 5 s timeout.
        fake.delay_next("sendPoll", 6.0, after=True)
        mark = fake.mark()
        await advance(core, 28)

        async def lost() -> bool:
            row = await core.db.fetchone("SELECT 1 FROM quiz_polls WHERE status = 'lost'")
            return row is not None

        for _ in range(400):
            if await lost():
                break
            await asyncio.sleep(0.025)
        assert await lost(), "the timed-out poll was not counted as lost"
        await advance(core, 3)  # the replacement follows NEXT_DELAY later
        second = await fake.wait_for_call(
            "sendPoll", lambda c: c.seq > mark and c.result is not None, chat_id=GROUP, since=mark
        )
        assert str(second.params["question"]).startswith("[2/3] ")
        mark = fake.mark()
        await vote(core, fake, second, ALICE, correct(second), after=1)
        await closing_soon(core)
        await advance(core, EARLY_CLOSE_GRACE.total_seconds())
        third = await next_poll(fake, mark)
        mark = fake.mark()
        await vote(core, fake, third, ALICE, correct(third), after=1)
        await closing_soon(core)
        await advance(core, EARLY_CLOSE_GRACE.total_seconds())
        board = await fake.wait_for_call(
            "sendMessage", lambda c: "Quiz over" in str(c.params["text"]), since=mark
        )
        assert str(board.params["text"]).splitlines()[0] == "<b>🏁 Quiz over: 3 questions.</b>"
        assert "🥇 Alice — 3/3" in str(board.params["text"])
    polls = shown(fake, GROUP)
    assert numbers(polls) == ["[1/3]", "[2/3]", "[2/3]", "[3/3]"]
    assert len(set(stems(polls))) == 4, "a question was sent twice"


@pytest.fixture
async def live_fake() -> AsyncIterator[FakeBotAPI]:
    """The fake Bot API on real time, for a bot in another process."""
    async with FakeBotAPI(token=TOKEN) as api:
        api.set_user(ALICE, first_name="Alice", language_code="en")
        yield api


async def test_a_poll_cut_off_by_a_kill_is_not_resent_and_the_quiz_still_asks_n(
    live_fake: FakeBotAPI,
    quiz_settings: Settings,  # noqa: F811
) -> None:
    database = quiz_settings.database
    content = str(quiz_settings.content_dir)
    extra = {"STUDYBOT_QUIZ_SECONDS": "5", "STUDYBOT_CONTENT_DIR": content}
    # The first poll goes out, and the bot is killed before the Bot API's answer reaches it.
    live_fake.delay_next("sendPoll", 60.0, after=True)
    async with serve(live_fake, database, **extra) as bot:
        await live_fake.wait_for_call("getUpdates", timeout=60)
        say(live_fake, "/quiz 2")
        for _ in range(600):
            if any(m.poll for m in live_fake.messages(GROUP)):
                break
            await asyncio.sleep(0.05)
        bot.kill()
        await bot.wait()
    live_fake.clear_faults()
    since = live_fake.mark()
    async with serve(live_fake, database, **extra) as bot:
        first = await live_fake.wait_for_call("sendPoll", chat_id=GROUP, since=since, timeout=60)
        assert str(first.params["question"]).startswith("[1/2] ")
        live_fake.answer_poll(str(first.result["poll"]["id"]), ALICE, [correct(first)])
        second = await live_fake.wait_for_call(
            "sendPoll", chat_id=GROUP, since=first.seq + 1, timeout=30
        )
        assert str(second.params["question"]).startswith("[2/2] ")
        live_fake.answer_poll(str(second.result["poll"]["id"]), ALICE, [correct(second)])
        board = await live_fake.wait_for_call(
            "sendMessage", lambda c: "Quiz over" in str(c.params["text"]), since=since, timeout=30
        )
        bot.terminate()
        await bot.wait()
    assert "Quiz over: 2 questions" in str(board.params["text"])
    assert "Alice — 2/2" in str(board.params["text"])
    polls = shown(live_fake, GROUP)
    assert numbers(polls) == ["[1/2]", "[1/2]", "[2/2]"]
    assert len(set(stems(polls))) == 3, "a question was sent twice"

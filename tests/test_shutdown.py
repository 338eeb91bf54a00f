"""A graceful stop (SIGTERM) in order: updates, then timers and their steps, then the clients.

`studybot serve` runs as a subprocess against the fake Bot API (loopback only); the quiz's next
poll is being sent when SIGTERM arrives, and must end recorded, not cut off by a closed client.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.config import Settings
from bot.services.timers import Timers
from tests.fakebotapi import FakeBotAPI
from tests.test_faults_crash import serve
from tests.test_telegram import TOKEN
from tests.test_telegram_quiz import ALICE, BOB, GROUP, correct, quiz_settings, say  # noqa: F401

# Long enough that the bot, restarted on a loaded machine, is back before the open poll ends.
QUIZ_SECONDS = 20


@pytest.fixture
async def live_fake() -> AsyncIterator[FakeBotAPI]:
    """The fake Bot API on real time, for a bot in another process."""
    async with FakeBotAPI(token=TOKEN) as api:
        for user, name in ((ALICE, "Alice"), (BOB, "Bob")):
            api.set_user(user, first_name=name, language_code="en")
        yield api


def polls(database: str) -> list[tuple[int, str, str | None]]:
    with contextlib.closing(sqlite3.connect(database)) as conn:
        return conn.execute(
            "SELECT position, status, poll_ref FROM quiz_polls ORDER BY position"
        ).fetchall()


async def test_sigterm_while_a_poll_is_sent_lets_it_finish_before_the_client_closes(
    live_fake: FakeBotAPI,
    quiz_settings: Settings,  # noqa: F811
) -> None:
    api = live_fake
    database = quiz_settings.database
    env = {
        "STUDYBOT_QUIZ_SECONDS": str(QUIZ_SECONDS),
        "STUDYBOT_CONTENT_DIR": str(quiz_settings.content_dir),
    }
    async with serve(api, database, **env) as bot:
        await api.wait_for_call("getUpdates", timeout=60)
        since = say(api, "/quiz 3")
        first = await api.wait_for_call("sendPoll", chat_id=GROUP, since=since, timeout=30)
        api.answer_poll(str(first.result["poll"]["id"]), ALICE, [correct(first)])
        # The second poll's send, at the first one's deadline, takes 3 s to answer: SIGTERM
        # comes as soon as it reaches the Bot API.
        api.delay_next("sendPoll", 3.0)
        for _ in range(int((QUIZ_SECONDS + 10) / 0.025)):
            if [c for c in api.calls("sendPoll") if c.seq > first.seq]:
                break
            await asyncio.sleep(0.025)
        assert [c for c in api.calls("sendPoll") if c.seq > first.seq and not c.ok]
        bot.terminate()
        _, err = await asyncio.wait_for(bot.communicate(), 30)
        log = err.decode()
    assert bot.returncode == 0, log
    assert "not initialized" not in log and "Traceback" not in log, log
    # The send under way finished and was recorded before the client closed.
    second = [c for c in api.calls("sendPoll") if c.ok and c.seq > first.seq]
    assert len(second) == 1
    assert str(second[0].params["question"]).startswith("[2/3] ")
    assert [(p, s) for p, s, _ in polls(str(database))] == [(0, "closed"), (1, "open")]
    assert polls(str(database))[1][2] == f"telegram:{second[0].result['poll']['id']}"

    # The next start resumes the open poll: nothing lost, nothing sent twice.
    since = api.mark()
    async with serve(api, database, **env) as bot:
        api.answer_poll(str(second[0].result["poll"]["id"]), ALICE, [correct(second[0])])
        third = await api.wait_for_call("sendPoll", chat_id=GROUP, since=since, timeout=30)
        assert str(third.params["question"]).startswith("[3/3] ")
        api.answer_poll(str(third.result["poll"]["id"]), ALICE, [correct(third)])
        board = await api.wait_for_call(
            "sendMessage", lambda c: "Quiz over" in str(c.params["text"]), since=since, timeout=30
        )
        bot.terminate()
        await bot.wait()
    assert "Quiz over: 3 questions" in str(board.params["text"])
    assert "Alice — 3/3" in str(board.params["text"])
    assert len([c for c in api.calls("sendPoll") if c.ok]) == 3


async def test_a_timer_set_after_the_shutdown_is_dropped(clock: FixedClock) -> None:
    timers = Timers(clock)
    timers.start()
    fired: list[str] = []

    async def note(what: str) -> None:
        fired.append(what)

    timers.at("later", clock.now() + timedelta(seconds=60), lambda: note("later"))
    await timers.shutdown()
    assert timers.pending == 0
    timers.at("after", clock.now(), lambda: note("after"))  # a step that ends after the stop
    assert timers.pending == 0
    clock.set(clock.now() + timedelta(minutes=5))
    assert await timers.run_due() == 0
    assert fired == []
    timers.start()  # started again (the same core serving again), timers work
    timers.at("again", clock.now(), lambda: note("again"))
    await asyncio.sleep(0.05)
    assert fired == ["again"]
    await timers.shutdown()

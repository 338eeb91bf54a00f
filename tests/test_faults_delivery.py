"""Faults of the Bot API during a daily fan-out and during /daily: exactly one question a day.

429 with retry_after, 5xx, answers that come after the client gave up (the message went out),
and refused connections (a loopback relay that stops listening), all against the real
application and the fake Bot API with Telegram's flood limits on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot.adapters.telegram.app import build_application, start_application, stop_application
from bot.adapters.telegram.flood import FloodLimiter
from bot.app import Core
from bot.clock import FixedClock
from bot.services.runs import RunService
from tests.fakebotapi import FakeBotAPI
from tests.gate import Gate
from tests.test_telegram import TOKEN, USER, running, say, until

App = Application[Any, Any, Any, Any, Any, Any]
CHATS = 24  # ALL_SENT below counts them
FAULTS = ["429", "5xx", "timeout", "refused"]
ALL_SENT = "SELECT count(*) FROM daily_deliveries WHERE status = 'sent' HAVING count(*) = 24"


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrink the waits between tries (the rules stay the same)."""
    monkeypatch.setattr("bot.adapters.telegram.sending.BACKOFF_S", 0.05)
    monkeypatch.setattr("bot.services.daily_schedule.RETRY_AFTER_FAILURE", timedelta(seconds=1))


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN, flood_control=True) as api:
        yield api


@asynccontextmanager
async def through_gate(core: Core, fake: FakeBotAPI) -> AsyncIterator[tuple[App, Gate]]:
    """Run the bot with its Bot API traffic through a gate that can refuse connections."""
    async with Gate(fake.port) as gate:
        app = build_application(core, TOKEN, gate.url(), RunService(None, frozenset()))
        await start_application(app, poll_timeout=1)
        try:
            yield app, gate
        finally:
            await gate.open()
            await stop_application(app)


async def inject(fake: FakeBotAPI, gate: Gate, fault: str) -> None:
    """Make the next sends meet `fault`."""
    if fault == "429":
        fake.fail_next("sendMessage", error_code=429, retry_after=1, count=5)
    elif fault == "5xx":
        fake.fail_next("sendMessage", error_code=500, count=7)
    elif fault == "timeout":
        # Answered after PTB's 5 s read timeout: the message is out, the bot cannot know it.
        fake.delay_next("sendMessage", 6.0, count=2, after=True)
    else:
        await gate.close()


def daily_messages(fake: FakeBotAPI, chat_id: int) -> list[str]:
    return [m.text for m in fake.messages(chat_id) if m.text and "Daily question" in m.text]


@pytest.mark.parametrize("fault", FAULTS)
async def test_fan_out_under_faults_sends_each_chat_exactly_one(
    core: Core, fake: FakeBotAPI, clock: FixedClock, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    users = [5000 + i for i in range(CHATS)]
    for user in users:
        ctx = await core.study.enter(
            platform="telegram",
            user_id=str(user),
            user_name=f"u{user}",
            language_code="en",
            chat_id=str(user),
            chat_type="private",
            chat_title="",
        )
        await core.study.subscribe(ctx, "07:00")
    async with through_gate(core, fake) as (_app, gate):
        await inject(fake, gate, fault)
        clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
        await core.daily_schedule.start()  # every chat is due now: the fan-out
        if fault == "refused":
            # Long enough for every chat's three tries (30 a second) to meet a closed port.
            await asyncio.sleep(3.0)
            await gate.open()
        await until(
            core,
            ALL_SENT,
            seconds=30,
        )
    assert {u: len(daily_messages(fake, u)) for u in users} == dict.fromkeys(users, 1)
    assert fake.flood_errors == 0
    logged = " ".join(r.getMessage() for r in caplog.records)
    met = {
        "429": fake.stats().get("sendMessage", 0) > CHATS,
        "5xx": fake.stats().get("sendMessage", 0) > CHATS,
        "timeout": "may not have arrived" in logged,
        "refused": "will retry" in logged,
    }
    assert met[fault], "the fault never met a send"


async def ask_daily(app: App, fake: FakeBotAPI, gate: Gate, fault: str) -> None:
    """Send /daily while the fault is on (through the update path, even with the gate shut)."""
    since = fake.mark()
    if fault != "refused":
        fake.send_message(USER, USER, "/daily")
        await fake.wait_for_call("sendMessage", chat_id=USER, since=since, timeout=15)
        return
    # The gate is shut, so the bot cannot poll: hand it the update as getUpdates would.
    payload = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1773126000,
            "chat": {"id": USER, "type": "private", "first_name": "U"},
            "from": {"id": USER, "is_bot": False, "first_name": "U", "language_code": "en"},
            "text": "/daily",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    await app.process_update(Update.de_json(payload, app.bot))


@pytest.mark.parametrize("fault", FAULTS)
async def test_daily_under_faults_is_one_question_and_can_be_asked_again(
    core: Core, fake: FakeBotAPI, clock: FixedClock, fault: str
) -> None:
    async with through_gate(core, fake) as (app, gate):
        await inject(fake, gate, fault)
        await ask_daily(app, fake, gate, fault)
        await gate.open()
        fake.clear_faults()
        if not daily_messages(fake, USER):
            assert "Daily question" in await say(fake, "/daily")
        await until(core, "SELECT 1 FROM daily_deliveries WHERE status = 'sent'")
        # Asked again: the same question, not another one.
        assert "Daily question" in await say(fake, "/daily")
    texts = daily_messages(fake, USER)
    assert len(set(texts)) == 1
    prompts = await core.db.fetchall("SELECT DISTINCT question_id FROM prompts")
    assert len(prompts) == 1


async def test_fan_out_over_the_overall_limit_earns_no_429(core: Core, clock: FixedClock) -> None:
    # Ten a second on both sides (Telegram's rule is 30): 25 chats span three windows.
    async with FakeBotAPI(token=TOKEN, flood_control=True, overall_limit=(10, 1.0)) as fake:
        clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
        users = [6000 + i for i in range(25)]
        for user in users:
            ctx = await core.study.enter(
                platform="telegram",
                user_id=str(user),
                user_name=f"u{user}",
                language_code="en",
                chat_id=str(user),
                chat_type="private",
                chat_title="",
            )
            await core.study.subscribe(ctx, "07:00")
        async with running(core, fake, limiter=FloodLimiter(overall=10, max_retries=3)):
            clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
            await core.daily_schedule.start()
            await until(
                core,
                "SELECT count(*) FROM daily_deliveries WHERE status = 'sent' HAVING count(*) = 25",
                seconds=30,
            )
        assert fake.flood_errors == 0
        assert all(len(daily_messages(fake, u)) == 1 for u in users)

"""Bot API outages: start-up retries, one log line per failed poll, and recovery."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from telegram.error import NetworkError, RetryAfter, TimedOut

from bot.adapters.telegram.app import build_application, start_application, stop_application
from bot.adapters.telegram.polling import BotApiUnreachable, next_retry_delay
from bot.app import Core
from bot.services.runs import RunService
from tests.conftest import clean_env, studybot
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram import TOKEN, running, say

POLLING = "bot.adapters.telegram.polling"


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api


def test_retry_delays_follow_ptb_polling_loop() -> None:
    delays, previous = [], 0.0
    for error in [NetworkError("x")] * 4 + [TimedOut(), NetworkError("x")]:
        previous = next_retry_delay(previous, error)
        delays.append(previous)
    assert delays == [1.0, 1.5, 2.25, 3.375, 0.0, 1.0]
    assert next_retry_delay(20.0, NetworkError("x")) == 30.0
    assert next_retry_delay(0.0, RetryAfter(timedelta(seconds=3))) == 3.5


async def test_outage_logs_one_line_per_failed_poll_then_reconnected(
    core: Core, fake: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running(core, fake):
        await fake.wait_for_call("getUpdates")
        since = fake.mark()
        fake.fail_next("getUpdates", error_code=502, count=3)
        await fake.wait_for_calls("getUpdates", 4, since=since, timeout=30)
        # Recovery works: a message sent after the outage is answered.
        assert "PyTorch" in await say(fake, "/start")
    failed = [r.getMessage() for r in caplog.records if "getUpdates failed" in r.getMessage()]
    assert failed == [
        "getUpdates failed (NetworkError: Bad Gateway); retrying in 1.0 s",
        "getUpdates failed (NetworkError: Bad Gateway); retrying in 1.5 s",
        "getUpdates failed (NetworkError: Bad Gateway); retrying in 2.2 s",
    ]
    reconnected = [r for r in caplog.records if "reconnected" in r.getMessage()]
    assert len(reconnected) == 1
    assert "after 3 failed polls" in reconnected[0].getMessage()
    # Nothing else about it: no tracebacks, no warnings from the library itself.
    assert not [r for r in caplog.records if r.exc_info]
    assert not [r for r in caplog.records if r.name.startswith("telegram") and r.levelno >= 30]


async def test_start_up_rides_out_a_blip(
    core: Core, fake: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_next("getMe", error_code=502, count=2)
    app = build_application(core, TOKEN, fake.base_url, RunService(None, frozenset()))
    try:
        await start_application(app, poll_timeout=1, retry_delays=(0.01, 0.01, 0.01))
        assert "PyTorch" in await say(fake, "/start")
    finally:
        await stop_application(app)
    tries = [r.getMessage() for r in caplog.records if r.name == POLLING]
    assert len(tries) == 2
    assert tries[0].startswith(f"cannot reach the Bot API at http://127.0.0.1:{fake.port} (")
    assert "try 1 of 4, next in 0.01 s" in tries[0]


async def test_start_up_gives_up_naming_the_address_and_cause(core: Core, fake: FakeBotAPI) -> None:
    fake.fail_next("getMe", error_code=502, count=None)
    app = build_application(core, TOKEN, fake.base_url, RunService(None, frozenset()))
    try:
        with pytest.raises(BotApiUnreachable) as raised:
            await start_application(app, poll_timeout=1, retry_delays=(0.01, 0.01))
    finally:
        await stop_application(app)
    message = str(raised.value)
    assert message.startswith(f"cannot reach the Bot API at http://127.0.0.1:{fake.port} ")
    assert "NetworkError: Bad Gateway; gave up after 3 tries" in message
    assert TOKEN not in message and TOKEN.split(":")[1] not in message
    assert len(fake.calls("getMe")) == 3


@pytest.mark.parametrize("token", ["notatoken", "123456:abc def", " 123456:abc", "123456:"])
def test_malformed_token_refused_before_anything_starts(tmp_path: Path, token: str) -> None:
    database = tmp_path / "data" / "bot.db"
    env = clean_env(TELEGRAM_BOT_TOKEN=token, STUDYBOT_DATABASE=str(database))
    proc = studybot("serve", env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "studybot: invalid TELEGRAM_BOT_TOKEN: not shaped like a bot token (digits, a colon, "
        "then letters, digits, - or _, as @BotFather gives it)"
    ]
    assert not database.exists()  # refused before the database, the runner or the network

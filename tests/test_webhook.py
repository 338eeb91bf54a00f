"""Webhook mode end to end against the fake Bot API, and a graceful SIGTERM in both modes."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.adapters.serve import serve
from bot.config import Settings
from tests.conftest import FIXTURE_BANK, clean_env, studybot
from tests.fakebotapi import FakeBotAPI
from tests.test_health_metrics import free_port, runner_process
from tests.test_telegram import TOKEN, USER, say

SECRET = "s3cret-for_tests"  # noqa: S105 - a fake


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api


async def test_updates_come_by_webhook_and_posts_without_the_secret_are_refused(
    make_settings: Callable[..., Settings], fake: FakeBotAPI, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = make_settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=fake.base_url,
        STUDYBOT_RUNNER_URL=f"unix:{tmp_path / 'no-runner.sock'}",
        STUDYBOT_METRICS_LISTEN="",
        STUDYBOT_WEBHOOK_URL=url,
        STUDYBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        STUDYBOT_WEBHOOK_SECRET=SECRET,
    )
    stop = asyncio.Event()
    bot = asyncio.create_task(serve(settings, stop))
    try:
        call = await fake.wait_for_call("setWebhook", timeout=30)
        assert call.params["url"] == url
        assert call.params["secret_token"] == SECRET
        assert not fake.calls("getUpdates")

        assert "PyTorch" in await say(fake, "/start")
        assert "Daily question" in await say(fake, "/daily")
        # Each update posted once and taken (a post before the server listened is retried).
        assert fake.webhook_statuses.count(200) == 2
        assert set(fake.webhook_statuses) <= {0, 200}

        update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "/start"}}
        replies = len(fake.calls("sendMessage"))
        assert await fake.post_update(update, secret=None) == 403
        assert await fake.post_update(update, secret="wrong") == 403  # noqa: S106 - fake
        # The path matters too: only the URL's path takes updates.
        fake.webhook_url = f"http://127.0.0.1:{port}/elsewhere"
        assert await fake.post_update(update, secret=SECRET) == 404
        fake.webhook_url = url
        assert "PyTorch" in await say(fake, "/start")
        # Only the good post was answered: one reply since the refused ones.
        assert len(fake.calls("sendMessage")) == replies + 1
    finally:
        stop.set()
        await bot


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_sigterm_during_a_run_lets_it_finish_and_exits_0(
    fake: FakeBotAPI, tmp_path: Path, mode: str
) -> None:
    async with runner_process(tmp_path) as (runner_url, _, _):
        env = clean_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=fake.base_url,
            STUDYBOT_RUNNER_URL=runner_url,
            STUDYBOT_CONTENT_DIR=str(FIXTURE_BANK),
            STUDYBOT_METRICS_LISTEN="",
            STUDYBOT_RUN_WALL_TIME="8",
        )
        if mode == "webhook":
            port = free_port()
            env |= {
                "STUDYBOT_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
                "STUDYBOT_WEBHOOK_LISTEN": f"127.0.0.1:{port}",
                "STUDYBOT_WEBHOOK_SECRET": SECRET,
            }
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", env=env, cwd=tmp_path
        )
        try:
            await fake.wait_for_call("setMyCommands", timeout=60)
            since = fake.mark()
            code = "import time\ntime.sleep(2)\nprint('finished after SIGTERM')"
            fake.send_message(USER, USER, f"/run {code}", chat_type="private")
            await fake.wait_for_call("sendChatAction", since=since, timeout=30)
            bot.send_signal(signal.SIGTERM)
            reply = await fake.wait_for_call("sendMessage", since=since, timeout=15)
            assert "finished after SIGTERM" in str(reply.params["text"])
            # Within 15 s of SIGTERM, as a container's stop grace period allows.
            assert await asyncio.wait_for(bot.wait(), 15) == 0
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
    assert (tmp_path / "data" / "studybot.db").is_file()


def test_webhook_without_a_secret_is_refused_in_one_line(tmp_path: Path) -> None:
    env = clean_env(TELEGRAM_BOT_TOKEN=TOKEN, STUDYBOT_WEBHOOK_URL="https://bot.example.org/tg")
    proc = studybot("serve", env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == (
        "studybot: invalid STUDYBOT_WEBHOOK_SECRET: required with STUDYBOT_WEBHOOK_URL "
        "(1–256 of A-Z a-z 0-9 _ -)\n"
    )
    env["STUDYBOT_WEBHOOK_SECRET"] = "not allowed: spaces"  # noqa: S105 - fake
    proc = studybot("serve", env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert "spaces" not in proc.stderr  # a secret is never echoed

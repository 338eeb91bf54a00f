"""`studybot serve` with Discord: alone, with Telegram in the same process, and bad tokens."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import clean_env, studybot
from tests.fakebotapi import FakeBotAPI
from tests.fakediscord import FakeDiscord
from tests.test_telegram import TOKEN, say

ALICE = 111111111111111111


@pytest.fixture
async def discord_api() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as api:
        yield api


@pytest.fixture
async def telegram_api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api


async def serve(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    """Start `studybot serve` as an operator would."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_both_platforms_in_one_process_and_no_token_in_the_logs(
    discord_api: FakeDiscord, telegram_api: FakeBotAPI, tmp_path: Path
) -> None:
    env = clean_env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=telegram_api.base_url,
        DISCORD_BOT_TOKEN=discord_api.token,
        DISCORD_API_BASE_URL=discord_api.base_url,
        STUDYBOT_DATABASE=str(tmp_path / "data" / "bot.db"),
        STUDYBOT_RUNNER_URL="unix:" + str(tmp_path / "no-runner.sock"),
        STUDYBOT_METRICS_LISTEN="",
        STUDYBOT_LOG_LEVEL="DEBUG",
    )
    proc = await serve(env, tmp_path)
    try:
        await telegram_api.wait_for_call("getUpdates", timeout=60)
        await asyncio.wait_for(discord_api.identified.wait(), 60)
        # The one database serves both: each platform's users are its own.
        assert "Daily question" in await say(telegram_api, "/daily")
        reply = await discord_api.reply(await discord_api.slash("daily", user_id=ALICE), 30.0)
        assert "Daily question" in reply.text
    finally:
        proc.terminate()  # SIGTERM stops both platforms
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    logs = (out + err).decode()
    assert proc.returncode == 0, logs
    assert "bot started on telegram, discord" in logs
    assert "bot stopped" in logs
    for secret in (TOKEN, TOKEN.split(":")[1], discord_api.token, discord_api.token.split(".")[-1]):
        assert secret not in logs


async def test_discord_alone_and_a_rejected_token_is_one_line(
    discord_api: FakeDiscord, tmp_path: Path
) -> None:
    env = clean_env(
        DISCORD_BOT_TOKEN="wrong-" + discord_api.token,
        DISCORD_API_BASE_URL=discord_api.base_url,
        STUDYBOT_DATABASE=str(tmp_path / "data" / "bot.db"),
        STUDYBOT_RUNNER_URL="unix:" + str(tmp_path / "no-runner.sock"),
        STUDYBOT_METRICS_LISTEN="",
    )
    proc = await serve(env, tmp_path)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert lines[-1] == "studybot: invalid DISCORD_BOT_TOKEN: the Discord API rejected it"
    assert "wrong-" not in (out + err).decode()
    assert "Traceback" not in err.decode()


def test_serve_with_neither_token_is_one_clear_line(tmp_path: Path) -> None:
    proc = studybot("serve", env=clean_env(), cwd=tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "TELEGRAM_BOT_TOKEN" in proc.stderr and "DISCORD_BOT_TOKEN" in proc.stderr

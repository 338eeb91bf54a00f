"""STUDYBOT_LOG_FORMAT=json: one JSON object per line, ids where known, never a secret."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logging_setup import bind_ids, setup_logging
from tests.conftest import FIXTURE_BANK, clean_env
from tests.fakebotapi import FakeBotAPI
from tests.test_health_metrics import wait_for_runner
from tests.test_telegram import TOKEN, USER, say


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger back as it was after a test that configures logging."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


async def test_json_lines_carry_the_ids_of_the_update_and_no_token(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    setup_logging("INFO", [TOKEN], "json")
    log = logging.getLogger("studybot.test")

    async def handle(chat: int, user: int) -> None:
        bind_ids(chat_id=chat, user_id=user)
        log.info("answered with token %s", TOKEN)

    await asyncio.gather(asyncio.create_task(handle(-100, 7)), asyncio.create_task(handle(5, 5)))
    log.warning("outside any update")
    try:
        raise ValueError(TOKEN)
    except ValueError:
        log.exception("failed")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(x.get("chat_id"), x.get("user_id")) for x in lines] == [
        (-100, 7),
        (5, 5),
        (None, None),
        (None, None),
    ]
    assert lines[0]["event"] == "answered with token [REDACTED]"
    assert {"time", "level", "logger", "event"} <= set(lines[2])
    assert (lines[2]["level"], lines[2]["logger"]) == ("WARNING", "studybot.test")
    assert lines[0]["time"].endswith("+00:00")
    assert "ValueError: [REDACTED]" in lines[3]["exception"]
    assert TOKEN not in json.dumps(lines)


async def test_serve_logs_json_lines_only(tmp_path: Path) -> None:
    async with FakeBotAPI(token=TOKEN) as fake:
        env = clean_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=fake.base_url,
            STUDYBOT_RUNNER_URL=f"unix:{tmp_path / 'no-runner.sock'}",
            STUDYBOT_CONTENT_DIR=str(FIXTURE_BANK),
            STUDYBOT_METRICS_LISTEN="",
            STUDYBOT_LOG_FORMAT="json",
        )
        bot = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            env=env,
            cwd=tmp_path,
            stderr=asyncio.subprocess.PIPE,
        )
        await fake.wait_for_call("setMyCommands", timeout=60)
        assert "PyTorch" in await say(fake, "/start", chat=USER)
        bot.send_signal(signal.SIGTERM)
        _, err = await bot.communicate()
    assert bot.returncode == 0
    lines = [json.loads(line) for line in err.decode().splitlines()]
    assert lines and all({"time", "level", "logger", "event"} <= set(x) for x in lines)
    assert any(x["event"] == "bot stopped" for x in lines)
    assert TOKEN not in err.decode()


async def test_runner_logs_json_lines_too(tmp_path: Path) -> None:
    env = clean_env(
        STUDYBOT_RUNNER_SOCKET=str(tmp_path / "runner.sock"),
        STUDYBOT_RUN_POOL_SIZE="1",
        STUDYBOT_LOG_FORMAT="json",
    )
    runner = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.runner", env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
    )
    assert runner.stderr is not None
    lines = []
    while line := await runner.stderr.readline():
        lines.append(json.loads(line))
        if lines[-1]["event"].startswith("runner listening on "):
            break
    await wait_for_runner(f"unix:{tmp_path / 'runner.sock'}", runner)  # its SIGTERM handler is set
    runner.send_signal(signal.SIGTERM)
    rest, _ = await runner.communicate()
    lines += [json.loads(x) for x in (rest or b"").decode().splitlines()]
    assert await runner.wait() == 0
    assert any(x["event"].startswith("sandbox level ") for x in lines)
    assert all(x["logger"].startswith("bot.") for x in lines)

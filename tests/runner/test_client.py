"""The bot's client: crashes become results, the local runner gets only runner settings."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.runclient import (
    LocalRunner,
    RunnerClient,
    RunnerExited,
    RunnerUnavailable,
    runner_environment,
)
from bot.runner.protocol import RunRequest
from tests.runner.conftest import REPO, scaled


async def test_unreachable_runner_gives_crashed(tmp_path: Path) -> None:
    result = await RunnerClient(f"unix:{tmp_path / 'nothing.sock'}").run(RunRequest("1", "tg:1"))
    assert result.status == "crashed"
    with pytest.raises(RunnerUnavailable):
        await RunnerClient(f"unix:{tmp_path / 'nothing.sock'}").info()


async def test_runner_dying_mid_request_gives_crashed(tmp_path: Path) -> None:
    async def accept_then_die(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b'{"type": "queued", "position": 1}\n')
        await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(accept_then_die, str(tmp_path / "r.sock"))
    positions: list[int] = []

    async def on_queued(position: int) -> None:
        positions.append(position)

    async with server:
        result = await RunnerClient(f"unix:{tmp_path / 'r.sock'}").run(
            RunRequest("1", "tg:1"), on_queued
        )
    assert result.status == "crashed"
    assert positions == [1]


async def test_garbage_answer_gives_crashed(tmp_path: Path) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"\xff not json\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        result = await RunnerClient(f"tcp://127.0.0.1:{port}").run(RunRequest("1", "tg:1"))
    assert result.status == "crashed"


def test_local_runner_environment_has_no_bot_secrets(tmp_path: Path) -> None:
    settings = Settings(
        TELEGRAM_BOT_TOKEN=SecretStr("123:secret"),
        STUDYBOT_DATABASE=tmp_path / "bot.db",
        STUDYBOT_RUN_WALL_TIME=4.0,
        STUDYBOT_RUN_ALLOW=frozenset({("telegram", 1), ("discord", 2)}),
    )
    env = runner_environment(settings, tmp_path / "r.sock")
    assert not any(k.startswith("TELEGRAM") for k in env)
    assert "STUDYBOT_DATABASE" not in env and "STUDYBOT_RUN_ALLOW" not in env
    assert "123:secret" not in "".join(env.values())
    assert env["STUDYBOT_RUN_WALL_TIME"] == "4.0"
    assert env["STUDYBOT_RUNNER_SOCKET"] == str(tmp_path / "r.sock")
    assert set(env) <= {"PATH", "LANG", "PYTHONPATH"} | {
        k for k in env if k.startswith(("STUDYBOT_RUN", "STUDYBOT_SANDBOX_", "STUDYBOT_LOG"))
    }


async def test_local_runner_restarts_after_a_crash(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the runner needs root")
    settings = Settings(
        STUDYBOT_RUNNER_SOCKET=tmp_path / "local.sock",
        STUDYBOT_RUN_RATE_PER_MINUTE=1000,
        STUDYBOT_LOG_LEVEL="WARNING",
    )
    local = LocalRunner(settings)
    async with local as client:
        ok = await client.run(RunRequest("print('hi')", "tg:1"))
        assert (ok.status, ok.stdout) == ("ok", "hi\n")
        job = asyncio.create_task(client.run(RunRequest("import time\ntime.sleep(5)", "tg:2")))
        await asyncio.sleep(0.5)
        assert local.pid is not None
        os.kill(local.pid, signal.SIGKILL)
        assert (await job).status == "crashed"
        for _ in range(int(scaled(300))):  # restarted after a backoff of about a second
            await asyncio.sleep(0.1)
            again = await client.run(RunRequest("print('back')", "tg:3"))
            if again.status != "crashed":
                break
        assert (again.status, again.stdout) == ("ok", "back\n")


def test_runner_refuses_below_min_level() -> None:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(REPO),
        "STUDYBOT_SANDBOX_LEVEL": "basic",
        "STUDYBOT_SANDBOX_MIN_LEVEL": "strong",
    }
    out = subprocess.run(
        [sys.executable, "-m", "bot.runner"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "below STUDYBOT_SANDBOX_MIN_LEVEL=strong" in lines[0]


async def test_local_runner_that_refuses_to_start_says_why_in_the_error_only(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.model_validate(
        {
            "STUDYBOT_RUNNER_SOCKET": str(tmp_path / "runner.sock"),
            "STUDYBOT_SANDBOX_LEVEL": "basic",
            "STUDYBOT_SANDBOX_MIN_LEVEL": "strong",
        }
    )
    with pytest.raises(RunnerExited) as refused:
        async with LocalRunner(settings):
            pass
    assert refused.value.exit_code == 2
    assert "below STUDYBOT_SANDBOX_MIN_LEVEL=strong" in refused.value.said
    assert capfd.readouterr().err == ""  # held back, not printed on the terminal

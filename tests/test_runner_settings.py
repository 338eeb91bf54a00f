"""The runner's own settings and its TCP token: no bot secrets, no .env, no open API."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.config import Settings
from bot.runclient import RunnerClient, RunnerUnavailable
from bot.runner.protocol import RunRequest
from bot.runner.settings import RunnerSettings
from tests.conftest import clean_env
from tests.test_health_metrics import free_port

BOT_TOKEN = "123456789:AAH-a-bot-token-the-runner-must-never-hold"  # noqa: S105 - fake
RUNNER_TOKEN = "runner-token-0123456789abcdef"  # noqa: S105 - fake


@asynccontextmanager
async def tcp_runner(folder: Path, **extra: str) -> AsyncIterator[str]:
    """Start `studybot runner` on loopback TCP with a token in `folder`; yield its URL."""
    url = f"tcp://127.0.0.1:{free_port()}"
    env = clean_env(
        STUDYBOT_RUNNER_LISTEN=url, STUDYBOT_RUNNER_TOKEN=RUNNER_TOKEN, STUDYBOT_RUN_POOL_SIZE="1"
    )
    env.update(extra)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "runner", env=env, cwd=folder
    )
    try:
        # An authorized client tells when it is up.
        await wait_for_runner_with_token(url, proc)
        yield url
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


async def wait_for_runner_with_token(url: str, proc: asyncio.subprocess.Process) -> None:
    """Wait until the runner answers a client holding the token."""
    client = RunnerClient(url, RUNNER_TOKEN)
    while proc.returncode is None:
        try:
            await client.info()
            return
        except RunnerUnavailable:
            await asyncio.sleep(0.2)
    pytest.fail(f"the runner exited with {proc.returncode}")


async def test_runner_refuses_a_missing_or_wrong_token(tmp_path: Path) -> None:
    async with tcp_runner(tmp_path) as url:
        for token in (None, "wrong-token-0123456789", RUNNER_TOKEN[:-1]):
            with pytest.raises(RunnerUnavailable, match="refused: unauthorized"):
                await RunnerClient(url, token).info()
            result = await RunnerClient(url, token).run(RunRequest(code="print(1)", user_key="u"))
            assert result.status == "crashed"
            assert "unauthorized" in result.reason
        result = await RunnerClient(url, RUNNER_TOKEN).run(
            RunRequest(code="print(6 * 7)", user_key="u")
        )
        assert (result.status, result.stdout) == ("ok", "42\n")


async def test_runner_never_reads_the_bots_env_file_or_token(tmp_path: Path) -> None:
    # A .env meant for the bot sits in the runner's working folder: the runner ignores it.
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={BOT_TOKEN}\nSTUDYBOT_RUN_WALL_TIME=0.5\n", encoding="utf-8"
    )
    async with tcp_runner(tmp_path) as url:
        code = "import os, time\ntime.sleep(1)\nprint(sorted(os.environ.items()))"
        result = await RunnerClient(url, RUNNER_TOKEN).run(RunRequest(code=code, user_key="u"))
    assert result.status == "ok", result  # not cut at the .env's 0.5 s
    assert "TELEGRAM" not in result.stdout and BOT_TOKEN not in result.stdout


def test_runner_settings_hold_no_bot_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"TELEGRAM_BOT_TOKEN={BOT_TOKEN}\n", encoding="utf-8")
    assert Settings().telegram_bot_token is not None  # the bot reads it
    # The runner's settings have no field for a bot secret at all.
    assert not hasattr(RunnerSettings(), "telegram_bot_token")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("STUDYBOT_WEBHOOK_SECRET", "webhook-secret")
    settings = RunnerSettings()
    assert not hasattr(settings, "telegram_bot_token") and not hasattr(settings, "webhook_secret")
    assert "TELEGRAM_BOT_TOKEN" not in os.environ
    assert "STUDYBOT_WEBHOOK_SECRET" not in os.environ


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"STUDYBOT_RUNNER_URL": "tcp://runner:8765"}, "required when STUDYBOT_RUNNER_URL"),
        ({"STUDYBOT_RUNNER_LISTEN": "tcp://0.0.0.0:8765"}, "required when STUDYBOT_RUNNER_LISTEN"),
        ({"STUDYBOT_RUNNER_TOKEN": "short"}, "too short"),
    ],
)
def test_tcp_beyond_loopback_needs_a_token(values: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Settings.model_validate(values)
    if "STUDYBOT_RUNNER_TOKEN" not in values:
        settings = Settings.model_validate({**values, "STUDYBOT_RUNNER_TOKEN": RUNNER_TOKEN})
        assert settings.runner_token is not None


def test_loopback_tcp_needs_no_token() -> None:
    assert Settings.model_validate({"STUDYBOT_RUNNER_LISTEN": "tcp://127.0.0.1:8765"})


def test_runner_and_bot_settings_agree_on_the_runners_variables() -> None:
    # The bot declares the runner's variables too, to pass them on to a local runner.
    for name, field in RunnerSettings.model_fields.items():
        ours = Settings.model_fields[name]
        assert (ours.alias, ours.default, ours.annotation) == (
            field.alias,
            field.default,
            field.annotation,
        ), name
        assert ours.metadata == field.metadata, name

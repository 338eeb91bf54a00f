"""/healthz and /metrics of the bot and the runner, after a few updates and a run."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from bot.adapters.serve import serve
from bot.config import Settings
from bot.runclient import RunnerClient, RunnerUnavailable
from bot.runner.settings import parse_listen
from tests.conftest import clean_env
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram import TOKEN, say


def free_port() -> int:
    """Return a loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(url: str) -> tuple[int, str]:
    """GET a URL; return the status and the body."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def wait_for_runner(url: str, proc: asyncio.subprocess.Process) -> None:
    """Wait until the runner answers (or fail if it exits)."""
    client = RunnerClient(url)
    while proc.returncode is None:
        try:
            await client.info()
            return
        except RunnerUnavailable:
            await asyncio.sleep(0.2)
    pytest.fail(f"the runner exited with {proc.returncode}")


def sample(page: str, name: str, **labels: str) -> float:
    """Return the value of one sample of a Prometheus text page."""
    shown = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(f"{name}{{{shown}}}" if labels else name) + r" (\S+)\n"
    found = re.search("^" + pattern, page, re.MULTILINE)
    assert found, f"{name} {labels} not in the page"
    return float(found.group(1))


@asynccontextmanager
async def runner_process(
    tmp_path: Path,
) -> AsyncIterator[tuple[str, str, asyncio.subprocess.Process]]:
    """Start `python -m bot.runner` with its metrics on; yield its URL, metrics URL, process."""
    sock, port = tmp_path / "runner.sock", free_port()
    env = clean_env(
        STUDYBOT_RUNNER_SOCKET=str(sock),
        STUDYBOT_RUNNER_METRICS_LISTEN=f"127.0.0.1:{port}",
        STUDYBOT_RUN_POOL_SIZE="1",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.runner", env=env, cwd=tmp_path
    )
    try:
        await wait_for_runner(f"unix:{sock}", proc)
        yield f"unix:{sock}", f"http://127.0.0.1:{port}", proc
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


@pytest.fixture
async def runner(tmp_path: Path) -> AsyncIterator[tuple[str, str, asyncio.subprocess.Process]]:
    """A runner process for one test."""
    async with runner_process(tmp_path) as found:
        yield found


async def test_healthz_and_metrics_after_updates_and_a_run(
    make_settings: Callable[..., Settings],
    runner: tuple[str, str, asyncio.subprocess.Process],
) -> None:
    runner_url, runner_metrics, runner_proc = runner
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with FakeBotAPI(token=TOKEN) as fake:
        settings = make_settings(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=fake.base_url,
            STUDYBOT_RUNNER_URL=runner_url,
            STUDYBOT_METRICS_LISTEN=f"127.0.0.1:{port}",
            STUDYBOT_RUN_POOL_SIZE=1,
        )
        stop = asyncio.Event()
        bot = asyncio.create_task(serve(settings, stop))
        try:
            await fake.wait_for_call("setMyCommands", timeout=30)
            assert "PyTorch" in await say(fake, "/start")
            assert "Daily question" in await say(fake, "/daily")
            assert "<pre>2</pre>" in await say(fake, "/run print(1 + 1)")

            status, body = await get(f"{base}/healthz")
            assert status == 200, body
            report = json.loads(body)
            assert report["status"] == "ok"
            assert sorted(report["checks"]) == ["bot_api", "database", "runner", "scheduler"]
            assert all(c["ok"] for c in report["checks"].values())

            status, page = await get(f"{base}/metrics")
            assert status == 200
            assert sample(page, "studybot_updates_total", type="message") == 3
            assert sample(page, "studybot_command_seconds_count", command="start") == 1
            assert sample(page, "studybot_command_seconds_count", command="run") == 1
            assert sample(page, "studybot_runs_total", status="ok", device="cpu") == 1
            assert sample(page, "studybot_run_wait_seconds_count") == 1
            assert sample(page, "studybot_runs_in_flight") == 0
            assert sample(page, "studybot_run_pool_size") == 1
            assert sample(page, "studybot_sandbox_level") in {1, 2}
            assert sample(page, "studybot_daily_deliveries_total", outcome="sent") == 0

            status, page = await get(f"{runner_metrics}/metrics")
            assert status == 200
            assert sample(page, "studybot_runner_runs_total", status="ok", device="cpu") == 1
            assert sample(page, "studybot_runner_wait_seconds_count") == 1
            assert sample(page, "studybot_runner_queue_depth", lane="cpu") == 0
            assert sample(page, "studybot_runner_pool_size") == 1
            assert sample(page, "studybot_sandbox_level") in {1, 2}
            assert (await get(f"{runner_metrics}/nothing"))[0] == 404

            runner_proc.terminate()
            await runner_proc.wait()
            status, body = await get(f"{base}/healthz")
            assert status == 503
            report = json.loads(body)
            assert report["status"] == "unhealthy"
            assert not report["checks"]["runner"]["ok"]
            assert report["checks"]["database"]["ok"]
        finally:
            stop.set()
            await bot


@pytest.mark.parametrize("value", ["9464", "localhost", "host:99999", "host:port"])
def test_listen_address_must_be_host_and_port(value: str) -> None:
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        parse_listen(value)


def test_empty_listen_address_turns_metrics_off(make_settings: Callable[..., Settings]) -> None:
    assert make_settings(STUDYBOT_METRICS_LISTEN="").metrics_listen is None
    assert make_settings().runner_metrics_listen is None
    assert parse_listen("[::1]:9464") == ("::1", 9464)

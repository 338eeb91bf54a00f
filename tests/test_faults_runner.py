"""A runner that is gone, silent or cut off mid-job: /run says so in time, the bot keeps going.

The runner here is a stand-in Unix socket server speaking the runner's line protocol, so the
faults are exact (the real runner killed mid-job is in tests/test_telegram_run.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import pytest

from bot.app import Core
from bot.runclient import RunnerClient
from bot.runner.protocol import RunResult, dump_line, result_to_wire
from bot.services.runs import RUNNER_GRACE_S, RunService
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram import TOKEN, USER, running, say

WALL_S = 0.5
Mode = Literal["ok", "silent", "cut"]


class StandInRunner:
    """Answer run requests over a Unix socket as told: properly, never, or by hanging up."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mode: Mode = "ok"
        self.server: asyncio.Server | None = None
        self.requests = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        self.requests += 1
        if self.mode == "silent":
            with contextlib.suppress(ConnectionError):
                await reader.read()  # until the bot gives up and hangs up
        elif self.mode == "ok":
            result = RunResult("ok", 0, None, "cpu", 12.0, "hello\n", "", False)
            writer.write(dump_line(result_to_wire(result)))
            await writer.drain()
        writer.close()


@pytest.fixture
async def runner(tmp_path: Path) -> AsyncIterator[StandInRunner]:
    stand_in = StandInRunner(tmp_path / "runner.sock")
    stand_in.server = await asyncio.start_unix_server(stand_in.serve, path=str(stand_in.path))
    try:
        yield stand_in
    finally:
        stand_in.server.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api


def service(runner: StandInRunner) -> RunService:
    return RunService(RunnerClient(f"unix:{runner.path}"), frozenset(), wall_time_s=WALL_S)


@pytest.mark.parametrize("fault", ["silent", "cut", "deleted"])
async def test_runner_fault_answers_in_time_and_the_bot_keeps_working(
    core: Core, fake: FakeBotAPI, runner: StandInRunner, fault: str
) -> None:
    async with running(core, fake, service(runner)):
        if fault == "deleted":
            runner.path.unlink()
        else:
            runner.mode = "silent" if fault == "silent" else "cut"
        since = fake.mark()
        fake.send_message(USER, USER, "/run print('hello')")
        # The rest of the bot answers meanwhile.
        assert "PyTorch" in await say(fake, "/start", chat=USER + 1, user=USER + 1)
        # Without the bot's watchdog a silent runner would hold this /run for ever.
        reply = await fake.wait_for_call(
            "sendMessage",
            lambda c: "runner" in str(c.params.get("text")),
            chat_id=USER,
            since=since,
            timeout=WALL_S + RUNNER_GRACE_S + 5,
        )
        assert "try again" in str(reply.params["text"]).lower()
        if fault != "deleted":
            runner.mode = "ok"
            assert "hello" in await say(fake, "/run print('hello')")


async def test_a_quick_job_is_one_message_with_nothing_before_it(
    core: Core, fake: FakeBotAPI, runner: StandInRunner
) -> None:
    async with running(core, fake, service(runner)):
        since = fake.mark()
        assert "hello" in await say(fake, "/run print('hello')")
        await say(fake, "/help")  # a later update: anything the /run still did would show by now
        mine = [c.method for c in fake.calls(chat_id=USER) if c.seq >= since]
        assert mine == ["sendMessage", "sendMessage"]

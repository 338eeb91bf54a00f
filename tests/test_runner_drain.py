"""A runner that gets SIGTERM drains: it refuses new jobs, finishes those it took, then exits."""

from __future__ import annotations

import asyncio
import signal
import urllib.error
import urllib.request
from pathlib import Path

from bot.runclient import RunnerClient
from bot.runner.protocol import RunRequest
from tests.conftest import requires_root
from tests.test_health_metrics import runner_process

pytestmark = requires_root


def health(url: str) -> int:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as e:
        return e.code


async def until(check, seconds: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_sigterm_drains_the_jobs_taken_and_refuses_new_ones(tmp_path: Path) -> None:
    async with runner_process(tmp_path) as (url, metrics_url, proc):
        client = RunnerClient(url)
        assert (await client.info()).draining is False
        slow = asyncio.ensure_future(
            client.run(RunRequest("import time; time.sleep(2); print('done')", "user-a"))
        )

        async def taken() -> bool:
            return (await client.info()).running == 1

        await until(taken)
        proc.send_signal(signal.SIGTERM)

        async def draining() -> bool:
            return (await client.info()).draining

        await until(draining)
        assert await asyncio.to_thread(health, metrics_url) == 503
        refused = await client.run(RunRequest("print(1)", "user-b"))
        assert (refused.status, refused.reason) == ("rejected", "draining")
        finished = await asyncio.wait_for(slow, 30)
        assert (finished.status, finished.stdout) == ("ok", "done\n")
        assert await asyncio.wait_for(proc.wait(), 30) == 0


async def test_sigint_stops_at_once_without_waiting_for_the_jobs_taken(tmp_path: Path) -> None:
    # Ctrl-C at a terminal (or in the console, whose process group the runner shares).
    async with runner_process(tmp_path) as (url, _metrics_url, proc):
        client = RunnerClient(url)
        slow = asyncio.ensure_future(
            client.run(RunRequest("import time; time.sleep(60); print('done')", "user-a"))
        )

        async def taken() -> bool:
            return (await client.info()).running == 1

        await until(taken)
        proc.send_signal(signal.SIGINT)
        # The job is cut off by the stop, not left to its time limit (a drain would wait for
        # that, and answer "timeout").
        cut = await asyncio.wait_for(slow, 30)
        assert (cut.status, cut.reason) == ("crashed", "the runner closed the connection"), cut
        assert await asyncio.wait_for(proc.wait(), 30) == 0

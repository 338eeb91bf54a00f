"""Three runner processes on loopback behind one STUDYBOT_RUNNER_URL: stop, drain, kill mid-job."""

from __future__ import annotations

import asyncio
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest

from bot.adapters.run_render import status_line
from bot.metrics.bot import BotMetrics
from bot.runclient import RunnerClient
from bot.runfleet import NO_RUNNER, RUNNER_LOST, Fleet
from bot.runner.protocol import (
    RunnerInfo,
    RunRequest,
    RunResult,
    dump_line,
    info_to_wire,
    load_line,
    request_from_wire,
    result_to_wire,
)
from tests.conftest import clean_env, requires_root
from tests.test_health_metrics import free_port, sample, wait_for_runner

pytestmark = requires_root


@asynccontextmanager
async def runner_at(
    folder: Path, uids: int
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """Start `python -m bot.runner` on a loopback TCP port; yield its URL and process.

    Runners on one host, in one pid namespace, need uid ranges of their own: each cleans up
    after a job by its uid (as containers, each in its own pid namespace, need not).
    """
    url = f"tcp://127.0.0.1:{free_port()}"
    await asyncio.to_thread(folder.mkdir)
    env = clean_env(
        STUDYBOT_RUNNER_LISTEN=url,
        STUDYBOT_RUNNER_SOCKET=str(folder / "unused.sock"),
        STUDYBOT_RUN_POOL_SIZE="1",
        STUDYBOT_RUN_RATE_PER_MINUTE="100000",
        STUDYBOT_RUN_UID_RANGE=f"{uids}-{uids + 99}",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.runner", env=env, cwd=folder
    )
    try:
        await wait_for_runner(url, proc)
        yield url, proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def uid_ranges(n: int) -> list[int]:
    """Return the first uid of `n` ranges of 100, far from real users and from each other."""
    base = 2_000_000 + secrets.randbelow(20_000) * 1000
    return [base + i * 100 for i in range(n)]


async def taking(url: str) -> bool:
    return (await RunnerClient(url).info()).running >= 1


async def draining(url: str) -> bool:
    return (await RunnerClient(url).info()).draining


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def job(n: int, code: str | None = None, device: str = "cpu") -> RunRequest:
    return RunRequest(code or f"print('job {n}')", f"user-{n}", device=device)  # type: ignore[arg-type]


async def test_three_runners_stopped_drained_and_killed_lose_no_job_and_run_none_twice(
    tmp_path: Path,
) -> None:
    async with AsyncExitStack() as stack:
        runners = [
            await stack.enter_async_context(runner_at(tmp_path / n, first))
            for n, first in zip("abc", uid_ranges(3), strict=True)
        ]
        urls = [url for url, _ in runners]
        procs = dict(runners)
        fleet = Fleet(",".join(urls))
        metrics = BotMetrics()
        metrics.watch_fleet(fleet)

        # All up: jobs run once each, spread over the runners.
        results = await asyncio.gather(*(fleet.run(job(n)) for n in range(6)))
        assert [r.stdout for r in results] == [f"job {n}\n" for n in range(6)]
        assert len(fleet.stats.jobs) >= 2 and sum(fleet.stats.jobs.values()) == 6

        # A GPU job is never sent to a runner without a GPU.
        before = dict(fleet.stats.jobs)
        refused = await fleet.run(job(50, device="gpu"))
        assert (refused.status, refused.reason) == ("rejected", "no_gpu")
        assert fleet.stats.jobs == before

        # One stopped: its jobs go to the others (refused before they started: failover).
        stopped = urls[0]
        procs[stopped].kill()
        await procs[stopped].wait()
        results = await asyncio.gather(*(fleet.run(job(n)) for n in range(10, 16)))
        assert [r.stdout for r in results] == [f"job {n}\n" for n in range(10, 16)]
        assert fleet.stats.jobs.get(stopped, 0) == before.get(stopped, 0)

        # One drained while it runs a job it took: that job ends well, new ones go elsewhere.
        drained = urls[1]
        slow = asyncio.ensure_future(
            RunnerClient(drained).run(job(20, "import time; time.sleep(2); print('slow')"))
        )
        await until(lambda: taking(drained))
        procs[drained].send_signal(signal.SIGTERM)
        await until(lambda: draining(drained))
        taken = dict(fleet.stats.jobs)
        results = await asyncio.gather(*(fleet.run(job(n)) for n in range(30, 34)))
        assert [r.stdout for r in results] == [f"job {n}\n" for n in range(30, 34)]
        assert fleet.stats.jobs.get(drained, 0) == taken.get(drained, 0)
        assert fleet.stats.drains >= 1
        assert (await slow).stdout == "slow\n"
        assert await asyncio.wait_for(procs[drained].wait(), 30) == 0

        # The last one killed mid-job: the job may have run, so it is not run again.
        last = urls[2]
        running = asyncio.ensure_future(
            fleet.run(job(40, "import time; time.sleep(5); print('never twice')"))
        )
        await until(lambda: taking(last))
        procs[last].kill()
        lost = await asyncio.wait_for(running, 30)
        assert (lost.status, lost.reason) == ("crashed", RUNNER_LOST)

        page = metrics.render()[2].decode()
        assert sample(page, "studybot_fleet_failovers_total") >= 1
        assert sample(page, "studybot_fleet_drains_total") >= 1
        assert sample(page, "studybot_fleet_jobs_total", runner=last) >= 1


@asynccontextmanager
async def gpu_runner_stand_in() -> AsyncIterator[tuple[str, list[RunRequest]]]:
    """Stand in for a runner on a GPU host, which no machine of CI is.

    It speaks the runner's protocol (`bot/runner/protocol.py`): it reports cuda:0 and answers
    each job, without running it, with the device it would have used. Yield its URL and the
    requests it took.
    """
    taken: list[RunRequest] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            message = load_line(await reader.readline())
            if message["type"] == "info":
                answer = info_to_wire(RunnerInfo("strong", ("cpu", "cuda:0")))
            else:
                request = request_from_wire(message)
                taken.append(request)
                device = "cpu" if request.device == "cpu" else "cuda:0"
                stdout = f"{request.user_key} on {device}\n"
                answer = result_to_wire(RunResult("ok", 0, None, device, 1.0, stdout, "", False))
            writer.write(dump_line(answer))
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"tcp://127.0.0.1:{server.sockets[0].getsockname()[1]}", taken
    finally:
        server.close()
        await server.wait_closed()


async def test_gpu_jobs_go_only_to_the_runner_with_a_gpu(tmp_path: Path) -> None:
    async with runner_at(tmp_path / "cpu", uid_ranges(1)[0]) as (cpu_url, _):
        async with gpu_runner_stand_in() as (gpu_url, taken):
            fleet = Fleet(f"{cpu_url},{gpu_url}")
            gpu_jobs = await asyncio.gather(*(fleet.run(job(n, device="gpu")) for n in range(6)))
            # A burst right at start: each job waits for the first check; none finds "no GPU".
            answers = [(r.status, r.reason, r.stdout) for r in gpu_jobs]
            assert answers == [("ok", "", f"user-{n} on cuda:0\n") for n in range(6)]
            assert sorted(r.user_key for r in taken) == [f"user-{n}" for n in range(6)]
            assert fleet.stats.jobs == {gpu_url: 6}  # not one to the runner without a GPU
            # "auto" uses a GPU where the fleet has one, as a single runner with one would.
            auto = await fleet.run(job(10, device="auto"))
            assert (auto.device, fleet.stats.jobs[gpu_url]) == ("cuda:0", 7)
            # CPU jobs go to either: the runner without a GPU takes its share, and runs it.
            cpu_jobs = await asyncio.gather(*(fleet.run(job(n)) for n in range(20, 26)))
            assert {r.status for r in cpu_jobs} == {"ok"}
            assert fleet.stats.jobs.get(cpu_url, 0) >= 1
        # The GPU runner gone: a GPU job is refused as "try again" (the fleet has a GPU, down
        # just now), and still never sent to the runner without one.
        ran_on_cpu = fleet.stats.jobs.get(cpu_url, 0)
        refused = await fleet.run(job(30, device="gpu"))
        assert (refused.status, refused.reason) == ("rejected", NO_RUNNER)
        assert fleet.stats.jobs.get(cpu_url, 0) == ran_on_cpu
        assert len(taken) == 7 + 6 - ran_on_cpu


async def test_a_job_no_runner_can_take_is_refused_with_a_line_that_says_so(
    tmp_path: Path,
) -> None:
    # Sockets nobody listens on: a job refused by every runner is not taken for a crash.
    fleet = Fleet(f"unix:{tmp_path / 'a.sock'},unix:{tmp_path / 'b.sock'}")
    result = await fleet.run(job(1))
    assert (result.status, result.reason) == ("rejected", NO_RUNNER)
    assert fleet.stats.failovers == 2 and not fleet.stats.jobs
    assert "No runner can take code just now" in status_line("en", result, 10)


async def test_a_name_that_resolves_to_many_addresses_is_many_runners(tmp_path: Path) -> None:
    async with runner_at(tmp_path / "a", uid_ranges(1)[0]) as (url, _proc):
        port = url.rsplit(":", 1)[1]
        # "localhost" resolves to 127.0.0.1 (and ::1 where IPv6 is on): each address a runner.
        fleet = Fleet(f"tcp://localhost:{port}")
        await fleet.refresh(force=True)
        assert "tcp://127.0.0.1:" + port in [m.url for m in fleet.members]
        result = await fleet.run(job(1))
        assert result.stdout == "job 1\n"


def test_a_list_of_runners_is_valid_config_and_a_bad_one_is_named(make_settings) -> None:  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    ok = make_settings(STUDYBOT_RUNNER_URL="tcp://127.0.0.1:1, tcp://127.0.0.1:2")
    assert ok.runner_url == "tcp://127.0.0.1:1,tcp://127.0.0.1:2"
    with pytest.raises(ValidationError, match=r"STUDYBOT_RUNNER_URL|runner_url"):
        make_settings(STUDYBOT_RUNNER_URL="tcp://127.0.0.1:1,tcp://nope")
    with pytest.raises(ValidationError, match=r"STUDYBOT_RUNNER_TOKEN|runner_token"):
        make_settings(STUDYBOT_RUNNER_URL="tcp://127.0.0.1:1,tcp://10.0.0.9:2")

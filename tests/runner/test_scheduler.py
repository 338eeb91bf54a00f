"""Scheduling: per-user exclusivity, the sliding rate limit, device lanes and queue positions.

A fake executor stands in for the sandbox so these run in milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bot.runner.protocol import RunFile, RunRequest, RunResult
from bot.runner.scheduler import Scheduler


class FakeExecutor:
    """Jobs block until the test releases them; records what ran where."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.gates: dict[str, asyncio.Event] = {}  # per-job gates, used instead when present
        self.started: list[tuple[str, str]] = []
        self.running = 0
        self.max_running = 0

    async def __call__(self, code: str, device: str, files: tuple[RunFile, ...] = ()) -> RunResult:
        self.started.append((code, device))
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await self.gates.get(code, self.release).wait()
        finally:
            self.running -= 1
        return RunResult("ok", 0, None, device, 1.0, code, "", False)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(
    executor: FakeExecutor,
    clock: Clock | None = None,
    *,
    gpus: tuple[str, ...] = (),
    cpu: int = 1,
    rate: int = 5,
    max_code: int = 100,
) -> Scheduler:
    return Scheduler(
        executor,
        gpus=gpus,
        cpu_concurrency=cpu,
        gpu_concurrency=1,
        rate_per_minute=rate,
        max_code_bytes=max_code,
        clock=clock or Clock(),
    )


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_one_job_per_user() -> None:
    executor = FakeExecutor()
    scheduler = make(executor)
    first = asyncio.create_task(scheduler.submit(RunRequest("a", "tg:1")))
    await settle()
    assert (await scheduler.submit(RunRequest("b", "tg:1"))).reason == "busy"
    executor.release.set()
    assert (await first).status == "ok"
    assert (await scheduler.submit(RunRequest("c", "tg:1"))).status == "ok"


async def test_queued_job_also_counts_as_the_users_one_job() -> None:
    executor = FakeExecutor()
    scheduler = make(executor)
    running = asyncio.create_task(scheduler.submit(RunRequest("a", "tg:1")))
    queued = asyncio.create_task(scheduler.submit(RunRequest("b", "tg:2")))
    await settle()
    assert (await scheduler.submit(RunRequest("c", "tg:2"))).reason == "busy"
    executor.release.set()
    await asyncio.gather(running, queued)


async def test_rate_limit_sliding_window() -> None:
    executor = FakeExecutor()
    executor.release.set()
    clock = Clock()
    scheduler = make(executor, clock, rate=2)
    assert (await scheduler.submit(RunRequest("a", "tg:1"))).status == "ok"
    clock.now += 20
    assert (await scheduler.submit(RunRequest("b", "tg:1"))).status == "ok"
    clock.now += 10
    limited = await scheduler.submit(RunRequest("c", "tg:1"))
    assert (limited.status, limited.reason, limited.retry_after_s) == (
        "rejected",
        "rate_limited",
        30.0,
    )
    assert (await scheduler.submit(RunRequest("d", "tg:2"))).status == "ok"  # per user
    clock.now += 30  # the first run left the window
    assert (await scheduler.submit(RunRequest("e", "tg:1"))).status == "ok"


async def test_rejections_do_not_use_up_the_rate() -> None:
    executor = FakeExecutor()
    executor.release.set()
    scheduler = make(executor, rate=1)
    assert (await scheduler.submit(RunRequest("x" * 101, "tg:1"))).reason == "too_large"
    assert (await scheduler.submit(RunRequest("a", "tg:1"))).status == "ok"


async def test_queue_positions_are_streamed_in_order() -> None:
    executor = FakeExecutor()
    executor.gates = {code: asyncio.Event() for code in "abc"}
    scheduler = make(executor, cpu=1)
    positions: dict[str, list[int]] = {"b": [], "c": []}

    def recorder(key: str) -> Callable[[int], Awaitable[None]]:
        async def on_queued(position: int) -> None:
            positions[key].append(position)

        return on_queued

    a = asyncio.create_task(scheduler.submit(RunRequest("a", "tg:a")))
    await settle()
    b = asyncio.create_task(scheduler.submit(RunRequest("b", "tg:b"), recorder("b")))
    await settle()
    c = asyncio.create_task(scheduler.submit(RunRequest("c", "tg:c"), recorder("c")))
    await settle()
    assert positions == {"b": [1], "c": [2]}
    executor.gates["a"].set()
    await a
    await settle()
    assert positions == {"b": [1], "c": [2, 1]}
    assert executor.running == 1
    for gate in executor.gates.values():
        gate.set()
    await asyncio.gather(b, c)
    assert [code for code, _ in executor.started] == ["a", "b", "c"]
    assert executor.max_running == 1


async def test_cpu_concurrency_limit() -> None:
    executor = FakeExecutor()
    scheduler = make(executor, cpu=2)
    tasks = [asyncio.create_task(scheduler.submit(RunRequest(str(i), f"tg:{i}"))) for i in range(5)]
    await settle()
    assert executor.running == 2
    executor.release.set()
    assert all(r.status == "ok" for r in await asyncio.gather(*tasks))
    assert executor.max_running == 2


async def test_cancelled_waiter_leaves_the_queue() -> None:
    executor = FakeExecutor()
    scheduler = make(executor, cpu=1)
    a = asyncio.create_task(scheduler.submit(RunRequest("a", "tg:a")))
    await settle()
    b = asyncio.create_task(scheduler.submit(RunRequest("b", "tg:b")))
    await settle()
    b.cancel()
    with pytest.raises(asyncio.CancelledError):
        await b
    c_positions: list[int] = []

    async def on_queued(position: int) -> None:
        c_positions.append(position)

    c = asyncio.create_task(scheduler.submit(RunRequest("c", "tg:c"), on_queued))
    await settle()
    assert c_positions == [1]
    executor.release.set()
    await asyncio.gather(a, c)
    assert (await scheduler.submit(RunRequest("b2", "tg:b"))).status == "ok"  # user freed


async def test_devices() -> None:
    executor = FakeExecutor()
    executor.release.set()
    cpu_only = make(executor)
    assert (await cpu_only.submit(RunRequest("x", "tg:1", "gpu"))).reason == "no_gpu"
    assert (await cpu_only.submit(RunRequest("x", "tg:1", "auto"))).device == "cpu"
    with_gpu = make(executor, gpus=("cuda:0",))
    assert (await with_gpu.submit(RunRequest("x", "tg:2", "auto"))).device == "cuda:0"
    assert (await with_gpu.submit(RunRequest("x", "tg:3", "cpu"))).device == "cpu"


async def test_gpu_jobs_serialized_per_gpu() -> None:
    executor = FakeExecutor()
    scheduler = make(executor, gpus=("cuda:0",), cpu=2)
    tasks = [
        asyncio.create_task(scheduler.submit(RunRequest(str(i), f"tg:{i}", "gpu")))
        for i in range(3)
    ]
    await settle()
    assert executor.running == 1
    executor.release.set()
    await asyncio.gather(*tasks)
    assert executor.max_running == 1


async def test_closed_scheduler_rejects() -> None:
    scheduler = make(FakeExecutor())
    scheduler.closed = True
    assert (await scheduler.submit(RunRequest("a", "tg:1"))).reason == "disabled"

"""Fair use of the sandbox: per-device concurrency, one job per user, a rate limit, a queue.

Decisions, in order: too large, device unavailable, the user already has a job running or
queued ("busy"), the user's sliding one-minute window is full ("rate_limited", with the seconds
until a slot frees). Accepted jobs wait in a FIFO per device kind; each waiter is told its
position whenever it changes.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable

from bot.runner.protocol import RunFile, RunRequest, RunResult

# (code, "cpu" | "cuda:N", input files) -> result
Execute = Callable[[str, str, tuple[RunFile, ...]], Awaitable[RunResult]]
OnQueued = Callable[[int], Awaitable[None]]
RATE_WINDOW_S = 60.0


class _Waiter:
    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.device: str | None = None


class Lane:
    """A FIFO of jobs for one kind of device, with a fixed number of running slots."""

    def __init__(self, devices: tuple[str, ...], per_device: int) -> None:
        self._free = [d for d in devices for _ in range(per_device)]
        self._waiters: list[_Waiter] = []

    @property
    def queued(self) -> int:
        """Return how many jobs wait for a slot."""
        return len(self._waiters)

    async def acquire(self, on_queued: OnQueued | None) -> str:
        """Wait for a slot, reporting queue positions; return the device the slot is on."""
        if self._free and not self._waiters:
            return self._free.pop(0)
        waiter = _Waiter()
        self._waiters.append(waiter)
        last = 0
        try:
            while waiter.device is None:
                waiter.wake.clear()
                position = self._waiters.index(waiter) + 1
                if position != last and on_queued is not None:
                    last = position
                    await on_queued(position)
                if waiter.device is None and not waiter.wake.is_set():
                    await waiter.wake.wait()
        except BaseException:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
                self._wake_all()
            elif waiter.device is not None:
                self.release(waiter.device)
            raise
        return waiter.device

    def release(self, device: str) -> None:
        """Give the slot to the first waiter, or free it."""
        if self._waiters:
            waiter = self._waiters.pop(0)
            waiter.device = device
            waiter.wake.set()
            self._wake_all()
        else:
            self._free.append(device)

    def _wake_all(self) -> None:
        for waiter in self._waiters:
            waiter.wake.set()


class Scheduler:
    """Admits, queues and runs jobs through `execute`."""

    def __init__(
        self,
        execute: Execute,
        *,
        gpus: tuple[str, ...],
        cpu_concurrency: int,
        gpu_concurrency: int,
        rate_per_minute: int,
        max_code_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._execute = execute
        self._gpus = gpus
        self._lanes = {"cpu": Lane(("cpu",), cpu_concurrency)}
        if gpus:
            self._lanes["gpu"] = Lane(gpus, gpu_concurrency)
        self._rate = rate_per_minute
        self._max_code_bytes = max_code_bytes
        self._clock = clock
        self._active: set[str] = set()
        self._recent: defaultdict[str, deque[float]] = defaultdict(deque)
        self.closed = False

    async def submit(self, request: RunRequest, on_queued: OnQueued | None = None) -> RunResult:
        """Admit the request, wait for a slot and run it; rejections come back as results."""
        if self.closed:
            return RunResult.rejected("disabled")
        if len(request.code.encode("utf-8", errors="surrogatepass")) > self._max_code_bytes:
            return RunResult.rejected("too_large")
        lane_name = (
            "gpu" if request.device == "gpu" or (request.device == "auto" and self._gpus) else "cpu"
        )
        if lane_name == "gpu" and not self._gpus:
            return RunResult.rejected("no_gpu")
        user = request.user_key
        if user in self._active:
            return RunResult.rejected("busy")
        retry_after = self._take_rate_slot(user)
        if retry_after is not None:
            return RunResult.rejected("rate_limited", retry_after_s=retry_after)
        self._active.add(user)
        try:
            lane = self._lanes[lane_name]
            device = await lane.acquire(on_queued)
            try:
                return await self._execute(request.code, device, request.files)
            finally:
                lane.release(device)
        finally:
            self._active.discard(user)

    def _take_rate_slot(self, user: str) -> float | None:
        now = self._clock()
        if len(self._recent) > 10_000:  # forget users whose window is empty
            for key in [k for k, v in self._recent.items() if now - v[-1] >= RATE_WINDOW_S]:
                del self._recent[key]
        recent = self._recent[user]
        while recent and now - recent[0] >= RATE_WINDOW_S:
            recent.popleft()
        if len(recent) >= self._rate:
            return round(RATE_WINDOW_S - (now - recent[0]), 1)
        recent.append(now)
        return None

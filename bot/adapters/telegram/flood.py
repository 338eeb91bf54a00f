"""Telegram's flood limits as sliding windows, on top of PTB's AIORateLimiter.

AIORateLimiter meters requests with leaky buckets (aiolimiter): a group's bucket of 20 per minute
lets 20 requests through at once and then one every 3 s, so any 60 s window can see almost 40.
Telegram counts messages per minute, so a quiz that closes polls early would earn 429s. These
windows never let more than `limit` requests through within `period` seconds, counted from the
answers to the earlier ones.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from types import TracebackType

from telegram.constants import FloodLimit
from telegram.ext import AIORateLimiter


class SlidingWindow:
    """An async context manager that admits at most `limit` entries per `period` seconds.

    A slot is free again `period` after its request was *answered*, not after it started:
    Telegram counts a message when it arrives, which is some time after the bot let it go
    and before the answer comes back, so counting from the answer can never earn a 429
    however late a request reaches the server (a busy event loop, a slow network).
    """

    def __init__(
        self, limit: int, period: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        # One cell per request in the window: [end time], or [inf] while it is in flight.
        self._cells: deque[list[float]] = deque()
        self._lock = asyncio.Lock()
        self._mine: ContextVar[list[float] | None] = ContextVar(f"window-{id(self)}", default=None)
        self._freed = asyncio.Event()

    @property
    def _starts(self) -> deque[list[float]]:
        return self._cells  # the idle check of FloodLimiter looks at the last entry

    async def acquire(self) -> None:
        """Wait until one more request fits in the window, and count it."""
        async with self._lock:  # first come, first served
            while True:
                now = self._clock()
                self._cells = deque(c for c in self._cells if now - c[0] < self.period)
                if len(self._cells) < self.limit:
                    cell = [math.inf]
                    self._cells.append(cell)
                    self._mine.set(cell)
                    return
                oldest = min(c[0] for c in self._cells)
                self._freed.clear()
                if math.isinf(oldest):
                    await self._freed.wait()  # every slot is in flight: wait for an answer
                else:
                    await asyncio.sleep(self.period - (now - oldest) + 0.001)

    def release(self) -> None:
        """Start the slot's period now: its request has been answered."""
        cell = self._mine.get()
        if cell is not None:
            cell[0] = self._clock()
            self._mine.set(None)
            self._freed.set()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class FloodLimiter(AIORateLimiter):
    """AIORateLimiter with sliding windows: 30 requests per second overall, 20 per minute a group.

    The periods are parameters so that tests can shrink a minute without changing the rule.
    """

    def __init__(
        self,
        *,
        overall: int = FloodLimit.MESSAGES_PER_SECOND,
        overall_period: float = 1.0,
        group: int = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        group_period: float = 60.0,
        max_retries: int = 0,
    ) -> None:
        super().__init__(
            overall_max_rate=overall,
            overall_time_period=overall_period,
            group_max_rate=group,
            group_time_period=group_period,
            max_retries=max_retries,
        )
        # AIORateLimiter enters these with `async with`; a window keeps the same contract.
        self._base_limiter = SlidingWindow(overall, overall_period)  # type: ignore[assignment]
        self._windows: dict[str | int | bool, SlidingWindow] = {}

    def _get_group_limiter(self, group_id: str | int | bool) -> SlidingWindow:  # type: ignore[override]
        window = self._windows.get(group_id)
        if window is None:
            if len(self._windows) > 512:  # forget idle groups, as AIORateLimiter does
                now = time.monotonic()
                for key, old in list(self._windows.items()):
                    if not old._starts or now - old._starts[-1][0] > old.period:
                        del self._windows[key]
            window = self._windows[group_id] = SlidingWindow(
                int(self._group_max_rate), self._group_time_period
            )
        return window

"""Telegram's flood limits as sliding windows, on top of PTB's AIORateLimiter.

AIORateLimiter meters requests with leaky buckets (aiolimiter): a group's bucket of 20 per minute
lets 20 requests through at once and then one every 3 s, so any 60 s window can see almost 40.
Telegram counts messages per minute, so a quiz that closes polls early would earn 429s. These
windows never let more than `limit` requests start within any `period` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

from telegram.constants import FloodLimit
from telegram.ext import AIORateLimiter


class SlidingWindow:
    """An async context manager that admits at most `limit` entries per `period` seconds."""

    def __init__(
        self, limit: int, period: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        # A request admitted here reaches Telegram a little later than the one it waited for
        # may have; 5 % of slack keeps that jitter from earning a 429.
        self.period = period * 1.05
        self._clock = clock
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more request fits in the window, and count it."""
        async with self._lock:  # first come, first served
            while True:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self.period:
                    self._starts.popleft()
                if len(self._starts) < self.limit:
                    self._starts.append(now)
                    return
                await asyncio.sleep(self.period - (now - self._starts[0]) + 0.001)

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


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
                    if not old._starts or now - old._starts[-1] > old.period:
                        del self._windows[key]
            window = self._windows[group_id] = SlidingWindow(
                int(self._group_max_rate), self._group_time_period
            )
        return window

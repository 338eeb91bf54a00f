"""One-shot timers of the services (daily questions, reminders, quiz steps), keyed by a stable id.

Deadlines are given in the injected clock's time; the scheduler waits the same span of real
time. `run_due` fires at once every timer whose deadline the clock has passed: at start-up
(overdue work runs at once) and in tests that move the clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.clock import Clock
from bot.errors import DatabaseDamaged

log = logging.getLogger(__name__)

Callback = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class _Timer:
    when: datetime
    token: int
    callback: Callback


class Timers:
    """Run a coroutine once at a time; scheduling the same key again replaces the timer."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._timers: dict[str, _Timer] = {}
        self._tokens = itertools.count(1)
        self._running: set[asyncio.Task[None]] = set()
        self._due: set[asyncio.Task[None]] = set()  # timers due when set, started at once
        self._stopped = False

    def start(self) -> None:
        """Start the scheduler (needs a running event loop); again after a shutdown too."""
        self._stopped = False
        if not self._scheduler.running:
            self._scheduler.start()

    @property
    def running(self) -> bool:
        """Return True while the scheduler runs."""
        return bool(self._scheduler.running)

    @property
    def pending(self) -> int:
        """Return how many timers wait to fire."""
        return len(self._timers)

    async def shutdown(self) -> None:
        """Stop the scheduler and wait for timers that are firing right now.

        A timer set from then on is dropped: whatever it would do is in the database, where
        the next start finds it.
        """
        first = not self._stopped
        self._stopped = True
        if first and self._scheduler.running:
            self._scheduler.pause()  # no new firing; the scheduler's shutdown would cancel them
        self._timers.clear()  # a due task not started yet finds no timer and returns
        if self._running or self._due:
            await asyncio.gather(*self._running, *self._due, return_exceptions=True)
        if first and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down in a callback of the loop

    def at(self, key: str, when: datetime, callback: Callback) -> None:
        """Call `callback` once the clock reaches `when` (at once if it has)."""
        if self._stopped:
            log.debug("timer %s not set: the timers are shutting down", key)
            return
        timer = _Timer(when, next(self._tokens), callback)
        self._timers[key] = timer
        delay = max(0.0, (when - self.clock.now()).total_seconds())
        if delay == 0 and self._scheduler.running:
            # Due already (a catch-up at start-up, a late retry): a task now, not a scheduler
            # job, whose creation, wake-up and pass over the due jobs cost more than the work
            # when 10,000 chats catch up at once. A job left by an earlier timer of this key
            # fires as a no-op (its token is stale); it is dropped here all the same.
            if self._scheduler.get_job(key) is not None:
                self._scheduler.remove_job(key)
            task = asyncio.get_running_loop().create_task(self._fire(key, timer.token))
            self._due.add(task)
            task.add_done_callback(self._due.discard)
            return
        self._scheduler.add_job(
            self._fire,
            DateTrigger(datetime.now(UTC) + timedelta(seconds=delay)),
            args=[key, timer.token],
            id=key,
            replace_existing=True,
            misfire_grace_time=None,  # late is better than never: a session must not stall
        )

    def cancel(self, key: str) -> None:
        """Forget a timer, if any."""
        if self._timers.pop(key, None) is not None and self._scheduler.get_job(key) is not None:
            self._scheduler.remove_job(key)

    def when(self, key: str) -> datetime | None:
        """Return when a timer is due, or None if there is none."""
        timer = self._timers.get(key)
        return timer.when if timer else None

    async def run_due(self) -> int:
        """Fire every timer whose time has come by the clock; return how many fired."""
        now = self.clock.now()
        due = [(k, t.token) for k, t in self._timers.items() if t.when <= now]
        for key, token in due:
            await self._fire(key, token)
        return len(due)

    async def _fire(self, key: str, token: int) -> None:
        timer = self._timers.get(key)
        if timer is None or timer.token != token:
            return  # replaced or cancelled meanwhile
        del self._timers[key]
        if self._scheduler.get_job(key) is not None:
            self._scheduler.remove_job(key)
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await timer.callback()
        except DatabaseDamaged:
            pass  # logged once where it was met
        except Exception:
            log.exception("timer %s failed", key)
        finally:
            if task is not None:
                self._running.discard(task)

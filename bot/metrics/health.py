"""/healthz: named checks run together, each with a deadline; 200 if all pass, else 503."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping

from bot.app import Core
from bot.metrics.bot import BotMetrics
from bot.services.runs import RunService
from bot.services.timers import Timers
from bot.storage.database import Database

# A check returns a short detail when it passes and raises (with the reason) when it fails.
Check = Callable[[], Awaitable[str]]
CHECK_TIMEOUT_S = 3.0


class Unhealthy(Exception):
    """A health check failed; the message says why."""


class Health:
    """Run the checks and answer /healthz."""

    def __init__(self, checks: Mapping[str, Check], timeout_s: float = CHECK_TIMEOUT_S) -> None:
        self.checks = dict(checks)
        self.timeout_s = timeout_s

    async def run_one(self, check: Check) -> tuple[bool, str]:
        """Run one check: (passed, detail)."""
        try:
            return True, await asyncio.wait_for(check(), self.timeout_s)
        except TimeoutError:
            return False, f"no answer within {self.timeout_s:g} s"
        except Exception as e:
            return False, str(e) or type(e).__name__

    async def report(self) -> dict[str, tuple[bool, str]]:
        """Run every check at once; return (passed, detail) by name."""
        results = await asyncio.gather(*(self.run_one(c) for c in self.checks.values()))
        return dict(zip(self.checks, results, strict=True))

    async def render(self) -> tuple[int, str, bytes]:
        """Return the /healthz response: JSON with each check, 200 or 503."""
        report = await self.report()
        healthy = all(ok for ok, _ in report.values())
        body = {
            "status": "ok" if healthy else "unhealthy",
            "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in report.items()},
        }
        text = json.dumps(body, indent=1, ensure_ascii=False) + "\n"
        return (200 if healthy else 503), "application/json", text.encode()


def database_check(db: Database) -> Check:
    """Check the database takes a write lock (a read-only or locked file fails)."""

    async def check() -> str:
        async with db.transaction():
            pass
        return "writable"

    return check


def runner_check(runs: RunService, metrics: BotMetrics, pool_size: int) -> Check:
    """Check the runner answers; record its sandbox level in the metrics."""

    async def check() -> str:
        client = runs.client
        info = getattr(client, "info", None)
        if info is None:
            metrics.runner_seen(None, pool_size)
            raise Unhealthy("starting" if runs.warming else "/run is off: no runner")
        try:
            answer = await info()
        except Exception:
            metrics.runner_seen(None, pool_size)
            raise
        metrics.runner_seen(answer.level, pool_size)
        return f"level {answer.level}, devices {', '.join(answer.devices)}"

    return check


def scheduler_check(timers: Timers) -> Check:
    """Check the services' scheduler (daily questions, reminders, quiz steps) is running."""

    async def check() -> str:
        if not timers.running:
            raise Unhealthy("the scheduler is not running")
        return f"{timers.pending} timer(s)"

    return check


def core_checks(core: Core, runs: RunService, metrics: BotMetrics) -> dict[str, Check]:
    """Return the checks every adapter shares: the database, the scheduler and the runner."""
    return {
        "database": database_check(core.db),
        "scheduler": scheduler_check(core.timers),
        "runner": runner_check(runs, metrics, core.settings.run_pool_size),
    }

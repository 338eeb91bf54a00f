"""The runner's Prometheus metrics: runs, queues, waits, its pool and its sandbox level."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.runner.protocol import RunFile, RunRequest, RunResult
from bot.runner.scheduler import Execute, Lane, OnQueued, Scheduler

# The sandbox level as a number, so an alert can say "below strong" (-1: unknown).
LEVEL_VALUES = {"none": 0, "basic": 1, "strong": 2}
WAIT_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

# When the request now being handled (in this task) was submitted, for its wait time.
_SUBMITTED: contextvars.ContextVar[float] = contextvars.ContextVar("studybot_submitted")


class RunnerMetrics:
    """Counters and gauges of one runner process, on a registry of its own."""

    def __init__(self, level: str, pool_size: int) -> None:
        self.registry = r = CollectorRegistry()
        self.runs = Counter(
            "studybot_runner_runs", "Runs by status and device", ["status", "device"], registry=r
        )
        self.wait = Histogram(
            "studybot_runner_wait_seconds",
            "Time an accepted run waited in the queue for a slot",
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.queue = Gauge(
            "studybot_runner_queue_depth", "Runs waiting for a slot, by lane", ["lane"], registry=r
        )
        Gauge("studybot_runner_pool_size", "Warm sandbox workers kept", registry=r).set(pool_size)
        Gauge(
            "studybot_sandbox_level",
            "The sandbox level: 0 none, 1 basic, 2 strong",
            registry=r,
        ).set(LEVEL_VALUES.get(level, -1))

    def render(self) -> tuple[int, str, bytes]:
        """Return the /metrics response."""
        return 200, CONTENT_TYPE_LATEST, generate_latest(self.registry)


def _depth(lane: Lane) -> Callable[[], float]:
    return lambda: float(lane.queued)


class MeteredScheduler(Scheduler):
    """The runner's scheduler, counting each run, its wait and the queue of each lane."""

    def __init__(self, execute: Execute, *, metrics: RunnerMetrics, **limits: Any) -> None:
        self.metrics = metrics
        super().__init__(self._timed(execute), **limits)
        for name, lane in self._lanes.items():
            metrics.queue.labels(name).set_function(_depth(lane))

    def _timed(self, execute: Execute) -> Execute:
        async def run(code: str, device: str, files: tuple[RunFile, ...]) -> RunResult:
            submitted = _SUBMITTED.get(None)
            if submitted is not None:
                self.metrics.wait.observe(time.monotonic() - submitted)
            return await execute(code, device, files)

        return run

    async def submit(self, request: RunRequest, on_queued: OnQueued | None = None) -> RunResult:
        """Submit as the scheduler does, and count the result."""
        token = _SUBMITTED.set(time.monotonic())
        try:
            result = await super().submit(request, on_queued)
        finally:
            _SUBMITTED.reset(token)
        self.metrics.runs.labels(result.status, result.device or "none").inc()
        return result

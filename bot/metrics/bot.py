"""The bot's Prometheus metrics, fed by small hooks on the services and the adapter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _generate
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.runfleet import Fleet
from bot.runner.protocol import RunResult

# The sandbox level as a number, so an alert can say "below strong" (-1: unknown).
LEVEL_VALUES = {"none": 0, "basic": 1, "strong": 2}
# How the daily job's outcomes are counted: "failed" there means "retried in a few minutes".
DELIVERY_OUTCOMES = {"sent": "sent", "failed": "retried", "gone": "failed", "refused": "failed"}
COMMAND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
WAIT_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class Outcome(Protocol):
    """A daily delivery's outcome (as bot.services.daily gives it): all metrics read of it."""

    @property
    def status(self) -> str:
        """Its status: sent, failed, gone, refused, or another that is not counted."""
        ...


def exposition(registry: CollectorRegistry) -> tuple[int, str, bytes]:
    """Render a registry in the Prometheus text format, as an HTTP response."""
    return 200, CONTENT_TYPE_LATEST, _generate(registry)


class BotMetrics:
    """Counters and histograms of one bot process, on a registry of its own."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.updates = Counter(
            "studybot_updates",
            "Telegram updates and Discord interactions handled, by type",
            ["type"],
            registry=r,
        )
        self.commands = Histogram(
            "studybot_command_seconds",
            "Time to answer a command, by command",
            ["command"],
            buckets=COMMAND_BUCKETS,
            registry=r,
        )
        self.deliveries = Counter(
            "studybot_daily_deliveries",
            "Scheduled daily questions: sent, failed (not today) or retried (in a few minutes)",
            ["outcome"],
            registry=r,
        )
        self.runs = Counter(
            "studybot_runs", "/run results by status and device", ["status", "device"], registry=r
        )
        self.run_wait = Histogram(
            "studybot_run_wait_seconds",
            "Time a /run waited for the runner before its code started",
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.runs_in_flight = Gauge(
            "studybot_runs_in_flight", "/run requests the runner has not answered", registry=r
        )
        self.pool_size = Gauge(
            "studybot_run_pool_size", "Warm sandbox workers the runner keeps", registry=r
        )
        self.sandbox_level = Gauge(
            "studybot_sandbox_level",
            "The runner's sandbox level: 0 none, 1 basic, 2 strong, -1 unknown",
            registry=r,
        )
        self.sandbox_level.set(-1)
        for outcome in ("sent", "failed", "retried"):
            self.deliveries.labels(outcome)

    def update(self, kind: str) -> None:
        """Count one update of this type (message, callback_query, poll_answer, …)."""
        self.updates.labels(kind).inc()

    def command(self, name: str, seconds: float) -> None:
        """Record how long a command took to answer."""
        self.commands.labels(name).observe(seconds)

    def delivery(self, outcome: Outcome) -> None:
        """Count a scheduled daily delivery by what came of it."""
        counted = DELIVERY_OUTCOMES.get(outcome.status)
        if counted is not None:
            self.deliveries.labels(counted).inc()

    def run_started(self) -> None:
        """Count a run handed to the runner."""
        self.runs_in_flight.inc()

    def run(self, result: RunResult | None, seconds: float) -> None:
        """Count a run's result; its wait is the time taken less the run itself."""
        self.runs_in_flight.dec()
        if result is None:  # the runner never answered
            self.runs.labels("crashed", "none").inc()
            return
        self.runs.labels(result.status, result.device or "none").inc()
        if result.status not in {"rejected", "crashed"}:
            self.run_wait.observe(max(0.0, seconds - result.duration_ms / 1000))

    def watch_fleet(self, fleet: Fleet) -> None:
        """Report the runners behind STUDYBOT_RUNNER_URL: jobs by runner, failovers, drains."""
        self.registry.register(_FleetCollector(fleet))

    def runner_seen(self, level: str | None, pool_size: int) -> None:
        """Record the runner's level (None: it did not answer) and its pool size."""
        self.sandbox_level.set(LEVEL_VALUES.get(level, -1) if level else -1)
        self.pool_size.set(pool_size)

    def render(self) -> tuple[int, str, bytes]:
        """Return the /metrics response."""
        return exposition(self.registry)


class _FleetCollector(Collector):
    """Read the fleet's counters at each scrape (they live in the fleet, not here)."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    def collect(self) -> Iterator[Metric]:
        """Yield jobs by runner, failovers, drains and the runners up now."""
        stats = self.fleet.stats
        jobs = CounterMetricFamily(
            "studybot_fleet_jobs", "Jobs each runner took, by runner address", labels=["runner"]
        )
        for runner, n in sorted(stats.jobs.items()):
            jobs.add_metric([runner], n)
        yield jobs
        yield CounterMetricFamily(
            "studybot_fleet_failovers",
            "Jobs a runner refused before they started (down, draining) and another took",
            value=stats.failovers,
        )
        yield CounterMetricFamily(
            "studybot_fleet_drains", "Runners seen starting to drain", value=stats.drains
        )
        up = GaugeMetricFamily(
            "studybot_fleet_runners", "Runners known, by state", labels=["state"]
        )
        members = self.fleet.members
        up.add_metric(["healthy"], sum(1 for m in members if m.healthy))
        up.add_metric(["draining"], sum(1 for m in members if m.draining))
        up.add_metric(["down"], sum(1 for m in members if m.info is None))
        yield up

"""Several runners behind one STUDYBOT_RUNNER_URL: dispatch by free capacity and device.

The URL is a comma-separated list ("tcp://a:8765,tcp://b:8765") or a DNS name that resolves
to many addresses ("tcp://tasks.runner:8765" in Swarm, a headless Service in Kubernetes),
resolved again every RESOLVE_EVERY_S so that replicas that come and go are found. Each runner
is asked for its info every HEALTH_EVERY_S: one that does not answer, or says it is draining,
gets no new job. A job goes to the healthy runner with the fewest jobs in flight that has the
device it asks for (a GPU job only to a runner that reports a GPU). A job refused before it
started (no connection, or a "draining" answer) goes to the next runner; a job whose runner
went away after taking it may have run, so it is never sent again: the user gets one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.runclient import RunnerClient, RunnerUnavailable
from bot.runner.protocol import RunnerInfo, RunRequest, RunResult, parse_runner_address

log = logging.getLogger(__name__)

RESOLVE_EVERY_S = 30.0
HEALTH_EVERY_S = 10.0
# A runner found down is asked again this soon: a restarted replica comes back quickly.
RETRY_DOWN_S = 2.0
# The reason of a job whose runner went away after taking it (run_render says so in one line).
RUNNER_LOST = "runner_lost"
# The refusal of a job no runner could take (none answers, or every one refused it unstarted).
NO_RUNNER = "no_runner"
# Refusals that say a job did not start because of the runner, not of the user: another runner
# may take it. (A user's rate limit or running job is theirs on any runner: not retried.)
UNSTARTED = ("draining", "sandbox_unavailable")
# How RunnerClient says the connection broke after the request went out.
_CONNECTION_LOST = ("lost the runner", "the runner closed the connection")


@dataclass
class Member:
    """One runner of the fleet, as last seen."""

    url: str
    client: RunnerClient
    info: RunnerInfo | None = None  # None: never answered, or did not answer last time
    draining: bool = False
    checked_at: float = 0.0
    in_flight: int = 0
    jobs: int = 0
    failures: int = 0
    gpus: bool = field(default=False)

    @property
    def healthy(self) -> bool:
        """Return True when the runner answered its last check and is not draining."""
        return self.info is not None and not self.draining


@dataclass
class FleetStats:
    """What the bot's metrics report of the fleet."""

    jobs: dict[str, int] = field(default_factory=dict)  # by runner url
    failovers: int = 0
    drains: int = 0


def addresses(url: str) -> list[str]:
    """Split STUDYBOT_RUNNER_URL into runner addresses (validated)."""
    found = [part.strip() for part in url.split(",") if part.strip()]
    for part in found:
        parse_runner_address(part)
    return found


class Fleet:
    """Run jobs on the best of several runners; the bot's `Runner` for STUDYBOT_RUNNER_URL."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._token = token
        self._given = addresses(url)
        self._members: dict[str, Member] = {}
        self._resolved_at = float("-inf")
        self._monotonic = monotonic
        self.stats = FleetStats()
        self._refreshing: asyncio.Lock | None = None
        self._refresher: asyncio.Future[None] | None = None
        self._checked = False  # a first refresh ran to its end: what each runner has is known

    @property
    def members(self) -> list[Member]:
        """Return the runners known now."""
        return list(self._members.values())

    async def run(
        self, request: RunRequest, on_queued: Callable[[int], Awaitable[None]] | None = None
    ) -> RunResult:
        """Run a job on a runner that can take it; fail over only before it started."""
        if not self._members or not self._checked:
            # The first jobs (a burst at start-up among them) wait for the first check: until
            # it ends, a runner's devices are unknown, and a GPU job would find no GPU.
            await self.refresh()
        elif self._due() and (self._refresher is None or self._refresher.done()):
            # Later checks run beside the jobs: a runner slow to answer must not delay one.
            self._refresher = asyncio.ensure_future(self.refresh())
        tried: set[str] = set()
        while True:
            member = self._pick(request, tried)
            if member is None:
                if request.device == "gpu" and not any(m.gpus for m in self._members.values()):
                    return RunResult.rejected("no_gpu")
                return RunResult.rejected(NO_RUNNER)
            tried.add(member.url)
            member.in_flight += 1
            try:
                attempt = await member.client.attempt(request, on_queued)
            finally:
                member.in_flight -= 1
            result = attempt.result
            if not attempt.reached or (result.status == "rejected" and result.reason in UNSTARTED):
                # Refused before it started: mark the runner and try another.
                if result.reason == "draining":
                    self._drained(member)
                elif attempt.reached:
                    member.failures += 1
                else:
                    self._down(member, result.reason)
                self.stats.failovers += 1
                log.info(
                    "runner %s did not take a job (%s); trying another", member.url, result.reason
                )
                continue
            member.jobs += 1
            self.stats.jobs[member.url] = self.stats.jobs.get(member.url, 0) + 1
            if result.status == "crashed" and result.reason.startswith(_CONNECTION_LOST):
                # Taken, then the runner went away: it may have run, so it is not sent again.
                self._down(member, result.reason)
                return RunResult.crashed(RUNNER_LOST)
            return result

    async def info(self) -> RunnerInfo:
        """Return the info of a healthy runner (the fleet's level is its weakest member's)."""
        await self.refresh(force=True)
        healthy = [m.info for m in self._members.values() if m.healthy and m.info is not None]
        if not healthy:
            raise RunnerUnavailable(f"no runner answers at {self.url}")
        devices = sorted({d for info in healthy for d in info.devices})
        weakest = min(healthy, key=lambda i: i.level != "strong")
        return RunnerInfo(weakest.level, tuple(devices), weakest.protections)

    def _pick(self, request: RunRequest, tried: set[str]) -> Member | None:
        def fits(m: Member) -> bool:
            return request.device != "gpu" or m.gpus

        ready = [m for m in self._members.values() if m.healthy and m.url not in tried and fits(m)]
        if not ready:
            # Nothing known healthy: a runner never checked or down may be back by now.
            # A GPU job still goes only to a runner known to have a GPU.
            ready = [
                m
                for m in self._members.values()
                if not m.draining and m.url not in tried and fits(m)
            ]
        if request.device == "auto" and any(m.gpus for m in ready):
            ready = [m for m in ready if m.gpus]
        return min(ready, key=lambda m: (m.in_flight, m.jobs), default=None)

    def _down(self, member: Member, why: str) -> None:
        if member.info is not None:
            log.warning("runner %s is down: %s", member.url, why)
        member.info = None
        member.failures += 1
        member.checked_at = self._monotonic() - HEALTH_EVERY_S + RETRY_DOWN_S

    def _drained(self, member: Member) -> None:
        if not member.draining:
            log.info("runner %s is draining: no new jobs for it", member.url)
            self.stats.drains += 1
        member.draining = True

    def _due(self) -> bool:
        now = self._monotonic()
        return now - self._resolved_at >= RESOLVE_EVERY_S or any(
            now - m.checked_at >= HEALTH_EVERY_S for m in self._members.values()
        )

    async def refresh(self, *, force: bool = False) -> None:
        """Resolve the runners' names when due, and check those not checked lately."""
        if self._refreshing is None:
            self._refreshing = asyncio.Lock()
        async with self._refreshing:
            now = self._monotonic()
            if force or now - self._resolved_at >= RESOLVE_EVERY_S:
                await self._resolve()
                self._resolved_at = now
            due = [
                m for m in self._members.values() if force or now - m.checked_at >= HEALTH_EVERY_S
            ]
            await asyncio.gather(*(self._check(m) for m in due))
            self._checked = True

    async def _resolve(self) -> None:
        urls: list[str] = []
        for given in self._given:
            urls += await _expand(given)
        for url in urls:
            if url not in self._members:
                self._members[url] = Member(url, RunnerClient(url, self._token))
        for url in list(self._members):
            if url not in urls and not self._members[url].in_flight:
                del self._members[url]  # a replica that went away

    async def _check(self, member: Member) -> None:
        member.checked_at = self._monotonic()
        try:
            info = await asyncio.wait_for(member.client.info(), HEALTH_EVERY_S / 2)
        except (RunnerUnavailable, TimeoutError) as e:
            self._down(member, str(e))
            return
        if info.draining:
            self._drained(member)
        else:
            member.draining = False
        member.info = info
        member.gpus = any(d.startswith("cuda") for d in info.devices)


async def _expand(url: str) -> list[str]:
    """Return the addresses a runner URL stands for: each of a name's, or the URL itself."""
    kind, host, port = parse_runner_address(url)
    if kind != "tcp":
        return [url]
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return [url]  # an address already
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        log.warning("cannot resolve runner name %s: %s", host, e)
        return []
    ips = sorted({str(info[4][0]) for info in found})
    return [f"tcp://[{ip}]:{port}" if ":" in ip else f"tcp://{ip}:{port}" for ip in ips]

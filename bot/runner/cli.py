"""Entry points: `studybot runner` (serve until SIGTERM/SIGINT) and `studybot sandbox check`.

Exit codes of runner_main: 0 after a clean shutdown, 1 when the sandbox could not be started,
2 when the level the host allows is below what the settings demand (one line on stderr says why).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys

from pydantic import ValidationError

from bot.runner.check import run_self_test
from bot.runner.http import Response, serving
from bot.runner.jail.cgroups import runner_tag
from bot.runner.jail.probe import LEVELS, HostCapabilities, detect
from bot.runner.logs import setup_logging
from bot.runner.metrics import MeteredScheduler, RunnerMetrics
from bot.runner.pool.workers import WorkerError
from bot.runner.sandbox import Sandbox
from bot.runner.server import RunnerServer
from bot.runner.settings import RunnerConfig, RunnerSettings, settings_errors

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_LEVEL = 2


def choose_level(settings: RunnerConfig, caps: HostCapabilities) -> tuple[str, str]:
    """Return (level, "") for the configured level, or ("", why) when it cannot be had."""
    best = caps.best_level()
    if not caps.root:
        # Without root the only way is a user namespace per job: say why there is none (the
        # probe's words name the setting and an administrator's command).
        why = "; ".join(x for x in (caps.namespaces, caps.seccomp) if x) or (
            "the runner is not root"
        )
    else:
        why = (
            "; ".join(x for x in (caps.namespaces, caps.cgroups, caps.seccomp) if x)
            or f"STUDYBOT_SANDBOX_LEVEL={settings.sandbox_level}"
        )
    if settings.sandbox_level == "strong" and best != "strong":
        return "", f"STUDYBOT_SANDBOX_LEVEL=strong, but this host allows only {best}: {why}"
    level = (
        best
        if settings.sandbox_level == "auto"
        else min(settings.sandbox_level, best, key=LEVELS.index)
    )
    if level == "basic" and not caps.root:
        # Basic isolates jobs by giving each a uid of its own, which only root can do; without
        # root the jail is the strong level's, in user namespaces, or nothing.
        return "", (
            "STUDYBOT_SANDBOX_LEVEL=basic needs root (it switches each job to a uid of its "
            "own); without root this host allows strong (in user namespaces): set it to auto"
        )
    if LEVELS.index(level) < LEVELS.index(settings.sandbox_min_level):
        return "", (
            f"sandbox level {level} is below STUDYBOT_SANDBOX_MIN_LEVEL="
            f"{settings.sandbox_min_level}: {why}"
        )
    return level, ""


def load_settings(prefix: str) -> RunnerSettings:
    """Read the runner's settings, or print one line per invalid variable and exit 2."""
    try:
        return RunnerSettings()
    except ValidationError as e:
        for line in settings_errors(e, RunnerSettings):
            print(f"{prefix}: {line}", file=sys.stderr)
        raise SystemExit(2) from None


def main(command: str, prefix: str = "studybot") -> int:
    """Run `studybot runner` or `studybot sandbox check` on the runner's own settings."""
    settings = load_settings(prefix)
    token = settings.runner_token.get_secret_value() if settings.runner_token else ""
    setup_logging(settings.log_level, [token], settings.log_format)
    if command == "runner":
        return runner_main(settings)
    return sandbox_check_main(settings)


def _configure_logging(settings: RunnerConfig) -> None:
    if not logging.getLogger().handlers:
        token = settings.runner_token.get_secret_value() if settings.runner_token else ""
        setup_logging(settings.log_level, [token], settings.log_format)


def _describe(sandbox: Sandbox) -> list[str]:
    notes = sandbox.why_off()
    return [
        f"{name:15} {'on ' if on else 'off'} {notes.get(name, '')}".rstrip()
        for name, on in sandbox.protections.items()
    ]


def describe_host(caps: HostCapabilities, settings: RunnerConfig) -> list[str]:
    """Say which cgroup version and controllers, Landlock ABI and uids the sandbox uses."""
    if caps.cgroup_version:
        cgroups = f"cgroups: v{caps.cgroup_version} ({', '.join(caps.cgroup_controllers)})"
    else:
        cgroups = f"cgroups: none usable ({caps.cgroups})"
    landlock = f"landlock: ABI {caps.landlock_abi}" if caps.landlock_abi else "landlock: none"
    if "landlock" in caps.notes:
        landlock += f" ({caps.notes['landlock']})"
    first, last = settings.uid_range
    if caps.root:
        uids = f"job uids: {first}-{last}, one per job"
    elif caps.userns:
        uids = (
            f"job uids: a user namespace per job (no root needed), the job's uid {first}-{last} "
            f"in there mapped to the runner's own ({os.getuid()}); one id mapped, no newuidmap"
        )
    elif caps.namespaces:
        uids = f"job uids: the runner's own; no user namespaces: {caps.namespaces}"
    else:
        uids = "job uids: the runner's own"
    lines = [cgroups, landlock, uids]
    if "pivot_root" in caps.notes:
        lines.append(f"root switch: pivot_root {caps.notes['pivot_root']}")
    return lines


def runner_main(settings: RunnerConfig) -> int:
    """Serve the runner API until SIGTERM or SIGINT."""
    _configure_logging(settings)
    # Probe first: it forks, which must happen before the event loop starts threads.
    caps = detect(f"studybot-probe-{runner_tag()}", settings.run_landlock_abi_max)
    level, error = choose_level(settings, caps)
    if error:
        print(f"studybot runner: {error}", file=sys.stderr)
        return EXIT_LEVEL
    return asyncio.run(_serve(settings, Sandbox(settings, caps, level)))


async def _serve(settings: RunnerConfig, sandbox: Sandbox) -> int:
    # Over 60 lines on purpose: the runner's life in the order it happens (sandbox, scheduler,
    # server, metrics, serving, draining, closing), each failure answered where it happens.
    # The label says "not strong" where cgroups are missing; `sandbox check` says why. Said at
    # INFO like every level: a console started without root must start quietly.
    log.info("sandbox level %s; devices %s", sandbox.label(), ", ".join(sandbox.devices))
    for line in describe_host(sandbox.caps, settings):
        log.info("%s", line)
    for line in _describe(sandbox):
        log.info("  %s", line)
    try:
        await sandbox.start()
    except WorkerError as e:
        log.error("cannot start the sandbox: %s", e)
        await sandbox.close()
        return EXIT_FAILED
    metrics = RunnerMetrics(sandbox.level, settings.run_pool_size)
    scheduler = MeteredScheduler(
        sandbox.run,
        metrics=metrics,
        gpus=sandbox.devices[1:],
        cpu_concurrency=settings.run_cpu_concurrency,
        gpu_concurrency=settings.run_gpu_concurrency,
        rate_per_minute=settings.run_rate_per_minute,
        max_code_bytes=settings.run_max_code_kb * 1024,
    )
    token = settings.runner_token.get_secret_value() if settings.runner_token else None
    server = RunnerServer(scheduler, sandbox.info, token)
    url = settings.runner_listen or f"unix:{settings.runner_socket}"
    try:
        await server.start(url)
    except (OSError, ValueError) as e:
        log.error("cannot listen on %s: %s", url, e)
        await sandbox.close()
        return EXIT_FAILED
    log.info("runner listening on %s", url)
    # SIGTERM (an orchestrator, the bot stopping its runner) drains: the jobs taken end first.
    # SIGINT (Ctrl-C at a terminal, the console's process group) stops at once, as a person
    # pressing it expects; so does a second signal of either kind during a drain.
    stop, at_once = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()

    def interrupted() -> None:
        at_once.set()
        stop.set()

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, interrupted)

    async def metrics_page() -> Response:
        return metrics.render()

    async def healthz() -> Response:
        if server.draining:
            # Not ready for new jobs: a load balancer (a Kubernetes readiness probe) stops
            # sending them here while the jobs taken finish.
            return 503, "application/json", b'{"status": "draining"}\n'
        return 200, "application/json", b'{"status": "ok"}\n'

    async with serving(
        settings.runner_metrics_listen, {"/metrics": metrics_page, "/healthz": healthz}
    ):
        await stop.wait()
        if not at_once.is_set():
            await _drain(server, stop)
    log.info("runner stopping")
    scheduler.closed = True
    await server.close()
    await sandbox.close()
    if url.startswith("unix:"):
        with contextlib.suppress(OSError):
            os.unlink(url.removeprefix("unix:"))
    return EXIT_OK


async def _drain(server: RunnerServer, stop: asyncio.Event) -> None:
    """Refuse new jobs, let the jobs taken end; a second signal (`stop` again) cuts it short."""
    # New jobs get "draining" (the bot sends them to another runner); the jobs taken run to
    # their end, each within its limits.
    stop.clear()
    server.drain()
    log.info("runner draining: %d job(s) to finish; new jobs are refused", server.running)
    idle = asyncio.ensure_future(server.idle())
    again = asyncio.ensure_future(stop.wait())
    await asyncio.wait({idle, again}, return_when=asyncio.FIRST_COMPLETED)
    for task in (idle, again):
        task.cancel()


def sandbox_check_main(settings: RunnerConfig) -> int:
    """Print the level and each protection, run the containment self-test; 0 if all held."""
    # A canary only this process has: the self-test fails if any job can read it.
    os.environ["STUDYBOT_CHECK_CANARY"] = "canary-" + secrets.token_hex(8)
    caps = detect(f"studybot-probe-{runner_tag()}", settings.run_landlock_abi_max)
    level, error = choose_level(settings, caps)
    if error:
        # As `studybot runner` would refuse: one line, exit 2, nothing tested at another level.
        print(f"studybot sandbox check: {error}", file=sys.stderr)
        return EXIT_LEVEL
    sandbox = Sandbox(settings, caps, level)
    print(f"sandbox level: {sandbox.label()} (best this host allows: {caps.best_level()})")
    print(f"devices: {', '.join(sandbox.devices)}")
    for line in describe_host(caps, settings):
        print(line)
    for line in _describe(sandbox):
        print(f"  {line}")
    if level == "none":
        print(f"FAIL: no sandbox to test: {caps.namespaces or 'the runner must run as root'}")
        return EXIT_LEVEL
    print("containment self-test:")
    try:
        contained = asyncio.run(run_self_test(sandbox))
    except WorkerError as e:
        print(f"FAIL: the sandbox did not start: {e}")
        return EXIT_FAILED
    return EXIT_OK if contained else EXIT_FAILED

"""`studybot serve`: Telegram, Discord or both in one process, on one core."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import Protocol

from bot.app import open_core, open_runs
from bot.config import Settings, check_token_shape
from bot.metrics.bot import BotMetrics
from bot.metrics.health import Check, Health, core_checks
from bot.runfleet import Fleet
from bot.runner.http import Response, serving

log = logging.getLogger(__name__)


class Frontend(Protocol):
    """One chat platform's connection, served on the shared core.

    Its lifecycle only: what it sends goes through the services' platform contract
    (`bot.services.platform.Platform`), which the connection attaches once it is up.
    """

    name: str
    failure: str | None  # why the platform stopped on its own, if it did

    def checks(self) -> dict[str, Check]:
        """Return the platform's health checks."""
        ...

    async def start(self) -> None:
        """Connect and start taking updates."""
        ...

    async def stop(self) -> None:
        """Stop taking updates and let running handlers end."""
        ...

    async def close(self) -> None:
        """Close the platform's client: nothing sends through it any more."""
        ...


class PlatformFailed(Exception):
    """A platform stopped on its own (its connection was refused for good)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # 2: fix the configuration; 1: the service was lost


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run every configured platform until `stop` is set or SIGINT/SIGTERM arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    # pid 1 in a container ignores an unhandled SIGTERM: handle it, for every platform at once.
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    try:
        await _serve(settings, stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def _serve(settings: Settings, stop: asyncio.Event) -> None:
    # Stopping, in order: no new updates on any platform and running handlers end (a /run
    # within its limit); every timer stops and the steps under way end (a quiz poll or a daily
    # question being sent), while the platforms' clients can still send; then the clients
    # close, then the runner and the database. A step that never started stays in the
    # database, where the next start resumes it.
    async with open_core(settings) as core, open_runs(settings) as runs:
        metrics = BotMetrics()
        if isinstance(runs.runner, Fleet):
            metrics.watch_fleet(runs.runner)
        platforms: list[Frontend] = []
        if settings.telegram_bot_token is not None:
            from bot.adapters.telegram.main import TelegramPlatform

            platforms.append(TelegramPlatform(core, runs, metrics))
        if settings.discord_bot_token is not None:
            from bot.adapters.discord.run import DiscordPlatform

            platforms.append(DiscordPlatform(core, runs, stop, metrics))
        checks = core_checks(core, runs, metrics)
        for platform in platforms:
            checks |= platform.checks()
        health = Health(checks)

        async def metrics_page() -> Response:
            await health.run_one(checks["runner"])  # the sandbox level, as the runner says now
            return metrics.render()

        routes = {"/healthz": health.render, "/metrics": metrics_page}
        started: list[Frontend] = []
        async with serving(settings.metrics_listen, routes):
            try:
                for platform in platforms:
                    started.append(platform)
                    await platform.start()
                log.info("bot started on %s", ", ".join(p.name for p in platforms))
                await stop.wait()
                log.info("stopping: no new updates; waiting for running handlers")
            finally:
                for platform in reversed(started):
                    await platform.stop()
                log.info("stopping: timers; waiting for the steps under way")
                await core.stop_timers()
                for platform in reversed(started):
                    await platform.close()
        log.info("bot stopped")
        for platform in platforms:
            if platform.failure:
                raise PlatformFailed(platform.failure)


def _token(settings: Settings, name: str) -> str:
    secret = getattr(settings, name.lower())
    return str(secret.get_secret_value()) if secret is not None else ""


def serve_main(settings: Settings) -> int:
    """Check the tokens are set and shaped right, then serve every configured platform."""
    telegram, discord = (
        _token(settings, "TELEGRAM_BOT_TOKEN"),
        _token(settings, "DISCORD_BOT_TOKEN"),
    )
    if not telegram and not discord:
        print(
            "studybot: set TELEGRAM_BOT_TOKEN (from @BotFather) or DISCORD_BOT_TOKEN (from the "
            "Discord developer portal), or both; `studybot console` needs none",
            file=sys.stderr,
        )
        return 2
    settings = settings.model_copy(
        update={
            "telegram_bot_token": settings.telegram_bot_token if telegram else None,
            "discord_bot_token": settings.discord_bot_token if discord else None,
        }
    )
    if telegram:
        try:
            # Before anything starts (the runner takes seconds): a typo is told at once.
            check_token_shape(telegram)
        except ValueError as e:
            print(f"studybot: invalid TELEGRAM_BOT_TOKEN: {e}", file=sys.stderr)
            return 2
    try:
        asyncio.run(serve(settings))
    except PlatformFailed as e:
        said = str(e)
        for token in (telegram, discord):
            said = said.replace(token, "[REDACTED]") if token else said
        print(f"studybot: {said}", file=sys.stderr)
        return e.exit_code
    return 0

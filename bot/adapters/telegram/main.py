"""`studybot serve`: the Telegram bot with long polling."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from telegram.error import InvalidToken, NetworkError

from bot.adapters.telegram.app import build_application, start_application, stop_application
from bot.adapters.telegram.observe import telegram_checks
from bot.adapters.telegram.polling import api_host, cause
from bot.adapters.telegram.webhook import Webhook
from bot.app import open_core, open_runs
from bot.config import Settings, check_token_shape
from bot.metrics.bot import BotMetrics
from bot.metrics.health import Health, core_checks
from bot.metrics.http import Response, serving

log = logging.getLogger(__name__)


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run the bot until `stop` is set or SIGINT/SIGTERM arrives."""
    assert settings.telegram_bot_token is not None  # noqa: S101 - checked by serve_main
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
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
    assert settings.telegram_bot_token is not None  # noqa: S101 - checked by serve_main
    webhook = Webhook.from_settings(settings)
    # Stopping, in order: no new updates, running handlers end (a /run within its limit),
    # the daily schedule stops, then the runner and the database close.
    async with open_core(settings) as core, open_runs(settings) as runs:
        metrics = BotMetrics()
        application = build_application(
            core,
            settings.telegram_bot_token.get_secret_value(),
            settings.telegram_api_base_url,
            runs,
            metrics=metrics,
        )
        checks = core_checks(core, runs, metrics)
        health = Health(
            checks | telegram_checks(application.bot_data["api_seen"], polling=webhook is None)
        )

        async def metrics_page() -> Response:
            await health.run_one(checks["runner"])  # the sandbox level, as the runner says now
            return metrics.render()

        routes = {"/healthz": health.render, "/metrics": metrics_page}
        async with serving(settings.metrics_listen, routes):
            try:
                await start_application(application, webhook=webhook)
                if webhook is None:
                    log.info("bot started; polling %s", api_host(settings.telegram_api_base_url))
                else:
                    log.info(
                        "bot started; updates on %s:%d%s", webhook.host, webhook.port, webhook.path
                    )
                await stop.wait()
                log.info("stopping: no new updates; waiting for running handlers")
            finally:
                await stop_application(application)
        log.info("bot stopped")


def serve_main(settings: Settings) -> int:
    """Check the token is set and shaped like one, then serve."""
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    if not token:
        print(
            "studybot: invalid TELEGRAM_BOT_TOKEN: not set (get one from @BotFather; "
            "`studybot console` needs none)",
            file=sys.stderr,
        )
        return 2
    try:
        # Before anything starts (the runner takes seconds): a typo is told at once.
        check_token_shape(token)
    except ValueError as e:
        print(f"studybot: invalid TELEGRAM_BOT_TOKEN: {e}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(settings))
    except InvalidToken:
        # PTB's message repeats the token: say it in our own words.
        print("studybot: invalid TELEGRAM_BOT_TOKEN: the Bot API rejected it", file=sys.stderr)
        return 2
    except NetworkError as e:
        # After start-up (publishing the menus, say): name the address and the cause.
        print(
            f"studybot: lost the Bot API at {api_host(settings.telegram_api_base_url)} "
            f"(TELEGRAM_API_BASE_URL): {cause(e).replace(token, '[REDACTED]')}",
            file=sys.stderr,
        )
        return 1
    return 0

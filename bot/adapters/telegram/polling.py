"""Reaching the Bot API: retries at start-up, and one log line per failed poll in an outage.

python-telegram-bot retries getUpdates forever on its own; left to itself it logs a full
traceback for every failed attempt. Here the getUpdates request reports each failure as one
warning (the error class and when the next try comes) and the first success after an outage
as one "reconnected" line, and start-up rides out a short blip instead of giving up at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application
from telegram.request import HTTPXRequest

from bot.errors import StudyBotError

log = logging.getLogger(__name__)

# Seconds to wait before the 2nd, 3rd and 4th try to reach the Bot API at start-up.
STARTUP_RETRY_DELAYS = (1.0, 2.0, 4.0)


class BotApiUnreachable(StudyBotError):
    """The Bot API did not answer at start-up, after every retry."""


def api_host(base_url: str) -> str:
    """Return the Bot API address to show people: the base URL without its /bot suffix."""
    head, sep, _ = base_url.rpartition("/bot")
    return head if sep and head else base_url


def cause(error: BaseException) -> str:
    """Describe an error in a few words: its class and message (PTB's carry the httpx cause)."""
    message = str(error).strip()
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def next_retry_delay(previous: float, error: TelegramError) -> float:
    """Return the pause before PTB's next getUpdates after `error` (its network_retry_loop).

    Mirrors python-telegram-bot 22.8 with poll_interval 0: a time-out is retried at once,
    RetryAfter after its delay plus 0.5 s, any other error after 1 s, then 1.5 times the
    previous pause, up to 30 s; a success resets the pause to 0.
    """
    if isinstance(error, RetryAfter):
        # The timedelta PTB's loop reads too; the public retry_after warns unless
        # PTB_TIMEDELTA is set.
        return error._retry_after.total_seconds() + 0.5
    if isinstance(error, TimedOut):
        return 0.0
    return 1.0 if previous == 0 else min(30.0, 1.5 * previous)


class PollingWatch:
    """Log one warning per failed getUpdates and one line when polling works again."""

    def __init__(self) -> None:
        self.failures = 0
        self.delay = 0.0
        self._since = 0.0

    def failed(self, error: TelegramError) -> None:
        """Log a failed poll with the error class and the pause before the next one.

        Given to start_polling as its error_callback, it replaces PTB's default, which logs
        a whole traceback for each failed poll.
        """
        if self.failures == 0:
            self._since = time.monotonic()
        self.failures += 1
        self.delay = next_retry_delay(self.delay, error)
        log.warning(
            "getUpdates failed (%s); retrying in %.1f s",
            cause(error),
            self.delay,
        )

    def succeeded(self) -> None:
        """Log the end of an outage once, on the first poll that worked."""
        if self.failures:
            log.warning(
                "reconnected to the Bot API after %d failed polls (%.0f s)",
                self.failures,
                time.monotonic() - self._since,
            )
        self.failures = 0
        self.delay = 0.0


class WatchedRequest(HTTPXRequest):
    """The getUpdates connection: tells a PollingWatch of answers and of time-outs.

    PTB hands every other polling error to start_polling's error_callback (watch.failed);
    a time-out it retries at once without calling it, so that one is reported here.
    """

    def __init__(self, watch: PollingWatch, on_ok: Callable[[], None] | None = None) -> None:
        # One connection, as PTB gives getUpdates by default.
        super().__init__(connection_pool_size=1)
        self.watch = watch
        self.on_ok = on_ok

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        """Make the HTTP request; an answer with status 200 ends an outage."""
        try:
            code, payload = await super().do_request(*args, **kwargs)
        except TimedOut as e:
            self.watch.failed(e)
            raise
        if code == HTTPStatus.OK:
            self.watch.succeeded()
            if self.on_ok is not None:
                self.on_ok()
        return code, payload


async def initialize_with_retries(
    application: Application,  # type: ignore[type-arg]
    base_url: str,
    delays: Sequence[float] = STARTUP_RETRY_DELAYS,
) -> None:
    """Initialize the application (getMe), retrying network errors after each of `delays`."""
    started = time.monotonic()
    attempts = len(delays) + 1
    for attempt in range(1, attempts + 1):
        try:
            await application.initialize()
            return
        except InvalidToken:
            raise
        except NetworkError as e:
            if attempt == attempts:
                raise BotApiUnreachable(
                    f"cannot reach the Bot API at {api_host(base_url)} (TELEGRAM_API_BASE_URL): "
                    f"{cause(e)}; gave up after {attempts} tries in "
                    f"{time.monotonic() - started:.0f} s"
                ) from e
            delay = delays[attempt - 1]
            log.warning(
                "cannot reach the Bot API at %s (%s); try %d of %d, next in %g s",
                api_host(base_url),
                cause(e),
                attempt,
                attempts,
                delay,
            )
            await asyncio.sleep(delay)

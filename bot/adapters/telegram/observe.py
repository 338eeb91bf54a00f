"""Hooks that feed metrics and health from the Telegram adapter, kept out of the handlers."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes
from telegram.request import HTTPXRequest

from bot.logging_setup import bind_ids
from bot.metrics.bot import BotMetrics
from bot.metrics.health import Check, Unhealthy

Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, Any]]

# With long polling an answer comes at least every poll time-out; far older means trouble.
STALE_API_S = 120.0
# PTB's own pool size for the requests other than getUpdates.
CONNECTION_POOL_SIZE = 256


class ApiSeen:
    """Remember when the Bot API last answered a call."""

    def __init__(self) -> None:
        self.at: float | None = None

    def mark(self) -> None:
        """Record an answer now."""
        self.at = time.monotonic()

    def age(self) -> float | None:
        """Return the seconds since the last answer, or None if none came yet."""
        return None if self.at is None else time.monotonic() - self.at


class SeenRequest(HTTPXRequest):
    """The connection for every Bot API call but getUpdates; marks each answer seen."""

    def __init__(self, seen: ApiSeen) -> None:
        super().__init__(connection_pool_size=CONNECTION_POOL_SIZE)
        self.seen = seen

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        """Make the HTTP request; an answer with status 200 is a successful call."""
        code, payload = await super().do_request(*args, **kwargs)
        if code == HTTPStatus.OK:
            self.seen.mark()
        return code, payload


def update_type(update: Update) -> str:
    """Name the kind of an update: message, edited_message, callback_query, …"""
    return next((t for t in Update.ALL_TYPES if getattr(update, t, None) is not None), "other")


def update_counter(metrics: BotMetrics) -> Callback:
    """Return a handler (for group -1) that counts each update and binds its ids to logs."""

    async def count(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        metrics.update(update_type(update))
        # The handlers of later groups run in this same task: their log lines carry the ids.
        chat, user = update.effective_chat, update.effective_user
        bind_ids(chat_id=chat.id if chat else None, user_id=user.id if user else None)

    return count


def timed(name: str, callback: Callback, metrics: BotMetrics) -> Callback:
    """Wrap a command's callback so that its answer time is recorded."""

    @functools.wraps(callback)
    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Any:
        started = time.monotonic()
        try:
            return await callback(update, context)
        finally:
            metrics.command(name, time.monotonic() - started)

    return run


def telegram_checks(seen: ApiSeen, *, polling: bool) -> dict[str, Check]:
    """Return the checks of the adapter: when the Bot API last answered."""

    async def bot_api() -> str:
        age = seen.age()
        if age is None:
            raise Unhealthy("no successful Bot API call yet")
        if polling and age > STALE_API_S:
            raise Unhealthy(f"last successful call {age:.0f} s ago")
        return f"last successful call {age:.0f} s ago"

    return {"bot_api": bot_api}

"""Scheduled sends (daily questions, quiz polls): Bot API failures mapped to the services' terms."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import httpx
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.services.sending import ChatGone, SendFailed, SendRefused, SendUncertain

log = logging.getLogger(__name__)

T = TypeVar("T")

SEND_ATTEMPTS = 3
BACKOFF_S = 1.0  # then 2 s: a blip passes, an outage leaves the delivery to its retry job
_GONE_MARKERS = (
    "chat not found",
    "bot was kicked",
    "group chat was deleted",
    "user is deactivated",
)


async def send_mapped(
    call: Callable[[int], Awaitable[T]],
    chat_id: int,
    follow_migration: Callable[[int], Awaitable[bool]],
) -> T:
    """Run `call(chat_id)` with retries; raise ChatGone, SendRefused, SendUncertain or SendFailed.

    A group that became a supergroup is followed (`follow_migration` stores the new id and
    returns False if another chat already has it).
    """
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await call(chat_id)
        except Forbidden as e:
            raise ChatGone(str(e)) from e
        except ChatMigrated as e:
            chat_id = e.new_chat_id
            if not await follow_migration(chat_id):
                raise ChatGone("migrated to a supergroup the bot already knows") from e
            log.info("a chat migrated; now sending to its supergroup %s", chat_id)
        except BadRequest as e:
            if any(marker in e.message.lower() for marker in _GONE_MARKERS):
                raise ChatGone(e.message) from e
            raise SendRefused(e.message) from e
        except RetryAfter as e:
            # The rate limiter already retried; wait once more before giving up.
            if attempt == SEND_ATTEMPTS:
                raise SendFailed(str(e)) from e
            await asyncio.sleep(_seconds(e.retry_after))
        except TimedOut as e:
            if not _never_sent(e):
                # The request may have reached Telegram: sending again could make two.
                raise SendUncertain(str(e)) from e
            if attempt == SEND_ATTEMPTS:
                raise SendFailed(str(e)) from e
            await asyncio.sleep(BACKOFF_S * 2 ** (attempt - 1))
        except NetworkError as e:
            if isinstance(e.__cause__, httpx.ReadError | httpx.RemoteProtocolError):
                raise SendUncertain(str(e)) from e  # the connection broke after the request left
            # Refused connections and 5xx answers: Telegram did not take it.
            if attempt == SEND_ATTEMPTS:
                raise SendFailed(str(e)) from e
            await asyncio.sleep(BACKOFF_S * 2 ** (attempt - 1))
    raise SendFailed("no attempt left")


def _never_sent(error: TimedOut) -> bool:
    """Tell whether a timeout happened before the request left (no connection, full pool)."""
    return isinstance(error.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)

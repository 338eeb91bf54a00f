"""Which chats have a quiz poll open now: code waits there until the poll closes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta


class QuizGate:
    """Mark chats while a poll is open; hold code back in them until it closes."""

    def __init__(self, longest: timedelta) -> None:
        # Never wait longer than a poll can be open (a lost close must not hold code forever).
        self.longest = longest
        self._open: dict[int, asyncio.Event] = {}

    def mark_open(self, chat_id: int) -> None:
        """Mark the chat's poll open (from the moment its question's code is shown)."""
        self._open.setdefault(chat_id, asyncio.Event()).clear()

    def mark_closed(self, chat_id: int) -> None:
        """Mark the chat's poll closed and let the code held there go."""
        event = self._open.pop(chat_id, None)
        if event is not None:
            event.set()

    def is_open(self, chat_id: int) -> bool:
        """Return True while a quiz poll is open in the chat."""
        event = self._open.get(chat_id)
        return event is not None and not event.is_set()

    async def hold(self, chat_id: int, on_hold: Callable[[], Awaitable[object]]) -> None:
        """If a poll is open in the chat, call `on_hold` once and wait until it closes."""
        event = self._open.get(chat_id)
        if event is None or event.is_set():
            return
        await on_hold()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), self.longest.total_seconds())

"""The in-memory platform: everything the services send, kept in lists a test reads."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.clock import Clock
from bot.services.model import Chat, User
from bot.services.platform import Limits, Notice
from bot.services.quiz_platform import CloseReason, PollSpec, SentPoll
from bot.services.study import Shown


@dataclass
class Outgoing:
    """One thing the services sent: a prompt, a poll, its closing, a notice, a photo, a file."""

    kind: str
    to: str  # the chat's or user's platform id
    ref: str
    payload: object


@dataclass
class MemoryPlatform:
    """Keep what is sent; fail a chat's next send when told to."""

    name: str = "memory"
    limits: Limits = field(
        default_factory=lambda: Limits(
            poll_question_chars=200, poll_option_chars=80, text_chars=2000, private_replies=True
        )
    )
    outbox: list[Outgoing] = field(default_factory=list)
    fail_next: dict[str, Exception] = field(default_factory=dict)  # by platform id, next send
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    clock: Clock | None = None  # the poll's send time, as a platform reports it
    _refs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def _keep(self, kind: str, to: Chat | User, payload: object) -> str:
        target = to.external_id
        if target in self.fail_next:
            raise self.fail_next.pop(target)
        ref = f"{self.name}-{next(self._refs)}"
        self.outbox.append(Outgoing(kind, target, ref, payload))
        async with self.changed:
            self.changed.notify_all()
        return ref

    async def send_prompt(self, chat: Chat, shown: Shown) -> str:
        """Keep a question."""
        return await self._keep("prompt", chat, shown)

    async def send_poll(self, chat: Chat, poll: PollSpec) -> SentPoll:
        """Keep a quiz poll; its ref is the message ref."""
        ref = await self._keep("poll", chat, poll)
        sent_at = self.clock.now() if self.clock is not None else datetime.now(UTC)
        return SentPoll(poll_ref=ref, message_ref=ref, sent_at=sent_at)

    async def stop_poll(
        self, chat: Chat, poll: PollSpec, message_ref: str, reason: CloseReason
    ) -> None:
        """Keep the closing of a poll."""
        await self._keep("stop_poll", chat, (message_ref, reason))

    async def send_text(self, to: Chat | User, notice: Notice) -> str:
        """Keep a notice (a scoreboard, a reminder, a document)."""
        return await self._keep("text", to, notice)

    async def send_photo(self, to: Chat | User, png: bytes, caption: object) -> str:
        """Keep a picture."""
        return await self._keep("photo", to, (png, caption))

    async def send_file(self, to: Chat | User, name: str, data: bytes, caption: object) -> str:
        """Keep a file."""
        return await self._keep("file", to, (name, data, caption))

    def of(self, kind: str, to: str | None = None) -> list[Outgoing]:
        """Return what was sent of one kind, to one chat or user if given."""
        return [o for o in self.outbox if o.kind == kind and (to is None or o.to == to)]

    async def wait_for(self, kind: str, to: str | None = None, count: int = 1) -> list[Outgoing]:
        """Wait until `count` items of a kind were sent (the services' timers send too)."""
        async with self.changed:
            await asyncio.wait_for(
                self.changed.wait_for(lambda: len(self.of(kind, to)) >= count), 10
            )
        return self.of(kind, to)

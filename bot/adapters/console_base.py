"""What the console's parts share: its state, and the methods one part calls in another."""

from __future__ import annotations

import asyncio
from typing import TextIO

from bot.adapters.stats_picture import PictureRenderer
from bot.app import Core
from bot.document import Document
from bot.services.quiz_platform import PollSpec
from bot.services.runs import RunService
from bot.services.study import Context, Shown


class ConsoleBase:
    """The console's state; `Console` (bot.adapters.console) brings the parts together."""

    core: Core
    stdout: TextIO
    user: str
    color: bool
    runs: RunService | None
    current: Shown | None
    pictures: PictureRenderer | None
    # The quiz poll open in this terminal, and an event set whenever a new one opens.
    poll: tuple[str, PollSpec] | None
    _poll_opened: asyncio.Event
    _poll_seq: int
    _answered_polls: set[str]
    _held: list[str] | None  # output held back while an answer is scored

    def say(self, message: Document | str) -> None:
        """Print one reply: a document, or plain words."""
        raise NotImplementedError

    async def say_async(self, message: Document | str) -> None:
        """Print one reply (for a service that calls back with a coroutine)."""
        self.say(message)

    def write(self, text: str) -> None:
        """Print terminal text as it is."""
        raise NotImplementedError

    async def readline(self) -> str:
        """Read one line of input ("" at its end)."""
        raise NotImplementedError

    async def show(self, shown: Shown) -> None:
        """Print a question and remember it for answering."""
        raise NotImplementedError

    def save_file(self, name: str, data: bytes) -> str:
        """Save output under a fresh name; return its path."""
        raise NotImplementedError

    async def next_card(self, ctx: Context) -> None:
        """Show the most overdue card."""
        raise NotImplementedError

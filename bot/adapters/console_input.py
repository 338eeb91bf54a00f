"""What the console reads: lines from a pipe, or a terminal with line editing and history.

At a terminal, prompt_toolkit reads in raw mode: arrows edit the line, ↑/↓ walk the history
(kept for this session), a paste is taken whole (the terminal's own line editing stops at about
4 KB a line) and output printed while the prompt waits goes above it instead of through it. A
pipe or a file is read line by line as it comes, on a thread, so Ctrl-C never waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.patch_stdout import patch_stdout

PROMPT = "> "


class PipeInput:
    """Read lines from a stream on a daemon thread, without blocking the event loop."""

    interactive = False

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lines: asyncio.Queue[str] | None = None
        self._eof = False

    async def readline(self) -> str:
        """Return the next line with its newline, or "" at (and after) the end of input."""
        if self._eof:
            return ""
        if self._lines is None:
            # A daemon thread does the blocking read, so Ctrl-C ends the program at once
            # instead of waiting for an executor thread stuck in readline().
            self._lines = asyncio.Queue()
            loop = asyncio.get_running_loop()
            lines = self._lines

            def pump() -> None:
                while True:
                    line = self.stream.readline()
                    loop.call_soon_threadsafe(lines.put_nowait, line)
                    if not line:
                        return

            threading.Thread(target=pump, name="console-input", daemon=True).start()
        line = await self._lines.get()
        self._eof = not line
        return line

    @contextlib.contextmanager
    def output(self) -> Iterator[None]:
        """Print as usual: nothing shares the stream with a prompt."""
        yield


class TerminalInput:
    """Read lines at a terminal with editing, history and whole pastes."""

    interactive = True

    def __init__(self, session: PromptSession[str] | None = None) -> None:
        self.session = session or PromptSession(history=InMemoryHistory())
        self._eof = False

    async def readline(self) -> str:
        """Return the next line with a newline, or "" once Ctrl-D ended the input."""
        if self._eof:
            return ""
        try:
            line = await self.session.prompt_async(PROMPT)
        except EOFError:
            self._eof = True
            return ""
        return line + "\n"

    @contextlib.contextmanager
    def output(self) -> Iterator[None]:
        """Print above the prompt while it waits (quiz polls and timers print any time)."""
        with patch_stdout(raw=True):
            yield


def console_input(stdin: TextIO, stdout: TextIO) -> PipeInput | TerminalInput:
    """Return a terminal reader when both ends are this process's terminal, else a pipe reader."""
    if stdin is sys.stdin and stdout is sys.stdout and stdin.isatty() and stdout.isatty():
        return TerminalInput()
    return PipeInput(stdin)

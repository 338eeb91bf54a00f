"""The console at a real terminal (a pty): line editing, history, long pastes, output above."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

from tests.conftest import clean_env

_ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]|\r")
LEFT = "\x1b[D"
# prompt_toolkit turns bracketed paste on each time it draws the prompt and waits for keys.
PROMPT_DRAWN = b"\x1b[?2004h"
UP = "\x1b[A"


class Terminal:
    """A console process on a pseudo-terminal, typed at as a person would."""

    def __init__(self, tmp_path: Path, **settings: str) -> None:
        env = clean_env(
            **settings,
            STUDYBOT_DATABASE=str(tmp_path / "t.db"),
            TERM="xterm",
            PROMPT_TOOLKIT_NO_CPR="1",  # the test answers no cursor-position requests
            STUDYBOT_RUNNER_URL="unix:/nonexistent/runner.sock",  # no runner: a quick start
        )
        pid, fd = pty.fork()
        if pid == 0:  # the child: the console on the terminal
            os.chdir(tmp_path)
            os.execve(sys.executable, [sys.executable, "-m", "bot", "console"], env)  # noqa: S606
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
        self.pid, self.fd = pid, fd
        self.seen = b""

    def text(self) -> str:
        """Return what the terminal showed, without its control sequences."""
        return _ESCAPES.sub(b"", self.seen).decode("utf-8", "replace")

    def drain(self, seconds: float = 0.05) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return
            try:
                self.seen += os.read(self.fd, 65536)
            except OSError:
                return

    def expect(self, what: str, count: int = 1, timeout: float = 30) -> None:
        end = time.monotonic() + timeout
        while self.text().count(what) < count:
            assert time.monotonic() < end, f"{what!r} not shown:\n{self.text()[-2000:]}"
            self.drain(0.1)

    def prompted(self, count: int = 1, timeout: float = 30) -> None:
        """Wait until the prompt has been drawn `count` times (it then reads raw keys)."""
        end = time.monotonic() + timeout
        while self.seen.count(PROMPT_DRAWN) < count:
            assert time.monotonic() < end, f"no prompt:\n{self.text()[-2000:]}"
            self.drain(0.1)

    def type(self, keys: str) -> None:
        """Type keys in small pieces, reading the echo meanwhile (nothing blocks)."""
        data = keys.encode()
        for i in range(0, len(data), 256):
            os.write(self.fd, data[i : i + 256])
            self.drain(0.01)

    def close(self, timeout: float = 15) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            self.drain(0.05)
            time.sleep(0.05)  # a closed terminal reads nothing at once
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        raise AssertionError("the console did not end")


def test_a_terminal_edits_lines_recalls_them_and_takes_a_long_line_whole(
    tmp_path: Path,
) -> None:
    term = Terminal(tmp_path)
    try:
        term.prompted()
        # Longer than a terminal's own line editing takes (about 4 KB): only the end names
        # the zone, so it is set only if the whole line arrived.
        term.type("/timezone" + " " * 5000 + "Asia/Shanghai\r")
        term.expect("Time zone set to Asia/Shanghai")
        term.prompted(2)
        # Arrows edit the line: "/steak" with the cursor moved back 3 and an "r" put in.
        term.type("/steak" + LEFT * 3 + "r\r")
        term.expect("Streak")
        shown = term.text().count("Streak")
        term.prompted(3)
        term.type(UP + "\r")  # the line typed before, again
        term.expect("Streak", shown + 1)
        term.prompted(4)
        term.type("/quit\r")
        assert term.close() == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(term.pid, signal.SIGKILL)


def test_output_while_the_prompt_waits_goes_above_it(tmp_path: Path) -> None:
    term = Terminal(tmp_path, STUDYBOT_QUIZ_SECONDS="5")
    try:
        term.prompted()
        term.type("/quiz 1\r")
        term.expect("[1/1]")
        drawn = term.seen.count(PROMPT_DRAWN)
        # Nobody answers: at its deadline the quiz ends while the prompt waits for a line.
        term.expect("Quiz over", timeout=30)
        term.drain(0.5)
        board = term.seen.rindex(b"Quiz over")
        # The prompt is drawn again below the result: nothing was printed into the line.
        assert term.seen.count(PROMPT_DRAWN) > drawn
        assert term.seen.rindex(PROMPT_DRAWN) > board
        term.type("/quit\r")
        assert term.close() == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(term.pid, signal.SIGKILL)

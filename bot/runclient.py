"""The bot's side of the runner: a typed client, and a supervisor for a local runner process.

Import-light on purpose (no torch, no sandbox code): the bot process loads this. It speaks
only bot/runner/protocol.py; the runner itself is a separate program (`python -m bot.runner`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from bot.config import Settings
from bot.runner.protocol import (
    MAX_LINE_BYTES,
    ProtocolError,
    RunnerInfo,
    RunRequest,
    RunResult,
    dump_line,
    info_from_wire,
    load_line,
    request_to_wire,
    result_from_wire,
)

log = logging.getLogger(__name__)

# Settings passed on to a local runner; nothing else of the bot's environment goes with it.
RUNNER_ENV_PREFIXES = (
    "STUDYBOT_RUN_",
    "STUDYBOT_SANDBOX_",
    "STUDYBOT_RUNNER_SOCKET",
    "STUDYBOT_RUNNER_LISTEN",
    "STUDYBOT_LOG_LEVEL",
    "STUDYBOT_LOG_FORMAT",
)
_NOT_PASSED = ("STUDYBOT_RUN_ALLOW",)  # the bot decides who may run; the runner need not know


class Runner(Protocol):
    """What the bot needs of a runner client (RunnerClient, or plain subprocesses in checks)."""

    async def run(
        self, request: RunRequest, on_queued: Callable[[int], Awaitable[None]] | None = None
    ) -> RunResult:
        """Run one job."""
        ...


class RunnerUnavailable(ConnectionError):
    """The runner could not be reached or did not answer sensibly."""


class RunnerExited(RunnerUnavailable):
    """A local runner exited while starting; `said` is its last line on stderr."""

    def __init__(self, exit_code: int, said: str) -> None:
        super().__init__(f"the runner exited with code {exit_code}" + (f": {said}" if said else ""))
        self.exit_code = exit_code
        self.said = said


@dataclass(frozen=True)
class Attempt:
    """A run's result, and whether its request may have reached the runner (and started)."""

    result: RunResult
    reached: bool


class RunnerClient:
    """Talks to a runner at "unix:/path" or "tcp://127.0.0.1:PORT"."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self._token = token

    def _signed(self, message: dict[str, Any]) -> bytes:
        return dump_line({**message, "token": self._token} if self._token else message)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.url.startswith("tcp://"):
            host, _, port = self.url.removeprefix("tcp://").rpartition(":")
            return await asyncio.open_connection(host.strip("[]"), int(port), limit=MAX_LINE_BYTES)
        return await asyncio.open_unix_connection(
            self.url.removeprefix("unix:"), limit=MAX_LINE_BYTES
        )

    async def run(
        self, request: RunRequest, on_queued: Callable[[int], Awaitable[None]] | None = None
    ) -> RunResult:
        """Run a snippet; a runner that is down or dies mid-job gives status "crashed"."""
        return (await self.attempt(request, on_queued)).result

    async def attempt(
        self, request: RunRequest, on_queued: Callable[[int], Awaitable[None]] | None = None
    ) -> Attempt:
        """Run a snippet, and say whether the request may have reached the runner."""
        try:
            reader, writer = await self._connect()
        except (OSError, ValueError) as e:
            return Attempt(RunResult.crashed(f"runner unreachable: {e}"), reached=False)
        return Attempt(await self._exchange(request, reader, writer, on_queued), reached=True)

    async def _exchange(
        self,
        request: RunRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_queued: Callable[[int], Awaitable[None]] | None,
    ) -> RunResult:
        try:
            writer.write(self._signed(request_to_wire(request)))
            await writer.drain()
            while True:
                line = await reader.readline()
                if not line:
                    return RunResult.crashed("the runner closed the connection")
                message = load_line(line)
                if message["type"] == "queued":
                    if on_queued is not None:
                        await on_queued(int(message["position"]))
                elif message["type"] == "result":
                    return result_from_wire(message)
                else:
                    return RunResult.crashed(f"runner answered {message}")
        except (OSError, ValueError, ProtocolError, asyncio.IncompleteReadError) as e:
            return RunResult.crashed(f"lost the runner: {e}")
        finally:
            await _close(writer)

    async def info(self) -> RunnerInfo:
        """Ask the runner for its level, devices and protections."""
        try:
            reader, writer = await self._connect()
        except (OSError, ValueError) as e:
            raise RunnerUnavailable(f"runner unreachable: {e}") from e
        try:
            writer.write(self._signed({"type": "info"}))
            await writer.drain()
            answer = load_line(await reader.readline())
            if answer["type"] == "error":
                raise RunnerUnavailable(f"the runner refused: {answer.get('message')}")
            return info_from_wire(answer)
        except (OSError, ValueError, ProtocolError) as e:
            raise RunnerUnavailable(f"bad answer from the runner: {e}") from e
        finally:
            await _close(writer)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def runner_environment(settings: Settings, socket_path: Path) -> dict[str, str]:
    """Build the local runner's whole environment from the settings (never os.environ)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    package_root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = str(package_root)  # works without `pip install -e .` too
    for name, info in Settings.model_fields.items():
        alias = info.alias or name
        value = getattr(settings, name)
        # None (an unset optional setting) stays unset: the runner applies its own default.
        if alias.startswith(RUNNER_ENV_PREFIXES) and alias not in _NOT_PASSED and value is not None:
            env[alias] = _env_value(value)
    env["STUDYBOT_RUNNER_SOCKET"] = str(socket_path)
    env.pop("STUDYBOT_RUNNER_LISTEN", None)
    return env


def _env_value(value: Any) -> str:
    if isinstance(value, frozenset | set | tuple | list):
        return ",".join(str(v) for v in sorted(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class LocalRunner:
    """Start `python -m bot.runner` as a child, keep it alive, and give a client for it.

    The runner's stderr passes through to ours once it is up; while it starts, it is held
    back, so a runner that refuses to start becomes one RunnerExited carrying its last line
    instead of text on the terminal.
    """

    def __init__(self, settings: Settings, *, start_timeout_s: float = 180.0) -> None:
        self._settings = settings
        self._start_timeout_s = start_timeout_s
        self._socket = Path(settings.runner_socket).resolve()
        self._proc: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._cwd: str | None = None
        self._closing = False
        self._relays: set[asyncio.Task[None]] = set()
        self._held: list[bytes] | None = None  # stderr lines held back while starting

    @property
    def pid(self) -> int | None:
        """Return the pid of the runner process now running, if any."""
        if self._proc is None or self._proc.returncode is not None:
            return None
        return self._proc.pid

    async def __aenter__(self) -> RunnerClient:
        """Start the runner and wait until it answers (cancelled or failed: nothing is left)."""
        self._cwd = tempfile.mkdtemp(prefix="studybot-local-runner-")
        try:
            await self._start()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        self._supervisor = asyncio.create_task(self._supervise())
        return RunnerClient(f"unix:{self._socket}")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the runner (SIGTERM, then SIGKILL after 10 s)."""
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await self._stop()
        await asyncio.gather(*list(self._relays), return_exceptions=True)
        if self._cwd is not None:
            shutil.rmtree(self._cwd, ignore_errors=True)

    async def _start(self) -> None:
        if self._cwd is None:
            raise RunnerUnavailable("LocalRunner used outside `async with`")
        self._held = []
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.runner",
            env=runner_environment(self._settings, self._socket),
            cwd=self._cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        if self._proc.stderr is not None:
            relay = asyncio.create_task(self._relay(self._proc.stderr))
            self._relays.add(relay)
            relay.add_done_callback(self._relays.discard)
        client = RunnerClient(f"unix:{self._socket}")
        deadline = asyncio.get_running_loop().time() + self._start_timeout_s
        while True:
            if self._proc.returncode is not None:
                await asyncio.gather(*list(self._relays), return_exceptions=True)
                said = b"".join(self._held or []).decode(errors="replace").strip()
                self._held = None
                last = said.splitlines()[-1] if said else ""
                raise RunnerExited(self._proc.returncode, last)
            with contextlib.suppress(RunnerUnavailable):
                info = await client.info()
                log.info(
                    "runner started: level %s, devices %s", info.level, ", ".join(info.devices)
                )
                self._pass_through()
                return
            if asyncio.get_running_loop().time() > deadline:
                self._pass_through()  # whatever it said may tell why
                await self._stop()
                raise RunnerUnavailable("the runner did not answer in time")
            await asyncio.sleep(0.2)

    async def _relay(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            if self._held is not None:
                self._held.append(line)
            else:
                sys.stderr.write(line.decode(errors="replace"))
                sys.stderr.flush()

    def _pass_through(self) -> None:
        held, self._held = self._held or [], None
        for line in held:
            sys.stderr.write(line.decode(errors="replace"))
        sys.stderr.flush()

    async def _supervise(self) -> None:
        backoff = 1.0
        while not self._closing and self._proc is not None:
            code = await self._proc.wait()
            if self._closing:
                return
            # In-flight requests see their connection close and return "crashed".
            log.error("the runner exited with code %s; restarting in %.0f s", code, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 60.0)
            try:
                await self._start()
                backoff = 1.0
            except RunnerUnavailable as e:
                log.error("could not restart the runner: %s", e)

    async def _stop(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()

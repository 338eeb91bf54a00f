"""The runner's wire adapter: one request per connection, newline-delimited JSON.

It validates the request, hands it to the scheduler, streams queue positions while the job
waits and writes the final result. It knows nothing about sandboxes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import socket
import stat
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bot.runner.protocol import (
    ProtocolError,
    RunnerInfo,
    RunResult,
    dump_line,
    info_to_wire,
    load_line,
    parse_runner_address,
    request_from_wire,
    result_to_wire,
)
from bot.runner.scheduler import Scheduler
from bot.runner.settings import excerpt

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 4 * 1024 * 1024


def parse_address(url: str) -> tuple[str, str, int]:
    """Split "unix:/path", a bare path, or "tcp://127.0.0.1:PORT" into (kind, where, port)."""
    try:
        return parse_runner_address(url)
    except ValueError as e:
        raise ValueError(f"{e}; got {excerpt(url)!r}") from None


def bind_unix_socket(path: Path) -> socket.socket:
    """Bind a Unix socket only its owner (root) can connect to, replacing a stale one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(path.lstat().st_mode):
            path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)  # born 0600: no window in which a job could connect
    try:
        sock.bind(str(path))
    finally:
        os.umask(old_umask)
    return sock


class RunnerServer:
    """Serves the runner API for a scheduler."""

    def __init__(
        self, scheduler: Scheduler, info: Callable[[], RunnerInfo], token: str | None = None
    ) -> None:
        self._scheduler = scheduler
        self._info = info
        # STUDYBOT_RUNNER_TOKEN: every request must carry it (compared in constant time).
        self._token = token.encode() if token else None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._closing = False
        self._draining = False
        self._running = 0  # run requests taken and not yet answered
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self, url: str) -> None:
        """Listen on `url`; a Unix socket is made reachable by its owner (root) only."""
        kind, where, port = parse_address(url)
        if kind == "tcp":
            self._server = await asyncio.start_server(
                self._handle, where, port, limit=MAX_REQUEST_BYTES
            )
            return
        sock = bind_unix_socket(Path(where))
        self._server = await asyncio.start_unix_server(
            self._handle, sock=sock, limit=MAX_REQUEST_BYTES
        )

    @property
    def running(self) -> int:
        """Return how many run requests were taken and are not yet answered."""
        return self._running

    @property
    def draining(self) -> bool:
        """Return True once the runner refuses new jobs (it is stopping)."""
        return self._draining

    def drain(self) -> None:
        """Refuse new jobs with a "draining" answer from now on; finish those taken."""
        self._draining = True

    async def idle(self) -> None:
        """Wait until every job taken has been answered."""
        await self._idle.wait()

    async def close(self) -> None:
        """Stop accepting, and end open connections."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*list(self._connections), return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self._serve_one(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; its job (if any) was cancelled with it
        except asyncio.CancelledError:
            # close() cancels open requests on SIGTERM/SIGINT. Ending the task normally keeps
            # Python 3.11's stream callback from logging the cancellation as an error (it calls
            # task.exception() on a cancelled task): stopping is not a failure.
            if not self._closing:
                raise
        except Exception:
            # A bug must cost one answer, never the runner: log it, tell the client.
            log.exception("request failed")
            with contextlib.suppress(Exception):
                writer.write(dump_line(result_to_wire(RunResult.crashed("runner error"))))
                await writer.drain()
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def _authorized(self, message: dict[str, object]) -> bool:
        if self._token is None:
            return True
        given = message.get("token")
        given_bytes = given.encode() if isinstance(given, str) else b""
        return hmac.compare_digest(given_bytes, self._token)

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
        except ValueError:  # longer than the stream limit
            writer.write(dump_line(result_to_wire(RunResult.rejected("too_large"))))
            await writer.drain()
            return
        if not line:
            return
        try:
            message = load_line(line)
            if not self._authorized(message):
                log.warning("refused a request without the right STUDYBOT_RUNNER_TOKEN")
                writer.write(dump_line({"type": "error", "message": "unauthorized"}))
                await writer.drain()
                return
            if message["type"] == "info":
                info = replace(self._info(), draining=self._draining, running=self._running)
                writer.write(dump_line(info_to_wire(info)))
                await writer.drain()
                return
            if message["type"] != "run":
                raise ProtocolError(f"unknown request type {message['type']!r}")
            request = request_from_wire(message)
            if self._draining:
                # Refused before it started: the bot may send it to another runner.
                writer.write(dump_line(result_to_wire(RunResult.rejected("draining"))))
                await writer.drain()
                return
        except ProtocolError as e:
            writer.write(dump_line({"type": "error", "message": str(e)}))
            await writer.drain()
            return

        async def on_queued(position: int) -> None:
            writer.write(dump_line({"type": "queued", "position": position}))
            await writer.drain()

        self._running += 1
        self._idle.clear()
        try:
            result = await self._scheduler.submit(request, on_queued)
        finally:
            self._running -= 1
            if not self._running:
                self._idle.set()
        log.info(
            "run for %s: %s %s in %.0f ms",
            request.user_key,
            result.status,
            result.reason,
            result.duration_ms,
        )
        writer.write(dump_line(result_to_wire(result)))
        await writer.drain()

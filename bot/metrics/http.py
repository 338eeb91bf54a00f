"""A tiny HTTP/1.1 server for /healthz and /metrics: GET only, one request per connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from http import HTTPStatus

from bot.config import parse_listen

log = logging.getLogger(__name__)

# What a handler answers: the status, the content type and the body.
Response = tuple[int, str, bytes]
Handler = Callable[[], Awaitable[Response]]

# A scraper sends a short request; anything slower or longer is dropped.
REQUEST_TIMEOUT_S = 5.0
MAX_HEADER_LINES = 100


class HttpServer:
    """Serve a few GET routes on one address."""

    def __init__(self, routes: Mapping[str, Handler]) -> None:
        self.routes = dict(routes)
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """Return the port listened on (useful with port 0)."""
        if self._server is None:
            raise RuntimeError("not listening")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, listen: str) -> None:
        """Listen on "HOST:PORT"; raise OSError if the address is taken."""
        host, port = parse_listen(listen)
        self._server = await asyncio.start_server(self._handle, host, port)

    async def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, ctype, body = await asyncio.wait_for(self._answer(reader), REQUEST_TIMEOUT_S)
        except (TimeoutError, ValueError, ConnectionError, asyncio.IncompleteReadError):
            writer.close()
            return
        except Exception:
            log.exception("a health or metrics request failed")
            status, ctype, body = 500, "text/plain; charset=utf-8", b"internal error\n"
        reason = HTTPStatus(status).phrase
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> Response:
        request = (await reader.readline()).decode("latin-1").split()
        for _ in range(MAX_HEADER_LINES):
            if (await reader.readline()) in (b"\r\n", b"\n", b""):
                break
        if len(request) != 3:
            return 400, "text/plain; charset=utf-8", b"bad request\n"
        method, target, _ = request
        handler = self.routes.get(target.split("?", 1)[0])
        if handler is None:
            return 404, "text/plain; charset=utf-8", b"not found\n"
        if method != "GET":
            return 405, "text/plain; charset=utf-8", b"GET only\n"
        return await handler()


@contextlib.asynccontextmanager
async def serving(listen: str | None, routes: Mapping[str, Handler]) -> AsyncIterator[HttpServer]:
    """Serve `routes` on `listen` for the block; None (or a taken address) serves nothing.

    A taken address is one warning, not a failed start: metrics are no reason to stop a bot.
    """
    server = HttpServer(routes)
    if listen:
        try:
            await server.start(listen)
            log.info("health and metrics on http://%s/healthz and /metrics", listen)
        except OSError as e:
            log.warning("health and metrics are off: cannot listen on %s (%s)", listen, e)
    try:
        yield server
    finally:
        await server.close()

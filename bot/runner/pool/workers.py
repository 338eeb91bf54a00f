"""Runner side of the zygote: start it, ask it for workers, keep a few ready per device.

Workers are single use: a job takes a ready one and the pool forks a replacement in the
background, so the fork, namespace and mount setup, and torch's first-call warm-up are all
paid before any code is handed over.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.runner.jail.cgroups import JobCgroup
from bot.runner.jail.spec import WorkerSpec

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 60.0
ZYGOTE_START_TIMEOUT_S = 180.0


class WorkerError(RuntimeError):
    """A worker (or the zygote behind it) failed before it could run a job."""


async def recv_message(sock: socket.socket, max_fds: int = 0) -> tuple[dict[str, Any], list[int]]:
    """Receive one JSON message (and any passed fds) from a non-blocking socket."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 20, max(max_fds, 1))
            break
        except BlockingIOError:
            ready: asyncio.Future[None] = loop.create_future()
            loop.add_reader(sock.fileno(), wake, ready)
            try:
                await ready
            finally:
                loop.remove_reader(sock.fileno())
    if not data:
        for fd in fds:
            os.close(fd)
        raise WorkerError("peer closed the socket")
    message: dict[str, Any] = json.loads(data)
    return message, fds


def wake(future: asyncio.Future[None]) -> None:
    """Resolve a readiness future once (an add_reader callback)."""
    if not future.done():
        future.set_result(None)


@dataclass
class Worker:
    """A forked, sandboxed interpreter waiting for one snippet; all fds are the runner's."""

    spec: WorkerSpec
    kind: str
    keeper_pid: int
    job: socket.socket
    status: socket.socket
    out_fd: int
    err_fd: int
    done_fd: int
    cgroup: JobCgroup | None
    jail_pid: int = 0
    jail_pidfd: int = -1
    scratch_fd: int = -1
    closed: bool = field(default=False)

    def is_alive(self) -> bool:
        """Tell whether the idle worker is still waiting (nothing on its status socket)."""
        return not self.closed and not _readable(self.status, 0)

    def kill(self) -> None:
        """SIGKILL the jail (and so its pid namespace) without pid-reuse races."""
        if self.jail_pidfd >= 0:
            with contextlib.suppress(ProcessLookupError, OSError):
                signal.pidfd_send_signal(self.jail_pidfd, signal.SIGKILL)
        if self.cgroup is not None:
            self.cgroup.kill_all()

    def wait_keeper(self, timeout_s: float) -> None:
        """Block until the keeper reported the jail's end (or went away), at most timeout_s."""
        with contextlib.suppress(OSError, ValueError):
            _readable(self.status, timeout_s)

    def close(self) -> None:
        """Kill what is left and release every fd; idempotent."""
        if self.closed:
            return
        self.kill()
        self.closed = True
        for sock in (self.job, self.status):
            sock.close()
        for fd in (self.out_fd, self.err_fd, self.done_fd, self.jail_pidfd, self.scratch_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.jail_pidfd = self.scratch_fd = -1


def _readable(sock: socket.socket, timeout_s: float) -> bool:
    """Wait up to timeout_s for sock to be readable (or hung up); poll, since select() cannot
    take fd numbers past 1023."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(timeout_s * 1000))


class Zygote:
    """The warm interpreter process and the control socket to it."""

    def __init__(self, env: dict[str, str], cwd: str) -> None:
        self._env = env
        self._cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None
        self._ctl: socket.socket | None = None
        self._lock = asyncio.Lock()
        self.paths: list[str] = []

    async def start(self) -> None:
        """Start the zygote and wait until it has imported everything."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._proc = subprocess.Popen(  # noqa: ASYNC220, S603 - our own module, fixed argv
            [
                sys.executable,
                "-m",
                "bot.runner.pool.zygote",
                str(theirs.fileno()),
                str(os.getpid()),
            ],
            pass_fds=[theirs.fileno()],
            env=self._env,
            cwd=self._cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        theirs.close()
        ours.setblocking(False)
        self._ctl = ours
        try:
            hello, _ = await asyncio.wait_for(recv_message(ours), ZYGOTE_START_TIMEOUT_S)
        except (WorkerError, TimeoutError) as e:
            self.stop()
            raise WorkerError(f"the zygote did not start: {e}") from e
        self.paths = [str(p) for p in hello["paths"]]

    @property
    def pid(self) -> int:
        """Return the zygote's pid (0 when not running)."""
        return self._proc.pid if self._proc else 0

    def alive(self) -> bool:
        """Tell whether the zygote process is still running."""
        return self._proc is not None and self._proc.poll() is None

    async def spawn(self, spec: WorkerSpec, kind: str, cgroup: JobCgroup | None) -> Worker:
        """Fork a worker and wait until its sandbox is built and it waits for code."""
        if self._ctl is None:
            raise WorkerError("the zygote is not running")
        async with self._lock:
            try:
                request = json.dumps({"type": "spawn", "spec": spec.to_wire()}).encode()
                await asyncio.get_running_loop().sock_sendall(self._ctl, request)
                reply, fds = await recv_message(self._ctl, max_fds=5)
            except (OSError, WorkerError) as e:
                raise WorkerError(f"the zygote failed: {e}") from e
        if len(fds) != 5:
            for fd in fds:
                os.close(fd)
            raise WorkerError("the zygote sent a malformed reply")
        job = socket.socket(fileno=fds[0])
        status = socket.socket(fileno=fds[1])
        for sock in (job, status):
            sock.setblocking(False)
        for fd in fds[2:]:
            os.set_blocking(fd, False)
        out_fd, err_fd, done_fd = fds[2:]
        worker = Worker(spec, kind, int(reply["pid"]), job, status, out_fd, err_fd, done_fd, cgroup)
        try:
            await asyncio.wait_for(self._wait_ready(worker), READY_TIMEOUT_S)
        except (WorkerError, TimeoutError, OSError, KeyError, ValueError) as e:
            worker.close()
            raise WorkerError(f"worker {spec.worker_id} did not become ready: {e!r}") from e
        except BaseException:
            # Cancelled (the pool closing): a jail still building must not outlive the runner's
            # state directory, nor keep its sockets open in the runner.
            worker.close()
            raise
        return worker

    @staticmethod
    async def _wait_ready(worker: Worker) -> None:
        started, fds = await recv_message(worker.status, max_fds=1)
        if started.get("type") != "started" or len(fds) != 1:
            raise WorkerError(f"unexpected keeper message {started}")
        worker.jail_pid, worker.jail_pidfd = int(started["pid"]), fds[0]
        ready, fds = await recv_message(worker.job, max_fds=1)
        if ready.get("type") != "ready" or len(fds) != 1:
            raise WorkerError(f"unexpected worker message {ready}")
        worker.scratch_fd = fds[0]

    def stop(self) -> None:
        """Close the control socket; the zygote exits and its idle workers die with it."""
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


class WorkerPool:
    """Keeps `size` ready workers per kind ("cpu", "cuda:0", ...) and refills in the background."""

    def __init__(
        self,
        zygote_factory: Callable[[], Zygote],
        make_worker: Callable[[Zygote, str], Any],
        sizes: dict[str, int],
        discard: Callable[[Worker], None] = Worker.close,
    ) -> None:
        # `discard` takes every worker the pool drops unused (dead, or at a zygote restart), so
        # the owner can sweep it and release its uid and scratch directory.
        self._discard = discard
        self._zygote_factory = zygote_factory
        self._make_worker = make_worker
        self._sizes = sizes
        self._ready: dict[str, deque[Worker]] = {kind: deque() for kind in sizes}
        self._pending: dict[str, int] = dict.fromkeys(sizes, 0)
        self._tasks: set[asyncio.Task[None]] = set()
        self._zygote: Zygote | None = None
        self._restart_lock = asyncio.Lock()
        self._closing = False

    @property
    def zygote(self) -> Zygote | None:
        """Return the current zygote (for diagnostics)."""
        return self._zygote

    async def start(self) -> None:
        """Start the zygote and fill the pool once, so the first job is warm too."""
        await self._ensure_zygote()
        for kind in self._sizes:
            self._refill(kind)
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def acquire(self, kind: str) -> Worker:
        """Take a ready worker of `kind`, forking one now if none is waiting."""
        ready = self._ready[kind]
        while ready:
            worker = ready.popleft()
            if worker.is_alive():
                self._refill(kind)
                return worker
            self._discard(worker)
        self._refill(kind)
        return await self._spawn(kind)

    async def _ensure_zygote(self) -> Zygote:
        async with self._restart_lock:
            if self._zygote is not None and self._zygote.alive():
                return self._zygote
            if self._zygote is not None:
                log.warning("the zygote died; starting a new one")
                self._zygote.stop()
                for workers in self._ready.values():
                    while workers:
                        self._discard(workers.popleft())
            zygote = self._zygote_factory()
            await zygote.start()
            self._zygote = zygote
            return zygote

    async def _spawn(self, kind: str) -> Worker:
        zygote = await self._ensure_zygote()
        try:
            worker: Worker = await self._make_worker(zygote, kind)
        except WorkerError:
            if zygote.alive():
                raise
            zygote = await self._ensure_zygote()
            worker = await self._make_worker(zygote, kind)
        return worker

    def _refill(self, kind: str) -> None:
        missing = self._sizes[kind] - len(self._ready[kind]) - self._pending[kind]
        for _ in range(max(0, missing)):
            self._pending[kind] += 1
            task = asyncio.create_task(self._fill_one(kind))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _fill_one(self, kind: str) -> None:
        try:
            worker = await self._spawn(kind)
        except WorkerError as e:
            log.error("could not pre-fork a %s worker: %s", kind, e)
            await asyncio.sleep(1.0)  # do not spin when the sandbox cannot be built
            return
        finally:
            self._pending[kind] -= 1
        if self._closing:
            self._discard(worker)
        else:
            self._ready[kind].append(worker)

    async def close(self) -> None:
        """Drop every idle worker and stop the zygote."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for workers in self._ready.values():
            while workers:
                self._discard(workers.popleft())
        if self._zygote is not None:
            await asyncio.to_thread(self._zygote.stop)

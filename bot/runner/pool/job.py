"""Run one snippet on one ready worker: hand over, watch limits, collect, classify.

Nothing the job says is trusted: its exit status comes from the keeper (root, outside the job),
output is capped while it is read, time and disk are watched from here, and on any limit the
jail is SIGKILLed through a pidfd, which takes its whole pid namespace (strong level) or, via
the keeper's sweep, its whole process tree (basic level) with it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import signal
import stat
import time
from dataclasses import dataclass
from typing import Any

from bot.runner.io.files import collect_files, disk_usage
from bot.runner.pool.workers import Worker, WorkerError, recv_message, wake
from bot.runner.protocol import RunFile, RunResult, Status, dump_line

KILL_GRACE_S = 5.0
DRAIN_S = 1.0
WATCH_INTERVAL_S = 0.1
_PAGE = os.sysconf("SC_PAGE_SIZE")
_MEMORY_ERRORS = re.compile(
    r"^(MemoryError|RuntimeError: .*(can't allocate memory|DefaultCPUAllocator|"
    r"CUDA out of memory)|torch\.OutOfMemoryError|torch\.cuda\.OutOfMemoryError)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class JobLimits:
    """The per-job limits enforced from the runner's side."""

    wall_time_s: float
    cpu_time_s: int
    output_bytes: int
    scratch_bytes: int  # watched here only at the basic level (strong: tmpfs size)
    watch_disk: bool
    rss_bytes: int  # 0 = not watched here (strong: cgroup; basic cpu: RLIMIT_AS)
    address_space_bytes: int  # 0 = no RLIMIT_AS (gpu jobs, strong level)


class OutputCapture:
    """stdout and stderr of one job, capped in total while they are read."""

    def __init__(self, out_fd: int, err_fd: int, cap: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._cap = cap
        self._used = 0
        self.truncated = False
        self.exceeded = asyncio.Event()
        self.closed = asyncio.Event()
        self.out_fd, self.err_fd = out_fd, err_fd
        self.data = {out_fd: bytearray(), err_fd: bytearray()}
        self._open = set(self.data)
        for fd in self.data:
            self._loop.add_reader(fd, self._read, fd)

    def _read(self, fd: int) -> bool:
        """Read one chunk; return whether there may be more right now."""
        if fd not in self._open:
            return False
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return False
        except OSError:
            chunk = b""
        if not chunk:
            self._open.discard(fd)
            self._loop.remove_reader(fd)
            if not self._open:
                self.closed.set()
            return False
        room = self._cap - self._used
        if room > 0:
            self.data[fd] += chunk[:room]
            self._used += min(room, len(chunk))
        if len(chunk) > room:
            # Keep reading (and discarding) so the writer never blocks on a full pipe.
            self.truncated = True
            self.exceeded.set()
        return True

    def drain(self) -> None:
        """Read what is already in the pipes, without waiting for the writers to close."""
        for fd in self.data:
            for _ in range(1024):  # at most 64 MiB more, discarded past the cap
                if not self._read(fd):
                    break

    def close(self) -> None:
        """Stop watching the pipes (the fds stay open; the worker owns them)."""
        for fd in self.data:
            self._loop.remove_reader(fd)

    def text(self, fd: int) -> str:
        """Decode what was kept of one stream, replacing invalid UTF-8."""
        return self.data[fd].decode("utf-8", errors="replace")


async def run_on_worker(
    worker: Worker,
    code: str,
    device: str,
    limits: JobLimits,
    extra: dict[str, Any],
    files: tuple[RunFile, ...] = (),
) -> RunResult:
    """Hand `code` (and its input files) to the worker; always consumes the worker."""
    # Over 60 lines on purpose: one job's life on one worker (send, watch, collect) in order,
    # every failure on the way mapped to a result where it happens.
    output = OutputCapture(worker.out_fd, worker.err_fd, limits.output_bytes)
    message = {
        "type": "run",
        "code": code,
        "files": [{"name": f.name, "data": base64.b64encode(f.data).decode()} for f in files],
        "cpu_time_s": limits.cpu_time_s,
        "address_space_bytes": limits.address_space_bytes or None,
        **extra,
    }
    loop = asyncio.get_running_loop()
    for pid in (worker.jail_pid, worker.keeper_pid):
        # Undo the zygote's low set-up priority (root may raise it; a job cannot).
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid, 0)
    started = time.perf_counter()
    tasks: dict[asyncio.Future[Any], str] = {}
    try:
        await loop.sock_sendall(worker.job, dump_line(message))
        worker.job.close()
        tasks = {
            asyncio.ensure_future(recv_message(worker.status)): "exit",
            asyncio.ensure_future(_read_done(worker.done_fd)): "done",
            asyncio.ensure_future(output.exceeded.wait()): "output",
            asyncio.ensure_future(_watch(worker, limits)): "watch",
        }
        deadline = started + limits.wall_time_s
        while True:
            pending = [t for t in tasks if not t.done()]
            done, _ = await asyncio.wait(
                pending,
                timeout=max(0.0, deadline - time.perf_counter()),
                return_when=asyncio.FIRST_COMPLETED,
            )
            finished = {tasks[t]: t for t in done}
            if "done" in finished and finished["done"].result() is not None:
                # The snippet finished and said so: answer now, reap in the background.
                duration_ms = (time.perf_counter() - started) * 1000
                worker.kill()
                output.drain()
                over = await _over_disk_cap(worker, limits)
                files = () if over else await asyncio.to_thread(collect_files, worker.scratch_fd)
                return _classify(
                    worker,
                    None,
                    finished["done"].result(),
                    "disk" if over else "",
                    output,
                    device,
                    duration_ms,
                    files,
                )
            if "exit" in finished:
                exit_message, _ = finished["exit"].result()
                return await _finish(
                    worker, int(exit_message["status"]), "", output, device, started, limits
                )
            killed_for = ""
            if "output" in finished:
                killed_for = "output"
            elif "watch" in finished:
                killed_for = finished["watch"].result()
            elif not done:
                killed_for = "wall_time"
            if killed_for:
                worker.kill()
                exit_task = next(t for t, name in tasks.items() if name == "exit")
                exit_message, _ = await asyncio.wait_for(exit_task, KILL_GRACE_S)
                return await _finish(
                    worker, int(exit_message["status"]), killed_for, output, device, started, limits
                )
    except (OSError, WorkerError, TimeoutError, ValueError, KeyError) as e:
        return RunResult.crashed(f"lost the worker: {e!r}")
    finally:
        for task in tasks:
            task.cancel()
        output.close()
        worker.kill()


async def _finish(
    worker: Worker,
    wait_status: int,
    killed_for: str,
    output: OutputCapture,
    device: str,
    started: float,
    limits: JobLimits,
) -> RunResult:
    duration_ms = (time.perf_counter() - started) * 1000
    if killed_for == "wall_time":
        duration_ms = min(duration_ms, limits.wall_time_s * 1000)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(output.closed.wait(), DRAIN_S)
    if not killed_for and await _over_disk_cap(worker, limits):
        killed_for = "disk"
    files = (
        () if killed_for == "disk" else await asyncio.to_thread(collect_files, worker.scratch_fd)
    )
    return _classify(worker, wait_status, None, killed_for, output, device, duration_ms, files)


async def _over_disk_cap(worker: Worker, limits: JobLimits) -> bool:
    # The watcher polls, so a fast writer can finish between two looks; one last look at the
    # end keeps an over-cap job from passing as ok (and its files from being sent on).
    if not limits.watch_disk:
        return False
    return await asyncio.to_thread(_job_disk_usage, worker) > limits.scratch_bytes


def _job_disk_usage(worker: Worker) -> int:
    # Names in scratch, plus files the job deleted but keeps open or mapped: those still fill
    # the disk.
    return disk_usage(worker.scratch_fd) + _unlinked_open_bytes(worker.keeper_pid)


async def _read_done(fd: int) -> int | None:
    # The jail's own "finished with exit code N" line; None when it died without one.
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, wake, ready)
    try:
        await ready
    finally:
        loop.remove_reader(fd)
    try:
        data = os.read(fd, 64)
    except OSError:
        return None
    try:
        return int(data.split(b"\n", 1)[0]) & 0xFF if data.endswith(b"\n") else None
    except ValueError:
        return None


async def _watch(worker: Worker, limits: JobLimits) -> str:
    # Limits the kernel does not enforce at this level, polled; returns what was exceeded.
    while True:
        await asyncio.sleep(WATCH_INTERVAL_S)
        # In a thread: a job with a huge tree must not stall the runner's event loop.
        if limits.watch_disk and (
            await asyncio.to_thread(_job_disk_usage, worker) > limits.scratch_bytes
        ):
            return "disk"
        if limits.rss_bytes and (
            await asyncio.to_thread(_tree_pss, worker.keeper_pid) > limits.rss_bytes
        ):
            return "memory"


def job_tree(keeper: int, limit: int = 1000) -> list[int]:
    """Return the keeper's descendants: the jail and everything below it, orphans included.

    At the basic level the keeper is the subreaper, so a process whose parent exited is
    re-parented to it and still found here (walking from the jail would miss it).
    """
    found: list[int] = []
    stack = [keeper]
    while stack and len(found) < limit:
        current = stack.pop()
        if current != keeper:
            found.append(current)
        with contextlib.suppress(OSError, ValueError):
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    stack.extend(int(p) for p in f.read().split())
    return found


def _tree_pss(keeper: int) -> int:
    # Proportional set size, not RSS: forked children share the warm interpreter's pages
    # (and each other's), and RSS would count those once per process, so a job that merely
    # forks a few times would look like gigabytes. PSS splits shared pages among sharers.
    total = 0
    for pid in job_tree(keeper):
        with contextlib.suppress(OSError, ValueError):
            total += _pss(pid)
    return total


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except PermissionError:
        # A runner without root may not read smaps of a process that made itself
        # non-dumpable (prctl, or exec of an unreadable file); statm is open to all, and its
        # resident size, shared pages counted in full, can only overstate.
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    return 0


def _unlinked_open_bytes(keeper: int) -> int:
    # Regular files with no name left (deleted while open or while mapped, memfds) held by the
    # job's tree, each counted once however many descriptors and mappings point at it. A file
    # mapped by one page, then closed and unlinked, keeps all its blocks but no descriptor.
    seen: dict[tuple[int, int], int] = {}
    for pid in job_tree(keeper):
        for folder in (f"/proc/{pid}/fd", f"/proc/{pid}/map_files"):
            _count_unlinked(folder, seen)
    return sum(seen.values())


def _count_unlinked(folder: str, seen: dict[tuple[int, int], int]) -> None:
    # map_files needs CAP_SYS_ADMIN: a runner that is not root cannot read it, but then the
    # job's files live in its jail's size-capped tmpfs, which counts them already.
    with contextlib.suppress(OSError):
        for entry in os.listdir(folder):
            with contextlib.suppress(OSError):
                st = os.stat(f"{folder}/{entry}")
                if stat.S_ISREG(st.st_mode) and st.st_nlink == 0:
                    seen[st.st_dev, st.st_ino] = st.st_blocks * 512


def _classify(
    worker: Worker,
    wait_status: int | None,
    reported_exit: int | None,
    killed_for: str,
    output: OutputCapture,
    device: str,
    duration_ms: float,
    files: tuple[Any, ...],
) -> RunResult:
    if wait_status is None:
        sig, exit_code = None, reported_exit
    else:
        sig = os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else None
        exit_code = os.WEXITSTATUS(wait_status) if os.WIFEXITED(wait_status) else None
    stdout, stderr = output.text(output.out_fd), output.text(output.err_fd)
    cgroup = worker.cgroup
    status: Status
    reason = ""
    # Memory first: a job whose child the OOM killer took may then run out its wall time, or
    # even exit 0; either way part of it was killed for using too much memory.
    if killed_for == "memory" or (cgroup is not None and cgroup.oom_killed()):
        status, reason = "memory", "memory"
    elif killed_for == "wall_time":
        status, reason = "timeout", "wall_time"
    elif killed_for:
        status, reason = "killed", killed_for
    elif sig == signal.SIGXCPU:
        status, reason = "timeout", "cpu_time"
    elif sig == signal.SIGXFSZ:
        status, reason = "killed", "file_size"
    elif sig is not None:
        status, reason = "killed", f"signal {signal.Signals(sig).name}"
    elif exit_code == 0:
        status = "ok"
    elif _MEMORY_ERRORS.search(stderr):
        status, reason = "memory", "memory"
    else:
        status = "error"
        if "[Errno 28]" in stderr:
            reason = "disk"
        elif "[Errno 27]" in stderr:
            reason = "file_size"
        elif cgroup is not None and cgroup.hit_pids_limit():
            reason = "processes"
    return RunResult(
        status=status,
        exit_code=exit_code,
        signal=sig,
        device=device,
        duration_ms=duration_ms,
        stdout=stdout,
        stderr=stderr,
        output_truncated=output.truncated,
        files=files,
        reason=reason,
    )

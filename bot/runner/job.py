"""Run one snippet on one ready worker: hand over, watch limits, collect, classify.

Nothing the job says is trusted: its exit status comes from the keeper (root, outside the job),
output is capped while it is read, time and disk are watched from here, and on any limit the
jail is SIGKILLed through a pidfd, which takes its whole pid namespace (strong level) or, via
the keeper's sweep, its whole process tree (basic level) with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import stat
import time
from dataclasses import dataclass
from typing import Any

from bot.runner.files import collect_files
from bot.runner.pool import Worker, WorkerError, recv_message
from bot.runner.protocol import RunResult, Status, dump_line

KILL_GRACE_S = 5.0
DRAIN_S = 1.0
WATCH_INTERVAL_S = 0.1
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


class _Output:
    """stdout and stderr of one job, capped in total while they are read."""

    def __init__(self, worker: Worker, cap: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._cap = cap
        self._used = 0
        self.truncated = False
        self.exceeded = asyncio.Event()
        self.closed = asyncio.Event()
        self.data = {worker.out_fd: bytearray(), worker.err_fd: bytearray()}
        self._open = len(self.data)
        for fd in self.data:
            self._loop.add_reader(fd, self._read, fd)

    def _read(self, fd: int) -> None:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._stop(fd)
            return
        room = self._cap - self._used
        if room > 0:
            self.data[fd] += chunk[:room]
            self._used += min(room, len(chunk))
        if len(chunk) > room:
            # Keep reading (and discarding) so the writer never blocks on a full pipe.
            self.truncated = True
            self.exceeded.set()

    def _stop(self, fd: int) -> None:
        self._loop.remove_reader(fd)
        self._open -= 1
        if self._open == 0:
            self.closed.set()

    def close(self) -> None:
        for fd in self.data:
            self._loop.remove_reader(fd)

    def text(self, fd: int) -> str:
        return self.data[fd].decode("utf-8", errors="replace")


async def run_on_worker(
    worker: Worker, code: str, device: str, limits: JobLimits, extra: dict[str, Any]
) -> RunResult:
    """Hand `code` to the worker and return its result; always consumes the worker."""
    output = _Output(worker, limits.output_bytes)
    message = {"type": "run", "code": code, "cpu_time_s": limits.cpu_time_s,
               "address_space_bytes": limits.address_space_bytes or None, **extra}
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    try:
        await loop.sock_sendall(worker.job, dump_line(message))
        worker.job.close()
        exit_wait = asyncio.ensure_future(recv_message(worker.status))
        reasons = {
            asyncio.ensure_future(output.exceeded.wait()): "output",
            asyncio.ensure_future(_watch(worker, limits)): "",
        }
        done, _ = await asyncio.wait(
            {exit_wait, *reasons}, timeout=limits.wall_time_s, return_when=asyncio.FIRST_COMPLETED
        )
        killed_for = ""
        if exit_wait not in done:
            killed_for = "wall_time"
            for task in done:
                killed_for = reasons[task] or task.result()
            worker.kill()
        for task in reasons:
            task.cancel()
        try:
            exit_message, _ = await asyncio.wait_for(exit_wait, KILL_GRACE_S)
        except (TimeoutError, WorkerError, ValueError) as e:
            return RunResult.crashed(f"the worker's keeper vanished: {e!r}")
        duration_ms = (time.perf_counter() - started) * 1000
        if killed_for == "wall_time":
            duration_ms = min(duration_ms, limits.wall_time_s * 1000)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(output.closed.wait(), DRAIN_S)
        files = await asyncio.to_thread(collect_files, worker.scratch_fd)
        return _classify(worker, int(exit_message["status"]), killed_for, output, device,
                         duration_ms, files)
    except OSError as e:
        return RunResult.crashed(f"lost the worker: {e}")
    finally:
        output.close()
        worker.kill()


async def _watch(worker: Worker, limits: JobLimits) -> str:
    # Limits the kernel does not enforce at this level, polled; returns what was exceeded.
    while True:
        await asyncio.sleep(WATCH_INTERVAL_S)
        if limits.watch_disk and _disk_usage(worker.scratch_fd) > limits.scratch_bytes:
            return "disk"
        if limits.rss_bytes and _tree_rss(worker.jail_pid) > limits.rss_bytes:
            return "memory"


def _disk_usage(dir_fd: int, max_entries: int = 10_000) -> int:
    total, seen = 0, 0
    with contextlib.suppress(OSError):
        for _, _, files, root_fd in os.fwalk(".", dir_fd=dir_fd):
            for name in files:
                seen += 1
                if seen > max_entries:
                    return total
                with contextlib.suppress(OSError):
                    st = os.stat(name, dir_fd=root_fd, follow_symlinks=False)
                    if stat.S_ISREG(st.st_mode):
                        total += st.st_blocks * 512
    return total


def _tree_rss(pid: int) -> int:
    total, stack, seen = 0, [pid], 0
    while stack and seen < 1000:
        current = stack.pop()
        seen += 1
        with contextlib.suppress(OSError, ValueError):
            with open(f"/proc/{current}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    stack.extend(int(p) for p in f.read().split())
    return total


def _classify(
    worker: Worker, wait_status: int, killed_for: str, output: _Output, device: str,
    duration_ms: float, files: tuple[Any, ...],
) -> RunResult:
    sig = os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else None
    exit_code = os.WEXITSTATUS(wait_status) if os.WIFEXITED(wait_status) else None
    stdout, stderr = output.text(worker.out_fd), output.text(worker.err_fd)
    cgroup = worker.cgroup
    status: Status
    reason = ""
    if killed_for == "wall_time":
        status, reason = "timeout", "wall_time"
    elif killed_for == "memory" or (
        cgroup is not None and cgroup.oom_killed() and exit_code != 0
    ):
        status, reason = "memory", "memory"
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
        status=status, exit_code=exit_code, signal=sig, device=device, duration_ms=duration_ms,
        stdout=stdout, stderr=stderr, output_truncated=output.truncated, files=files,
        reason=reason,
    )

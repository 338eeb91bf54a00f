"""Memory and disk held where the runner's watch cannot see it, and names squatted on the host.

An outside red team held gigabytes past the limits with status `ok` through memfds and shared
memory kept alive by one mapped page, filled socket buffers, and scratch files mapped, closed
and unlinked. At every level each of these must be counted against the job's limits (the job
stopped) or refused, and nothing may stay held on the host once the job is over.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from tests.runner.conftest import RunnerUnderTest, scaled
from tests.runner.test_attacks import assert_next_job_runs, run

MIB = 1 << 20
# The fenced runner's limits (tests/runner/conftest.py): memory 512 MiB, scratch 16 MiB,
# 4 MiB per file. Each attack tries to hold well past them.
HOLD_MIB = 640
# Room for what other programs on the machine do to host-wide counters meanwhile.
HOST_SLACK_MIB = 128

# Map one page of `fd` shared and keep the mapping after the descriptor is closed; Python's
# own mmap module would keep a duplicate descriptor, which the runner already sees.
MAP_ONE_PAGE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
def hold(fd):
    address = libc.mmap(None, 4096, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED
    if address in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap")
    os.close(fd)
"""


def host_shmem_bytes() -> int:
    """Return the machine's shared memory (tmpfs, memfds, shared mappings) from meminfo."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1]) * 1024
    return 0


async def assert_shmem_back_to(baseline: int) -> None:
    """Fail unless host shared memory comes back near `baseline` within a few seconds."""
    for _ in range(int(scaled(50))):
        if host_shmem_bytes() < baseline + HOST_SLACK_MIB * MIB:
            return
        await asyncio.sleep(0.1)
    grown = (host_shmem_bytes() - baseline) // MIB
    raise AssertionError(f"host shared memory still {grown} MiB above its baseline")


def shm_leftovers() -> list[Path]:
    """Return files the shared-memory attack may have left in the host's /dev/shm."""
    return list(Path("/dev/shm").glob("hoard*"))


def held_past_limits(result_status: str, stdout: str) -> bool:
    """Tell whether a job kept what it held and ended `ok`."""
    return result_status == "ok" and "held" in stdout


async def test_memfds_kept_by_a_mapped_page(runner: RunnerUnderTest) -> None:
    baseline = host_shmem_bytes()
    result = await run(
        runner,
        MAP_ONE_PAGE
        + f"""
import time
for i in range({HOLD_MIB // 4}):
    fd = os.memfd_create(f"hoard{{i}}")
    os.write(fd, b"x" * (4 << 20))
    hold(fd)
print("held", {HOLD_MIB}, "MiB", flush=True)
time.sleep(1.5)
""",
    )
    assert not held_past_limits(result.status, result.stdout), result
    assert result.status == "memory" or "PermissionError" in result.stderr, result
    await assert_shmem_back_to(baseline)
    await assert_next_job_runs(runner)


async def test_shared_memory_files_kept_by_a_mapped_page(runner: RunnerUnderTest) -> None:
    baseline = host_shmem_bytes()
    result = await run(
        runner,
        MAP_ONE_PAGE
        + f"""
import time
for i in range({HOLD_MIB // 4}):
    path = f"/dev/shm/hoard{{i}}"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.write(fd, b"x" * (4 << 20))
    hold(fd)
    os.unlink(path)
print("held", {HOLD_MIB}, "MiB", flush=True)
time.sleep(1.5)
""",
    )
    assert not held_past_limits(result.status, result.stdout), result
    # Refused (Landlock at basic), out of room (the jail's capped tmpfs), or counted.
    assert result.status in {"memory", "killed", "error"}, result
    await assert_shmem_back_to(baseline)
    assert not shm_leftovers()
    await assert_next_job_runs(runner)


async def test_socket_buffers_are_bounded(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        import socket, time
        held, pairs = 0, []
        for _ in range(120):
            a, b = socket.socketpair()
            for s in (a, b):
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 << 20)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
                except OSError:
                    pass
            a.setblocking(False)
            chunk = b"x" * (1 << 16)
            while True:
                try:
                    held += a.send(chunk)
                except (BlockingIOError, OSError):
                    break
            pairs.append((a, b))
        print("held", held >> 20, "MiB", flush=True)
        time.sleep(1.5)
    """,
    )
    if result.status == "ok":
        held_mib = int(result.stdout.split()[1])
        # Without a cgroup that charges them, socket buffers may not be raised; the defaults
        # times the open-files limit is what remains (a fraction of the 512 MiB limit).
        assert held_mib < 96, result
    else:
        assert result.status in {"memory", "killed"}, result
    await assert_next_job_runs(runner)


async def test_pipe_buffers_are_bounded(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        import fcntl, os, time
        held, pipes = 0, []
        for _ in range(120):
            r, w = os.pipe()
            try:
                fcntl.fcntl(w, 1031, 1 << 20)  # F_SETPIPE_SZ
            except OSError:
                pass
            os.set_blocking(w, False)
            while True:
                try:
                    held += os.write(w, b"x" * (1 << 16))
                except OSError:
                    break
            pipes.append((r, w))
        print("held", held >> 20, "MiB", flush=True)
        time.sleep(1.5)
    """,
    )
    if result.status == "ok":
        # fs.pipe-user-pages-soft (64 MiB per user by default) and the open-files limit.
        assert int(result.stdout.split()[1]) < 96, result
    else:
        assert result.status in {"memory", "killed"}, result
    await assert_next_job_runs(runner)


async def test_scratch_files_mapped_closed_and_unlinked_count_as_disk(
    runner: RunnerUnderTest,
) -> None:
    result = await run(
        runner,
        MAP_ONE_PAGE
        + """
import time
for i in range(12):  # 48 MiB, three times the 16 MiB scratch cap
    fd = os.open(f"hoard{i}", os.O_RDWR | os.O_CREAT, 0o600)
    os.write(fd, b"x" * (4 << 20))
    hold(fd)
    os.unlink(f"hoard{i}")
print("held 48 MiB", flush=True)
time.sleep(1.5)
""",
    )
    assert not held_past_limits(result.status, result.stdout), result
    assert result.reason == "disk", result
    assert result.status in ("error", "killed")
    await assert_next_job_runs(runner)


def host_abstract_names() -> set[str]:
    """Return the abstract unix socket names bound in this (the host's) network namespace."""
    names = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[7].startswith("@"):
            names.add(fields[7][1:])
    return names


async def test_abstract_socket_names_stay_in_the_job(runner: RunnerUnderTest) -> None:
    name = f"studybot-squat-{secrets.token_hex(6)}"
    job = asyncio.ensure_future(
        run(
            runner,
            f"""
            import socket, time
            bound = []
            for make in (lambda: socket.socket(socket.AF_UNIX),
                         lambda: socket.socketpair()[0]):
                try:
                    s = make()
                    s.bind("\\0{name}-" + str(len(bound)))
                    bound.append(s)
                except OSError as e:
                    print("refused", e)
            print("bound", len(bound), flush=True)
            time.sleep(1.5)
            """,
        )
    )
    seen: set[str] = set()
    while not job.done():
        seen |= {n for n in host_abstract_names() if n.startswith(name)}
        await asyncio.sleep(0.02)
    result = job.result()
    assert result.status == "ok", result
    assert not seen, f"the job bound {sorted(seen)} in the host's namespace"
    if runner.level == "basic":  # the host's namespace: refused outright
        assert "bound 0" in result.stdout, result
    await assert_next_job_runs(runner)

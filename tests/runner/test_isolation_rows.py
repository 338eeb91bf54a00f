"""The attacks of issue 10's table, each against every level it applies to.

Older kernels are simulated on this one: `basic-abi5` caps the Landlock ABI the runner believes
it has at 5 (no signal or abstract-socket scoping, as on Linux 5.13-6.11), `basic-nolandlock`
at 0 (no Landlock at all, as before 5.13). `unprivileged` is the strong level built by a runner
without root, in a user namespace per job; `strong-nopivot` the strong level where a seccomp
filter refuses pivot_root, as Docker's default profile does under Swarm. Traffic goes only to
sockets this test opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import secrets
import socket
import tempfile
import textwrap
from collections.abc import Iterator

import pytest

from tests.runner.conftest import RunnerUnderTest, fenced_runner, scaled
from tests.runner.test_attacks import SET_NAME, assert_next_job_runs, processes_named, run

CONFIGS = {
    "strong": ("strong", {}),
    "basic": ("basic", {}),
    "basic-abi5": ("basic", {"STUDYBOT_RUN_LANDLOCK_ABI_MAX": "5"}),
    "basic-nolandlock": ("basic", {"STUDYBOT_RUN_LANDLOCK_ABI_MAX": "0"}),
    "unprivileged": ("strong", {}),
    "strong-nopivot": ("strong", {}),
}
# Generous: two shared cores, and some attacks need a victim to outlive the attacker.
# 512 MiB: at basic a job tree's memory is its proportional set size, and 150 forks of a warm
# worker (torch, numpy, matplotlib and the compiler stack) take most of the shared pages' cost
# onto that tree; the fork hog of row 5 must fail on threads, not on memory. Row 4's orphans
# (800 MiB) are still well above it.
ROW_SETTINGS = {"STUDYBOT_RUN_WALL_TIME": "10", "STUDYBOT_RUN_MEMORY_MB": "512"}
APPEAR_TIMEOUT_S = scaled(60.0)


@pytest.fixture(scope="session", params=list(CONFIGS))
def row_runner(request: pytest.FixtureRequest) -> Iterator[RunnerUnderTest]:
    """A fenced runner per level and simulated kernel."""
    level, settings = CONFIGS[request.param]
    unprivileged = request.param == "unprivileged"
    no_pivot = request.param == "strong-nopivot"
    with fenced_runner(
        level, unprivileged=unprivileged, no_pivot_root=no_pivot, **ROW_SETTINGS, **settings
    ) as r:
        if no_pivot:
            log = (r.workdir / "runner.log").read_text()
            assert "root switch: pivot_root refused here" in log, log
        yield r


async def wait_for_processes(name: str, at_least: int = 1) -> None:
    """Wait (polling /proc, no fixed sleep) until `at_least` processes named `name` run."""
    for _ in range(int(APPEAR_TIMEOUT_S / 0.05)):
        if len(processes_named(name)) >= at_least:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"fewer than {at_least} processes named {name} ever ran")


# -- row 1: signals to every other process of the shared uid ---------------------------------


async def test_row1_a_job_cannot_stop_another_jobs_processes(row_runner: RunnerUnderTest) -> None:
    name = "sbx-" + secrets.token_hex(5)
    victim = asyncio.ensure_future(
        run(
            row_runner,
            SET_NAME.format(name=name) + f"import time\ntime.sleep({scaled(3)})\nprint('alive')",
        )
    )
    await wait_for_processes(name)
    attacker = await run(
        row_runner,
        """
        import os, signal
        me, hit = os.getpid(), 0
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != me:
                try:
                    os.kill(int(entry), signal.SIGSTOP)
                    hit += 1
                except OSError:
                    pass
        print("stopped", hit)
        """,
    )
    assert attacker.stdout == "stopped 0\n", attacker
    result = await victim
    assert (result.status, result.stdout) == ("ok", "alive\n"), result
    for _ in range(3):  # every idle worker of the pool still answers
        await assert_next_job_runs(row_runner)


# -- row 2: planting files in the next workers' scratch directories --------------------------


async def test_row2_a_job_cannot_plant_files_for_the_next_jobs(row_runner: RunnerUnderTest) -> None:
    attacker = await run(
        row_runner,
        """
        import os
        here, planted = os.path.basename(os.getcwd()), 0
        for i in range(1, 500):
            if f"w{i}" == here:
                continue
            try:
                with open(f"../w{i}/planted.txt", "w") as f:
                    f.write("from another user")
                planted += 1
            except OSError:
                pass
        print("planted", planted)
        """,
    )
    assert attacker.stdout == "planted 0\n", attacker
    for _ in range(3):
        result = await run(row_runner, "import os\nprint(sorted(os.listdir('.')))")
        assert (result.stdout, result.files) == ("[]\n", ()), result


async def test_row2_scratch_is_private_to_its_own_uid(row_runner: RunnerUnderTest) -> None:
    result = await run(
        row_runner,
        """
        import os, stat
        st = os.stat(".")
        print(oct(stat.S_IMODE(st.st_mode)), st.st_uid == os.getuid(), st.st_gid == os.getgid())
        """,
    )
    assert result.stdout == "0o700 True True\n", result


# -- row 3: datagrams to host Unix sockets ---------------------------------------------------


@contextlib.contextmanager
def host_datagram_sockets() -> Iterator[tuple[str, str, list[socket.socket]]]:
    """A world-writable Unix datagram socket by path and one by abstract name."""
    directory = tempfile.mkdtemp(prefix="studybot-row3-")
    os.chmod(directory, 0o755)  # noqa: S103 - any job could reach it, which is the point
    path = f"{directory}/host.sock"
    abstract = f"\0studybot-row3-{secrets.token_hex(6)}"
    socks = []
    try:
        for address in (path, abstract):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(address)
            sock.setblocking(False)
            socks.append(sock)
        os.chmod(path, 0o777)  # noqa: S103
        yield path, abstract, socks
    finally:
        for sock in socks:
            sock.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.rmdir(directory)


async def test_row3_socketpair_cannot_reach_host_sockets(row_runner: RunnerUnderTest) -> None:
    with host_datagram_sockets() as (path, abstract, socks):
        result = await run(
            row_runner,
            f"""
            import socket
            outcomes = []
            for target in ({path!r}, {abstract!r}):
                a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
                try:
                    a.sendto(b"leak", target)
                    outcomes.append("sent")
                except OSError:
                    outcomes.append("blocked")
                try:
                    a.connect(target)
                    a.send(b"leak")
                    outcomes.append("sent")
                except OSError:
                    outcomes.append("blocked")
            a, b = socket.socketpair()
            a.send(b"pair")
            print(outcomes, b.recv(10))
            """,
        )
        received = []
        for sock in socks:
            with contextlib.suppress(BlockingIOError):
                received.append(sock.recv(100))
    assert received == []
    assert result.stdout == "['blocked', 'blocked', 'blocked', 'blocked'] b'pair'\n", result
    await assert_next_job_runs(row_runner)


# -- row 4: memory held by orphaned grandchildren --------------------------------------------


async def test_row4_memory_of_orphans_counts(row_runner: RunnerUnderTest) -> None:
    name = "sbx-" + secrets.token_hex(5)
    result = await run(
        row_runner,
        SET_NAME.format(name=name)
        + textwrap.dedent(f"""
        import os, time
        if os.fork() == 0:
            for _ in range(4):
                if os.fork() == 0:
                    block = b"\\x01" * (200 << 20)  # touched: 200 MiB each, 800 MiB in all
                    time.sleep({scaled(60)})
                    os._exit(0)
            os._exit(0)  # the grandchildren are orphans now
        os.wait()
        time.sleep({scaled(6)})
        print("all is well")
        """),
    )
    # Strong: the memory cgroup holds the whole job and the kernel kills inside it; basic: the
    # watch counts everything below the keeper, the orphans' subreaper.
    assert result.status == "memory", result
    assert processes_named(name) == []  # swept before the answer came back
    await assert_next_job_runs(row_runner)


# -- row 5: a fork hog starves other jobs' threads -------------------------------------------


async def test_row5_a_fork_hog_does_not_starve_other_jobs(row_runner: RunnerUnderTest) -> None:
    token = secrets.token_hex(5)
    name, done = "sbx-" + token, "sbd-" + token
    hog = asyncio.ensure_future(
        run(
            row_runner,
            SET_NAME.format(name=name)
            + textwrap.dedent(f"""
            import os, time
            n = 0
            for _ in range(150):
                try:
                    if os.fork() == 0:
                        time.sleep(60)
                        os._exit(0)
                    n += 1
                except OSError:
                    break
            # Renamed once every fork it could make is running, so the test knows.
            ctypes.CDLL(None).prctl(15, {done!r}.encode(), 0, 0, 0)
            time.sleep({scaled(4)})
            print("forked", n)
            """),
        )
    )
    await wait_for_processes(done)
    threads = """
        import threading, time
        ts = [threading.Thread(target=time.sleep, args=(0.05,)) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print("threads ok")
    """
    during = await run(row_runner, threads)
    assert (during.status, during.stdout) == ("ok", "threads ok\n"), during
    assert (await hog).status == "ok"
    assert processes_named(name) == processes_named(done) == []  # swept before the answer
    after = await run(row_runner, threads)
    assert (after.status, after.stdout) == ("ok", "threads ok\n"), after


# -- row 6: files deleted while open ---------------------------------------------------------


async def test_row6_deleted_but_open_files_count_against_the_disk_cap(
    row_runner: RunnerUnderTest,
) -> None:
    result = await run(
        row_runner,
        f"""
        import os, time
        kept = []
        for i in range(12):  # 36 MiB against a 16 MiB scratch cap, never more than 3 named
            f = open(f"f{{i}}", "wb")
            f.write(b"\\1" * (3 << 20))
            f.flush()
            os.unlink(f"f{{i}}")
            kept.append(f)
        time.sleep({scaled(5)})
        print("kept", len(kept))
        """,
    )
    assert result.reason == "disk", result
    assert result.status in ("error", "killed"), result
    await assert_next_job_runs(row_runner)


# -- row 7: CPU shared fairly between jobs ---------------------------------------------------


async def test_row7_a_job_gets_a_cpu_quota(row_runner: RunnerUnderTest) -> None:
    if row_runner.level != "strong":
        pytest.skip("basic has no cgroups: CPU is shared by the scheduler only")
    protections = (await row_runner.client().info()).protections
    if row_runner.unprivileged and not protections["cgroup_cpu"]:
        pytest.skip("without root and a delegated cgroup v2 subtree there is no CPU cgroup")
    # The job reads its own cgroup's quota: a share of the cores (2 jobs at once by default),
    # whatever number of busy processes it starts. (How much slower a neighbour gets under
    # load is a timing, not a test; the quota is what bounds it.)
    result = await run(
        row_runner,
        """
        import os
        line = next(line for line in open("/proc/self/cgroup")
                    if "cpu" in line.split(":")[1].split(",") or line.startswith("0::"))
        path = line.strip().split(":", 2)[2]
        for root, name in (("/sys/fs/cgroup/cpu", "cpu.cfs_quota_us"),
                           ("/sys/fs/cgroup", "cpu.max")):
            if os.path.exists(root + path + "/" + name):
                print(open(root + path + "/" + name).read().split()[0])
                break
        else:
            print("no cpu cgroup", path)
        """,
    )
    expected = int(max(1.0, (os.cpu_count() or 1) / 2) * 100_000)
    assert (result.status, result.stdout) == ("ok", f"{expected}\n"), result


# -- row 8: /sys submounts ---------------------------------------------------------------------


async def test_row8_sys_is_read_only_through_every_submount(row_runner: RunnerUnderTest) -> None:
    if row_runner.level != "strong":
        pytest.skip("basic has no mount namespace: /sys is the host's, kept by Landlock and uids")
    result = await run(
        row_runner,
        """
        writable = []
        for line in open("/proc/self/mountinfo"):
            fields = line.split()
            point, options = fields[4], fields[5].split(",")
            if (point == "/sys" or point.startswith("/sys/")) and "ro" not in options:
                writable.append(point)
        print("writable", writable)
        """,
    )
    assert result.stdout == "writable []\n", result


# -- row 9: syscalls Docker's default profile refuses ----------------------------------------

# x86_64 numbers: modify_ldt, get_mempolicy, set_mempolicy, mbind, move_pages, sysfs, ustat
DOCKER_DENIED_X86_64 = {
    "modify_ldt": 154,
    "get_mempolicy": 239,
    "set_mempolicy": 238,
    "mbind": 237,
    "move_pages": 279,
    "sysfs": 139,
    "ustat": 136,
}


async def test_row9_syscalls_docker_denies_are_denied(row_runner: RunnerUnderTest) -> None:
    if platform.machine() != "x86_64":
        pytest.skip("syscall numbers below are x86_64's")
    result = await run(
        row_runner,
        f"""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        buf = ctypes.create_string_buffer(64)
        for name, number in {DOCKER_DENIED_X86_64!r}.items():
            ctypes.set_errno(0)
            r = libc.syscall(number, 0, buf, 16, 0, 0, 0)
            print(name, r, ctypes.get_errno())
        """,
    )
    assert result.status == "ok", result
    lines = result.stdout.splitlines()
    assert lines == [f"{name} -1 1" for name in DOCKER_DENIED_X86_64], result
    await assert_next_job_runs(row_runner)


# -- the jail's root: pivot_root, or a move mount and chroot where pivot_root is refused -----


async def test_the_host_is_out_of_reach_below_the_jails_root(row_runner: RunnerUnderTest) -> None:
    if row_runner.level != "strong":
        pytest.skip("basic has no mount namespace: the host's files are kept by Landlock and uids")
    result = await run(
        row_runner,
        f"""
        import os
        for path in ({str(row_runner.env_file)!r}, {str(row_runner.database)!r}, "/etc/shadow"):
            try:
                open(path).read()
                print("read", path)
            except OSError as e:
                print("refused", type(e).__name__)
        points = [line.split()[4] for line in open("/proc/self/mountinfo")]
        print("host mounts", [p for p in points if p.startswith({str(row_runner.workdir)!r})])
        os.chdir("/")
        for _ in range(8):
            os.chdir("..")
        print("root holds", sorted(os.listdir(".")) == sorted(os.listdir("/")))
        try:
            os.chroot("/tmp")
            print("chroot worked")
        except OSError as e:
            print("chroot refused", e.errno)
        """,
    )
    assert result.status == "ok", result
    lines = result.stdout.splitlines()
    assert lines[:3] == ["refused FileNotFoundError"] * 3, result
    assert lines[3:] == ["host mounts []", "root holds True", "chroot refused 1"], result
    await assert_next_job_runs(row_runner)

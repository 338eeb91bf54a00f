"""The attack battery: each attack runs against a real runner at both levels.

Every test asserts that the attack was contained and that the next job still runs normally.
Network attacks target only listeners this test opens on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.runner.protocol import RunRequest, RunResult
from tests.runner.conftest import RunnerUnderTest, scaled


async def run(runner: RunnerUnderTest, code: str) -> RunResult:
    """Run a snippet as a fresh user on the CPU."""
    request = RunRequest(textwrap.dedent(code), f"attack:{secrets.token_hex(6)}", "cpu")
    return await runner.client().run(request)


async def assert_next_job_runs(runner: RunnerUnderTest) -> None:
    """The runner survived and a plain job still works."""
    assert runner.alive()
    result = await run(runner, "import torch\nprint(int(torch.ones(6).sum()) * 7)")
    assert (result.status, result.stdout) == ("ok", "42\n"), result


def processes_named(name: str) -> list[int]:
    """Pids whose comm is `name` (visible here across the runner's pid namespaces)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{entry}/comm").read_text().strip() == name:
                    found.append(int(entry))
    return found


async def assert_no_process_named(name: str, within_s: float = 5.0) -> None:
    """Fail unless every process named `name` is gone within `within_s`."""
    for _ in range(int(within_s / 0.1)):
        if not processes_named(name):
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"processes named {name} outlived their job: {processes_named(name)}")


SET_NAME = "import ctypes\nctypes.CDLL(None).prctl(15, {name!r}.encode(), 0, 0, 0)\n"


# -- time ------------------------------------------------------------------------------------


async def test_infinite_loop_times_out(runner: RunnerUnderTest) -> None:
    result = await run(runner, "while True:\n    pass")
    assert result.status == "timeout"
    assert result.duration_ms <= scaled(3000) + 1
    await assert_next_job_runs(runner)


async def test_sleep_times_out(runner: RunnerUnderTest) -> None:
    result = await run(runner, "import time\nprint('before', flush=True)\ntime.sleep(600)")
    assert result.status == "timeout"
    assert result.stdout == "before\n"
    await assert_next_job_runs(runner)


async def test_ignored_sigterm_still_dies(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        import signal
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        while True:
            pass
    """,
    )
    assert result.status == "timeout"
    await assert_next_job_runs(runner)


# -- memory ----------------------------------------------------------------------------------


async def test_memory_bomb_tensors(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        import torch
        hoard = []
        while True:
            hoard.append(torch.ones(16 * 1024 * 1024))  # 64 MiB each, touched
    """,
    )
    assert result.status == "memory", result
    await assert_next_job_runs(runner)


async def test_memory_bomb_bytes(runner: RunnerUnderTest) -> None:
    result = await run(runner, "blob = b'x' * (8 * 1024**3)\nprint(len(blob))")
    assert result.status == "memory", result
    await assert_next_job_runs(runner)


async def test_one_huge_tensor(runner: RunnerUnderTest) -> None:
    result = await run(
        runner, "import torch\nt = torch.empty(64 * 1024**3, dtype=torch.uint8)\nt.fill_(1)"
    )
    assert result.status == "memory", result
    await assert_next_job_runs(runner)


# -- processes -------------------------------------------------------------------------------


async def test_fork_bomb(runner: RunnerUnderTest) -> None:
    name = "sbx-" + secrets.token_hex(5)
    result = await run(
        runner,
        SET_NAME.format(name=name)
        + textwrap.dedent("""
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """),
    )
    assert result.status in ("timeout", "error", "killed"), result
    await assert_no_process_named(name)
    await assert_next_job_runs(runner)


async def test_thread_bomb(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        import threading, time
        n = 0
        try:
            while True:
                threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
                n += 1
        except RuntimeError as e:
            print("stopped after", n, e)
    """,
    )
    assert result.status == "ok", result
    started = int(result.stdout.split()[2])
    assert started < 1000
    await assert_next_job_runs(runner)


async def test_daemon_dies_with_its_job(runner: RunnerUnderTest) -> None:
    name = "sbx-" + secrets.token_hex(5)
    result = await run(
        runner,
        f"""
        import ctypes, os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                ctypes.CDLL(None).prctl(15, {name!r}.encode(), 0, 0, 0)
                time.sleep(600)
            os._exit(0)
        os.wait()
        print("daemonized")
    """,
    )
    assert (result.status, result.stdout) == ("ok", "daemonized\n"), result
    await assert_no_process_named(name)
    await assert_next_job_runs(runner)


async def test_kill_parent(runner: RunnerUnderTest) -> None:
    result = await run(runner, "import os\nos.kill(os.getppid(), 9)\nprint('still here')")
    assert result.status in ("ok", "error", "killed"), result
    await assert_next_job_runs(runner)


async def test_kill_everything(runner: RunnerUnderTest) -> None:
    result = await run(
        runner, "import os\ntry:\n    os.kill(-1, 9)\nexcept OSError as e:\n    print(e)"
    )
    assert result.status in ("ok", "killed"), result
    await assert_next_job_runs(runner)


async def test_deep_recursion(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        import sys
        sys.setrecursionlimit(10**8)
        def down(n):
            return down(n + 1) + 1
        down(0)
    """,
    )
    # Python 3.11 keeps frames on the heap, so this ends as a memory kill or a C stack crash.
    assert result.status in ("error", "killed", "memory", "timeout"), result
    await assert_next_job_runs(runner)


# -- output ----------------------------------------------------------------------------------


async def test_endless_output(runner: RunnerUnderTest) -> None:
    result = await run(runner, "while True:\n    print('spam' * 25)")
    assert (result.status, result.reason) == ("killed", "output"), result
    assert result.output_truncated
    assert len(result.stdout.encode()) <= 16 * 1024
    await assert_next_job_runs(runner)


async def test_huge_line_without_newline(runner: RunnerUnderTest) -> None:
    result = await run(runner, "import sys\nsys.stdout.write('y' * 50_000_000)")
    assert (result.status, result.reason) == ("killed", "output"), result
    assert result.output_truncated
    assert len(result.stdout) <= 16 * 1024
    await assert_next_job_runs(runner)


async def test_invalid_utf8_output(runner: RunnerUnderTest) -> None:
    result = await run(
        runner, "import os\nos.write(1, b'ok \\xff\\xfe\\xc3(\\n')\nos.write(2, b'\\x80')"
    )
    assert result.status == "ok"
    assert result.stdout.startswith("ok ") and "\ufffd" in result.stdout
    assert result.stderr == "\ufffd"
    await assert_next_job_runs(runner)


# -- network ---------------------------------------------------------------------------------


@contextlib.contextmanager
def listener(family: socket.AddressFamily, kind: socket.SocketKind) -> Iterator[socket.socket]:
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    try:
        sock = socket.socket(family, kind)
        sock.bind((host, 0))
    except OSError as e:
        pytest.skip(f"cannot listen on {host}: {e}")
    if kind == socket.SOCK_STREAM:
        sock.listen(8)
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def received_anything(sock: socket.socket) -> bool:
    try:
        if sock.type == socket.SOCK_STREAM:
            sock.accept()[0].close()
        else:
            sock.recv(100)
    except BlockingIOError:
        return False
    return True


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("kind", [socket.SOCK_STREAM, socket.SOCK_DGRAM], ids=["tcp", "udp"])
async def test_loopback_listener_gets_nothing(
    runner: RunnerUnderTest, family: socket.AddressFamily, kind: socket.SocketKind
) -> None:
    with listener(family, kind) as sock:
        host, port = sock.getsockname()[:2]
        result = await run(
            runner,
            f"""
            import socket
            try:
                s = socket.socket({int(family)}, {int(kind)})
                s.settimeout(1)
                s.connect(({host!r}, {port}))
                s.send(b"leak")
                print("sent")
            except OSError as e:
                print("blocked", e)
        """,
        )
        await asyncio.sleep(0.2)
        assert not received_anything(sock)
    assert result.stdout.startswith("blocked"), result
    await assert_next_job_runs(runner)


async def test_runner_socket_unreachable(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        f"""
        import socket
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect({str(runner.socket_path)!r})
            s.sendall(b'{{"type": "info"}}\\n')
            print("answer", s.recv(1000))
        except OSError as e:
            print("blocked", e)
    """,
    )
    assert result.stdout.startswith("blocked"), result
    await assert_next_job_runs(runner)


# -- secrets ---------------------------------------------------------------------------------


async def test_environment_has_no_secrets(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        import glob, os
        print(dict(os.environ))
        for path in glob.glob("/proc/*/environ") + ["/proc/1/environ"]:
            try:
                print(path, open(path, "rb").read())
            except OSError as e:
                print(path, "denied", e.errno)
    """,
    )
    assert result.status == "ok", result
    assert runner.secret not in result.stdout + result.stderr
    assert "TELEGRAM" not in result.stdout and "STUDYBOT_DATABASE" not in result.stdout
    await assert_next_job_runs(runner)


async def test_runner_files_unreadable(runner: RunnerUnderTest) -> None:
    paths = [str(runner.env_file), str(runner.database), str(runner.workdir / "runner.log")]
    result = await run(
        runner,
        f"""
        import os
        for path in {paths!r}:
            try:
                print(open(path).read())
            except OSError as e:
                print("denied", path, e.errno)
        try:
            print(os.listdir({str(runner.workdir)!r}))
        except OSError as e:
            print("denied dir", e.errno)
    """,
    )
    assert runner.secret not in result.stdout + result.stderr
    assert result.stdout.count("denied") >= len(paths)
    await assert_next_job_runs(runner)


async def test_files_of_other_processes(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        import os
        try:
            print(sorted(os.listdir("/root")))
        except OSError as e:
            print("denied /root", e.errno)
        for path in ("/etc/shadow", "/proc/kcore", "/dev/mem"):
            try:
                open(path, "rb").read(16)
                print("read", path)
            except OSError as e:
                print("denied", path, e.errno)
    """,
    )
    listing, *others = result.stdout.splitlines()
    if not listing.startswith("denied"):
        # Only what a bind mount put there for Python (pyenv lives under /root here).
        seen = set(eval(listing))  # noqa: S307 - our own test output
        assert seen <= {
            p.parts[2]
            for p in map(Path, [*sys.path, sys.base_prefix])
            if len(p.parts) > 2 and p.parts[1] == "root"
        }, seen
    assert others and all(line.startswith("denied") for line in others), result
    await assert_next_job_runs(runner)


# -- filesystem ------------------------------------------------------------------------------


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _exists(path: Path) -> bool:
    return path.exists()


async def test_site_packages_read_only(runner: RunnerUnderTest) -> None:
    import torch

    torch_init = Path(torch.__file__)
    planted = torch_init.parent.parent / f"planted_{secrets.token_hex(4)}.py"
    before = _read(torch_init)
    result = await run(
        runner,
        f"""
        for path, mode in (({str(torch_init)!r}, "a"), ({str(planted)!r}, "w")):
            try:
                open(path, mode).write("# planted")
                print("wrote", path)
            except OSError as e:
                print("denied", e.errno)
    """,
    )
    assert "wrote" not in result.stdout, result
    assert not _exists(planted)
    assert _read(torch_init) == before
    await assert_next_job_runs(runner)


async def test_nothing_carries_over(runner: RunnerUnderTest) -> None:
    first = await run(
        runner,
        """
        import builtins, os, sys, torch
        builtins.leftover = torch.leftover = 1
        sys.modules["leftover"] = object()
        home = os.path.expanduser("~/.leftover")
        for path in ("leftover", "/tmp/leftover", "/dev/shm/leftover", home):
            try:
                open(path, "w").write("x")
            except OSError:
                pass
    """,
    )
    assert first.status == "ok", first
    second = await run(
        runner,
        """
        import builtins, os, sys, torch
        home = os.path.expanduser("~/.leftover")
        paths = ("leftover", "/tmp/leftover", "/dev/shm/leftover", home)
        print([p for p in paths if os.path.exists(p)], hasattr(builtins, "leftover"),
              hasattr(torch, "leftover"), "leftover" in sys.modules, os.listdir("."))
    """,
    )
    assert second.stdout == "[] False False False []\n", second
    await assert_next_job_runs(runner)


async def test_fill_the_disk(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        chunk = b"\\0" * (1 << 20)
        for i in range(64):
            with open(f"fill{i}", "wb") as f:
                for _ in range(3):
                    f.write(chunk)
        print("wrote 192 MiB")
    """,
    )
    assert result.reason == "disk", result
    assert result.status in ("error", "killed")
    await assert_next_job_runs(runner)


async def test_file_size_limit(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        with open("big", "wb") as f:
            f.write(b"\\0" * (5 << 20))
    """,
    )
    assert (result.status, result.reason) == ("error", "file_size"), result
    await assert_next_job_runs(runner)


async def test_symlinks_in_output_not_followed(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        f"""
        import os
        targets = (({str(runner.env_file)!r}, "env"), ("/etc/passwd", "passwd"),
                   ("/proc/self/environ", "environ"), ("/", "root"), ("real.txt", "self"))
        for target, name in targets:
            os.symlink(target, name)
        open("real.txt", "w").write("fine")
    """,
    )
    assert result.status == "ok", result
    assert [(f.name, f.data) for f in result.files] == [("real.txt", b"fine")]
    await assert_next_job_runs(runner)


async def test_hardlinks_in_output_not_returned(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        f"""
        import os
        open("a.txt", "w").write("A")
        os.link("a.txt", "b.txt")
        for source in ({str(runner.env_file)!r}, {str(runner.database)!r}, "/etc/passwd"):
            try:
                os.link(source, os.path.basename(source) + ".lnk")
            except OSError as e:
                print("link denied", e.errno)
        open("real.txt", "w").write("fine")
    """,
    )
    assert [(f.name, f.data) for f in result.files] == [("real.txt", b"fine")], result
    assert all(runner.secret.encode() not in f.data for f in result.files)
    await assert_next_job_runs(runner)


# -- privileges ------------------------------------------------------------------------------


async def test_ptrace_denied(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        targets = {os.getppid(), 1}
        child = os.fork()
        if child == 0:
            import time
            time.sleep(5)
            os._exit(0)
        targets.add(child)
        print([libc.ptrace(16, pid, 0, 0) for pid in sorted(targets) if pid])
        print(libc.ptrace(0, 0, 0, 0))  # PTRACE_TRACEME
    """,
    )
    assert result.status == "ok", result
    attach, traceme = result.stdout.splitlines()
    assert set(eval(attach)) == {-1} and traceme == "-1"  # noqa: S307 - our own test output
    await assert_next_job_runs(runner)


async def test_setuid_mount_unshare_denied(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        outcomes = {}
        try:
            os.setuid(0)
            outcomes["setuid"] = "ok"
        except OSError as e:
            outcomes["setuid"] = e.errno
        outcomes["mount"] = libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, None)
        for name, flag in (("user", 0x10000000), ("net", 0x40000000), ("mnt", 0x20000)):
            outcomes["unshare_" + name] = libc.unshare(flag)
        outcomes["chroot"] = libc.chroot(b"/tmp")
        print(outcomes, os.getuid(), os.geteuid())
    """,
    )
    assert result.status == "ok", result
    assert "'ok'" not in result.stdout and " 0," not in result.stdout.replace(": 0,", "")
    uid, euid = map(int, result.stdout.split()[-2:])
    first, last = runner.uid_range
    assert uid == euid and first <= uid <= last, result  # the job's own uid from the range
    for name in ("mount", "unshare_user", "unshare_net", "unshare_mnt", "chroot"):
        assert f"'{name}': -1" in result.stdout, result
    await assert_next_job_runs(runner)


async def test_jobs_hold_no_capabilities_and_no_shared_user_namespace(
    runner: RunnerUnderTest,
) -> None:
    code = """
        import os
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        caps = [int(status[k], 16) for k in ("CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd")]
        print(os.readlink("/proc/self/ns/user"), *caps)
    """
    jobs = [await run(runner, code) for _ in range(2)]
    assert all(job.status == "ok" for job in jobs), jobs
    namespaces = [job.stdout.split()[0] for job in jobs]
    for job in jobs:
        effective, permitted, inheritable, ambient, bounding = map(int, job.stdout.split()[1:])
        assert (effective, permitted, inheritable, ambient) == (0, 0, 0, 0), job
        if runner.unprivileged:
            # It created its user namespace, so it held every capability in there: all dropped.
            assert bounding == 0, job
    if runner.unprivileged:
        # Each job in a user namespace of its own, none of them the host's.
        assert len(set(namespaces)) == 2, namespaces
        assert os.readlink("/proc/self/ns/user") not in namespaces


# -- found in review -------------------------------------------------------------------------


async def test_deep_directory_tree_is_cleaned_up(runner: RunnerUnderTest) -> None:
    # Deeper than Python's recursion limit: the runner's cleanup must not recurse.
    result = await run(
        runner,
        """
        import os
        for _ in range(1500):
            os.mkdir("d")
            os.chdir("d")
        print("deep")
        """,
    )
    assert (result.status, result.stdout) == ("ok", "deep\n"), result
    listing = await run(runner, "import os\nprint(sorted(os.listdir('.')))")
    assert listing.stdout == "[]\n"
    await assert_next_job_runs(runner)


async def test_sysv_shared_memory_does_not_outlive_the_job(runner: RunnerUnderTest) -> None:
    code = """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        shm = libc.shmget(0x5AB0C0DE, 1 << 20, 0o1666)
        print("shmget", "refused" if shm < 0 else "allowed")
    """
    first = await run(runner, code)
    assert first.status == "ok", first
    second = await run(
        runner,
        """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        print("found" if libc.shmget(0x5AB0C0DE, 0, 0) >= 0 else "none")
        """,
    )
    assert second.stdout == "none\n"
    if runner.level == "basic":  # no IPC namespace: System V IPC is refused outright
        assert first.stdout == "shmget refused\n"
    await assert_next_job_runs(runner)


async def test_memory_spread_over_child_processes_is_limited(runner: RunnerUnderTest) -> None:
    # Each child stays under a per-process limit; together they exceed the job's 512 MiB.
    result = await run(
        runner,
        f"""
        import os, time
        for _ in range(3):
            if os.fork() == 0:
                block = bytearray(300 * 1024 * 1024)
                time.sleep({scaled(30)})
                os._exit(0)
        time.sleep({scaled(30)})
        """,
    )
    assert result.status in {"memory", "killed"}, result
    await assert_next_job_runs(runner)


async def test_file_with_invalid_utf8_name_comes_back_renamed(runner: RunnerUnderTest) -> None:
    result = await run(runner, "open(b'\\xff\\nx.txt', 'wb').write(b'data')\nprint('ok')")
    assert result.status == "ok", result
    assert [f.name for f in result.files] == ["\ufffd_x.txt"]
    await assert_next_job_runs(runner)


async def test_cannot_change_limits_or_scheduling_of_other_processes(
    runner: RunnerUnderTest,
) -> None:
    result = await run(
        runner,
        """
        import os, resource
        target = os.getppid()  # at strong: 0, the parent lies outside the job's pid namespace
        print("parent visible", target != 0)
        for name, call in [
            ("prlimit", lambda: resource.prlimit(target, resource.RLIMIT_FSIZE, (0, 0))),
            ("affinity", lambda: os.sched_setaffinity(target, {0})),
            ("priority", lambda: os.setpriority(os.PRIO_PROCESS, target, 19)),
        ]:
            try:
                call()
                print(name, "allowed")
            except OSError:
                print(name, "refused")
        """,
    )
    if runner.level == "basic":  # jobs share the host's pid space
        expected = "parent visible True\nprlimit refused\naffinity refused\npriority refused\n"
    else:  # nothing outside the job can be named (pid 0 means the job itself)
        expected = "parent visible False\nprlimit allowed\naffinity allowed\npriority allowed\n"
    assert result.stdout == expected, result
    await assert_next_job_runs(runner)


async def test_seccomp_arguments_are_compared_on_32_bits(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        # prctl(PR_SET_PDEATHSIG, 0) with a high bit set in the option
        r = libc.syscall(157, ctypes.c_ulong(0x100000001), ctypes.c_ulong(0), 0, 0, 0)
        print("refused" if r < 0 and ctypes.get_errno() == 1 else "allowed")
        """,
    )
    assert result.stdout == "refused\n", result
    await assert_next_job_runs(runner)

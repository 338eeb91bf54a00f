"""The jail's parts on their own: uids per job, cgroup v2 files, mount listings."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.runclient import runner_environment
from bot.runner.jail.cgroup_v2 import (
    LEAF,
    V2JobCgroup,
    V2Manager,
    _leave,
    ancestors,
    own_v2_cgroup,
)
from bot.runner.jail.cgroups import CgroupError, JobLimitsSpec
from bot.runner.jail.mounts import submounts
from bot.runner.jail.probe import HostCapabilities
from bot.runner.jail.spec import WorkerSpec
from bot.runner.jail.sweep import kill_uid, pids_of_uid
from bot.runner.jail.uids import UidPool, UidsExhausted, live_uids
from bot.runner.pool.workers import WorkerError, Zygote
from bot.runner.sandbox import Sandbox

# -- uids ------------------------------------------------------------------------------------


def test_uid_pool_hands_out_distinct_uids_round_robin() -> None:
    pool = UidPool(61000, 61002)
    first, second, third = pool.acquire(), pool.acquire(), pool.acquire()
    assert {first, second, third} == {61000, 61001, 61002}
    with pytest.raises(UidsExhausted):
        pool.acquire()
    pool.release(second)
    assert pool.acquire() == second
    assert pool.held() == {61000, 61001, 61002}


def test_uid_pool_never_hands_out_a_uid_a_process_still_runs_as() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to start a process under another uid")
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os.setresuid(61010, 61010, 61010)
        os.write(write, b"x")
        signal.pause()
        os._exit(0)
    try:
        assert os.read(read, 1) == b"x"
        assert 61010 in live_uids()
        pool = UidPool(61010, 61011)
        assert pool.acquire() == 61011
        with pytest.raises(UidsExhausted):
            pool.acquire()  # 61010 is free in the pool, but a process still runs as it
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        os.close(read)
        os.close(write)
    pool.release(61011)
    assert pool.acquire() in {61010, 61011}


def test_uid_range_setting(make_settings: Callable[..., Settings]) -> None:
    assert make_settings().uid_range == (60000, 60999)
    assert make_settings(STUDYBOT_RUN_UID_RANGE="70000-70009").uid_range == (70000, 70009)
    for bad in ("70000", "9-1", "0-5", "a-b"):
        with pytest.raises(ValidationError, match="FIRST-LAST"):
            make_settings(STUDYBOT_RUN_UID_RANGE=bad)


def test_local_runner_gets_the_uid_range_and_no_empty_settings(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    env = runner_environment(make_settings(STUDYBOT_RUN_UID_RANGE="61000-61099"), tmp_path)
    assert env["STUDYBOT_RUN_UID_RANGE"] == "61000-61099"
    assert "STUDYBOT_RUN_LANDLOCK_ABI_MAX" not in env  # unset stays unset, not ""
    capped = runner_environment(make_settings(STUDYBOT_RUN_LANDLOCK_ABI_MAX=5), tmp_path)
    assert capped["STUDYBOT_RUN_LANDLOCK_ABI_MAX"] == "5"


async def test_root_gives_each_worker_its_own_uid_and_process_limit(settings: Settings) -> None:
    sandbox = Sandbox(settings, HostCapabilities(root=True), "basic")
    try:
        spec = sandbox._spec(1, "cpu", [], None, 60123)
        assert (spec.uid, spec.gid, spec.drop_uid) == (60123, 60123, True)
        # The uid is the job's alone, so RLIMIT_NPROC is the job's own budget.
        assert spec.nproc_rlimit == settings.run_max_processes
    finally:
        await sandbox.close()


# -- cgroup v2, on a directory tree shaped like one ------------------------------------------


def fake_v2(tmp_path: Path, controllers: str = "cpuset cpu io memory pids") -> Path:
    own = tmp_path / "cg"
    own.mkdir()
    (own / "cgroup.controllers").write_text(controllers + "\n")
    (own / "cgroup.subtree_control").write_text("cpu memory pids\n")
    return own


def test_v2_job_gets_memory_pids_and_cpu_limits(tmp_path: Path) -> None:
    own = fake_v2(tmp_path)
    manager = V2Manager.create("studybot-runner-x", own)
    assert (manager.version, manager.controllers) == (2, ("memory", "pids", "cpu"))
    assert (own / "studybot-runner-x" / "cgroup.subtree_control").read_text() == (
        "+memory +pids +cpu"
    )
    job = manager.job(7, JobLimitsSpec(256 << 20, 32, 1.5))
    assert job.procs_files == (str(own / "studybot-runner-x" / "w7" / "cgroup.procs"),)
    written = {p.name: p.read_text() for p in job.path.iterdir()}
    assert written == {
        "memory.max": str(256 << 20),
        "pids.max": "32",
        "cpu.max": "150000 100000",
        "cpu.weight": "100",
    }


def test_v2_enables_the_controllers_below_its_own_cgroup_first(tmp_path: Path) -> None:
    own = fake_v2(tmp_path)
    (own / "cgroup.subtree_control").write_text("\n")
    V2Manager.create("studybot-runner-z", own)
    assert (own / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert not (own / LEAF).exists()  # nothing had to move: enabling was allowed


def test_v2_without_delegated_controllers_says_which(tmp_path: Path) -> None:
    own = fake_v2(tmp_path, controllers="cpu io")
    with pytest.raises(CgroupError, match="memory, pids are not delegated"):
        V2Manager.create("studybot-runner-x", own)


def test_v2_subtree_goes_next_to_the_runners_leaf(tmp_path: Path) -> None:
    own = fake_v2(tmp_path)
    (own / LEAF).mkdir()
    manager = V2Manager.create("studybot-runner-y", own / LEAF)
    assert manager.base == own / "studybot-runner-y"


def test_v2_oom_and_pids_events(tmp_path: Path) -> None:
    job = V2JobCgroup(tmp_path)
    assert not job.oom_killed() and not job.hit_pids_limit()
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (tmp_path / "pids.events").write_text("max 2\n")
    assert job.oom_killed() and job.hit_pids_limit()


def test_own_v2_cgroup_from_mountinfo(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "25 1 0:22 / /sys rw,nosuid - sysfs sysfs rw\n"
        f"30 25 0:26 / {tmp_path} rw,nosuid - cgroup2 cgroup2 rw\n"
    )
    proc_cgroup = tmp_path / "cgroup"
    proc_cgroup.write_text("0::/a/b\n")
    assert own_v2_cgroup(str(proc_cgroup), str(mountinfo)) == tmp_path / "a" / "b"


# -- mounts ----------------------------------------------------------------------------------


def test_submounts_lists_every_mount_below_a_path(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "1 0 0:1 / /sys rw - sysfs sysfs rw\n"
        "2 1 0:2 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
        "3 2 0:3 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "4 1 0:4 / /sys/kernel/my\\040dir rw - debugfs debugfs rw\n"
        "5 0 0:5 / /system rw - tmpfs tmpfs rw\n"
    )
    assert submounts("/sys", str(mountinfo)) == [
        "/sys/fs/cgroup",
        "/sys/fs/cgroup/memory",
        "/sys/kernel/my dir",
    ]


def test_v2_job_cgroup_kills_and_removes_for_real() -> None:
    # Where a v2 hierarchy is mounted (a hybrid host has one without controllers), joining,
    # cgroup.kill and removal can be checked on the real thing.
    own = own_v2_cgroup()
    if own is None or os.geteuid() != 0:
        pytest.skip("needs root and a mounted cgroup v2 hierarchy")
    job = V2JobCgroup(own / f"studybot-test-jail-{os.getpid()}")
    try:
        job.path.mkdir()
    except OSError as e:
        pytest.skip(f"cannot create a v2 cgroup here: {e}")
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        with open(job.procs_files[0], "w") as f:
            f.write("0")
        os.write(write, b"x")
        signal.pause()
        os._exit(0)
    try:
        assert os.read(read, 1) == b"x"
        assert (job.path / "cgroup.procs").read_text().split() == [str(child)]
        job.kill_all()
        _, status = os.waitpid(child, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        job.remove()
        assert not job.path.exists()
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
        os.close(read)
        os.close(write)
        with contextlib.suppress(OSError):
            job.path.rmdir()


def test_v2_without_controllers_here_is_refused_with_the_reason() -> None:
    own = own_v2_cgroup()
    if own is None or "memory" in (own / "cgroup.controllers").read_text().split():
        pytest.skip("needs a v2 hierarchy without the memory controller (a hybrid host)")
    with pytest.raises(CgroupError, match="not delegated"):
        V2Manager.create(f"studybot-test-jail-{os.getpid()}")


def test_v2_runner_leaves_its_scope_with_the_console_that_started_it(tmp_path: Path) -> None:
    # `systemd-run --user --scope -p Delegate=yes studybot console`: the scope holds the
    # console and its runner, both the user's own; they move to the leaf together.
    scope = fake_v2(tmp_path)
    (scope / "cgroup.procs").write_text(f"{os.getppid()}\n{os.getpid()}\n")
    proc_cgroup = tmp_path / "self-cgroup"
    proc_cgroup.write_text("0::/user.slice/user-1000.slice/user@1000.service/run-1.scope\n")
    assert os.getppid() in ancestors(os.getpid())
    _leave(scope, str(proc_cgroup))
    assert (scope / LEAF / "cgroup.procs").read_text() == str(os.getpid())  # the last moved


def test_v2_runner_never_moves_a_stranger_out_of_its_cgroup(tmp_path: Path) -> None:
    scope = fake_v2(tmp_path)
    with subprocess.Popen(["sleep", "30"]) as stranger:
        try:
            (scope / "cgroup.procs").write_text(f"{stranger.pid}\n{os.getpid()}\n")
            proc_cgroup = tmp_path / "self-cgroup"
            proc_cgroup.write_text("0::/user.slice/session-2.scope\n")
            with pytest.raises(CgroupError, match=r"holds other processes \(1\).*--user"):
                _leave(scope, str(proc_cgroup))
            assert not (scope / LEAF / "cgroup.procs").exists()
        finally:
            stranger.kill()


def test_a_zombie_of_a_jobs_uid_is_not_waited_for() -> None:
    # An orphaned job process is reaped by the host's init, on its own schedule: a zombie runs
    # nothing, so a sweep or a stop must not wait for the reaping (it took up to 2 s here).
    if os.geteuid() != 0:
        pytest.skip("switching a child to another uid needs root")
    uid = 1_990_000 + os.getpid() % 1000
    live = os.fork()
    if live == 0:  # pragma: no cover - the child
        os.setresuid(uid, uid, uid)
        signal.pause()
        os._exit(0)
    dead = os.fork()
    if dead == 0:  # pragma: no cover - the child
        os.setresuid(uid, uid, uid)
        os._exit(0)
    try:
        # The first is alive and found; the second, exited and not yet reaped, is a zombie.
        for _ in range(200):
            with open(f"/proc/{dead}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.01)
        assert pids_of_uid(uid) == [live]
        assert kill_uid(uid, 5.0)
        os.waitpid(live, 0)
        assert pids_of_uid(uid) == []
    finally:
        for pid in (live, dead):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


# -- a worker given up while its jail is being built -------------------------------------------


def _jail_of(zygote_pid: int) -> int:
    """Wait for the zygote's one worker to fork its jail; return the jail's pid."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        keepers = Path(f"/proc/{zygote_pid}/task/{zygote_pid}/children").read_text().split()
        for keeper in keepers:
            jails = Path(f"/proc/{keeper}/task/{keeper}/children").read_text().split()
            if jails:
                return int(jails[0])
        time.sleep(0.05)
    raise AssertionError("no jail was forked")


@pytest.mark.parametrize("runner", ["waits", "cancelled", "stopped before the reply"])
async def test_a_jail_the_runner_gave_up_while_building_fails_without_a_word(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], runner: str
) -> None:
    # A runner stopping (the console's /quit) removes its state directory while a refill
    # worker may still build its jail from it. That failure once reached the console's stderr
    # as "sandbox setup failed"; it must not, while a runner still waiting hears of it.
    if os.geteuid() != 0:
        pytest.skip("needs root to build a strong jail")
    gate = tmp_path / "cgroup.procs"
    os.mkfifo(gate)  # the jail's first step, joining its cgroup, blocks here until opened
    spec = WorkerSpec(
        worker_id=901, level="strong", gpu=False, root_dir=str(tmp_path / "removed"),
        scratch_dir="", scratch_bytes=1 << 20, file_bytes=1 << 20, open_files=64,
        nproc_rlimit=0, cgroup_procs=(str(gate),), read_only=(), landlock_abi=0,
        seccomp=False, uid=60990, gid=60990,
    )  # fmt: skip
    env = {"PATH": os.environ["PATH"], **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}
    zygote = Zygote(env, str(tmp_path))
    await zygote.start()
    try:
        if runner == "stopped before the reply":
            ctl = zygote._ctl
            assert ctl is not None
            request = json.dumps({"type": "spawn", "spec": spec.to_wire()}).encode()
            # ... and never read the reply: the worker's sockets are left in the control socket.
            await asyncio.get_running_loop().sock_sendall(ctl, request)
            spawn = None
        else:
            spawn = asyncio.create_task(zygote.spawn(spec, "cpu", None))
        jail = await asyncio.to_thread(_jail_of, zygote.pid)
        pidfd = os.pidfd_open(jail)
        if runner == "cancelled" and spawn is not None:
            spawn.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await spawn
        if runner != "waits":
            await asyncio.to_thread(zygote.stop)
        reader = os.open(gate, os.O_RDONLY | os.O_NONBLOCK)  # let the jail go on, and fail
        try:
            if spawn is not None and runner == "waits":
                with pytest.raises(WorkerError, match="did not become ready"):
                    await spawn
            assert select.select([pidfd], [], [], 30)[0], "the jail did not end"
        finally:
            os.close(reader)
            os.close(pidfd)
    finally:
        await asyncio.to_thread(zygote.stop)
    said = capfd.readouterr().err
    if runner == "waits":
        assert "studybot worker 901: sandbox setup failed: FileNotFoundError" in said
    else:
        assert "sandbox setup failed" not in said

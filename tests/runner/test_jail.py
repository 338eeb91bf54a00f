"""The jail's parts on their own: uids per job, mount listings."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.runner.client import runner_environment
from bot.runner.jail.uids import UidPool, UidsExhausted, live_uids
from bot.runner.mounts import submounts
from bot.runner.probe import HostCapabilities
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

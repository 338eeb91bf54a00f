"""`sandbox check`: prints the level and protections and passes its self-test (fenced)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from bot.config import Settings
from bot.runner.cli import describe_host
from bot.runner.probe import HostCapabilities
from bot.runner.sandbox import Sandbox, tasks_of_uid
from tests.runner.conftest import REPO, Fence

CHECK = (
    "from bot.config import Settings; from bot.runner.cli import sandbox_check_main; "
    "raise SystemExit(sandbox_check_main(Settings()))"
)


@pytest.mark.parametrize("level", ["strong", "basic"])
def test_sandbox_check_passes(level: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("the sandbox needs root")
    fence = Fence()
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "STUDYBOT_SANDBOX_LEVEL": level}
    try:
        out = subprocess.run(
            [
                *fence.prefix(),
                "unshare",
                "--pid",
                "--fork",
                "--mount-proc",
                sys.executable,
                "-c",
                CHECK,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        fence.remove()
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith(f"sandbox level: {level}")
    assert "seccomp         on" in out.stdout
    # The operator learns which cgroup version and controllers, and which Landlock ABI.
    assert re.search(r"^cgroups: v[12] \(memory, pids(, cpu)?\)$", out.stdout, re.MULTILINE)
    assert re.search(r"^landlock: (ABI \d+|none)$", out.stdout, re.MULTILINE)
    assert "uid_per_job     on" in out.stdout
    assert out.stdout.count("PASS") == 6 and "FAIL" not in out.stdout


def test_sandbox_check_refuses_contradictory_levels_in_one_line() -> None:
    # As `studybot runner` does: one line, exit 2, no protections listed, nothing tested.
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(REPO),
        "STUDYBOT_SANDBOX_LEVEL": "basic",
        "STUDYBOT_SANDBOX_MIN_LEVEL": "strong",
    }
    out = subprocess.run(
        [sys.executable, "-c", CHECK],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("studybot sandbox check: sandbox level ")
    assert "below STUDYBOT_SANDBOX_MIN_LEVEL=strong" in lines[0]


async def test_worker_process_budget_without_root_counts_the_users_own_tasks(
    settings: Settings,
) -> None:
    # Without root a job keeps the runner's uid, so RLIMIT_NPROC must leave room for every
    # task that uid already runs (a desktop session: hundreds of threads).
    sandbox = Sandbox(settings, HostCapabilities(root=False), "none")
    try:
        own = tasks_of_uid(os.getuid())
        assert own > 0
        spec = sandbox._spec(0, "cpu", [], None, os.getuid())
        assert not spec.drop_uid
        assert spec.nproc_rlimit >= own + settings.run_max_processes * settings.run_cpu_concurrency
    finally:
        await sandbox.close()


def test_check_names_the_cgroup_version_and_controllers(settings: Settings) -> None:
    caps = HostCapabilities(
        root=True, cgroup_version=2, cgroup_controllers=("memory", "pids", "cpu"), landlock_abi=5
    )
    assert describe_host(caps, settings) == [
        "cgroups: v2 (memory, pids, cpu)",
        "landlock: ABI 5",
        "job uids: 60000-60999, one per job",
    ]
    none = HostCapabilities(root=False, cgroups="no cgroup v2 hierarchy mounted")
    assert describe_host(none, settings) == [
        "cgroups: none usable (no cgroup v2 hierarchy mounted)",
        "landlock: none",
        "job uids: the runner's own",
    ]

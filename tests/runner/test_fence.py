"""The suite runs hostile code as root: check that it is fenced in, as the README says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.runner.conftest import REPO, RunnerUnderTest

TESTS = Path(__file__).resolve().parents[1]
# kill(-1), fork bombs and GiB-sized allocations: what could hurt the machine if it escaped.
HOSTILE = re.compile(r"os\.kill\(\s*-1|os\.fork\(|\*\s*1024\s*\*\*\s*3")


def test_runner_under_test_has_its_own_pid_namespace_and_fence_cgroups(
    runner: RunnerUnderTest,
) -> None:
    # runner.proc is `unshare`; the runner is its child, pid 1 of a new pid namespace.
    unshare = runner.proc.pid
    children = Path(f"/proc/{unshare}/task/{unshare}/children").read_text().split()
    assert len(children) == 1
    inner = int(children[0])
    assert os.readlink(f"/proc/{inner}/ns/pid") != os.readlink("/proc/self/ns/pid")
    groups = Path(f"/proc/{inner}/cgroup").read_text().splitlines()
    fenced = {line.split(":")[1] for line in groups if "/studybot-test-" in line}
    if "" in fenced:  # cgroup v2: one cgroup holds every controller
        fenced.add("memory,pids")
    assert {"memory", "pids"} <= {c for line in fenced for c in line.split(",")}


def test_hostile_snippets_live_only_in_the_fenced_runner_tests() -> None:
    outside = [
        path.relative_to(TESTS)
        for path in TESTS.rglob("*.py")
        if "runner" not in path.relative_to(TESTS).parts and HOSTILE.search(path.read_text())
    ]
    assert outside == []


def test_a_run_required_to_attack_the_sandbox_fails_when_the_battery_never_ran() -> None:
    # One harmless test selected, so no fenced runner starts: loud, and a failure for .ci/run.
    only = "tests/runner/test_jail.py::test_uid_pool_hands_out_distinct_uids_round_robin"
    env = {k: v for k, v in os.environ.items() if k != "STUDYBOT_REQUIRE_BATTERY"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", only]
    relaxed = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    required = subprocess.run(
        command,
        cwd=REPO,
        env={**env, "STUDYBOT_REQUIRE_BATTERY": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert relaxed.returncode == 0, relaxed.stdout
    assert required.returncode == 1, required.stdout
    assert "THE RUNNER ATTACK BATTERY DID NOT RUN" in required.stdout
    assert "1 passed" in required.stdout

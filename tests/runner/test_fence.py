"""The suite runs hostile code as root: check that it is fenced in, as the README says."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.runner.conftest import RunnerUnderTest

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
    assert {"memory", "pids"} <= {c for line in fenced for c in line.split(",")}


def test_hostile_snippets_live_only_in_the_fenced_runner_tests() -> None:
    outside = [
        path.relative_to(TESTS)
        for path in TESTS.rglob("*.py")
        if "runner" not in path.relative_to(TESTS).parts and HOSTILE.search(path.read_text())
    ]
    assert outside == []

"""`sandbox check`: prints the level and protections and passes its self-test (fenced)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import Settings
from bot.runner.cli import choose_level, describe_host
from bot.runner.jail.probe import HostCapabilities
from bot.runner.jail.sweep import tasks_of_uid
from bot.runner.jail.userns import userns_refusal
from bot.runner.sandbox import Sandbox
from tests.conftest import ordinary_user_prefix
from tests.runner.conftest import REPO, Fence, scaled, unprivileged_user

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
                "unshare",
                "--pid",
                "--fork",
                "--mount-proc",
                *fence.prefix(),
                sys.executable,
                "-c",
                CHECK,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=scaled(120),
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


# As tests/runner/conftest.py's NO_PIVOT_ROOT: Docker's default profile refuses pivot_root.
NO_PIVOT_CHECK = (
    "import errno, pyseccomp as sc; "
    "f = sc.SyscallFilter(defaction=sc.ALLOW); "
    "f.add_rule(sc.ERRNO(errno.EPERM), 'pivot_root'); "
    "f.load(); " + CHECK
)


@pytest.mark.parametrize("chroot", [True, False])
def test_without_pivot_root_the_root_is_moved_or_the_check_says_why_not(chroot: bool) -> None:
    # Under Swarm: pivot_root refused, so the jail moves its root and chroots (CAP_SYS_CHROOT).
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("the sandbox needs root; dropping a capability needs util-linux setpriv")
    fence = Fence()
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "STUDYBOT_SANDBOX_LEVEL": "strong"}
    no_chroot = [] if chroot else ["setpriv", "--bounding-set", "-sys_chroot"]
    try:
        out = subprocess.run(
            [
                "unshare",
                "--pid",
                "--fork",
                "--mount-proc",
                *fence.prefix(),
                *no_chroot,
                sys.executable,
                "-c",
                NO_PIVOT_CHECK,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=scaled(120),
            check=False,
        )
    finally:
        fence.remove()
    if chroot:
        assert out.returncode == 0, out.stdout + out.stderr
        assert "root switch: pivot_root refused here" in out.stdout
        assert out.stdout.count("PASS") == 6 and "FAIL" not in out.stdout
    else:
        assert out.returncode == 2, out.stdout + out.stderr
        assert "do not drop SYS_CHROOT from the runner" in out.stderr


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
        timeout=scaled(120),
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


async def test_a_strong_jail_without_kernel_limits_does_not_call_itself_strong(
    settings: Settings,
) -> None:
    cases = [
        (
            HostCapabilities(
                root=True, cgroup_version=2, cgroup_controllers=("memory", "pids", "cpu")
            ),
            "strong",
        ),
        # Root in a v2 cgroup without Delegate=yes: memory and pids, but no cpu controller.
        (
            HostCapabilities(root=True, cgroup_version=2, cgroup_controllers=("memory", "pids")),
            "strong jail only, not strong: no CPU quota, so a job may use every core",
        ),
        # An ordinary user without a delegated subtree: rlimits and the watch stand in.
        (
            HostCapabilities(root=False, userns=True, cgroups="not root, and ... not delegated"),
            "strong jail only, not strong: no cgroups, so memory is watched rather than capped "
            "and a job may use every core",
        ),
    ]
    for caps, label in cases:
        sandbox = Sandbox(settings, caps, "strong")
        try:
            assert sandbox.label() == label
        finally:
            await sandbox.close()
    sandbox = Sandbox(settings, cases[0][0], "basic")
    try:
        assert sandbox.label() == "basic"
    finally:
        await sandbox.close()


def test_sandbox_check_passes_without_root() -> None:
    # As an ordinary user: the strong level in user namespaces, rlimits and the watch in place
    # of cgroups (the fence's cgroup is root's, as a v1 host's always are), every attack held.
    if os.geteuid() != 0:
        pytest.skip("running the check as another user needs root")
    user = unprivileged_user()
    fence = Fence()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": "/nonexistent"}
    try:
        out = subprocess.run(
            [
                "unshare",
                "--pid",
                "--fork",
                "--mount-proc",
                *fence.prefix(),
                *user.prefix(),
                user.python,
                "-c",
                CHECK,
            ],
            env=env,
            cwd="/",
            capture_output=True,
            text=True,
            timeout=scaled(180),
            check=False,
        )
    finally:
        fence.remove()
    assert out.returncode == 0, out.stdout + out.stderr
    # Jailed as strong, but the level does not call itself strong without memory and CPU limits.
    assert out.stdout.startswith(
        "sandbox level: strong jail only, not strong: no cgroups, so memory is watched rather "
        "than capped and a job may use every core (best this host allows: strong)"
    )
    for name in ("namespace_user", "namespace_pid", "namespace_net", "private_tmpfs", "seccomp"):
        assert re.search(rf"^  {name} +on$", out.stdout, re.MULTILINE), name
    assert re.search(r"^  uid_per_job +on$", out.stdout, re.MULTILINE)
    assert "job uids: a user namespace per job (no root needed)" in out.stdout
    assert re.search(
        r"^  cgroup_memory +off .*; instead: RLIMIT_AS per process and the runner's watch",
        out.stdout,
        re.MULTILINE,
    )
    assert re.search(r"^  cgroup_pids +off .*; instead: RLIMIT_NPROC", out.stdout, re.MULTILINE)
    assert out.stdout.count("PASS") == 6 and "FAIL" not in out.stdout


def test_sandbox_check_without_user_namespaces_names_the_switch_and_the_command() -> None:
    # For real: a user namespace where user.max_user_namespaces is 0, as a host that disabled
    # them; the check refuses in one line that says so and what an administrator runs.
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [*ordinary_user_prefix(userns=False), sys.executable, "-c", CHECK],
        env=env,
        capture_output=True,
        text=True,
        timeout=scaled(120),
        check=False,
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout == ""
    assert out.stderr.splitlines() == [
        "studybot sandbox check: sandbox level none is below STUDYBOT_SANDBOX_MIN_LEVEL=basic: "
        "unprivileged user namespaces are disabled on this host (user.max_user_namespaces = 0); "
        "an administrator enables them with: sudo sysctl -w user.max_user_namespaces=15000 "
        "(add it to /etc/sysctl.d/ to keep it after a reboot)"
    ]


@pytest.mark.parametrize(
    ("switch", "value", "command"),
    [
        (
            "kernel/unprivileged_userns_clone",
            "0",
            "sudo sysctl -w kernel.unprivileged_userns_clone=1",
        ),
        ("user/max_user_namespaces", "0", "sudo sysctl -w user.max_user_namespaces=15000"),
        (
            "kernel/apparmor_restrict_unprivileged_userns",
            "1",
            "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
        ),
    ],
)
def test_each_switch_that_disables_user_namespaces_is_named(
    tmp_path: Path, switch: str, value: str, command: str
) -> None:
    # Hosts this one is not (Ubuntu 24.04's AppArmor restriction, Debian's old sysctl): their
    # /proc/sys as files. Values that allow user namespaces are passed over.
    for name, allowed in (
        ("kernel/unprivileged_userns_clone", "1"),
        ("user/max_user_namespaces", "15000"),
        ("kernel/apparmor_restrict_unprivileged_userns", "0"),
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text((value if name == switch else allowed) + "\n")
    why = userns_refusal("mount: Operation not permitted (EPERM)", str(tmp_path))
    assert why.startswith("unprivileged user namespaces are disabled on this host (")
    assert f"{switch.replace('/', '.')} = {value})" in why
    assert f"an administrator enables them with: {command}" in why


def test_an_unexplained_refusal_passes_on_the_kernels_answer(tmp_path: Path) -> None:
    why = userns_refusal("unshare: Operation not permitted (EPERM)", str(tmp_path))
    assert "cannot build its jail in a user namespace (unshare: Operation not permitted" in why
    assert "seccomp profile that permits unshare and clone with CLONE_NEWUSER" in why


def test_check_says_jobs_get_user_namespaces_without_root(settings: Settings) -> None:
    caps = HostCapabilities(root=False, userns=True, cgroups="not root", landlock_abi=7)
    lines = describe_host(caps, settings)
    assert lines[2] == (
        f"job uids: a user namespace per job (no root needed), the job's uid 60000-60999 in "
        f"there mapped to the runner's own ({os.getuid()}); one id mapped, no newuidmap"
    )
    assert caps.best_level() == "strong"  # cgroups are not required without root
    assert HostCapabilities(root=True, cgroups="no").best_level() == "basic"


def test_levels_without_root(make_settings: Callable[..., Settings]) -> None:
    userns = HostCapabilities(root=False, userns=True, cgroups="not root")
    assert choose_level(make_settings(), userns) == ("strong", "")
    # Basic gives each job a uid of its own, which takes root: asking for it is refused.
    level, why = choose_level(make_settings(STUDYBOT_SANDBOX_LEVEL="basic"), userns)
    assert level == "" and why.startswith("STUDYBOT_SANDBOX_LEVEL=basic needs root")
    disabled = HostCapabilities(
        root=False, namespaces="unprivileged user namespaces are disabled on this host (…)"
    )
    level, why = choose_level(make_settings(), disabled)
    assert level == ""
    assert why == (
        "sandbox level none is below STUDYBOT_SANDBOX_MIN_LEVEL=basic: "
        "unprivileged user namespaces are disabled on this host (…)"
    )
    none = make_settings(STUDYBOT_SANDBOX_MIN_LEVEL="none")
    assert choose_level(none, disabled) == ("none", "")

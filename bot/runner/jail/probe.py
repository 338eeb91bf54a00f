"""Find out which protections this host allows, once, before the runner starts serving.

Namespaces are tried in a forked child (so the runner itself is never moved into them), cgroups
by creating and removing a directory, Landlock by asking the kernel for its ABI version. The
result says, for each protection, whether it is on and why not when it is off.

Without root the namespaces are tried inside a new user namespace, as the jail will build them:
where the host forbids that (a sysctl, or AppArmor's restriction of unprivileged user
namespaces), the answer names the setting and the command an administrator runs to allow it.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from bot.runner.jail import landlock
from bot.runner.jail.cgroup_v2 import own_v2_cgroup
from bot.runner.jail.cgroups import CgroupError, JobLimitsSpec, create_manager
from bot.runner.jail.linux import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    MS_MOVE,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_REC,
    mount,
    pivot_root,
    unshare,
)
from bot.runner.jail.userns import map_own_ids, userns_refusal

NAMESPACES = {
    "namespace_net": CLONE_NEWNET,
    "namespace_mount": CLONE_NEWNS,
    "namespace_pid": CLONE_NEWPID,
    "namespace_ipc": CLONE_NEWIPC,
    "namespace_uts": CLONE_NEWUTS,
}
LEVELS = ("none", "basic", "strong")


@dataclass
class HostCapabilities:
    """What the host allows: each protection's availability and, when missing, why."""

    root: bool
    namespaces: str = ""  # empty when all namespaces and a private tmpfs work, else the error
    # Not root, and the jail can be built inside a user namespace of each job's own.
    userns: bool = False
    cgroups: str = ""  # empty when job cgroups (v1 or v2) can be created, else the error
    cgroup_version: int = 0  # 1 or 2 when cgroups work
    cgroup_controllers: tuple[str, ...] = ()
    landlock_abi: int = 0
    seccomp: str = ""  # empty when a filter can be built
    pivot_root: bool = True  # False: the jail's root is switched by a move mount instead
    gpus: int = 0
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def strong_possible(self) -> bool:
        """Tell whether everything the strong level needs is here.

        As root that includes cgroups; without root, in a user namespace, cgroups are used
        where a delegated cgroup v2 subtree allows, else rlimits and the runner's watch stand in.
        """
        if self.namespaces or self.seccomp:
            return False
        return self.userns or (self.root and not self.cgroups)

    def best_level(self) -> str:
        """Return the strongest level the host allows."""
        if self.strong_possible:
            return "strong"
        return "basic" if self.root and not self.seccomp else "none"


def detect(cgroup_name: str, landlock_abi_max: int | None = None) -> HostCapabilities:
    """Probe the host; call it before any thread or event loop is started.

    `landlock_abi_max` (tests only) caps the Landlock ABI the runner believes it has, so an
    older kernel's behaviour, or none, can be checked on a newer one.
    """
    caps = HostCapabilities(root=os.geteuid() == 0)
    caps.namespaces, caps.pivot_root = _probe_namespaces(user=not caps.root)
    if not caps.namespaces and not caps.pivot_root:
        caps.notes["pivot_root"] = (
            "refused here (a container's seccomp profile, as Docker Swarm's, which cannot be "
            "changed); each job's root is switched by a move mount and chroot instead"
        )
    if not caps.root:
        caps.userns = not caps.namespaces
        caps.notes["uid_drop"] = (
            "not needed: each job has a user namespace of its own"
            if caps.userns
            else "the runner is not root, so it cannot switch jobs to other uids"
        )
    try:
        manager = create_manager(cgroup_name)
        manager.job(0, JobLimitsSpec(64 << 20, 8, 1.0)).remove()
        manager.close()
        caps.cgroup_version, caps.cgroup_controllers = manager.version, manager.controllers
    except CgroupError as e:
        caps.cgroups = str(e) if caps.root else _unprivileged_cgroups(e)
    caps.landlock_abi = landlock.abi_version()
    if landlock_abi_max is not None and caps.landlock_abi > landlock_abi_max:
        caps.landlock_abi = landlock_abi_max
        caps.notes["landlock"] = f"capped to ABI {landlock_abi_max} (STUDYBOT_RUN_LANDLOCK_ABI_MAX)"
    try:
        from bot.runner.jail.seccomp import build_filter

        build_filter(allow_unix_sockets=True, deny_group_kill=False, memory_cgroup=True)
    except (ImportError, OSError, RuntimeError) as e:
        caps.seccomp = f"libseccomp unusable: {e}"
    caps.gpus = count_gpus()
    return caps


def _unprivileged_cgroups(error: CgroupError) -> str:
    own = own_v2_cgroup()
    if own is None:
        return "not root, and this host has only cgroup v1, whose cgroups only root creates"
    if error.errno == errno.EBUSY:
        return f"not root, and {error}"
    return (
        f"not root, and the cgroup v2 {own} is not delegated to this user: start it under "
        "`systemd-run --user --scope -p Delegate=yes studybot ...`"
    )


def _probe_namespaces(user: bool) -> tuple[str, bool]:
    """Build what a strong-level jail builds, in a forked child.

    Return "" when it all works, else the error, and whether pivot_root works: where a
    seccomp profile refuses only that, the jail switches its root by a move mount instead.

    With `user` (no root) the child first creates a user namespace that owns the others, as
    the keeper will. A grandchild, pid 1 of the new pid namespace, mounts its /proc: kernels
    refuse that in a user namespace where the host's /proc is partly covered (some
    containers), and then no jail could be built.
    """
    uid, gid = os.getuid(), os.getgid()
    with tempfile.TemporaryDirectory() as target:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the forked child
            os.close(read)
            answer = "ok"
            try:
                step = "unshare"
                unshare(sum(NAMESPACES.values()) | (CLONE_NEWUSER if user else 0))
                if user:
                    step = "uid_map"
                    map_own_ids(uid, gid, uid, gid)
                step = "mount"
                mount(None, "/", None, MS_REC | MS_PRIVATE)
                mount("tmpfs", target, "tmpfs", 0, "size=1m")
                step = "proc"
                os.mkdir(target + "/proc")
                answer = _mount_proc_in_child(target + "/proc")
                if answer == "ok":
                    step = "pivot_root"
                    answer = _try_pivot_root(target)
            except OSError as e:
                answer = f"{step}: {e.strerror} ({errno.errorcode.get(e.errno or 0, e.errno)})"
            os.write(write, answer.encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as f:
            answer = f.read().decode()
        os.waitpid(pid, 0)
    if answer in ("ok", NO_PIVOT):
        return "", answer == "ok"
    if user:
        return userns_refusal(answer), False
    return f"unshare/mount failed: {answer or 'no answer'}", False


# What the child answers when all works but pivot_root, which a seccomp profile refuses.
NO_PIVOT = "ok:no-pivot"


def _try_pivot_root(target: str) -> str:  # pragma: no cover - runs in the forked child
    """Pivot the child's own root onto `target`; NO_PIVOT where a filter refuses it."""
    inner = target + "/root"
    os.mkdir(inner)
    mount("tmpfs", inner, "tmpfs", 0, "size=1m")
    os.mkdir(inner + "/old")
    try:
        pivot_root(inner, inner + "/old")
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOSYS):
            raise
    else:
        return "ok"
    # Refused: the jail will move its root over / and chroot, which needs CAP_SYS_CHROOT.
    os.chdir(inner)
    mount(inner, "/", None, MS_MOVE)
    try:
        os.chroot(".")
    except PermissionError:
        return (
            "pivot_root is refused here (a seccomp profile), and the move mount and chroot "
            "that stand in need CAP_SYS_CHROOT: do not drop SYS_CHROOT from the runner"
        )
    return NO_PIVOT


def _mount_proc_in_child(target: str) -> str:  # pragma: no cover - runs in the forked child
    pid = os.fork()
    if pid == 0:
        try:
            mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except OSError:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        return "ok"
    return "proc: a fresh /proc cannot be mounted (the host's /proc is partly covered)"


def count_gpus() -> int:
    """Count CUDA devices without initialising CUDA here (a one-off subprocess asks torch)."""
    if not glob.glob("/dev/nvidia[0-9]*"):
        return 0
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTORCH_NVML_BASED_CUDA_CHECK": "1"}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError):
        out = subprocess.run(
            [sys.executable, "-c", "import torch; print(torch.cuda.device_count())"],
            capture_output=True,
            env=env,
            timeout=120,
            check=True,
        )
        return int(out.stdout.split()[-1])
    return 0

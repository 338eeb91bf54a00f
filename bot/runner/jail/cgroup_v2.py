"""Per-job cgroups on a cgroup v2 host: a delegated subtree the runner creates for itself.

cgroup v2 forbids processes in a cgroup whose controllers are enabled for its children (except
at the root), so the runner first moves out of its own cgroup into a leaf next to the jobs'
subtree: only itself when it is alone there, or every process when that cgroup is the root of
its cgroup namespace (a container started with --cgroupns=private, where that is the norm).
Each job then gets memory.max with memory.swap.max=0 and memory.oom.group, pids.max, and a CPU
quota (cpu.max) with an equal weight.
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass
from pathlib import Path

from bot.runner.jail.cgroups import (
    CPU_PERIOD_US,
    CgroupError,
    JobLimitsSpec,
    fresh_dir,
    join,
    kill_procs,
    remove_dir,
    remove_tree,
)

REQUIRED = ("memory", "pids")
WANTED = ("memory", "pids", "cpu")
LEAF = "studybot-runner-leaf"  # where the runner (and its cgroup's other processes) move
OWNER = "runner"  # the leaf in the runner's base it lives in while it runs (see `adopt`)
CPU_WEIGHT = 100


def v2_mount(mountinfo: str = "/proc/self/mountinfo") -> tuple[Path, str] | None:
    """Return (mount point, root within the hierarchy) of the cgroup2 mount, if any."""
    with contextlib.suppress(OSError), open(mountinfo) as f:
        for line in f:
            fields = line.split()
            dash = fields.index("-")
            if fields[dash + 1] == "cgroup2":
                return Path(fields[4]), fields[3]
    return None


def own_v2_cgroup(
    proc_cgroup: str = "/proc/self/cgroup", mountinfo: str = "/proc/self/mountinfo"
) -> Path | None:
    """Return the directory of this process's cgroup v2, if the hierarchy is mounted."""
    mounted = v2_mount(mountinfo)
    if mounted is None:
        return None
    point, root = mounted
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            path = line[3:]
            relative = os.path.relpath(path, root) if root != "/" else path.lstrip("/")
            directory = point / ("" if relative == "." else relative)
            return directory if directory.is_dir() else None
    return None


def runner_parent(own: Path) -> Path:
    """Return the cgroup the runner's subtrees go in (its own, or above its leaf)."""
    return own.parent if own.name == LEAF else own


@dataclass(frozen=True)
class V2JobCgroup:
    """One worker's cgroup v2 directory."""

    path: Path

    @property
    def procs_files(self) -> tuple[str, ...]:
        """Return the files a process writes "0" to in order to join."""
        return (str(self.path / "cgroup.procs"),)

    def oom_killed(self) -> bool:
        """Tell whether the kernel's OOM killer fired in this cgroup (memory.events)."""
        events = _events(self.path / "memory.events")
        return events.get("oom_kill", 0) > 0 or events.get("oom_group_kill", 0) > 0

    def hit_pids_limit(self) -> bool:
        """Tell whether a fork or clone was refused by pids.max."""
        return _events(self.path / "pids.events").get("max", 0) > 0

    def kill_all(self) -> None:
        """SIGKILL every process in the cgroup (cgroup.kill where the kernel has it)."""
        kill = self.path / "cgroup.kill"
        if kill.exists():
            with contextlib.suppress(OSError):
                kill.write_text("1")
                return
        kill_procs(self.path)

    def remove(self, attempts: int = 50) -> None:
        """Remove the directory, waiting briefly for the last tasks to be reaped."""
        remove_dir(self.path, attempts)


class V2Manager:
    """Creates job cgroups in a cgroup v2 subtree owned by this runner."""

    version = 2

    def __init__(self, base: Path, controllers: tuple[str, ...]) -> None:
        self.base = base
        self.controllers = controllers
        self._came_from: Path | None = None

    @classmethod
    def create(cls, name: str, own: Path | None = None) -> V2Manager:
        """Make the runner's base cgroup, raising CgroupError when that is impossible."""
        own = own or own_v2_cgroup()
        if own is None:
            raise CgroupError(errno.ENOENT, "no cgroup v2 hierarchy mounted")
        parent = runner_parent(own)
        available = _read(parent / "cgroup.controllers").split()
        missing = [c for c in REQUIRED if c not in available]
        if missing:
            raise CgroupError(
                errno.ENOENT,
                f"cgroup v2 controllers {', '.join(missing)} are not delegated to {parent} "
                "(give the runner a delegated cgroup: systemd Delegate=yes, or a container "
                "with --cgroupns=private and a writable /sys/fs/cgroup)",
            )
        controllers = tuple(c for c in WANTED if c in available)
        if not _enabled(parent, controllers):
            try:
                _enable(parent, controllers)
            except CgroupError as e:
                # Busy: processes live in `parent` (only the real root cgroup may have both).
                if e.errno != errno.EBUSY:
                    raise
                _leave(parent)
                _enable(parent, controllers)
        base = parent / name
        try:
            fresh_dir(base)
            _enable(base, controllers)
        except OSError as e:
            with contextlib.suppress(OSError):
                base.rmdir()
            raise CgroupError(e.errno, f"cannot create {base}: {e}") from e
        return cls(base, controllers)

    def job(self, worker_id: int, limits: JobLimitsSpec) -> V2JobCgroup:
        """Create and configure the cgroup of one worker."""
        cgroup = V2JobCgroup(self.base / f"w{worker_id}")
        try:
            fresh_dir(cgroup.path)
            (cgroup.path / "memory.max").write_text(str(limits.memory_bytes))
            swap = cgroup.path / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")
            # One OOM kill takes the whole job, as the strong level's pid namespace would.
            group = cgroup.path / "memory.oom.group"
            if group.exists():
                group.write_text("1")
            (cgroup.path / "pids.max").write_text(str(limits.max_pids))
            if "cpu" in self.controllers and limits.cpus > 0:
                quota = int(limits.cpus * CPU_PERIOD_US)
                (cgroup.path / "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
                (cgroup.path / "cpu.weight").write_text(str(CPU_WEIGHT))
        except OSError as e:
            with contextlib.suppress(OSError):
                cgroup.remove(attempts=1)
            raise CgroupError(e.errno, f"cannot set up cgroup for worker {worker_id}: {e}") from e
        return cgroup

    def adopt(self) -> None:
        """Move this process into a leaf of its base without limits of its own.

        v2 allows no process next to the job cgroups, whose controllers the base enables.
        """
        came_from = own_v2_cgroup()
        leaf = self.base / OWNER
        try:
            leaf.mkdir(exist_ok=True)
        except OSError as e:
            raise CgroupError(e.errno, f"cannot create {leaf}: {e}") from e
        join(leaf)
        self._came_from = came_from

    def close(self) -> None:
        """Remove the base directory and every job cgroup still in it."""
        if self._came_from is not None:
            # Back to where we started, or remove_tree would kill this very process.
            with contextlib.suppress(OSError):
                join(self._came_from)
        remove_tree(self.base)


def _enabled(directory: Path, controllers: tuple[str, ...]) -> bool:
    active = _read(directory / "cgroup.subtree_control").split()
    return all(c in active for c in controllers)


def _enable(directory: Path, controllers: tuple[str, ...]) -> None:
    try:
        (directory / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in controllers))
    except OSError as e:
        raise CgroupError(
            e.errno, f"cannot enable {', '.join(controllers)} below {directory}: {e}"
        ) from e


def _leave(parent: Path, proc_cgroup: str = "/proc/self/cgroup") -> None:
    # Move out of `parent` into its leaf, so controllers can be enabled for its children.
    procs = [int(p) for p in _read(parent / "cgroup.procs").split()]
    at_namespace_root = _read(proc_cgroup).strip().endswith("::/")
    # The runner's own ancestors may move with it: the console that started it, in the scope
    # `systemd-run --user --scope -p Delegate=yes studybot console` made for both.
    ours = {os.getpid(), *ancestors(os.getpid())}
    strangers = [p for p in procs if p not in ours]
    if strangers and not at_namespace_root:
        raise CgroupError(
            errno.EBUSY,
            f"cgroup v2: {parent} holds other processes ({len(strangers)}), so controllers "
            "cannot be enabled below it; start the runner in a cgroup of its own "
            "(systemd-run --scope -p Delegate=yes, with --user without root, or its own "
            "container)",
        )
    leaf = parent / LEAF
    try:
        leaf.mkdir(exist_ok=True)
        for pid in procs:
            with contextlib.suppress(ProcessLookupError):
                (leaf / "cgroup.procs").write_text(str(pid))
    except OSError as e:
        raise CgroupError(e.errno, f"cannot move into {leaf}: {e}") from e


def ancestors(pid: int, proc: str = "/proc") -> list[int]:
    """Return the parent, grandparent, ... of `pid`, up to but without init (pid 1)."""
    found: list[int] = []
    while True:
        try:
            stat = Path(f"{proc}/{pid}/stat").read_text()
            pid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return found
        if pid <= 1:
            return found
        found.append(pid)


def _events(path: Path) -> dict[str, int]:
    events: dict[str, int] = {}
    for line in _read(path).splitlines():
        key, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            events[key] = int(value)
    return events


def _read(path: Path | str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""

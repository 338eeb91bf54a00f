"""Per-job cgroups: memory, pids and CPU limits, on cgroup v1 or v2, below the runner's own.

The runner creates a cgroup for itself under the one it was started in (so an operator's or a
test's outer limits still apply) and one per worker below that. The worker joins its cgroup
before it drops root; the runner reads the OOM and pids counters after the job and removes the
directories. `create_manager` picks the version: v1 where memory and pids are v1 controllers
(cpu is added where mounted), else a delegated v2 subtree (see bot/runner/jail/cgroup_v2.py).

Kernel state outlives a SIGKILLed runner, so the runner owns it explicitly:
- names are "<prefix><pid namespace inode>-<pid>-<start time>", and a process's start time
  (clock ticks since boot) tells a restarted runner that reused a pid from the one that died;
- the runner moves itself into its base cgroup (`adopt`), so a base whose subtree holds no
  process belongs to a dead runner even when its pid namespace is not ours to look into;
- at start `remove_stale` removes those, and on SIGTERM `close` moves the runner back out
  and removes its own.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids")  # required on v1
OPTIONAL_CONTROLLERS = ("cpu",)  # used on v1 where mounted
CPU_PERIOD_US = 100_000


class CgroupError(OSError):
    """A cgroup could not be created, configured or removed."""


@dataclass(frozen=True)
class JobLimitsSpec:
    """What one job's cgroup enforces."""

    memory_bytes: int
    max_pids: int
    cpus: float  # CPU time per wall second, in cores (0 = no quota)


class JobCgroup(Protocol):
    """One worker's cgroup(s), whatever the version."""

    @property
    def procs_files(self) -> tuple[str, ...]:
        """Return the files a process writes "0" to in order to join."""

    def oom_killed(self) -> bool:
        """Tell whether the kernel's OOM killer fired in this cgroup."""

    def hit_pids_limit(self) -> bool:
        """Tell whether a fork or clone was refused by pids.max."""

    def kill_all(self) -> None:
        """SIGKILL every process still in the cgroup."""

    def remove(self, attempts: int = 50) -> None:
        """Remove the cgroup, waiting briefly for the last tasks to be reaped."""


class CgroupManager(Protocol):
    """Creates job cgroups under a base owned by this runner."""

    version: int
    controllers: tuple[str, ...]

    def job(self, worker_id: int, limits: JobLimitsSpec) -> JobCgroup:
        """Create and configure the cgroup of one worker."""

    def adopt(self) -> None:
        """Move this process into its base, marking the subtree as owned by a live runner."""

    def close(self) -> None:
        """Remove the runner's base cgroup and every job cgroup in it."""


def create_manager(name: str) -> CgroupManager:
    """Make the runner's base cgroups on v1, else v2; CgroupError when neither works."""
    from bot.runner.jail.cgroup_v2 import V2Manager, own_v2_cgroup

    if own_cgroup("memory") is not None and own_cgroup("pids") is not None:
        try:
            return V1Manager.create(name)
        except CgroupError:
            # Without root a v1 hierarchy is root's; a hybrid host may still delegate a
            # cgroup v2 subtree to the user (systemd's user@.service).
            if os.geteuid() == 0 or own_v2_cgroup() is None:
                raise

    try:
        return V2Manager.create(name)
    except CgroupError as e:
        raise CgroupError(e.errno, f"no cgroup v1 memory and pids controllers, and {e}") from e


def own_cgroup(controller: str, proc_cgroup: str = "/proc/self/cgroup") -> Path | None:
    """Return the v1 cgroup directory this process is in for `controller`, if mounted."""
    try:
        text = Path(proc_cgroup).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            directory = CGROUP_ROOT / controller / path.lstrip("/")
            return directory if directory.is_dir() else None
    return None


@dataclass(frozen=True)
class V1JobCgroup:
    """The memory, pids and (where mounted) cpu cgroups of one worker."""

    memory: Path
    pids: Path
    cpu: Path | None = None

    @property
    def dirs(self) -> tuple[Path, ...]:
        """Return every directory of this job, one per controller hierarchy."""
        return (self.memory, self.pids) + ((self.cpu,) if self.cpu else ())

    @property
    def procs_files(self) -> tuple[str, ...]:
        """Return the files a process writes "0" to in order to join."""
        return tuple(str(d / "cgroup.procs") for d in self.dirs)

    def oom_killed(self) -> bool:
        """Tell whether the kernel's OOM killer fired in this cgroup."""
        for line in _read(self.memory / "memory.oom_control").splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1]) > 0
        return False

    def hit_pids_limit(self) -> bool:
        """Tell whether a fork or clone was refused by pids.max."""
        text = _read(self.pids / "pids.events")
        return bool(text) and int(text.split()[1]) > 0

    def kill_all(self) -> None:
        """SIGKILL every process still in the cgroup (the pid namespace should have)."""
        for directory in self.dirs:
            kill_procs(directory)

    def remove(self, attempts: int = 50) -> None:
        """Remove every directory, waiting briefly for the last tasks to be reaped."""
        for directory in self.dirs:
            remove_dir(directory, attempts)


class V1Manager:
    """Creates job cgroups under base directories owned by this runner (cgroup v1)."""

    version = 1

    def __init__(self, memory_base: Path, pids_base: Path, cpu_base: Path | None = None) -> None:
        self.memory_base = memory_base
        self.pids_base = pids_base
        self.cpu_base = cpu_base
        self.controllers = (*CONTROLLERS, *(("cpu",) if cpu_base else ()))
        self._adopted = False

    @property
    def bases(self) -> tuple[Path, ...]:
        """Return the base directory in each hierarchy."""
        return (self.memory_base, self.pids_base) + ((self.cpu_base,) if self.cpu_base else ())

    @classmethod
    def create(cls, name: str) -> V1Manager:
        """Make the runner's base cgroups, raising CgroupError when that is impossible."""
        bases: dict[str, Path] = {}
        for controller in (*CONTROLLERS, *OPTIONAL_CONTROLLERS):
            parent = own_cgroup(controller)
            if parent is None:
                if controller in OPTIONAL_CONTROLLERS:
                    continue
                raise CgroupError(errno.ENOENT, f"no cgroup v1 {controller} controller mounted")
            base = parent / name
            try:
                fresh_dir(base)
            except OSError as e:
                if controller in OPTIONAL_CONTROLLERS:
                    continue
                raise CgroupError(e.errno, f"cannot create {base}: {e}") from e
            bases[controller] = base
        return cls(bases["memory"], bases["pids"], bases.get("cpu"))

    def job(self, worker_id: int, limits: JobLimitsSpec) -> V1JobCgroup:
        """Create and configure the cgroups for one worker."""
        name = f"w{worker_id}"
        cgroup = V1JobCgroup(
            self.memory_base / name,
            self.pids_base / name,
            self.cpu_base / name if self.cpu_base else None,
        )
        try:
            for directory in cgroup.dirs:
                fresh_dir(directory)
            (cgroup.memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
            swap = cgroup.memory / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(limits.memory_bytes))
            (cgroup.pids / "pids.max").write_text(str(limits.max_pids))
            if cgroup.cpu is not None and limits.cpus > 0:
                # A quota per job, so busy processes of one job cannot take every core from
                # the others; equal shares (the default 1024) split what is left.
                (cgroup.cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
                quota = int(limits.cpus * CPU_PERIOD_US)
                (cgroup.cpu / "cpu.cfs_quota_us").write_text(str(quota))
        except OSError as e:
            with contextlib.suppress(OSError):
                cgroup.remove(attempts=1)
            raise CgroupError(e.errno, f"cannot set up cgroup for worker {worker_id}: {e}") from e
        return cgroup

    def adopt(self) -> None:
        """Move this process into its base directories (v1 allows processes in inner nodes)."""
        for base in self.bases:
            join(base)
        self._adopted = True

    def close(self) -> None:
        """Remove the base directories and any job cgroup still in them."""
        for base in self.bases:
            if self._adopted:
                # Back to where we started, or remove_tree would kill this very process.
                with contextlib.suppress(OSError):
                    join(base.parent)
            remove_tree(base)


def join(directory: Path) -> None:
    """Move this process (all its threads) into a cgroup."""
    try:
        (directory / "cgroup.procs").write_text(str(os.getpid()))
    except OSError as e:
        raise CgroupError(e.errno, f"cannot move the runner into {directory}: {e}") from e


def fresh_dir(directory: Path) -> None:
    """Create a cgroup directory; one left over by a dead process is removed first."""
    try:
        directory.mkdir()
    except FileExistsError:
        remove_tree(directory)
        directory.mkdir()


def has_procs(directory: Path) -> bool:
    """Tell whether any process lives in a cgroup or below it."""
    return any(_read(d / "cgroup.procs").strip() for d in (directory, *_subdirs(directory)))


def _subdirs(directory: Path) -> list[Path]:
    try:
        return [p for p in directory.rglob("*") if p.is_dir()]
    except OSError:
        return []


def kill_procs(directory: Path) -> None:
    """SIGKILL every process listed in a cgroup's cgroup.procs."""
    for pid in _read(directory / "cgroup.procs").split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


def remove_dir(directory: Path, attempts: int) -> None:
    """rmdir a cgroup, killing its processes and retrying while it is busy."""
    for _ in range(attempts):
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY:
                raise CgroupError(e.errno, f"cannot remove {directory}: {e}") from e
            kill_procs(directory)
            time.sleep(0.01)


def remove_tree(directory: Path) -> None:
    """Kill every process in a cgroup subtree and remove it, deepest first."""
    if not directory.is_dir():
        return
    for child in directory.iterdir():
        if child.is_dir():
            remove_tree(child)
    for _ in range(100):
        kill_procs(directory)
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def runner_tag() -> str:
    """Name this process uniquely on the host: "<pid namespace inode>-<pid>-<start time>"."""
    pid = os.getpid()
    return f"{_pid_namespace()}-{pid}-{start_time(pid)}"


def start_time(pid: int) -> str:
    """Return when `pid` started (clock ticks since boot, /proc/<pid>/stat), "" if gone."""
    stat = _read(Path(f"/proc/{pid}/stat"))
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def is_stale(tag: str) -> bool:
    """Tell whether a runner_tag() names a process of our own pid namespace that is gone.

    The start time tells a pid reused by a later process (a restarted runner in a container
    is often pid 1 or 4 again) from the runner that died. Tags from other pid namespaces are
    never stale here: their pids mean nothing to us (remove_stale looks at their cgroups).
    """
    namespace, pid, start = _parse_tag(tag)
    if namespace != _pid_namespace() or not pid.isdigit():
        return False
    if not start:  # a name from before start times were recorded
        return int(pid) == os.getpid() or not Path(f"/proc/{pid}").exists()
    return start_time(int(pid)) != start


def foreign(tag: str) -> bool:
    """Tell whether a runner_tag() was made in another pid namespace."""
    return _parse_tag(tag)[0] != _pid_namespace()


def remove_stale(prefix: str, grace_s: float = 2.0) -> list[Path]:
    """Remove cgroups "<prefix><tag>" left by runners that died; return what was removed.

    One of our pid namespace is stale when its runner is gone; one of another namespace when
    no process lives in it (a live runner lives in its own base, see `adopt`) and it is older
    than `grace_s`, the moment between a runner's mkdir and its move into the directory.
    """
    parents = [own_cgroup(c) for c in (*CONTROLLERS, *OPTIONAL_CONTROLLERS)]
    from bot.runner.jail.cgroup_v2 import own_v2_cgroup, runner_parent

    own_v2 = own_v2_cgroup()
    parents.append(runner_parent(own_v2) if own_v2 is not None else None)
    removed: list[Path] = []
    for parent in {p for p in parents if p is not None}:
        for child in parent.glob(prefix + "*"):
            tag = child.name.removeprefix(prefix)
            if is_stale(tag) or (
                foreign(tag) and _older_than(child, grace_s) and not has_procs(child)
            ):
                remove_tree(child)
                removed.append(child)
    return removed


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


def _parse_tag(tag: str) -> tuple[str, str, str]:
    parts = tag.split("-")
    start = parts[2] if len(parts) > 2 and parts[2].isdigit() else ""
    return parts[0], parts[1] if len(parts) > 1 else "", start


def _pid_namespace() -> str:
    return str(os.stat("/proc/self/ns/pid").st_ino)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""

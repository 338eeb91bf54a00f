"""Per-job cgroup v1 memory and pids limits, nested under the runner's own cgroups.

The runner creates one directory per controller for itself (under the cgroup it was started
in, so an operator's or a test's outer limits still apply) and one per worker below that. The
worker joins them before it drops root; the runner reads the OOM and pids counters after the
job and removes the directories. Only cgroup v1 controllers are handled: that is what the
hosts we run on mount for memory and pids.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids")


class CgroupError(OSError):
    """A cgroup could not be created, configured or removed."""


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
class JobCgroup:
    """The memory and pids cgroups of one worker."""

    memory: Path
    pids: Path

    @property
    def procs_files(self) -> tuple[str, ...]:
        """Return the files a process writes "0" to in order to join."""
        return (str(self.memory / "cgroup.procs"), str(self.pids / "cgroup.procs"))

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
        for directory in (self.pids, self.memory):
            for pid in _read(directory / "cgroup.procs").split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)

    def remove(self, attempts: int = 50) -> None:
        """Remove both directories, waiting briefly for the last tasks to be reaped."""
        for directory in (self.memory, self.pids):
            for _ in range(attempts):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY:
                        raise CgroupError(e.errno, f"cannot remove {directory}: {e}") from e
                    self.kill_all()
                    time.sleep(0.01)


class CgroupManager:
    """Creates job cgroups under a base directory owned by this runner."""

    def __init__(self, memory_base: Path, pids_base: Path) -> None:
        self.memory_base = memory_base
        self.pids_base = pids_base

    @classmethod
    def create(cls, name: str) -> CgroupManager:
        """Make the runner's base cgroups, raising CgroupError when that is impossible."""
        bases = []
        for controller in CONTROLLERS:
            parent = own_cgroup(controller)
            if parent is None:
                raise CgroupError(errno.ENOENT, f"no cgroup v1 {controller} controller mounted")
            base = parent / name
            try:
                base.mkdir(exist_ok=True)
            except OSError as e:
                raise CgroupError(e.errno, f"cannot create {base}: {e}") from e
            bases.append(base)
        return cls(bases[0], bases[1])

    def job(self, worker_id: int, memory_bytes: int, max_pids: int) -> JobCgroup:
        """Create and configure the cgroups for one worker."""
        cgroup = JobCgroup(self.memory_base / f"w{worker_id}", self.pids_base / f"w{worker_id}")
        try:
            cgroup.memory.mkdir()
            cgroup.pids.mkdir()
            (cgroup.memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
            swap = cgroup.memory / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(memory_bytes))
            (cgroup.pids / "pids.max").write_text(str(max_pids))
        except OSError as e:
            with contextlib.suppress(OSError):
                cgroup.remove(attempts=1)
            raise CgroupError(e.errno, f"cannot set up cgroup for worker {worker_id}: {e}") from e
        return cgroup

    def close(self) -> None:
        """Remove the base directories and any job cgroup still in them."""
        for base in (self.memory_base, self.pids_base):
            remove_tree(base)


def remove_tree(directory: Path) -> None:
    """Kill every process in a cgroup subtree and remove it, deepest first."""
    if not directory.is_dir():
        return
    for child in directory.iterdir():
        if child.is_dir():
            remove_tree(child)
    for _ in range(100):
        for pid in _read(directory / "cgroup.procs").split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def runner_tag() -> str:
    """Name this process uniquely on the host: "<pid namespace inode>-<pid>"."""
    return f"{os.stat('/proc/self/ns/pid').st_ino}-{os.getpid()}"


def is_stale(tag: str) -> bool:
    """Tell whether a runner_tag() names a dead process of our own pid namespace.

    Tags from other pid namespaces are never stale here: their pids mean nothing to us.
    """
    namespace, _, pid = tag.partition("-")
    own = str(os.stat("/proc/self/ns/pid").st_ino)
    return namespace == own and pid.isdigit() and not Path(f"/proc/{pid}").exists()


def remove_stale(prefix: str) -> None:
    """Remove cgroups "<prefix><tag>" left by runners that died without cleaning up."""
    for controller in CONTROLLERS:
        parent = own_cgroup(controller)
        if parent is None:
            continue
        for child in parent.glob(prefix + "*"):
            if is_stale(child.name.removeprefix(prefix)):
                remove_tree(child)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""

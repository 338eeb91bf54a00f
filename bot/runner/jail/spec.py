"""What the runner tells the zygote about each worker to fork, as plain JSON-able data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

NOBODY = 65534  # the uid a non-root runner's jobs are not switched to: for messages only
SCRATCH_IN_JAIL = "/home/sandbox"


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a pre-forked worker needs to build its sandbox before code arrives."""

    worker_id: int
    level: str  # "strong" or "basic"
    gpu: bool  # bind the NVIDIA device nodes (strong level) for a GPU job
    root_dir: str  # strong: empty directory the new root tmpfs is mounted on
    scratch_dir: str  # basic: per-worker directory created for the job
    scratch_bytes: int
    file_bytes: int
    open_files: int
    nproc_rlimit: int  # basic: RLIMIT_NPROC (per uid); 0 = not set
    cgroup_procs: tuple[str, ...]  # strong: cgroup.procs files the job joins
    read_only: tuple[str, ...]  # host paths visible read-only (bound, or Landlock-allowed)
    landlock_abi: int  # 0 = no Landlock; else the ABI the ruleset is built for
    seccomp: bool
    drop_uid: bool = True  # switch to `uid`; root only (a user namespace maps just one id)
    uid: int = NOBODY  # the job's own uid and gid, from STUDYBOT_RUN_UID_RANGE
    gid: int = NOBODY
    # Strong level without root: the keeper first creates a user namespace of the job's own in
    # which `uid`/`gid` stand for these ids of the runner (the only ones it may map).
    userns: bool = False
    outer_uid: int = 0
    outer_gid: int = 0
    env: dict[str, str] = field(default_factory=dict)
    threads: int = 1
    # Strong level: False where the host refuses pivot_root (Docker's default seccomp profile,
    # which Swarm services cannot change); the root is then switched by a move mount.
    pivot_root: bool = True

    def to_wire(self) -> dict[str, Any]:
        """Encode for the zygote's control socket."""
        return asdict(self)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> WorkerSpec:
        """Decode what the runner sent."""
        data = dict(data)
        data["cgroup_procs"] = tuple(data["cgroup_procs"])
        data["read_only"] = tuple(data["read_only"])
        return cls(**data)

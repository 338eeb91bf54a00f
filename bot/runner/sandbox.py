"""The sandbox: runs one snippet in a fresh, isolated, pre-warmed interpreter and returns a result.

It knows nothing of sockets or users (that is the server's and the scheduler's business): it
turns settings and the host's capabilities into a level, a worker specification and job limits,
keeps the worker pool, and maps every low-level failure to a RunResult.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from bot.runner.io.files import remove_tree
from bot.runner.jail.cgroups import (
    CgroupError,
    CgroupManager,
    JobCgroup,
    JobLimitsSpec,
    create_manager,
    is_stale,
    remove_stale,
    runner_tag,
)
from bot.runner.jail.probe import HostCapabilities
from bot.runner.jail.spec import SCRATCH_IN_JAIL, WorkerSpec
from bot.runner.jail.sweep import kill_uid, sweep_shared_tmp, tasks_of_uid
from bot.runner.jail.uids import UidPool, UidsExhausted
from bot.runner.jail.view import BASIC_EXTRA_READ_ONLY, SYSTEM_READ_ONLY, cover, job_env
from bot.runner.pool.job import JobLimits, run_on_worker
from bot.runner.pool.workers import Worker, WorkerError, WorkerPool, Zygote
from bot.runner.protocol import RunFile, RunnerInfo, RunResult
from bot.runner.settings import RunnerConfig

log = logging.getLogger(__name__)

MIB = 1024 * 1024
STATE_PREFIX = "studybot-runner-"  # + runner_tag(): a directory under /tmp per runner
CGROUP_PREFIX = "studybot-runner-"  # + runner_tag(): a cgroup under the runner's own
SWEEP_TIMEOUT_S = 10.0
# What stands in for each cgroup at the strong level without root and without a delegated
# cgroup v2 subtree.
_WATCHED = {
    "cgroup_memory": "RLIMIT_AS per process and the runner's watch of the job tree's memory",
    "cgroup_pids": "RLIMIT_NPROC, counted in the job's own user namespace",
    "cgroup_cpu": "RLIMIT_CPU per process; no share of the cores is enforced",
}


class Sandbox:
    """Runs snippets in single-use sandboxed workers at one isolation level."""

    def __init__(self, settings: RunnerConfig, caps: HostCapabilities, level: str) -> None:
        self.settings = settings
        self.caps = caps
        self.level = level
        self.devices = ("cpu", *(f"cuda:{i}" for i in range(caps.gpus)))
        _remove_stale_state()
        self._state = Path(tempfile.mkdtemp(prefix=f"{STATE_PREFIX}{runner_tag()}-"))
        self._cgroups: CgroupManager | None = None
        # Root switches every job to a uid of its own. Without root, at the strong level, each
        # job has a user namespace of its own, and the uid stands for the runner's in there.
        self._userns = level == "strong" and caps.userns
        self._uids = UidPool(*settings.uid_range) if caps.root or self._userns else None
        # Without a memory cgroup, rlimits and the runner's watch of the job tree stand in.
        self._job_cgroups = level == "strong" and not caps.cgroups
        self._next_id = 0
        self._cleanups: set[asyncio.Task[None]] = set()
        sizes = {"cpu": settings.run_pool_size} | dict.fromkeys(self.devices[1:], 1)
        self._pool = WorkerPool(self._new_zygote, self._new_worker, sizes, self._discard)

    @property
    def protections(self) -> dict[str, bool]:
        """Return each protection's status at this level."""
        strong = self.level == "strong"
        basic_or_better = self.level in ("basic", "strong")
        cgroups = self._job_cgroups
        return {
            "namespace_net": strong,
            "namespace_mount": strong,
            "namespace_pid": strong,
            "namespace_ipc": strong,
            "namespace_uts": strong,
            "namespace_user": self._userns,
            "private_tmpfs": strong,
            "cgroup_memory": cgroups,
            "cgroup_pids": cgroups,
            "cgroup_cpu": cgroups and "cpu" in self.caps.cgroup_controllers,
            "seccomp": not self.caps.seccomp,
            "landlock": self.caps.landlock_abi > 0,
            "uid_drop": basic_or_better and self.caps.root,
            "uid_per_job": (basic_or_better and self.caps.root) or self._userns,
            "no_new_privs": True,
            "rlimits": True,
            "fresh_process": True,
        }

    def why_off(self) -> dict[str, str]:
        """Explain each protection that is off."""
        notes: dict[str, str] = {}
        strong_missing = (
            f"level is {self.level}"
            + (f": {self.caps.namespaces}" if self.caps.namespaces else "")
            + (f"; {self.caps.cgroups}" if self.caps.cgroups else "")
        )
        for name, on in self.protections.items():
            if on:
                continue
            if name == "namespace_user":
                notes[name] = (
                    "not needed: the runner is root and each job runs as its own uid"
                    if self.caps.root
                    else self.caps.namespaces or strong_missing
                )
            elif name.startswith("cgroup_") and self._userns:
                notes[name] = f"no cgroups without root here (see above); instead: {_WATCHED[name]}"
            elif name == "uid_drop" and self._userns:
                notes[name] = (
                    "not needed: each job has a user namespace of its own, where only its own "
                    "uid (the runner's, outside) exists"
                )
            elif name == "landlock":
                notes[name] = self.caps.notes.get("landlock", "the kernel has no Landlock")
            elif name == "seccomp":
                notes[name] = self.caps.seccomp
            elif name == "cgroup_cpu" and self.level == "strong":
                notes[name] = "the cpu controller is not available to the runner"
            elif name in ("uid_drop", "uid_per_job"):
                notes[name] = self.caps.notes.get("uid_drop", f"level is {self.level}")
            else:
                notes[name] = strong_missing
        return notes

    def label(self) -> str:
        """Name the level truthfully: strong only where the kernel bounds memory and CPU too.

        The strong jail without a memory cgroup (no root and no delegated subtree) or without
        the cpu controller (a v2 cgroup not delegated) is still the jail, but a job's memory is
        then watched rather than capped, or a job may use every core.
        """
        if self.level != "strong":
            return self.level
        protections = self.protections
        if not protections["cgroup_memory"]:
            return (
                "strong jail only, not strong: no cgroups, so memory is watched rather than "
                "capped and a job may use every core"
            )
        if not protections["cgroup_cpu"]:
            return "strong jail only, not strong: no CPU quota, so a job may use every core"
        return "strong"

    def info(self) -> RunnerInfo:
        """Describe this sandbox for clients."""
        return RunnerInfo(level=self.level, devices=self.devices, protections=self.protections)

    async def start(self) -> None:
        """Prepare directories and cgroups, start the zygote and pre-fork the pool."""
        # Traversable, not listable: basic-level workers (each its own uid) reach their scratch
        # directories, which are 0700 and their own.
        os.chmod(self._state, 0o711)  # noqa: S103
        for name, mode in (("root", 0o755), ("jobs", 0o711), ("mpl", 0o755)):
            (self._state / name).mkdir(mode=mode)
            os.chmod(self._state / name, mode)
        if self._job_cgroups:
            for stale in remove_stale(CGROUP_PREFIX):
                log.info("removed the cgroup of a runner that is gone: %s", stale)
            try:
                self._cgroups = create_manager(CGROUP_PREFIX + runner_tag())
                self._cgroups.adopt()
            except CgroupError as e:
                if self._cgroups is not None:
                    self._cgroups.close()
                raise WorkerError(f"cannot create the runner's cgroups: {e}") from e
        await self._pool.start()

    async def run(self, code: str, device: str, files: tuple[RunFile, ...] = ()) -> RunResult:
        """Run `code` on `device` ("cpu" or "cuda:N") with input `files`; say what happened."""
        try:
            worker = await self._pool.acquire(device)
        except WorkerError as e:
            log.error("no worker for a %s job: %s", device, e)
            # The runner is fine, the job never ran: not "crashed" (which promises a restart).
            return RunResult.rejected("sandbox_unavailable")
        try:
            result = await run_on_worker(
                worker, code, device, self._limits(device), self._job_extra(device), files
            )
            # Nothing of the job may still run when its user reads the answer: a leftover
            # process would hold memory, processes or CPU that the next job is promised.
            await asyncio.to_thread(self._sweep, worker)
            return result
        finally:
            self._discard(worker)

    def _discard(self, worker: Worker) -> None:
        """Sweep, remove and release a used or dropped worker in the background."""
        task = asyncio.create_task(asyncio.to_thread(self._cleanup, worker))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def close(self) -> None:
        """Stop the pool, wait for cleanups, remove cgroups and the state directory."""
        await self._pool.close()
        await asyncio.gather(*list(self._cleanups), return_exceptions=True)
        if self._cgroups is not None:
            with contextlib.suppress(OSError):
                self._cgroups.close()
        remove_tree(self._state)

    # -- workers ------------------------------------------------------------------------------

    def _new_zygote(self) -> Zygote:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(self._state / "mpl"),
            "PYTORCH_NVML_BASED_CUDA_CHECK": "1",
            # One BLAS thread: a pool started at import would be forked into every worker.
            "OPENBLAS_NUM_THREADS": "1",
        }
        if "PYTHONPATH" in os.environ:
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        return Zygote(env, str(self._state))

    async def _new_worker(self, zygote: Zygote, kind: str) -> Worker:
        self._next_id += 1
        worker_id = self._next_id
        cgroup: JobCgroup | None = None
        uid = os.getuid()
        if self._uids is not None:
            try:
                uid = await asyncio.to_thread(self._uids.acquire)
            except UidsExhausted as e:
                raise WorkerError(str(e)) from e
        if self._cgroups is not None:
            try:
                cgroup = self._cgroups.job(worker_id, self._cgroup_limits())
            except CgroupError as e:
                self._release(uid)
                raise WorkerError(str(e)) from e
        spec = self._spec(worker_id, kind, zygote.paths, cgroup, uid)
        try:
            return await zygote.spawn(spec, kind, cgroup)
        except WorkerError:
            await asyncio.to_thread(self._remove_leftovers, spec, cgroup)
            raise

    def _cgroup_limits(self) -> JobLimitsSpec:
        s = self.settings
        # Each job may use its share of the cores and no more, so busy processes of one job
        # cannot slow the others down.
        cpus = max(1.0, (os.cpu_count() or 1) / s.run_cpu_concurrency)
        return JobLimitsSpec(s.run_memory_mb * MIB, s.run_max_processes, cpus)

    def _release(self, uid: int) -> None:
        if self._uids is not None:
            self._uids.release(uid)

    def _spec(
        self,
        worker_id: int,
        kind: str,
        python_paths: list[str],
        cgroup: JobCgroup | None,
        uid: int,
    ) -> WorkerSpec:
        s = self.settings
        strong = self.level == "strong"
        scratch = SCRATCH_IN_JAIL if strong else str(self._state / "jobs" / f"w{worker_id}")
        read_only = [*SYSTEM_READ_ONLY, str(self._state / "mpl"), *python_paths]
        if not strong:
            read_only += BASIC_EXTRA_READ_ONLY
        cpus = os.cpu_count() or 1
        threads = max(1, cpus // s.run_cpu_concurrency)
        slots = s.run_cpu_concurrency + s.run_gpu_concurrency * self.caps.gpus
        return WorkerSpec(
            worker_id=worker_id,
            level=self.level,
            gpu=kind != "cpu",
            root_dir=str(self._state / "root"),
            scratch_dir=scratch,
            scratch_bytes=s.run_scratch_mb * MIB,
            file_bytes=min(s.run_max_file_mb, s.run_scratch_mb) * MIB,
            open_files=s.run_max_open_files,
            nproc_rlimit=self._nproc_budget(slots),
            cgroup_procs=cgroup.procs_files if cgroup else (),
            read_only=cover(read_only),
            landlock_abi=self.caps.landlock_abi,
            seccomp=not self.caps.seccomp,
            drop_uid=self.caps.root,
            uid=uid,
            gid=uid,
            userns=self._userns,
            outer_uid=os.getuid(),
            outer_gid=os.getgid(),
            env=job_env(scratch, strong, str(self._state / "mpl"), threads),
            threads=threads,
            pivot_root=self.caps.pivot_root,
        )

    def _nproc_budget(self, slots: int) -> int:
        """Return RLIMIT_NPROC for a worker.

        RLIMIT_NPROC counts every task of the job's real uid. As root each job has a uid of its
        own, so that is exactly the job's processes and threads. In a user namespace of the
        job's own the kernel counts per namespace, so it is the job's tasks plus its keeper.
        Without either the job keeps the runner's own uid, shared by all jobs and by a desktop
        session that may already hold hundreds of threads, so the budget comes on top of what
        that uid runs now (else every job fails to start a thread).
        """
        s = self.settings
        if self.caps.root:
            return s.run_max_processes
        if self._userns:
            return s.run_max_processes + 1
        budget = s.run_max_processes * slots + 8 * (s.run_pool_size + 2)
        return budget + tasks_of_uid(os.getuid())

    def _limits(self, device: str) -> JobLimits:
        s = self.settings
        basic = self.level != "strong"
        watched = not self._job_cgroups
        memory = s.run_memory_mb * MIB
        return JobLimits(
            wall_time_s=s.run_wall_time_s,
            cpu_time_s=s.run_cpu_time_s,
            output_bytes=s.run_output_kb * 1024,
            scratch_bytes=s.run_scratch_mb * MIB,
            watch_disk=basic,
            # Without a memory cgroup RLIMIT_AS bounds each process of a CPU job, and the whole
            # tree's resident size is watched as well (children each get their own RLIMIT_AS).
            # CUDA reserves far more address space than it uses, so GPU jobs get the watch only.
            rss_bytes=memory if watched else 0,
            address_space_bytes=memory if watched and device == "cpu" else 0,
        )

    def _job_extra(self, device: str) -> dict[str, Any]:
        if device == "cpu":
            return {"cuda_visible_devices": ""}
        return {
            "cuda_visible_devices": device.split(":", 1)[1],
            "gpu_memory_fraction": self.settings.run_gpu_memory_fraction,
        }

    def _sweep(self, worker: Worker) -> None:
        """Kill the job's whole tree and wait until the keeper reports it gone."""
        worker.kill()
        # The keeper answers once the jail is reaped: at the strong level that is after the
        # kernel emptied its pid namespace; at the basic level the keeper, the job's
        # subreaper, first SIGKILLs and reaps every descendant, orphans included.
        worker.wait_keeper(SWEEP_TIMEOUT_S)

    def _cleanup(self, worker: Worker) -> None:
        # Idempotent after _sweep; a dropped idle worker gets its sweep here.
        self._sweep(worker)
        worker.close()
        # Whatever still runs as the uid (nothing, unless the keeper died) dies before the
        # uid can be handed out again.
        if self.caps.root and not kill_uid(worker.spec.uid, SWEEP_TIMEOUT_S):
            log.warning("processes of uid %d outlived the sweep", worker.spec.uid)
        self._remove_leftovers(worker.spec, worker.cgroup)

    def _remove_leftovers(self, spec: WorkerSpec, cgroup: JobCgroup | None) -> None:
        # What the job's uid owns goes before the uid may be handed to another job.
        if cgroup is not None:
            try:
                cgroup.remove()
            except OSError as e:
                log.warning("could not remove cgroup of worker %d: %s", spec.worker_id, e)
        if self.level != "strong":
            remove_tree(spec.scratch_dir)
            if not self.caps.landlock_abi:
                sweep_shared_tmp(spec.uid)
        self._release(spec.uid)


def _remove_stale_state() -> None:
    # State directories of runners that were killed are removed (see is_stale).
    for path in Path(tempfile.gettempdir()).glob(STATE_PREFIX + "*-*-*"):
        if is_stale(path.name.removeprefix(STATE_PREFIX)):
            remove_tree(path)

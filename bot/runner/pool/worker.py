"""The single-use worker, forked from the zygote: keeper, jail, and the snippet itself.

Two processes per job. The keeper stays outside the job's pid namespace (as root, or without
root in the job's own user namespace, which it creates and maps first), reports the job's
pid (as a pidfd, so the runner can kill it without pid-reuse races) and its exit status, and at
the basic level reaps and kills whatever the job left behind. The jail builds the sandbox (as
far as possible before any code exists), drops to its own uid (or, in a user namespace, drops
every capability), says "ready", waits for the code, and runs it (snippet.py). Everything
here runs in a forked copy of the zygote and ends in os._exit: no exception may unwind into
the zygote's loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import resource
import select
import signal
import socket
import stat
import sys
import tempfile
from typing import Any, NoReturn

from bot.runner.jail import landlock, mounts
from bot.runner.jail.linux import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    PR_SET_CHILD_SUBREAPER,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    prctl,
    unshare,
)
from bot.runner.jail.spec import SCRATCH_IN_JAIL, WorkerSpec
from bot.runner.jail.userns import drop_capabilities, map_own_ids
from bot.runner.pool.snippet import run_snippet

KEEPER_FAILED = 70
JAIL_FAILED = 71
_MAX_RUN_MESSAGE = 16 * 1024 * 1024
_WRITABLE_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


def keeper_main(
    spec: WorkerSpec, job_fd: int, status_fd: int, pipes: tuple[int, int, int], zygote_pid: int
) -> NoReturn:
    """Fork the jail into fresh namespaces, hand its pidfd to the runner, report its exit."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != zygote_pid:
            os._exit(KEEPER_FAILED)
        if spec.level == "strong":
            jail_namespaces = (
                CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID
            )
            if spec.userns:
                # Without root, as bubblewrap and nsjail do: a user namespace of this job's own
                # first (it owns the other namespaces, so building the jail needs no privilege
                # on the host), mapping the job's uid and gid to the runner's.
                unshare(CLONE_NEWUSER | jail_namespaces)
                map_own_ids(spec.uid, spec.gid, spec.outer_uid, spec.outer_gid)
            else:
                unshare(jail_namespaces)
        else:
            # Without a pid namespace, orphans of the job are re-parented to us, not to init,
            # so a daemonized grandchild can still be found and killed.
            prctl(PR_SET_CHILD_SUBREAPER, 1)
        jail = os.fork()
        if jail == 0:
            os.close(status_fd)
            _jail_main(spec, job_fd, pipes, os.getppid() if spec.level != "strong" else 0)
        for fd in (job_fd, *pipes):
            os.close(fd)
        status = socket.socket(fileno=status_fd)
        pidfd = os.pidfd_open(jail)
        socket.send_fds(status, [_line({"type": "started", "pid": jail})], [pidfd])
        os.close(pidfd)
        _, wait_status = os.waitpid(jail, 0)
        if spec.level != "strong":
            _kill_descendants()
        status.send(_line({"type": "exit", "status": wait_status}))
    except BaseException:
        os._exit(KEEPER_FAILED)
    os._exit(0)


def _kill_descendants() -> None:
    # Each pass SIGKILLs every descendant found in one /proc scan (a process with a pending
    # SIGKILL can no longer fork), so even a fork bomb converges in a few passes; orphans of
    # killed processes are re-parented to us and show up in the next pass.
    me = os.getpid()
    while True:
        found = _descendants(me)
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            if not found:
                return
        if not found:
            signal.sigtimedwait([signal.SIGCHLD], 0.001)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            found.append(child)
            stack.append(child)
    return found


def _jail_main(spec: WorkerSpec, job_fd: int, pipes: tuple[int, int, int], keeper: int) -> NoReturn:
    # Over 60 lines on purpose: the jail's steps are irreversible and their order is the
    # security argument (cgroup, mounts, uid, Landlock, seccomp, then the code), read top down.
    out_w, err_w, done_w = pipes
    try:
        os.setsid()
        if spec.level == "strong":
            for procs in spec.cgroup_procs:
                with open(procs, "w") as f:
                    f.write("0")
            mounts.build_root(spec)
            socket.sethostname("sandbox")
            scratch = SCRATCH_IN_JAIL
        else:
            scratch = spec.scratch_dir
            # 0700 and the job's own uid: no other job (each has its own uid) can enter it.
            os.mkdir(scratch, 0o700)
            if spec.drop_uid:
                os.chown(scratch, spec.uid, spec.gid)
            os.chdir(scratch)
        scratch_fd = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        path_fds = _open_unreachable_prefixes(spec) if spec.level != "strong" else {}
        _close_fds_except({0, 1, 2, job_fd, scratch_fd, done_w, *path_fds.values()})
        ruleset = _landlock_rules(spec, scratch) if spec.landlock_abi else None
        _set_rlimits(spec)
        if spec.drop_uid:
            os.setgroups([])
            os.setresgid(spec.gid, spec.gid, spec.gid)
            os.setresuid(spec.uid, spec.uid, spec.uid)
        if spec.userns:
            # Already the job's uid: what it still holds, it holds for building the jail.
            drop_capabilities()
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        if ruleset is not None:
            ruleset.enforce()
        # Set after the uid change, which clears it; sealed by seccomp below.
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if keeper and os.getppid() != keeper:
            os._exit(JAIL_FAILED)
        seccomp = None
        if spec.seccomp:
            from bot.runner.jail.seccomp import build_filter

            basic = spec.level != "strong"
            seccomp = build_filter(
                allow_unix_sockets=not basic,
                deny_group_kill=basic,
                # The job joins its cgroups (memory among them) only at the strong level.
                memory_cgroup=bool(spec.cgroup_procs),
            )
        _reroute_imports(path_fds)
        os.environ.clear()
        os.environ.update(spec.env)
        # The zygote may have asked for the temporary directory already: ask again, so that
        # caches torch makes on first use go to this job's own (TMPDIR), not the host's /tmp.
        tempfile.tempdir = None
        _warm_up(spec)
        job = socket.socket(fileno=job_fd)
        socket.send_fds(job, [_line({"type": "ready"})], [scratch_fd])
        os.close(scratch_fd)
        # Loaded only now: passing the scratch fd needs sendmsg(), which basic jobs may not
        # use. Still before any code exists, and the code is read under the filter.
        if seccomp is not None:
            seccomp.load()
        message = _read_line(job)
        job.close()
    except BaseException as e:
        # A runner that gave this worker up (it stopped, or dropped the worker) may already
        # have removed what the jail was being built from: that failure is nobody's concern.
        if not _runner_hung_up(job_fd):
            os.write(2, f"studybot worker {spec.worker_id}: sandbox setup failed: {e!r}\n".encode())
        os._exit(JAIL_FAILED)
    run_snippet(message, done_w)


def _runner_hung_up(job_fd: int) -> bool:
    # The runner writes nothing before the worker says "ready": any event means it closed.
    try:
        poller = select.poll()
        poller.register(job_fd, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return False  # cannot tell: say what failed


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def _read_line(sock: socket.socket) -> dict[str, Any]:
    buf = bytearray()
    while not buf.endswith(b"\n"):
        chunk = sock.recv(1 << 16)
        if not chunk or len(buf) > _MAX_RUN_MESSAGE:
            os._exit(0)  # the runner gave this worker up (shutdown or pool drain)
        buf += chunk
    message: dict[str, Any] = json.loads(buf)
    return message


def _close_fds_except(keep: set[int]) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            with contextlib.suppress(OSError):  # the listing's own fd, already closed
                os.close(fd)


def _sandbox_can_reach(path: str, uid: int) -> bool:
    # True when the job's uid may traverse every directory down to `path` (checked by mode
    # bits, because as root os.access() would say yes to everything).
    current = "/"
    for part in [p for p in os.path.realpath(path).split("/") if p]:
        st = os.stat(current)
        if st.st_uid != uid and not st.st_mode & stat.S_IXOTH:
            return False
        current = os.path.join(current, part)
    return True


def _open_unreachable_prefixes(spec: WorkerSpec) -> dict[str, int]:
    # An interpreter installed under a directory the job's uid cannot enter (pyenv under /root)
    # would break every import not done by the zygote; a directory fd opened as root and used
    # through /proc/self/fd keeps those reachable read-only, without opening up the parent.
    fds: dict[str, int] = {}
    for prefix in spec.read_only:
        if os.path.isdir(prefix) and not _sandbox_can_reach(prefix, spec.uid):
            fds[prefix] = os.open(prefix, os.O_PATH | os.O_DIRECTORY)
    return fds


def _reroute_imports(path_fds: dict[str, int]) -> None:
    if not path_fds:
        return

    def reroute(entry: str) -> str:
        for prefix, fd in path_fds.items():
            if entry == prefix or entry.startswith(prefix + "/"):
                return f"/proc/self/fd/{fd}{entry[len(prefix) :]}"
        return entry

    sys.path[:] = [reroute(p) for p in sys.path]
    for module in list(sys.modules.values()):
        search = getattr(module, "__path__", None)
        if isinstance(search, list):
            search[:] = [reroute(p) for p in search]
    sys.path_importer_cache.clear()


def _landlock_rules(spec: WorkerSpec, scratch: str) -> landlock.Ruleset:
    ruleset = landlock.Ruleset(spec.landlock_abi)
    writable = landlock.READ | landlock.WRITE_FILE | landlock.TRUNCATE
    if spec.level == "strong":
        # The mount namespace already shows only what the job may read.
        ruleset.allow(["/"], landlock.READ)
        ruleset.allow([scratch, "/tmp", "/dev/shm"], ruleset.fs_rights)  # noqa: S108 - the jail's
        ruleset.allow(["/dev"], writable | landlock.IOCTL_DEV)
    else:
        ruleset.allow(spec.read_only, landlock.READ)
        ruleset.allow([scratch], ruleset.fs_rights)
        devices = list(_WRITABLE_DEVICES)
        if spec.gpu:
            devices += [f"/dev/{n}" for n in os.listdir("/dev") if n.startswith("nvidia")]
        ruleset.allow(devices, writable | landlock.IOCTL_DEV)
    return ruleset


def _set_rlimits(spec: WorkerSpec) -> None:
    limits = [
        (resource.RLIMIT_FSIZE, spec.file_bytes),
        (resource.RLIMIT_NOFILE, spec.open_files),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_MEMLOCK, 64 * 1024),
        (resource.RLIMIT_MSGQUEUE, 0),
    ]
    if spec.nproc_rlimit:
        limits.append((resource.RLIMIT_NPROC, spec.nproc_rlimit))
    for which, value in limits:
        # Never above the hard limit the runner was given: only root may raise that.
        hard = resource.getrlimit(which)[1]
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def _warm_up(spec: WorkerSpec) -> None:
    # Pay torch's first-call costs now, before the clock starts; then give this interpreter
    # its own random streams, as a fresh one would have (every fork shares the zygote's).
    import numpy as np
    import torch

    torch.set_num_threads(spec.threads)
    repr(torch.randn(3, 3).sum())
    random.seed()
    np.random.seed()
    torch.seed()

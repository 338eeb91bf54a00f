"""Build a job's private filesystem view (strong level), run inside new namespaces.

As root, or without root inside a user namespace of the job's own that owns them.

The view: a small read-only tmpfs root holding read-only binds of the system, Python and the
venv (at their host paths, because loaded modules remember absolute paths), a minimal /dev, a
fresh /proc for the job's pid namespace, and one size-capped tmpfs shared by the scratch
directory, /tmp and /dev/shm. Nothing else of the host (the bot's directory, its database, /root,
/run) exists in it.
"""

from __future__ import annotations

import errno
import glob
import os
import re

from bot.runner.jail.linux import (
    MNT_DETACH,
    MOUNT_ATTR_NODEV,
    MOUNT_ATTR_NOSUID,
    MOUNT_ATTR_RDONLY,
    MS_BIND,
    MS_MOVE,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    mount,
    mount_setattr_recursive,
    pivot_root,
    umount,
)
from bot.runner.jail.spec import SCRATCH_IN_JAIL, WorkerSpec

_DEVICES = ("null", "zero", "full", "random", "urandom")
_USERS = (
    "root:x:0:0:root:/root:/bin/false\nsandbox:x:{uid}:{gid}:sandbox:/home/sandbox:/bin/false\n"
)
_GROUPS = "root:x:0:\nsandbox:x:{gid}:\n"


def build_root(spec: WorkerSpec) -> None:
    """Replace the mount namespace's root with the job's view and chdir to the scratch dir."""
    root = spec.root_dir
    # Nothing done here may propagate back to the host's mount table.
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
    # The job's tmpfs first: Python or the venv may live under /tmp (a checkout there, say),
    # and binds made before it would be hidden beneath the job's own /tmp.
    _make_jobfs(root, spec)
    for path in spec.read_only:
        _bind(path, root + path, read_only=True, allow_devices=False)
    _make_dev(root, spec.gpu)
    _write(root + "/etc/passwd", _USERS.format(uid=spec.uid, gid=spec.gid))
    _write(root + "/etc/group", _GROUPS.format(gid=spec.gid))
    _write(root + "/etc/hostname", "sandbox\n")
    _write(root + "/etc/hosts", "127.0.0.1 localhost sandbox\n")
    os.makedirs(root + "/proc", exist_ok=True)
    # We are pid 1 of a fresh pid namespace, so this /proc shows only the job's processes.
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    if spec.pivot_root:
        os.makedirs(root + "/.old", exist_ok=True)
        pivot_root(root, root + "/.old")
        os.chdir("/")
        umount("/.old", MNT_DETACH)
        os.rmdir("/.old")
    else:
        _move_root(root)
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(SCRATCH_IN_JAIL)


def _move_root(root: str) -> None:
    """Switch to `root` where pivot_root is refused: move it over / and chroot into it.

    As runc does without pivot_root. The host's mounts stay in this private namespace but
    beneath the new root: nothing reaches them but a chroot escape, which needs capabilities
    (CAP_SYS_CHROOT) the job never holds, under a seccomp filter that denies chroot anyway.
    """
    os.chdir(root)
    mount(root, "/", None, MS_MOVE)
    os.chroot(".")
    os.chdir("/")


def _bind(source: str, target: str, *, read_only: bool, allow_devices: bool) -> None:
    if os.path.islink(source):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            os.symlink(os.readlink(source), target)
        return
    if not os.path.exists(source):
        return
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    mount(source, target, None, MS_BIND | MS_REC)
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | (MS_RDONLY if read_only else 0)
    if os.statvfs(source).f_flag & os.ST_NOEXEC:
        # In a user namespace the host's noexec is locked: a remount that drops it fails.
        flags |= MS_NOEXEC
    mount(None, target, None, flags | (0 if allow_devices else MS_NODEV))
    if read_only:
        _read_only_below(target, allow_devices=allow_devices)


def _read_only_below(target: str, *, allow_devices: bool) -> None:
    # A recursive bind brings the submounts along (cgroupfs, debugfs, ... under /sys), and a
    # remount changes only the top one: the others would stay writable inside the jail.
    attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | (0 if allow_devices else MOUNT_ATTR_NODEV)
    try:
        mount_setattr_recursive(target, attrs)
        return
    except OSError as e:
        if e.errno != errno.ENOSYS:
            raise
    # Before Linux 5.12: remount every mount below the target, one by one.
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_RDONLY | (0 if allow_devices else MS_NODEV)
    for point in submounts(target):
        mount(None, point, None, flags)


def submounts(target: str, mountinfo: str = "/proc/self/mountinfo") -> list[str]:
    """Return the mount points strictly below `target`, parents first."""
    prefix = target.rstrip("/") + "/"
    with open(mountinfo) as f:
        points = [_unescape(line.split()[4]) for line in f]
    return [p for p in points if p.startswith(prefix)]


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as \ooo octal escapes.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _make_dev(root: str, gpu: bool) -> None:
    dev = root + "/dev"
    os.makedirs(dev, exist_ok=True)
    for name in _DEVICES:
        _bind("/dev/" + name, f"{dev}/{name}", read_only=False, allow_devices=True)
    if gpu:
        # CUDA opens the control, uvm and per-GPU nodes; the capability nodes gate MIG.
        nodes = glob.glob("/dev/nvidia*") + glob.glob("/dev/nvidia-caps/*")
        for node in sorted(nodes):
            if not os.path.isdir(node):
                _bind(node, root + node, read_only=False, allow_devices=True)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, f"{dev}/{name}")


def _make_jobfs(root: str, spec: WorkerSpec) -> None:
    # One tmpfs for home, /tmp and /dev/shm so a single size cap covers everything the job
    # can write; it dies with the namespace, so nothing is left for the next job.
    staging = root + "/run/job"
    os.makedirs(staging)
    mount("tmpfs", staging, "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec.scratch_bytes},mode=0755")
    # The job's own /tmp and /dev/shm (paths inside the jail, not the host's).
    jail_dirs = (
        ("home", 0o700, SCRATCH_IN_JAIL),
        ("tmp", 0o1777, "/tmp"),  # noqa: S108
        ("shm", 0o1777, "/dev/shm"),  # noqa: S108
    )
    for name, mode, target in jail_dirs:
        os.mkdir(f"{staging}/{name}")
        os.chown(f"{staging}/{name}", spec.uid, spec.gid)
        os.chmod(f"{staging}/{name}", mode)
        os.makedirs(root + target, exist_ok=True)
        mount(f"{staging}/{name}", root + target, None, MS_BIND)
    umount(staging, MNT_DETACH)


def _write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)

"""Thin ctypes wrappers for the Linux calls Python 3.11 does not expose.

Every wrapper raises OSError with the C errno, so callers handle them like os.* calls.
"""

from __future__ import annotations

import ctypes
import os
import platform

libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACE_FLAGS = (
    CLONE_NEWNS,
    CLONE_NEWCGROUP,
    CLONE_NEWUTS,
    CLONE_NEWIPC,
    CLONE_NEWUSER,
    CLONE_NEWPID,
    CLONE_NEWNET,
)

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_MOVE = 8192
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36

# Syscall numbers for calls glibc has no wrapper for; x86_64 and the generic table (aarch64).
_SYSCALLS = {
    "x86_64": {
        "pivot_root": 155,
        "mount_setattr": 442,
        "landlock_create_ruleset": 444,
        "landlock_add_rule": 445,
        "landlock_restrict_self": 446,
    },
    "aarch64": {
        "pivot_root": 41,
        "mount_setattr": 442,
        "landlock_create_ruleset": 444,
        "landlock_add_rule": 445,
        "landlock_restrict_self": 446,
    },
}


def check(result: int) -> int:
    """Raise OSError with the C errno when a libc call returned a negative result."""
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def syscall_number(name: str) -> int:
    """Return the number of a raw syscall on this machine's architecture."""
    table = _SYSCALLS.get(platform.machine())
    if table is None:
        raise OSError(38, f"unsupported architecture {platform.machine()}")
    return table[name]


def syscall(name: str, *args: object) -> int:
    """Call a raw syscall by name, raising OSError on failure."""
    return check(libc.syscall(ctypes.c_long(syscall_number(name)), *args))


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces."""
    check(libc.unshare(ctypes.c_int(flags)))


def mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    """Mount a filesystem (see mount(2))."""
    check(
        libc.mount(
            None if source is None else source.encode(),
            target.encode(),
            None if fstype is None else fstype.encode(),
            ctypes.c_ulong(flags),
            None if data is None else data.encode(),
        )
    )


def umount(target: str, flags: int = 0) -> None:
    """Unmount a filesystem (see umount2(2))."""
    check(libc.umount2(target.encode(), ctypes.c_int(flags)))


def pivot_root(new_root: str, put_old: str) -> None:
    """Make new_root the root of the calling mount namespace."""
    syscall("pivot_root", new_root.encode(), put_old.encode())


def prctl(option: int, arg: int = 0, arg2: int = 0) -> None:
    """Call prctl(2) with up to two arguments."""
    check(libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg), ctypes.c_ulong(arg2), 0, 0))


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


def mount_setattr_recursive(target: str, attr_set: int) -> None:
    """Set mount attributes on `target` and every mount below it (Linux 5.12+)."""
    attr = _MountAttr(attr_set, 0, 0, 0)
    syscall(
        "mount_setattr",
        ctypes.c_int(AT_FDCWD),
        target.encode(),
        ctypes.c_uint(AT_RECURSIVE),
        ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
    )

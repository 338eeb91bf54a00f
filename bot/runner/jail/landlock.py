"""Landlock: an unprivileged filesystem, TCP and signal allowlist for the job process.

At the strong level it is defence in depth; at the basic level it is what keeps a job from
reading files that happen to be world-readable (a `.env` next to the runner) and from writing
anywhere but its scratch directory, which no mount namespace does there.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterable

from bot.runner.jail.linux import syscall

# Filesystem access rights (include/uapi/linux/landlock.h).
EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

READ = EXECUTE | READ_FILE | READ_DIR
_FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi_version() -> int:
    """Return the kernel's Landlock ABI version, 0 when Landlock is unavailable."""
    try:
        return syscall(
            "landlock_create_ruleset",
            None,
            ctypes.c_size_t(0),
            ctypes.c_uint32(_CREATE_RULESET_VERSION),
        )
    except OSError:
        return 0


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


class Ruleset:
    """A Landlock ruleset built before privileges drop and enforced after."""

    def __init__(self, abi: int) -> None:
        self.abi = abi
        self.fs_rights = _fs_rights(abi)
        attr = _RulesetAttr(
            self.fs_rights,
            NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
            SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0,
        )
        size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else 16 if abi >= 4 else 8
        self._fd = syscall(
            "landlock_create_ruleset", ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
        )

    def allow(self, paths: Iterable[str], rights: int) -> None:
        """Allow `rights` beneath each existing path (missing paths are skipped)."""
        for path in paths:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                granted = rights & self.fs_rights
                if not os.path.isdir(path):
                    granted &= _FILE_ONLY
                rule = _PathBeneath(granted, fd)
                syscall(
                    "landlock_add_rule",
                    ctypes.c_int(self._fd),
                    ctypes.c_int(_RULE_PATH_BENEATH),
                    ctypes.byref(rule),
                    ctypes.c_uint32(0),
                )
            finally:
                os.close(fd)

    def enforce(self) -> None:
        """Restrict the calling thread and its future children (needs no_new_privs)."""
        try:
            syscall("landlock_restrict_self", ctypes.c_int(self._fd), ctypes.c_uint32(0))
        finally:
            os.close(self._fd)

"""The jail's user namespace, for a runner without root (as bubblewrap and nsjail build theirs).

Each job's keeper creates a user namespace of the job's own and maps a single id: the job's uid
(and gid) inside, the runner's own outside, the only ids an unprivileged process may map without
a setuid helper such as newuidmap. The namespace owns the job's mount, pid, network, IPC and UTS
namespaces, so building the jail needs no privilege on the host; once it is built the job drops
every capability it held in there. Where the host switches unprivileged user namespaces off,
`userns_refusal` names the switch and the command an administrator runs.
"""

from __future__ import annotations

import ctypes

from bot.runner.jail.linux import (
    PR_CAP_AMBIENT,
    PR_CAP_AMBIENT_CLEAR_ALL,
    PR_CAPBSET_DROP,
    check,
    libc,
    prctl,
)

_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# The switches that turn unprivileged user namespaces off, and what an administrator runs to
# turn them on (the value that forbids them, the command).
USERNS_SWITCHES = (
    (
        "/proc/sys/kernel/unprivileged_userns_clone",
        "kernel.unprivileged_userns_clone",
        "0",
        "sudo sysctl -w kernel.unprivileged_userns_clone=1",
    ),
    (
        "/proc/sys/user/max_user_namespaces",
        "user.max_user_namespaces",
        "0",
        "sudo sysctl -w user.max_user_namespaces=15000",
    ),
    (
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        "kernel.apparmor_restrict_unprivileged_userns",
        "1",
        "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile "
        "with `userns,` for this Python)",
    ),
)
SYSCTL_HINT = " (add it to /etc/sysctl.d/ to keep it after a reboot)"


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_capabilities() -> None:
    """Give up every capability for good: bounding, ambient, effective, permitted, inheritable.

    For a process that holds capabilities only because it created its user namespace: its uid
    does not change (only one id is mapped), so nothing drops them implicitly. With an empty
    bounding set and no_new_privs set afterwards, no execve can bring any back.
    """
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):
        prctl(PR_CAPBSET_DROP, cap)
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    check(libc.capset(ctypes.byref(header), ctypes.byref(data)))


def map_own_ids(inside_uid: int, inside_gid: int, outside_uid: int, outside_gid: int) -> None:
    """Map one uid and gid in a user namespace the caller just created (unshare CLONE_NEWUSER).

    Without privileges a process may map only its own ids, once, and must deny setgroups()
    before writing the gid map (else it could drop a group that denies it access).
    """
    for name, text in (
        ("uid_map", f"{inside_uid} {outside_uid} 1\n"),
        ("setgroups", "deny"),
        ("gid_map", f"{inside_gid} {outside_gid} 1\n"),
    ):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def userns_refusal(failure: str, proc_sys: str = "/proc/sys") -> str:
    """Say why a user namespace could not be had, and how an administrator allows it."""
    for path, name, forbidden, command in USERNS_SWITCHES:
        try:
            with open(proc_sys + path.removeprefix("/proc/sys")) as f:
                value = f.read().strip()
        except OSError:
            continue
        if value == forbidden:
            return (
                f"unprivileged user namespaces are disabled on this host ({name} = {value}); "
                f"an administrator enables them with: {command}{SYSCTL_HINT}"
            )
    return (
        f"the runner is not root and cannot build its jail in a user namespace ({failure}); "
        "allow unprivileged user namespaces (a container needs a seccomp profile that permits "
        "unshare and clone with CLONE_NEWUSER), or start the runner as root"
    )

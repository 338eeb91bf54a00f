"""The seccomp filter every job runs under: allow by default, deny what escapes or spies.

A deny list (not an allowlist) because torch, numpy, CUDA's driver and their native libraries
use a wide set of syscalls that changes with every release and every glibc (an allowlist that
misses one breaks jobs in ways users cannot diagnose), while the calls that matter for escape
are few and stable. What is denied is what a job never needs: kernel and mount administration,
namespaces, tracing other processes, keyrings, everything Docker's default profile refuses to a
container without capabilities (modify_ldt, vm86, NUMA policy, ...), and (at every level)
sockets other than AF_UNIX. Denied calls fail with EPERM so user code sees an ordinary error.

Memory a job can hold where neither the kernel's memory cgroup nor the runner's watch of its
processes sees it is refused as well: socket buffers raised past the system default (at every
level), and, where no memory cgroup charges them, memfds (a closed memfd kept alive by one
mapped page holds its whole size, counted by no process).
"""

from __future__ import annotations

import errno
import socket

import pyseccomp as sc

from bot.runner.jail.linux import NAMESPACE_FLAGS

DENIED_SYSCALLS = (
    "ptrace",
    "mount",
    "umount2",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "process_vm_readv",
    "process_vm_writev",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "pivot_root",
    "chroot",
    "open_by_handle_at",
    "name_to_handle_at",
    "userfaultfd",
    "acct",
    "quotactl",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "vhangup",
    "uselib",
    "fanotify_init",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "sethostname",
    "setdomainname",
    "kcmp",
    "pidfd_getfd",
    "iopl",
    "ioperm",
    "lookup_dcookie",
    "nfsservctl",
    "mknod",
    "mknodat",
    # Refused by Docker's default profile as well: old or obscure kernel interfaces with a
    # history of bugs, and NUMA memory policy, which a job has no use for.
    "modify_ldt",
    "vm86",
    "vm86old",
    "create_module",
    "get_kernel_syms",
    "query_module",
    "sysfs",
    "_sysctl",
    "ustat",
    "stime",
    "umount",
    "get_mempolicy",
    "set_mempolicy",
    "set_mempolicy_home_node",
    "mbind",
    "move_pages",
)

SYSV_IPC_SYSCALLS = (
    "shmget",
    "shmat",
    "shmctl",
    "shmdt",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
)
# (syscall, index of its pid/who argument)
OTHER_PROCESS_SYSCALLS = (
    ("prlimit64", 0),
    ("sched_setscheduler", 0),
    ("sched_setparam", 0),
    ("sched_setattr", 0),
    ("sched_setaffinity", 0),
    ("migrate_pages", 0),
    ("setpriority", 1),
    ("ioprio_set", 1),
)

_LOW32 = 0xFFFFFFFF
_PERSONALITY_QUERY = 0xFFFFFFFF
_TIOCSTI = 0x5412
_NEGATIVE_PID_BIT = 0x80000000
# setsockopt(SOL_SOCKET, ...) names that grow a socket's buffers (the *FORCE ones need
# CAP_NET_ADMIN, which a job never has; denied anyway, should a runner keep it).
_SO_SNDBUF, _SO_RCVBUF, _SO_SNDBUFFORCE, _SO_RCVBUFFORCE = 7, 8, 32, 33


def build_filter(
    *, allow_unix_sockets: bool, deny_group_kill: bool, memory_cgroup: bool
) -> sc.SyscallFilter:
    """Build (not load) the job's filter; the options relax or tighten it per level."""
    # Over 60 lines on purpose: the whole filter reads as one list of rules, in one place.
    deny = sc.ERRNO(errno.EPERM)
    f = sc.SyscallFilter(defaction=sc.ALLOW)
    # Every thread of the process, not only the caller: the worker loads the filter after
    # torch's warm-up may have started its thread pool.
    f.set_attr(sc.Attr.CTL_TSYNC, 1)
    for name in DENIED_SYSCALLS:
        _add(f, deny, name)
    # Creating namespaces through clone() is as bad as unshare(); clone3 hides its flags in
    # memory seccomp cannot read, so it reports ENOSYS and glibc falls back to clone().
    for flag in NAMESPACE_FLAGS:
        _add(f, deny, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    _add(f, sc.ERRNO(errno.ENOSYS), "clone3")
    # Only querying the execution domain; changing it (e.g. disabling ASLR) is refused.
    _add(f, deny, "personality", sc.Arg(0, sc.NE, _PERSONALITY_QUERY))
    # The kernel reads these arguments as 32-bit ints: compare only the low 32 bits, or a
    # value with high bits set would slip past the rule and still reach the call.
    _add(f, deny, "ioctl", sc.Arg(1, sc.MASKED_EQ, _LOW32, _TIOCSTI))
    # A job must stay killable when its parent dies, so it may not clear its death signal.
    _add(f, deny, "prctl", sc.Arg(0, sc.MASKED_EQ, _LOW32, 1))
    # Data queued in a unix socket is charged to no process's pages and, on some kernels, to
    # no cgroup either: with buffers raised to net.core.wmem_max (4 MiB here, doubled), 120
    # socketpairs held 942 MiB. At the default size, the open-files limit bounds what a job
    # can queue to a small part of its memory limit.
    for optname in (_SO_SNDBUF, _SO_RCVBUF, _SO_SNDBUFFORCE, _SO_RCVBUFFORCE):
        _add(
            f,
            deny,
            "setsockopt",
            sc.Arg(1, sc.MASKED_EQ, _LOW32, socket.SOL_SOCKET),
            sc.Arg(2, sc.MASKED_EQ, _LOW32, optname),
        )
    if not memory_cgroup:
        # A memfd's pages belong to no process once it is closed and only a page of it stays
        # mapped; a memory cgroup charges them to the job, the runner's watch cannot see them.
        _add(f, deny, "memfd_create")
    if allow_unix_sockets:
        _add(f, deny, "socket", sc.Arg(0, sc.NE, socket.AF_UNIX))
    else:
        # Without a network namespace AF_UNIX reaches host sockets (abstract ones ignore file
        # permissions); socketpair() stays allowed for in-process pipes, but may not be
        # pointed anywhere else: no connect(), no sendto() with an address, and no sendmsg()
        # (its address sits in memory seccomp cannot read).
        _add(f, deny, "socket")
        # bind() too: a socketpair() socket bound to an abstract name would squat that name in
        # the host's namespace, where other programs look for their own services.
        for name in ("bind", "connect", "sendmsg", "sendmmsg"):
            _add(f, deny, name)
        _add(f, deny, "sendto", sc.Arg(4, sc.NE, 0))
    if deny_group_kill:
        # Without a pid namespace, kill(-1) or kill(-pgid) would reach whatever else runs as
        # the job's uid (all jobs, when the runner is not root and cannot give each its own).
        for name in ("kill", "tgkill"):
            _add(f, deny, name, sc.Arg(0, sc.MASKED_EQ, _NEGATIVE_PID_BIT, _NEGATIVE_PID_BIT))
        # Without an IPC namespace, System V objects outlive the job (and escape its memory
        # limit), and the next job could read them.
        for name in SYSV_IPC_SYSCALLS:
            _add(f, deny, name)
        # Jobs share the host's pid space (and, without root, a uid), so these calls could
        # throttle or pin another user's job; on itself (pid or who 0) a job may use them.
        for name, arg in OTHER_PROCESS_SYSCALLS:
            _add(f, deny, name, sc.Arg(arg, sc.NE, 0))
    return f


def _add(f: sc.SyscallFilter, action: int, name: str, *args: sc.Arg) -> None:
    try:
        f.add_rule(action, name, *args)
    except OSError as e:
        # libseccomp answers EINVAL for a syscall this architecture does not have; a job
        # cannot call it either, so there is nothing to deny.
        if e.errno != errno.EINVAL:
            raise

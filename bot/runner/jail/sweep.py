"""What a job's uid leaves behind on the host: its processes, and its files in shared /tmp.

A uid goes back to the pool (jail/uids.py) only after these are gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import time
from pathlib import Path

from bot.runner.io.files import remove_tree

SHARED_TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")  # noqa: S108 - swept, never used for our files


def tasks_of_uid(uid: int) -> int:
    """Count the tasks (threads included) whose real uid is `uid`, as RLIMIT_NPROC does."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError, KeyError):  # gone, or odd
            fields = dict(
                line.split(":", 1) for line in Path(entry.path, "status").read_text().splitlines()
            )
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
    return count


def kill_uid(uid: int, timeout_s: float) -> bool:
    """SIGKILL every process running as `uid` until none is left; False on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        pids = pids_of_uid(uid)
        if not pids:
            return True
        if time.monotonic() > deadline:
            return False
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.005)


def pids_of_uid(uid: int) -> list[int]:
    """Return the live processes with `uid` as real, effective, saved or filesystem uid.

    Zombies are left out: they run nothing and hold nothing but a pid until their parent
    reaps them, which for an orphan is the host's init, on its own schedule (seconds, on
    some hosts); waiting for that would make every stop and every sweep wait with it.
    """
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError), open(f"{entry.path}/status") as f:
                for line in f:
                    if line.startswith("State:") and line.split()[1] in ("Z", "X"):
                        break  # "State:" comes before "Uid:"
                    if line.startswith("Uid:"):
                        if uid in (int(x) for x in line.split()[1:]):
                            found.append(int(entry.name))
                        break
    return found


def sweep_shared_tmp(uid: int) -> None:
    # Without Landlock a basic-level job can write to the world-writable /tmp and /dev/shm;
    # what the job's uid left there is removed before the uid is handed out again.
    for directory in SHARED_TMP_DIRS:
        with contextlib.suppress(OSError), os.scandir(directory) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    if st.st_uid != uid:
                        continue
                    if stat.S_ISDIR(st.st_mode):
                        remove_tree(entry.path)
                    else:
                        os.unlink(entry.path)

"""One uid (and gid) per job, from a configured range, never reused while it still owns anything.

Sharing one uid between jobs lets a job signal, ptrace-probe, read /proc of, write the scratch
directory of, and eat the RLIMIT_NPROC of every other job; isolate and snekbox avoid that the
same way. A uid goes back to the pool only after its job's processes are swept and its scratch
directory is removed, and is skipped while any process on the host still runs with it.
"""

from __future__ import annotations

import contextlib
import os
import threading


class UidsExhausted(RuntimeError):
    """Every uid of the range is held by a worker or still has a live process."""


def live_uids(proc: str = "/proc") -> set[int]:
    """Return every real, effective, saved and filesystem uid of a live process."""
    found: set[int] = set()
    for entry in os.scandir(proc):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError), open(f"{entry.path}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    found.update(int(x) for x in line.split()[1:])
                    break
    return found


class UidPool:
    """Hands out the uids of [first, last] round robin, one per worker; thread safe."""

    def __init__(self, first: int, last: int) -> None:
        if not 0 < first <= last:
            raise ValueError(f"bad uid range {first}-{last}")
        self.first, self.last = first, last
        self._held: set[int] = set()
        self._next = first
        self._lock = threading.Lock()

    def acquire(self) -> int:
        """Return a uid no worker holds and no process runs as."""
        busy = live_uids()
        with self._lock:
            size = self.last - self.first + 1
            for step in range(size):
                uid = self.first + (self._next - self.first + step) % size
                if uid not in self._held and uid not in busy:
                    self._held.add(uid)
                    self._next = uid + 1 if uid < self.last else self.first
                    return uid
        raise UidsExhausted(f"no free uid in {self.first}-{self.last}")

    def release(self, uid: int) -> None:
        """Give a uid back once nothing of its job is left."""
        with self._lock:
            self._held.discard(uid)

    def held(self) -> frozenset[int]:
        """Return the uids currently handed out."""
        with self._lock:
            return frozenset(self._held)

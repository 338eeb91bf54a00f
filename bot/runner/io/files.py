"""Collect the files a job left in its scratch directory, without trusting any of them.

The job controls the directory's contents, so: top level only, regular files only, each
opened with O_NOFOLLOW relative to a directory fd taken before the job ran (a symlink or a
swapped-in directory cannot redirect us), hard links refused (st_nlink must be 1, or a link to
a file elsewhere on the same filesystem would be returned), count and size capped while reading,
and nothing is ever written, chmod-ed or chown-ed in the directory.
"""

from __future__ import annotations

import contextlib
import os
import stat

from bot.runner.protocol import RunFile

MAX_FILES = 5
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_TOTAL_BYTES = 16 * 1024 * 1024
_MAX_ENTRIES_SCANNED = 1000
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_DISK_USAGE_TRIES = 3
_FULL = 1 << 62

_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
)


def is_image(data: bytes) -> bool:
    """Tell PNG, JPEG, GIF and WebP apart from other bytes by their magic numbers."""
    if data.startswith(_IMAGE_MAGIC):
        return True
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def collect_files(
    dir_fd: int,
    max_files: int = MAX_FILES,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> tuple[RunFile, ...]:
    """Read up to `max_files` regular files from the directory, in name order."""
    try:
        names = sorted(_list(dir_fd))
    except OSError:
        return ()
    files: list[RunFile] = []
    total = 0
    for name in names:
        if len(files) >= max_files:
            break
        data = _read_regular(dir_fd, name, min(max_file_bytes, max_total_bytes - total))
        if data is None:
            continue
        total += len(data)
        files.append(RunFile(name=display_name(name), data=data, is_image=is_image(data)))
    return tuple(files)


def display_name(name: str) -> str:
    """Return a name safe to send on: valid UTF-8 (os.listdir smuggles bytes as surrogates),
    without control characters, and without directory parts."""
    raw = os.fsencode(name).decode("utf-8", "replace")
    clean = "".join(c if c.isprintable() else "_" for c in raw).replace("/", "_")
    return clean[:128] or "file"


def _list(dir_fd: int) -> list[str]:
    names = []
    # os.scandir on an fd lists without following anything; entries beyond the cap are ignored
    # so a directory with millions of entries cannot stall the runner.
    with os.scandir(dir_fd) as entries:
        for i, entry in enumerate(entries):
            if i >= _MAX_ENTRIES_SCANNED:
                break
            names.append(entry.name)
    return names


def _read_regular(dir_fd: int, name: str, limit: int) -> bytes | None:
    if limit <= 0:
        return None
    try:
        fd = os.open(
            name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd
        )
    except OSError:
        return None  # a symlink (ELOOP), vanished, or unreadable
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_size > limit:
            return None
        chunks = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        return data if len(data) <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Delete a directory tree a job may have built, however deep or wide; never raise.

    shutil.rmtree recurses (a job can nest directories past Python's recursion limit) and an
    fd per level would let a deep tree exhaust the runner's descriptors, so this holds one
    directory fd at a time: it goes down by name with O_NOFOLLOW and back up through "..",
    checking that ".." is still the directory it came from. If anything moved meanwhile (a
    concurrent job renaming directories under /tmp, say) it stops rather than delete
    somewhere else.
    """
    try:
        fd = os.open(path, _DIR_FLAGS)
    except OSError:
        return
    above: list[tuple[str, tuple[int, int]]] = []  # (name of fd in its parent, parent's identity)
    try:
        while True:
            child = _first_subdirectory(fd)
            if child is not None:
                try:
                    child_fd = os.open(child, _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    try:
                        os.rmdir(child, dir_fd=fd)  # gone meanwhile, or cannot be entered
                    except OSError:
                        return  # neither enterable nor removable: give up
                    continue
                above.append((child, _identity(fd)))
                os.close(fd)
                fd = child_fd
                continue
            if not above:
                break
            name, parent = above.pop()
            fd = _climb(fd, parent)
            if fd < 0:
                return
            try:
                os.rmdir(name, dir_fd=fd)
            except OSError:
                return  # not removable: give up rather than walk into it again
    finally:
        if fd >= 0:
            os.close(fd)
    with contextlib.suppress(OSError):
        os.rmdir(path)


def _first_subdirectory(dir_fd: int) -> str | None:
    """Unlink every non-directory entry; return the name of one subdirectory, if any."""
    with contextlib.suppress(OSError), os.scandir(dir_fd) as entries:
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    return entry.name
                os.unlink(entry.name, dir_fd=dir_fd)
            except OSError:
                continue
    return None


def disk_usage(dir_fd: int, max_entries: int = 20_000) -> int:
    """Return the bytes used under a directory (files and directories), without recursion.

    The job may still be running, so the walk holds one directory fd at a time (a wide or
    deep tree cannot exhaust the runner's descriptors) and starts over when a directory moved
    under it. Past `max_entries` entries, or after a few restarts, the tree counts as full, so
    a job cannot hide data behind a huge number of entries or constant renames.
    """
    seen = 0
    for _ in range(_DISK_USAGE_TRIES):
        total, seen = _disk_usage_once(dir_fd, seen, max_entries)
        if total >= 0:
            return total
    return _FULL


def _disk_usage_once(dir_fd: int, seen: int, max_entries: int) -> tuple[int, int]:
    """Walk once; return (bytes, entries seen), bytes -1 when a directory moved meanwhile."""
    total = 0
    # A description of its own, not a dup: a dup shares the directory's read offset, and the
    # runner's watch may be walking the same scratch at the same time (two walks sharing one
    # offset each see part of the entries, and a full scratch passes as nearly empty).
    fd = os.open(".", _DIR_FLAGS, dir_fd=dir_fd)
    # One level per directory on the current path: its identity and the subdirectories left.
    levels: list[tuple[tuple[int, int], list[str]]] = []
    try:
        while True:
            subdirs: list[str] = []
            with contextlib.suppress(OSError), os.scandir(fd) as entries:
                for entry in entries:
                    seen += 1
                    if seen > max_entries:
                        return _FULL, seen
                    with contextlib.suppress(OSError):
                        st = entry.stat(follow_symlinks=False)
                        total += st.st_blocks * 512
                        if stat.S_ISDIR(st.st_mode):
                            subdirs.append(entry.name)
            levels.append((_identity(fd), subdirs))
            while True:  # down into the next directory left, climbing up past finished ones
                pending = levels[-1][1]
                if pending:
                    try:
                        child = os.open(pending.pop(), _DIR_FLAGS, dir_fd=fd)
                    except OSError:
                        continue  # removed meanwhile
                    os.close(fd)
                    fd = child
                    break
                levels.pop()
                if not levels:
                    return total, seen
                fd = _climb(fd, levels[-1][0])
                if fd < 0:
                    return -1, seen
    finally:
        if fd >= 0:
            os.close(fd)


def _identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _climb(fd: int, expected: tuple[int, int]) -> int:
    """Close `fd` and return an fd of its parent, or -1 if the parent is not `expected`."""
    try:
        parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
    except OSError:
        parent = -1
    os.close(fd)
    if parent >= 0 and _identity(parent) != expected:
        os.close(parent)
        parent = -1
    return parent

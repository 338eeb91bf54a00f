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
    """Delete a directory tree a job may have built, however deep; never raise.

    shutil.rmtree recurses and a job can nest directories past Python's recursion limit, so
    this walks with an explicit stack of directory fds, never following symlinks.
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        stack: list[tuple[int, str]] = [(os.open(path, flags), "")]  # (fd, name in parent)
    except OSError:
        return
    while stack:
        fd, name = stack[-1]
        child = _first_subdirectory(fd)
        if child is not None:
            try:
                stack.append((os.open(child, flags, dir_fd=fd), child))
            except OSError:
                with contextlib.suppress(OSError):
                    os.rmdir(child, dir_fd=fd)  # gone meanwhile, or cannot be entered
                    continue
                for open_fd, _ in stack:  # neither enterable nor removable: give up
                    os.close(open_fd)
                return
            continue
        stack.pop()
        os.close(fd)
        if stack:
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=stack[-1][0])
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
    """Return the bytes used under a directory (files and directories), without recursion."""
    total, seen = 0, 0
    stack = [os.dup(dir_fd)]
    try:
        while stack:
            fd = stack.pop()
            try:
                with os.scandir(fd) as entries:
                    for entry in entries:
                        seen += 1
                        if seen > max_entries:
                            # Past the budget: count the rest as full so a job cannot hide
                            # data behind a huge number of entries.
                            return max(total, 1 << 62)
                        with contextlib.suppress(OSError):
                            st = entry.stat(follow_symlinks=False)
                            total += st.st_blocks * 512
                            if stat.S_ISDIR(st.st_mode):
                                stack.append(
                                    os.open(
                                        entry.name,
                                        os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                        dir_fd=fd,
                                    )
                                )
            except OSError:
                pass
            finally:
                os.close(fd)
    finally:
        for fd in stack:
            os.close(fd)
    return total

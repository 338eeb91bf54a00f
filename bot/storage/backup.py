"""Back up, check and restore the database file while keeping it consistent.

The backup uses SQLite's online backup API from a connection of its own: in WAL mode a reader
never blocks the bot's writes, and the copy is one consistent snapshot. Files are written next
to their target and renamed into place, so a crash leaves either the old file or the new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bot.errors import StudyBotError

# SQLite's companions of a WAL database: a stale one next to a restored file would corrupt it.
_COMPANIONS = ("-wal", "-shm", "-journal")


class BackupError(StudyBotError):
    """A backup, check or restore could not be done."""


def lock_path(database: Path) -> Path:
    """Return the lock file a running bot holds next to its database."""
    return database.with_name(database.name + ".lock")


@contextlib.contextmanager
def database_lock(database: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the database's lock file: shared while the bot runs, exclusive for a restore.

    A lock file, not the database itself: closing any descriptor of the database file would
    drop the POSIX locks SQLite holds on it in this process.
    """
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                f"{database} is in use by a running studybot; stop it first"
                if exclusive
                else f"{database} is being restored; start the bot when that is done"
            ) from None
        yield
    finally:
        os.close(fd)


def _connect_ro(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise BackupError(f"{path}: no such database file")
    return sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)


def check(path: Path) -> list[str]:
    """Return every integrity and foreign-key problem of the database at `path` (none: [])."""
    try:
        conn = _connect_ro(path)
        # Damage can put any bytes into the messages (a page's garbage as a "name").
        conn.text_factory = lambda b: b.decode("utf-8", errors="replace")
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            problems = [str(r[0]) for r in rows if r[0] != "ok"]
            for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check").fetchall():
                problems.append(f"{table} row {rowid}: missing {parent} row (foreign key)")
            return problems
        finally:
            conn.close()
    except sqlite3.Error as e:
        return [f"{path}: {e}"]
    except UnicodeDecodeError:
        # SQLite's own message carried garbage from a damaged page (the schema's, say).
        return [f"{path}: database disk image is malformed (with an unreadable message)"]


def _copy(source: Path, target: Path) -> None:
    """Copy `source` onto `target` with the backup API, atomically, as a standalone file."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    temp = Path(temp_name)
    try:
        src = _connect_ro(source)
        try:
            dst = sqlite3.connect(temp)
            try:
                src.backup(dst)
                # A backup is one file: no -wal companion to lose when it is copied elsewhere.
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
        finally:
            src.close()
        with open(temp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except sqlite3.Error as e:
        raise BackupError(f"cannot copy {source} to {target}: {e}") from e
    finally:
        temp.unlink(missing_ok=True)


def backup(database: Path, target: Path) -> None:
    """Write a consistent copy of `database` to `target`; safe while the bot writes."""
    if target.resolve() == database.resolve():
        raise BackupError("the backup must not be the database itself")
    _copy(database, target)
    problems = check(target)
    if problems:
        raise BackupError(f"the backup at {target} failed its check: {problems[0]}")


def restore(source: Path, database: Path) -> None:
    """Replace `database` with the backup at `source`; refuse while a bot holds it."""
    problems = check(source)
    if problems:
        raise BackupError(f"{source} is not a sound backup: {'; '.join(problems[:3])}")
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with database_lock(database, exclusive=True):
        _copy(source, database)
        # Nobody has the database open: a WAL file left next to it belongs to the old one.
        for suffix in _COMPANIONS:
            database.with_name(database.name + suffix).unlink(missing_ok=True)

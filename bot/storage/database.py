"""The database's connections, their pragmas and the numbered migrations in `db/`.

Writes go through one connection at a time (`transaction()` on aiosqlite, `write()` in one
hop on a connection of its own), serialised by one lock. Reads use a third connection: under
WAL a reader sees only committed data, so a read never sees another coroutine's writes that
are still open (and may yet be rolled back). The one-hop connections run on threads of their
own through the standard library, not through aiosqlite's private API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from bot._data import shipped
from bot.errors import DatabaseDamaged, StudyBotError
from bot.storage.backup import BackupError, database_lock
from bot.storage.integrity import HINT, is_damage, quick_check

log = logging.getLogger(__name__)

T = TypeVar("T")

# The migrations shipped with the package: db/ in a checkout, package data in a wheel.
MIGRATIONS_DIR = shipped("db")
_MIGRATION = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


class StorageError(StudyBotError):
    """The database cannot be opened or migrated."""


def _migrations(folder: Path) -> list[tuple[int, Path]]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _MIGRATION.match(path.name)
        if not match:
            raise StorageError(f"{path}: migration files are named NNN_description.sql")
        found.append((int(match.group(1)), path))
    numbers = [n for n, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise StorageError(f"{folder}: migrations must be numbered 001, 002, … without gaps")
    return found


class _Worker:
    """A plain sqlite3 connection with a thread of its own: each call is one hop there."""

    def __init__(self, path: str, name: str, *, read_only: bool) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._conn: sqlite3.Connection | None = None
        self._pool.submit(self._connect, path, read_only).result()

    def _connect(self, path: str, read_only: bool) -> None:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.row_factory = aiosqlite.Row
        for pragma in ("foreign_keys=ON", "busy_timeout=5000", "synchronous=NORMAL"):
            conn.execute(f"PRAGMA {pragma}")
        if read_only:
            conn.execute("PRAGMA query_only=ON")
        self._conn = conn

    async def call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise StorageError("database is not open")
        return await asyncio.get_running_loop().run_in_executor(self._pool, work, conn)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.submit(conn.close).result()
        self._pool.shutdown(wait=True)


class Database:
    """Own the connections; apply migrations at open; give repositories a transaction helper."""

    def __init__(self, path: Path | str, migrations: Path = MIGRATIONS_DIR) -> None:
        self.path = str(path)
        self._migrations = migrations
        self._conn: aiosqlite.Connection | None = None
        self._reader: _Worker | None = None
        self._writer: _Worker | None = None
        self._damage_logged = False
        # Held while open, so that `studybot db restore` refuses to swap the file underneath.
        self._lock = contextlib.ExitStack()
        # One connection serves every coroutine: writes take this lock so that statements of
        # two coroutines never end up in one transaction.
        self._write_lock = asyncio.Lock()
        self.writes = 0  # write transactions begun: what a test counts, what metrics could

    @property
    def conn(self) -> aiosqlite.Connection:
        """Return the open connection."""
        if self._conn is None:
            raise StorageError("database is not open")
        return self._conn

    async def open(self) -> None:
        """Open the file (creating its folder), set pragmas and migrate.

        Any failure closes what was opened and raises one StorageError naming the file; an
        existing file that is not a usable database is left exactly as it was.
        """
        try:
            if self.path == ":memory:":
                raise StorageError(
                    "an in-memory database cannot be shared by the bot's connections; "
                    "set STUDYBOT_DATABASE to a file path"
                )
            await asyncio.to_thread(_prepare_file, Path(self.path))
            self._lock.enter_context(database_lock(Path(self.path), exclusive=False))
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a migration's DDL and
            # its user_version bump commit together.
            self._conn = await aiosqlite.connect(self.path, isolation_level=None)
            self._conn.row_factory = aiosqlite.Row
            await self._conn.execute("PRAGMA journal_mode=WAL")
            await self._conn.execute("PRAGMA foreign_keys=ON")
            await self._conn.execute("PRAGMA busy_timeout=5000")
            await self._conn.execute("PRAGMA synchronous=NORMAL")
            self._reader = await asyncio.to_thread(
                _Worker, self.path, "studybot-db-read", read_only=True
            )
            self._writer = await asyncio.to_thread(
                _Worker, self.path, "studybot-db-write", read_only=False
            )
            await self.migrate()
        except (StorageError, DatabaseDamaged):
            await self.close()
            raise
        except BackupError as e:
            await self.close()
            raise StorageError(str(e)) from e
        except Exception as e:  # sqlite3.Error and OSError alike
            await self.close()
            raise StorageError(f"cannot open database {_shown(self.path)}: {e}") from e
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the connections."""
        for worker in (self._reader, self._writer):
            if worker is not None:
                await asyncio.to_thread(worker.close)
        self._reader = self._writer = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
        self._lock.close()

    def _damaged(self, error: Exception) -> DatabaseDamaged:
        """Log damage met while serving once, and return the error each caller raises."""
        message = f"the database {_shown(self.path)} is damaged ({error}): {HINT}"
        if not self._damage_logged:
            self._damage_logged = True
            log.error("%s", message)
        return DatabaseDamaged(message)

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def version(self) -> int:
        """Return the schema version (PRAGMA user_version)."""
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self) -> None:
        """Apply each migration newer than user_version, each in its own transaction."""
        current = await self.version()
        for number, path in _migrations(self._migrations):
            if number <= current:
                continue
            sql = path.read_text(encoding="utf-8")
            log.info("applying migration %s", path.name)
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                for statement in _split_sql(sql):
                    await self.conn.execute(statement)
                await self.conn.execute(f"PRAGMA user_version = {number}")
                await self.conn.execute("COMMIT")
            except Exception as e:
                await self.conn.execute("ROLLBACK")
                raise StorageError(f"migration {path.name} failed: {e}") from e

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block in one write transaction, rolled back on error."""
        async with self._write_lock:
            self.writes += 1
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                except BaseException:
                    if self.conn.in_transaction:
                        await self.conn.execute("ROLLBACK")
                    raise
                try:
                    await self.conn.execute("COMMIT")
                except BaseException:
                    # A failed COMMIT (disk full) may leave the transaction open: end it, or
                    # every later write would fail to BEGIN.
                    if self.conn.in_transaction:
                        await self.conn.execute("ROLLBACK")
                    raise
            except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
                if is_damage(e):
                    raise self._damaged(e) from e
                raise

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one write transaction on the connection's thread; return its result.

        One hop to that thread for BEGIN, the statements and COMMIT, where `transaction()`
        takes one per statement: a daily fan-out writes three times per chat.
        """

        def run(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
                conn.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (disk full) may leave the transaction open: end it, or every
                # later write would fail to BEGIN.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        async with self._write_lock:
            self.writes += 1
            return await self._call(self._writer, run)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        """Return the first row of a query, or None."""
        args = tuple(params)

        def run(conn: sqlite3.Connection) -> aiosqlite.Row | None:
            cursor = conn.execute(sql, args)
            try:
                return cast(aiosqlite.Row | None, cursor.fetchone())
            finally:
                cursor.close()

        return await self._call(self._reader, run)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """Return every row of a query."""
        args = tuple(params)

        def run(conn: sqlite3.Connection) -> list[aiosqlite.Row]:
            cursor = conn.execute(sql, args)
            try:
                return cast(list[aiosqlite.Row], cursor.fetchall())
            finally:
                cursor.close()

        return await self._call(self._reader, run)

    async def _call(self, worker: _Worker | None, work: Callable[[sqlite3.Connection], T]) -> T:
        if worker is None:
            raise StorageError("database is not open")
        try:
            return await worker.call(work)
        except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
            if is_damage(e):
                raise self._damaged(e) from e
            raise


def _shown(path: str) -> str:
    """Name a database path as the user should look for it (relative paths: from the cwd)."""
    return path if path == ":memory:" else str(Path(path).absolute())


def _prepare_file(path: Path) -> None:
    """Create the folder (0700) and file (0600), and check an existing file is a database.

    The check reads the file with the plain sqlite3 module, so a file that is not a database is
    reported before anything could write to it and before aiosqlite starts a thread (a failed
    aiosqlite connect leaves its thread calling back into a loop that may be closed by then).
    An existing database file is made 0600; an existing folder keeps its mode.
    """
    if path.is_dir():
        raise StorageError(
            f"cannot open database {_shown(str(path))}: it is a folder; "
            "set STUDYBOT_DATABASE to a file path"
        )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _check_database(path)
        quick_check(path)
        if path.stat().st_uid == os.geteuid() and path.stat().st_mode & 0o077:
            path.chmod(0o600)
    else:
        os.close(fd)


def _check_database(path: Path) -> None:
    """Raise StorageError unless `path` opens read-only as an SQLite database."""
    # immutable: no locks, no -wal or -shm files made next to it; the header is all we read.
    uri = f"{path.absolute().as_uri()}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise StorageError(
            f"cannot open database {_shown(str(path))}: {e} (the file was left as it is)"
        ) from e


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations have no triggers or literals with ';')."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]

"""`studybot db backup|check|restore`: consistent copies while the bot writes, safe restores."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.storage import backup
from bot.storage.database import Database, StorageError
from tests.conftest import clean_env, studybot

INSERT_USER = (
    "INSERT INTO users (platform, external_id, created_at) VALUES ('test', ?, '2026-03-10')"
)


async def _write_users(
    db: Database, stop: asyncio.Event, written: list[int], enough: asyncio.Event | None = None
) -> None:
    """Insert users one transaction at a time until `stop` is set; `enough` after 20."""
    n = 0
    while not stop.is_set():
        n += 1
        async with db.transaction() as conn:
            await conn.execute(INSERT_USER, (str(n),))
        written.append(n)
        if n == 20 and enough is not None:
            enough.set()
        await asyncio.sleep(0)


def _users(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])
    finally:
        conn.close()


async def test_backup_while_the_bot_writes_is_a_sound_snapshot(tmp_path: Path) -> None:
    database = tmp_path / "data" / "bot.db"
    async with Database(database) as db:
        stop, enough, written = asyncio.Event(), asyncio.Event(), list[int]()
        writer = asyncio.create_task(_write_users(db, stop, written, enough))
        await enough.wait()
        targets = [tmp_path / "backups" / f"b{i}.db" for i in range(3)]
        for target in targets:
            await asyncio.to_thread(backup.backup, database, target)
        stop.set()
        await writer
        total = len(written)
    counts = [_users(t) for t in targets]
    assert all(backup.check(t) == [] for t in targets)
    assert 20 <= counts[0] <= counts[1] <= counts[2] <= total
    assert _users(database) == total
    for target in targets:  # standalone files: no WAL companions, owner-only
        assert sorted(p.name for p in target.parent.iterdir()) == ["b0.db", "b1.db", "b2.db"]
        assert target.stat().st_mode & 0o777 == 0o600


async def test_cli_backup_while_the_bot_runs_then_check_it(tmp_path: Path) -> None:
    database = tmp_path / "data" / "studybot.db"
    async with Database(database) as db:
        stop, written = asyncio.Event(), list[int]()
        writer = asyncio.create_task(_write_users(db, stop, written))
        proc = await asyncio.to_thread(
            studybot, "db", "backup", "nightly.db", env=clean_env(), cwd=tmp_path
        )
        stop.set()
        await writer
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "backed up data/studybot.db to nightly.db\n"
    check = studybot("db", "check", "nightly.db", env=clean_env(), cwd=tmp_path)
    assert (check.returncode, check.stdout) == (0, "nightly.db: ok\n")
    assert studybot("db", "check", env=clean_env(), cwd=tmp_path).returncode == 0


def test_check_finds_damage_and_broken_references(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE a (id INTEGER PRIMARY KEY);"
        "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));"
        "INSERT INTO b VALUES (1, 42);"
    )
    conn.commit()
    conn.close()
    proc = studybot("db", "check", str(path), env=clean_env(), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == "b row 1: missing a row (foreign key)\n"
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database " * 400)
    assert studybot("db", "check", str(garbage), env=clean_env(), cwd=tmp_path).returncode == 1
    missing = studybot("db", "check", "nothing.db", env=clean_env(), cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr == "studybot: nothing.db: no such database file\n"


async def test_restore_is_refused_while_the_bot_holds_the_database(tmp_path: Path) -> None:
    database = tmp_path / "data" / "studybot.db"
    async with Database(database) as db:
        async with db.transaction() as conn:
            await conn.execute(INSERT_USER, ("before",))
        backup.backup(database, tmp_path / "saved.db")
        async with db.transaction() as conn:
            await conn.execute(INSERT_USER, ("after",))
        proc = await asyncio.to_thread(
            studybot, "db", "restore", "saved.db", env=clean_env(), cwd=tmp_path
        )
        assert proc.returncode == 1
        assert "in use by a running studybot; stop it first" in proc.stderr
    assert _users(database) == 2
    proc = studybot("db", "restore", "saved.db", env=clean_env(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _users(database) == 1
    async with Database(database) as db:  # the bot opens the restored file as before
        row = await db.fetchone("SELECT external_id FROM users")
        assert row is not None and row[0] == "before"


async def test_restore_refuses_a_broken_backup_and_keeps_the_database(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    async with Database(database) as db, db.transaction() as conn:
        await conn.execute(INSERT_USER, ("kept",))
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database " * 400)
    with pytest.raises(backup.BackupError, match="is not a sound backup"):
        backup.restore(garbage, database)
    assert _users(database) == 1


async def test_bot_does_not_open_a_database_being_restored(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    async with Database(database):
        pass
    with (
        backup.database_lock(database, exclusive=True),
        pytest.raises(StorageError, match="is being restored"),
    ):
        async with Database(database):
            pass
    async with Database(database):
        pass

"""The database: pragmas, migrations and repositories."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.storage.database import MIGRATIONS_DIR, Database, StorageError
from bot.storage.repos import Repos

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


async def test_open_creates_folder_sets_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "bot.db"
    async with Database(path) as db:
        assert path.exists()
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"  # type: ignore[index]
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1  # type: ignore[index]
        assert await db.version() == len(list(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql")))


async def test_not_a_database_is_one_error_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    garbage = bytes(range(256)) * 20
    path.write_bytes(garbage)
    before = path.stat()
    with pytest.raises(StorageError, match=re.escape(f"{path}: file is not a database")):
        async with Database(path):
            pass
    assert path.read_bytes() == garbage
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert os.listdir(tmp_path) == ["bot.db"]  # no -wal or -shm files
    # No aiosqlite connection thread left behind to call into a closed event loop.
    assert not [t for t in threading.enumerate() if "connection_worker" in t.name]


async def test_folder_as_database_path_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="it is a folder"):
        async with Database(tmp_path):
            pass


async def test_existing_file_made_private_and_existing_folder_kept(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    path = folder / "bot.db"
    async with Database(path):
        pass
    path.chmod(0o644)
    async with Database(path):
        pass
    assert path.stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o755  # as the README says: a folder keeps its mode


async def test_migrations_apply_once_and_in_order(tmp_path: Path) -> None:
    migrations = tmp_path / "db"
    migrations.mkdir()
    (migrations / "001_a.sql").write_text("CREATE TABLE a (x INTEGER);")
    async with Database(tmp_path / "x.db", migrations) as db:
        assert await db.version() == 1
    (migrations / "002_b.sql").write_text("INSERT INTO a VALUES (1); CREATE TABLE b (y TEXT);")
    async with Database(tmp_path / "x.db", migrations) as db:
        assert await db.version() == 2
        assert len(await db.fetchall("SELECT * FROM a")) == 1
    async with Database(tmp_path / "x.db", migrations) as db:  # nothing re-applied
        assert len(await db.fetchall("SELECT * FROM a")) == 1


async def test_failed_migration_rolls_back_whole(tmp_path: Path) -> None:
    migrations = tmp_path / "db"
    migrations.mkdir()
    (migrations / "001_a.sql").write_text(
        "CREATE TABLE a (x INTEGER); INSERT INTO nope VALUES (1);"
    )
    with pytest.raises(StorageError, match=r"001_a\.sql"):
        async with Database(tmp_path / "x.db", migrations):
            pass
    conn = sqlite3.connect(tmp_path / "x.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'a'").fetchone() is None


async def test_migration_names_are_checked(tmp_path: Path) -> None:
    migrations = tmp_path / "db"
    migrations.mkdir()
    (migrations / "002_gap.sql").write_text("SELECT 1;")
    with pytest.raises(StorageError, match="without gaps"):
        async with Database(tmp_path / "x.db", migrations):
            pass


async def test_user_and_chat_upsert_return_frozen_records(tmp_path: Path) -> None:
    async with Database(tmp_path / "x.db") as db:
        repos = Repos(db)
        user = await repos.users.upsert("telegram", "42", "Ann", NOW)
        again = await repos.users.upsert("telegram", "42", "Ann B", NOW)
        assert again.id == user.id and again.name == "Ann B"
        with pytest.raises(AttributeError):
            user.name = "x"  # type: ignore[misc]
        chat = await repos.chats.upsert("telegram", "-100", "group", "G", "09:00", NOW)
        chat = await repos.chats.update(chat.id, subscribed=True, timezone="Asia/Shanghai")
        assert chat.subscribed and chat.timezone == "Asia/Shanghai" and chat.is_group
        assert [c.id for c in await repos.chats.subscribed("telegram")] == [chat.id]
        with pytest.raises(ValueError, match="cannot update"):
            await repos.chats.update(chat.id, platform="x")


async def test_one_delivery_per_chat_and_local_date(tmp_path: Path) -> None:
    async with Database(tmp_path / "x.db") as db:
        repos = Repos(db)
        chat = await repos.chats.upsert("telegram", "1", "private", "", "09:00", NOW)
        day = date(2026, 3, 10)
        assert await repos.deliveries.claim(chat.id, day, "q1", NOW)
        # Being sent (or the process died while sending): never claimed twice.
        assert not await repos.deliveries.claim(chat.id, day, "q2", NOW)
        # A send that surely failed may be retried, keeping its question.
        await repos.deliveries.finish(chat.id, day, "retry", None, NOW)
        assert await repos.deliveries.claim(chat.id, day, "q2", NOW)
        assert (await repos.deliveries.get(chat.id, day)).question_id == "q1"  # type: ignore[union-attr]
        await repos.deliveries.finish(chat.id, day, "sent", None, NOW)
        assert not await repos.deliveries.claim(chat.id, day, "q3", NOW)
        assert await repos.deliveries.claim(chat.id, date(2026, 3, 11), "q3", NOW)


async def test_attempt_is_recorded_once_per_prompt_and_user(tmp_path: Path) -> None:
    async with Database(tmp_path / "x.db") as db:
        repos = Repos(db)
        user = await repos.users.upsert("t", "1", "A", NOW)
        chat = await repos.chats.upsert("t", "1", "private", "", "09:00", NOW)
        prompt = await repos.prompts.create(chat.id, "q1", "daily", "en", NOW)
        kwargs = {
            "user_id": user.id,
            "chat_id": chat.id,
            "prompt_id": prompt.id,
            "question_id": "q1",
            "source": "daily",
            "chosen": 1,
            "correct": True,
            "answered_at": NOW,
            "local_date": date(2026, 3, 10),
            "board_periods": None,
        }
        first = await repos.attempts.add(**kwargs, advance_streak=lambda s: s)  # type: ignore[arg-type]
        second = await repos.attempts.add(**kwargs, advance_streak=lambda s: s)  # type: ignore[arg-type]
        assert first is not None and second is None
        assert len(await db.fetchall("SELECT * FROM attempts")) == 1


async def test_streak_and_attempt_commit_together(tmp_path: Path) -> None:
    async with Database(tmp_path / "x.db") as db:
        repos = Repos(db)
        user = await repos.users.upsert("t", "1", "A", NOW)
        chat = await repos.chats.upsert("t", "1", "private", "", "09:00", NOW)

        def boom(_: object) -> object:
            raise RuntimeError("streak update failed")

        with pytest.raises(RuntimeError):
            await repos.attempts.add(
                user_id=user.id,
                chat_id=chat.id,
                prompt_id=None,
                question_id="q",
                source="daily",
                chosen=0,
                correct=True,
                answered_at=NOW,
                local_date=date(2026, 3, 10),
                advance_streak=boom,  # type: ignore[arg-type]
                board_periods=None,
            )
        assert await db.fetchall("SELECT * FROM attempts") == []


async def test_a_write_that_fails_midway_leaves_nothing_and_the_next_one_works(
    tmp_path: Path,
) -> None:
    async with Database(tmp_path / "bot.db") as db:
        now = datetime(2026, 3, 10, tzinfo=UTC).isoformat()

        def insert_then_fail(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO users (platform, external_id, name, language, created_at)"
                " VALUES ('telegram', '1', 'u', 'en', ?)",
                (now,),
            )
            conn.execute("INSERT INTO no_such_table VALUES (1)")

        with pytest.raises(sqlite3.OperationalError):
            await db.write(insert_then_fail)
        assert await db.fetchall("SELECT * FROM users") == []
        assert await db.write(
            lambda conn: (
                conn.execute(
                    "INSERT INTO users (platform, external_id, name, language, created_at)"
                    " VALUES ('telegram', '2', 'u', 'en', ?)",
                    (now,),
                ).lastrowid
            )
        )
        row = await db.fetchone("SELECT external_id FROM users")
        assert row is not None and row["external_id"] == "2"

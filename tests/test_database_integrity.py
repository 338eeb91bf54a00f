"""A damaged database file is named at start and met later as one line; reads see only commits."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.adapters.console import Console
from bot.app import open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.errors import DatabaseDamaged
from bot.storage import backup
from bot.storage.database import Database
from tests.conftest import clean_env, studybot

PAGE = 4096
BOT = Path(__file__).resolve().parents[1] / "bot"


async def filled(path: Path) -> int:
    """Create a database with some rows in several tables; return its page count."""
    async with Database(path) as db:
        await db.write(lambda c: c.execute("CREATE TABLE filler(id INTEGER PRIMARY KEY, t TEXT)"))
        await db.write(
            lambda c: c.executemany(
                "INSERT INTO filler(t) VALUES (?)", [(f"row {i} " * 20,) for i in range(400)]
            )
        )
        await db.write(lambda c: c.execute("CREATE INDEX filler_t ON filler(t)"))
    return (await asyncio.to_thread(path.stat)).st_size // PAGE


def damage(path: Path, offset: int, size: int = 48) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(bytes((0xA5 + i) % 256 for i in range(size)))


async def test_damage_anywhere_is_named_at_start_or_harmless(tmp_path: Path) -> None:
    pristine = tmp_path / "pristine.db"
    pages = await filled(pristine)
    detected = 0
    for page in range(1, pages):  # page 1's header is the header check's business
        for within in (0, 8, 200, PAGE - 64):
            copy = tmp_path / f"copy-{page}-{within}.db"
            shutil.copy(pristine, copy)
            damage(copy, page * PAGE + within)
            problems = backup.check(copy)
            refused = ""
            try:
                async with Database(copy):
                    pass
            except DatabaseDamaged as e:
                refused = str(e)
            if refused:
                detected += 1
                assert "studybot db check" in refused and "studybot db restore" in refused
            else:
                # Whatever the start-up check let through, the full check finds nothing wrong.
                assert problems == [], (page, within, problems)
            copy.unlink()
    print(f"{pages} pages, {detected} of {(pages - 1) * 4} damaged copies refused at start")
    assert detected > 0


def test_damaged_file_ends_start_up_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "data" / "studybot.db"
    path.parent.mkdir()
    asyncio.run(filled(path))
    damage(path, 55 * PAGE, 64)  # a page of the filler table
    env = clean_env(STUDYBOT_DATABASE=str(path))
    proc = studybot("console", env=env, cwd=tmp_path, stdin="/daily\n")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "damaged" in lines[0]
    assert "studybot db check" in lines[0] and "studybot db restore" in lines[0]


async def test_damage_met_later_is_one_logged_error_and_one_line_per_command(
    settings: Settings, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    async with open_core(settings, clock=clock) as core:
        out = io.StringIO()
        console = Console(core, stdin=io.StringIO(""), stdout=out, user="tester")
        # What the bot wrote so far moves from the WAL into the file, where the damage goes.
        with sqlite3.connect(settings.database) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = (await asyncio.to_thread(Path(settings.database).stat)).st_size
        # Every page but the first (the schema) turns to garbage underneath the running bot.
        for offset in range(PAGE, size, PAGE):
            damage(Path(settings.database), offset, PAGE)
        commands = ["/daily", "/stats", "/review", "/leaderboard"]
        for command in commands:
            await console.handle(command)
    text = out.getvalue()
    assert text.count("database is damaged") == len(commands), text
    assert "Traceback" not in text and "Sorry, something went wrong" not in text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "studybot db check" in errors[0].getMessage()
    assert errors[0].exc_info is None


async def test_reads_never_see_uncommitted_writes(tmp_path: Path) -> None:
    async with Database(tmp_path / "s.db") as db:
        await db.write(lambda c: c.execute("CREATE TABLE t(x INTEGER)"))
        inside, read_done = asyncio.Event(), asyncio.Event()

        async def writer() -> None:
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO t VALUES (1)")
                inside.set()
                await read_done.wait()
                raise RuntimeError("rolled back")

        task = asyncio.create_task(writer())
        await inside.wait()
        seen = await db.fetchall("SELECT x FROM t")
        read_done.set()
        with pytest.raises(RuntimeError):
            await task
        assert seen == []
        assert await db.fetchall("SELECT x FROM t") == []
        await db.write(lambda c: c.execute("INSERT INTO t VALUES (2)"))
        assert [r[0] for r in await db.fetchall("SELECT x FROM t")] == [2]


def test_no_private_aiosqlite_api() -> None:
    private = re.compile(r"\b(conn|connection|self\.conn)\._(execute|conn)\b")
    offenders = [str(p) for p in BOT.rglob("*.py") if private.search(p.read_text(encoding="utf-8"))]
    assert offenders == []

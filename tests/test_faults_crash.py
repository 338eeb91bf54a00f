"""The bot killed with SIGKILL (fan-out, storm of answers) and the database's disk filling up.

The SIGKILL cases run `studybot serve` as a subprocess against the fake Bot API (loopback only)
and read the database afterwards, as an operator restarting it would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.services.daily_schedule import MAX_IN_FLIGHT
from tests.conftest import FIXTURE_BANK, clean_env
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram import TOKEN, USER, running, say

CHATS = 150


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN, flood_control=True) as api:
        yield api


@contextlib.asynccontextmanager
async def serve(
    fake: FakeBotAPI, database: Path, **extra: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run `studybot serve` on `database` against the fake; kill it on the way out.

    `extra`: more environment variables, or ones that replace the defaults.
    """
    env = clean_env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=fake.base_url,
        STUDYBOT_DATABASE=str(database),
        STUDYBOT_CONTENT_DIR=str(FIXTURE_BANK),
        STUDYBOT_RUNNER_URL="unix:" + str(database.parent / "no-runner.sock"),
    )
    env.update(extra)
    database.parent.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        env=env,
        cwd=database.parent,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def rows(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(database)) as conn:
        return conn.execute(sql).fetchall()


async def test_sigkill_mid_fan_out_then_restart_loses_only_in_flight_sends(
    fake: FakeBotAPI, settings: Settings, clock: FixedClock
) -> None:
    database = settings.database
    async with open_core(settings, clock=clock) as core:
        for i in range(CHATS):
            ctx = await core.study.enter(
                platform="telegram",
                user_id=str(7000 + i),
                user_name=f"u{i}",
                language_code="en",
                chat_id=str(7000 + i),
                chat_type="private",
                chat_title="",
            )
            await core.study.subscribe(ctx, "00:00")  # due at once, whatever the hour
    # The fake takes 30 messages a second: kill the bot a little over a second into the fan-out.
    async with serve(fake, database) as bot:
        await fake.wait_for_calls("sendMessage", 40, timeout=90)
        bot.kill()
        await bot.wait()
    sent_before = {c.chat_id for c in fake.calls("sendMessage") if c.ok}
    in_flight = {int(r[0]) for r in rows(database, _SENDING)}
    claimed = len(rows(database, "SELECT 1 FROM daily_deliveries"))
    assert 0 < len(sent_before) < CHATS
    since = fake.mark()
    async with serve(fake, database) as bot:
        # Every chat the first run had not claimed gets its question now.
        await fake.wait_for_calls("sendMessage", CHATS - claimed, since=since, timeout=90)
        await asyncio.sleep(0.5)  # room for a wrong second send to show up
        bot.terminate()
        _, err = await bot.communicate()
    counts = {7000 + i: 0 for i in range(CHATS)}
    for call in fake.calls("sendMessage"):
        if call.ok and "Daily question" in str(call.params.get("text")):
            counts[int(str(call.chat_id))] += 1
    assert max(counts.values()) == 1, "a chat got two daily questions"
    missing = {chat for chat, n in counts.items() if n == 0}
    # Lost: only sends that were in flight at the kill (at most one per chat), and counted.
    assert missing <= in_flight
    assert len(in_flight) <= MAX_IN_FLIGHT
    if in_flight:
        assert f"{len(in_flight)} daily question(s) were being sent" in err.decode()


_SENDING = (
    "SELECT c.external_id FROM daily_deliveries d JOIN chats c ON c.id = d.chat_id"
    " WHERE d.status = 'sending'"
)


async def test_sigkill_during_a_storm_of_answers_keeps_every_acknowledged_answer(
    fake: FakeBotAPI, settings: Settings, clock: FixedClock
) -> None:
    users = [8000 + i for i in range(40)]
    async with serve(fake, settings.database):
        await fake.wait_for_call("getUpdates", timeout=60)
        for user in users:
            fake.send_message(user, user, "/question")
        await fake.wait_for_calls("sendMessage", len(users), timeout=60)
        since = fake.mark()
        pressed: dict[str, int] = {}
        for user in users:
            question = fake.last_message(user)
            query = fake.press_button(user, user, question.message_id, question.callback_data[0])
            pressed[query] = user
        await fake.wait_for_calls("answerCallbackQuery", len(users) // 2, since=since, timeout=60)
    # serve() killed it with SIGKILL, somewhere in the storm.
    acknowledged = {
        pressed[str(c.params["callback_query_id"])]
        for c in fake.calls("answerCallbackQuery")
        if c.ok
    }
    assert len(acknowledged) >= len(users) // 2
    assert rows(settings.database, "PRAGMA integrity_check") == [("ok",)]
    stored = {
        int(r[0])
        for r in rows(
            settings.database,
            "SELECT u.external_id FROM attempts a JOIN users u ON u.id = a.user_id",
        )
    }
    assert acknowledged <= stored


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """Mount a 4 MiB tmpfs for the database folder (needs root)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("filling a disk needs a size-capped tmpfs, and mounting one needs root")
    folder = tmp_path / "data"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Fill the folder's file system to the last byte; return the filler file."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


async def test_disk_full_answers_an_error_keeps_data_and_recovers(
    small_disk: Path,
    fake: FakeBotAPI,
    clock: FixedClock,
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(STUDYBOT_DATABASE=str(small_disk / "bot.db"))
    async with open_core(settings, clock=clock) as core, running(core, fake):
        assert "Daily question" in await say(fake, "/daily")
        await answer_last(fake, core)
        before = await core.db.fetchall("SELECT * FROM attempts")
        assert len(before) == 1
        filler = fill(small_disk)
        reply = await say(fake, "/question", chat=USER + 1, user=USER + 1)
        assert "Sorry, something went wrong" in reply
        filler.unlink()
        assert "Question" in await say(fake, "/question", chat=USER + 1, user=USER + 1)
        await answer_last(fake, core, chat=USER + 1)
        after = await core.db.fetchall("SELECT * FROM attempts")
        assert after[: len(before)] == before
        check = await core.db.fetchall("PRAGMA integrity_check")
        assert [tuple(r) for r in check] == [("ok",)]
    assert len(rows(settings.database, "SELECT * FROM attempts")) == 2


async def answer_last(fake: FakeBotAPI, core: Core, chat: int = USER) -> None:
    question = fake.last_message(chat)
    query = fake.press_button(chat, chat, question.message_id, question.callback_data[0])
    await fake.wait_for_callback_answer(query)

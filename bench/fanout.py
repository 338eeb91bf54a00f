"""Daily fan-out: N chats due at the same minute, against a raw PTB send loop on the same fake.

Runs the real Telegram application against the fake Bot API of the tests (loopback only).
Baseline: a minimal PTB bot (ApplicationBuilder, no rate limiter) sending N copies of the
bot's question message (its HTML and keyboard) with as many in flight as the bot's fan-out
(30). Then the bot's own fan-out of N chats subscribed at 00:00 (all due at start-up), rate
limiting off. With --limited N2 (default 0: skip)
it also runs a fan-out of N2 chats with the rate limiter on against a fake that enforces 30
messages a second, and reports its 429s and its time against N2 / 30 s.
Usage (from the repository root):
python bench/fanout.py [--chats 10000] [--limited 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("PTB_TIMEDELTA", "true")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telegram.constants import ParseMode  # noqa: E402
from telegram.ext import ApplicationBuilder  # noqa: E402

from bot.adapters import render  # noqa: E402
from bot.adapters.telegram.app import (  # noqa: E402
    build_application,
    start_application,
    stop_application,
)
from bot.adapters.telegram.keyboards import question_keyboard  # noqa: E402
from bot.adapters.telegram.markup import to_html  # noqa: E402
from bot.app import open_core  # noqa: E402
from bot.config import CONTENT_DIR, Settings  # noqa: E402
from bot.content.loader import load_bank  # noqa: E402
from bot.services.daily_schedule import MAX_IN_FLIGHT  # noqa: E402
from bot.services.runs import RunService  # noqa: E402
from tests.fakebotapi import FakeBotAPI  # noqa: E402

TOKEN = "987654321:AAH-fake-token-for-the-fanout-benchmark"  # noqa: S105 - fake
FIRST_CHAT = 10_000_000


async def seed(database: Path, chats: int, settings: Settings) -> None:
    """Create the schema and `chats` private chats subscribed at 00:00 in one transaction."""
    async with open_core(settings):
        pass
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with sqlite3.connect(database) as conn:
        conn.executemany(
            "INSERT INTO users (platform, external_id, name, language, created_at)"
            " VALUES ('telegram', ?, 'u', 'en', ?)",
            ((str(FIRST_CHAT + i), now) for i in range(chats)),
        )
        conn.executemany(
            "INSERT INTO chats (platform, external_id, type, language, daily_time, subscribed,"
            " created_at) VALUES ('telegram', ?, 'private', 'en', '00:00', 1, ?)",
            ((str(FIRST_CHAT + i), now) for i in range(chats)),
        )


async def until_sent(fake: FakeBotAPI, count: int, timeout: float) -> None:  # noqa: ASYNC109
    """Wait until the fake accepted `count` sendMessage calls."""
    deadline = time.monotonic() + timeout
    # A counter, not a scan of every recorded call: that grew with the chats and slowed the run.
    while fake.succeeded("sendMessage") < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout:.0f} s")
        await asyncio.sleep(0.1)


async def raw_sends(chats: int) -> float:
    """Return the seconds a minimal PTB bot takes to send `chats` messages, 30 in flight."""
    async with FakeBotAPI(token=TOKEN) as fake:
        app = ApplicationBuilder().token(TOKEN).base_url(fake.base_url).build()
        await app.initialize()
        gate = asyncio.Semaphore(MAX_IN_FLIGHT)

        bank = load_bank(CONTENT_DIR)
        question = bank.questions[0]
        text = to_html(render.question(bank, question, "en", "daily"))
        options = len(question.text("en").quiz.options)

        async def one(i: int) -> None:
            # The same message the bot sends: its HTML and its keyboard.
            async with gate:
                await app.bot.send_message(
                    FIRST_CHAT + i,
                    text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=question_keyboard(i + 1, options, "en"),
                )

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(chats)))
        elapsed = time.perf_counter() - start
        await app.shutdown()
        return elapsed


async def fan_out(chats: int, *, limited: bool, tmp: Path) -> tuple[float, int]:
    """Return (seconds until every chat had its question, 429s the fake answered)."""
    database = tmp / f"fanout-{limited}.db"
    settings = Settings.model_validate(
        {
            "STUDYBOT_DATABASE": str(database),
            "STUDYBOT_RATE_LIMIT": "on" if limited else "off",
            "STUDYBOT_LOG_LEVEL": "WARNING",
        }
    )
    await seed(database, chats, settings)
    async with FakeBotAPI(token=TOKEN, flood_control=limited) as fake, open_core(settings) as core:
        app = build_application(core, TOKEN, fake.base_url, RunService(None, frozenset()))
        start = time.perf_counter()
        await start_application(app, poll_timeout=1)
        try:
            await until_sent(fake, chats, timeout=max(600.0, chats / 30 * 2))
            elapsed = time.perf_counter() - start
        finally:
            await stop_application(app)
        return elapsed, fake.flood_errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--limited", type=int, default=0, help="chats for the limiter-on run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="studybot-fanout-") as folder:
        tmp = Path(folder)
        raw = asyncio.run(raw_sends(args.chats))
        bot, _ = asyncio.run(fan_out(args.chats, limited=False, tmp=tmp))
        print(f"raw PTB sends, {args.chats} messages: {raw:.1f} s, {args.chats / raw:.0f}/s")
        print(
            f"bot fan-out, {args.chats} chats, rate limit off: {bot:.1f} s, "
            f"{args.chats / bot:.0f}/s"
        )
        print(f"ratio bot/raw rate: {raw / bot:.2f} (target >= 0.8)")
        if args.limited:
            took, refused = asyncio.run(fan_out(args.limited, limited=True, tmp=tmp))
            ideal = args.limited / 30
            print(
                f"bot fan-out, {args.limited} chats, rate limit on, fake enforcing 30/s: "
                f"{took:.1f} s vs {ideal:.1f} s ideal ({took / ideal:.2f}x; target <= 1.10), "
                f"429s: {refused} (target 0)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Update throughput: N users' commands through the whole bot vs a minimal PTB echo bot.

Both run against the same fake Bot API of the tests (loopback only), with rate limiting off
(STUDYBOT_RATE_LIMIT=off) and concurrent updates. N users (default 1,000) each send one
command at once (/start, /streak, /stats, /help in turn: each registers the user and chat in
the database); the figure is replies per second until every one is answered. The baseline is
an echo bot (a MessageHandler replying with the text) fed the same N updates.
Usage (from the repository root): python bench/updates.py [--users 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("PTB_TIMEDELTA", "true")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler  # noqa: E402
from telegram.ext import filters as ptb_filters  # noqa: E402

from bot.adapters.telegram.app import (  # noqa: E402
    build_application,
    start_application,
    stop_application,
)
from bot.app import open_core  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.services.runs import RunService  # noqa: E402
from tests.fakebotapi import FakeBotAPI  # noqa: E402

TOKEN = "987654321:AAH-fake-token-for-the-updates-benchmark"  # noqa: S105 - fake
COMMANDS = ["/start", "/streak", "/stats", "/help"]
FIRST_USER = 20_000_000


async def drive(fake: FakeBotAPI, users: int) -> float:
    """Send one command per user at once; return seconds until every one was answered."""
    await fake.wait_for_call("getUpdates", timeout=60)
    start = time.perf_counter()
    for i in range(users):
        fake.send_message(FIRST_USER + i, FIRST_USER + i, COMMANDS[i % len(COMMANDS)])
    deadline = start + 600
    while fake.stats().get("sendMessage", 0) < users:
        if time.perf_counter() > deadline:
            raise SystemExit("gave up after 600 s")
        await asyncio.sleep(0.02)
    return time.perf_counter() - start


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the message's text."""
    if update.effective_message is not None and update.effective_message.text:
        await update.effective_message.reply_text(update.effective_message.text)


async def echo_bot(users: int) -> float:
    """Return the seconds a minimal PTB echo bot takes to answer `users` messages."""
    async with FakeBotAPI(token=TOKEN) as fake:
        app: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder().token(TOKEN).base_url(fake.base_url).concurrent_updates(True)
        ).build()
        app.add_handler(MessageHandler(ptb_filters.ALL, echo))
        await app.initialize()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1)
        await app.start()
        try:
            return await drive(fake, users)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()


async def study_bot(users: int, folder: Path) -> float:
    """Return the seconds the whole bot takes to answer `users` commands."""
    settings = Settings.model_validate(
        {
            "STUDYBOT_DATABASE": str(folder / "bot.db"),
            "STUDYBOT_RATE_LIMIT": "off",
            "STUDYBOT_LOG_LEVEL": "WARNING",
        }
    )
    async with FakeBotAPI(token=TOKEN) as fake, open_core(settings) as core:
        app = build_application(core, TOKEN, fake.base_url, RunService(None, frozenset()))
        await start_application(app, poll_timeout=1)
        try:
            return await drive(fake, users)
        finally:
            await stop_application(app)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="studybot-updates-") as folder:
        # Each once to warm up (imports, first connections), then measured.
        asyncio.run(echo_bot(min(args.users, 100)))
        asyncio.run(study_bot(min(args.users, 100), Path(folder) / "warm"))
        bot = asyncio.run(study_bot(args.users, Path(folder)))
        baseline = asyncio.run(echo_bot(args.users))
    print(f"echo bot, {args.users} users: {baseline:.1f} s, {args.users / baseline:.0f} replies/s")
    print(f"studybot, {args.users} users: {bot:.1f} s, {args.users / bot:.0f} replies/s")
    print(f"ratio studybot/echo rate: {baseline / bot:.2f} (target >= 0.8)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

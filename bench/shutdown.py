"""Time from SIGTERM to exit of `studybot serve`: idle, and with quizzes and a fan-out running.

The bot is a real `studybot serve` process against the fake Bot API of the tests (loopback
only, taking 30 messages a second as Telegram does). Baseline, same run: SIGTERM to exit of the
same bot when idle. Busy: three group quizzes, one with its next poll being sent (answered 2 s
late), and a fan-out of daily questions to `--chats` chats under way.

    .venv/bin/python bench/shutdown.py --runs 3 --chats 1000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import open_core  # noqa: E402
from bot.config import Settings  # noqa: E402
from tests.conftest import clean_env  # noqa: E402
from tests.fakebotapi import FakeBotAPI  # noqa: E402
from tests.test_kill_storm import storm_bank  # noqa: E402
from tests.test_telegram import TOKEN  # noqa: E402

GROUPS = (-100901, -100902, -100903)
PLAYER = 601


async def seed(database: Path, bank: Path, chats: int) -> None:
    settings = Settings.model_validate(
        {"STUDYBOT_DATABASE": str(database), "STUDYBOT_CONTENT_DIR": str(bank)}
    )
    async with open_core(settings) as core:
        for i in range(chats):
            ctx = await core.study.enter(
                platform="telegram",
                user_id=str(7000 + i),
                user_name=f"u{i}",
                language_code="en",
                chat_id=str(7000 + i),
                chat_type="private",
                chat_title="",
            )
            await core.study.subscribe(ctx, "00:00")  # due at once


async def one(api: FakeBotAPI, folder: Path, bank: Path, *, busy: bool) -> tuple[float, int]:
    """Start the bot, make it busy or not, SIGTERM it; return seconds to exit, exit code."""
    database = folder / "bot.db"
    env = clean_env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api.base_url,
        STUDYBOT_DATABASE=str(database),
        STUDYBOT_CONTENT_DIR=str(bank),
        STUDYBOT_RUNNER_URL=f"unix:{folder / 'no-runner.sock'}",
        STUDYBOT_METRICS_LISTEN="",
        STUDYBOT_QUIZ_SECONDS="5",
        STUDYBOT_LOG_LEVEL="WARNING",
    )
    since = api.mark()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", env=env, cwd=folder, stderr=asyncio.subprocess.PIPE
    )
    await api.wait_for_call("getUpdates", since=since, timeout=60)
    if busy:
        for group in GROUPS:
            api.send_message(group, PLAYER, "/quiz 5", chat_type="supergroup")
        for group in GROUPS:
            await api.wait_for_call("sendPoll", chat_id=group, since=since, timeout=60)
        await api.wait_for_calls("sendMessage", 60, since=since, timeout=60)  # fan-out going
        api.delay_next("sendPoll", 2.0)
        api.send_message(GROUPS[0], PLAYER, "/stopquiz", chat_type="supergroup")
        api.send_message(GROUPS[0], PLAYER, "/quiz 3", chat_type="supergroup")
        await asyncio.sleep(0.3)  # the new quiz's first poll is on its way
    start = time.monotonic()
    proc.terminate()
    await proc.communicate()
    took = time.monotonic() - start
    api.clear_faults()
    return took, proc.returncode or 0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chats", type=int, default=1000)
    args = parser.parse_args()
    idle: list[float] = []
    busy: list[float] = []
    codes: set[int] = set()
    with tempfile.TemporaryDirectory() as tmp:
        bank = storm_bank(Path(tmp) / "bank")
        async with FakeBotAPI(token=TOKEN, flood_control=True) as api:
            api.set_user(PLAYER, first_name="P", language_code="en")
            for run in range(args.runs):
                for kind, into in (("idle", idle), ("busy", busy)):
                    folder = Path(tmp) / f"{kind}{run}"
                    folder.mkdir()
                    await seed(folder / "bot.db", bank, args.chats if kind == "busy" else 0)
                    took, code = await one(api, folder, bank, busy=kind == "busy")
                    into.append(took)
                    codes.add(code)
                    print(f"run {run + 1} {kind}: SIGTERM to exit {took:.2f} s, exit {code}")
    i, b = statistics.median(idle), statistics.median(busy)
    print(
        f"SIGTERM to exit, median of {args.runs}: idle {i:.2f} s (baseline); "
        f"3 quizzes + fan-out of {args.chats} chats {b:.2f} s; ratio {b / i:.2f}; "
        f"exit codes {sorted(codes)}; target <= 15 s"
    )


if __name__ == "__main__":
    asyncio.run(main())

"""Count what the bot logs through a Bot API outage, and check it recovers.

Runs the real Telegram application against the fake Bot API of the tests (loopback only),
fails every getUpdates with 502 for N seconds (default 30), then lets it through, sends a
message and waits for the answer. Prints the log lines the outage produced, by level, and every
line, as the operator would see them at INFO. Usage (from the repository root):
python bench/bot_api_outage.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("PTB_TIMEDELTA", "true")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.adapters.telegram.app import (  # noqa: E402
    build_application,
    start_application,
    stop_application,
)
from bot.app import open_core  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.services.runs import RunService  # noqa: E402
from tests.fakebotapi import FakeBotAPI  # noqa: E402

TOKEN = "987654321:AAH-fake-token-for-the-outage-benchmark"  # noqa: S105 - fake
USER = 1001


class Collect(logging.Handler):
    """Keep every formatted record, as the operator's terminal would show it."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Remember the record's level and its full text, traceback included."""
        self.lines.append((record.levelname, self.format(record)))


async def outage(seconds: float) -> tuple[Collect, float, str]:
    """Run the outage; return the collected log, the recovery time and the reply after it."""
    collect = Collect()
    collect.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="studybot-outage-") as tmp:
        settings = Settings.model_validate({"STUDYBOT_DATABASE": str(Path(tmp) / "bot.db")})
        async with FakeBotAPI(token=TOKEN) as fake, open_core(settings) as core:
            app = build_application(core, TOKEN, fake.base_url, RunService(None, frozenset()))
            await start_application(app, poll_timeout=1)
            try:
                await fake.wait_for_call("getUpdates")
                root.addHandler(collect)
                fake.fail_next("getUpdates", error_code=502, count=None)
                await asyncio.sleep(seconds)
                fake.clear_faults()
                back = time.perf_counter()
                since = fake.mark()
                fake.send_message(USER, USER, "/start", chat_type="private")
                call = await fake.wait_for_call(
                    "sendMessage", chat_id=USER, since=since, timeout=60
                )
                recovered = time.perf_counter() - back
            finally:
                root.removeHandler(collect)
                await stop_application(app)
    return collect, recovered, str(call.params["text"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    collect, recovered, reply = asyncio.run(outage(args.seconds))
    lines = [line for _, text in collect.lines for line in text.splitlines()]
    levels = Counter(level for level, _ in collect.lines)
    print(f"outage of {args.seconds:g} s: {len(collect.lines)} log records, {len(lines)} lines")
    print("by level: " + ", ".join(f"{k} {v}" for k, v in sorted(levels.items())))
    print(f"answered again {recovered:.1f} s after the Bot API came back: {reply[:40]!r}...")
    for line in lines:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The `studybot` command line: console, serve, runner, content check, sandbox check."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from bot.config import Settings
from bot.errors import ContentError, StudyBotError

DESCRIPTION = """A study bot for PyTorch interview preparation.

commands:
  console          chat with the bot in this terminal (no token needed)
  serve            run the Telegram bot (needs TELEGRAM_BOT_TOKEN)
  runner           serve the /run sandbox on a Unix socket or loopback TCP
  content check    validate the question bank and print its counts
  sandbox check    print the sandbox level and run a containment self-test

Configuration comes from the environment and .env; see .env.example."""


def load_settings() -> Settings:
    """Read settings, or print one line per invalid variable and exit 2."""
    try:
        return Settings()
    except ValidationError as e:
        for err in e.errors():
            name = str(err["loc"][0]) if err["loc"] else "settings"
            value = err.get("input")
            shown = "" if "TOKEN" in name.upper() else f" (got {value!r})"
            message = str(err["msg"]).removeprefix("Value error, ")
            print(f"studybot: invalid {name}: {message}{shown}", file=sys.stderr)
        raise SystemExit(2) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studybot",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("console", help="chat with the bot in this terminal")
    sub.add_parser("serve", help="run the Telegram bot")
    sub.add_parser("runner", help="serve the /run sandbox")
    content = sub.add_parser("content", help="question bank tools")
    content.add_argument("action", choices=["check"])
    sandbox = sub.add_parser("sandbox", help="sandbox tools")
    sandbox.add_argument("action", choices=["check"])
    return parser


def content_check(settings: Settings) -> int:
    """Validate the bank; print every problem (exit 1) or the counts (exit 0)."""
    from bot.content.loader import load_bank

    try:
        bank = load_bank(settings.content_dir)
    except ContentError as e:
        for problem in e.problems:
            print(problem)
        print(f"{len(e.problems)} problem(s) found", file=sys.stderr)
        return 1
    total = len(bank.questions)
    print(f"{total} questions in {settings.content_dir}")
    print("by topic:      " + ", ".join(f"{k} {v}" for k, v in bank.counts_by_topic().items()))
    print("by difficulty: " + ", ".join(f"{k} {v}" for k, v in bank.counts_by_difficulty().items()))
    print("by language:   " + ", ".join(f"{k} {v}" for k, v in bank.counts_by_language().items()))
    share = round(100 * bank.with_snippet / total) if total else 0
    print(f"with runnable snippet: {bank.with_snippet} ({share}%)")
    seeds = sorted(n for q in bank.questions if (n := q.seed_number) is not None)
    print(f"from the seed: {len(seeds)} (questions {', '.join(map(str, seeds)) or '-'})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line."""
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 0
    settings = load_settings()
    from bot.logging_setup import setup_logging

    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    setup_logging(settings.log_level if args.command != "console" else "WARNING", [token])
    try:
        if args.command == "content":
            return content_check(settings)
        if args.command == "console":
            from bot.adapters.console_main import console_main

            return asyncio.run(console_main(settings))
        if args.command == "serve":
            from bot.adapters.telegram.main import serve_main

            return serve_main(settings)
        if args.command == "runner":
            from bot.runner.cli import runner_main

            return int(runner_main(settings))
        if args.command == "sandbox":
            from bot.runner.cli import sandbox_check_main

            return int(sandbox_check_main(settings))
    except ContentError as e:
        print(
            "studybot: the question bank is broken; run `studybot content check`:", file=sys.stderr
        )
        for problem in e.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except StudyBotError as e:
        print(f"studybot: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    raise SystemExit(main())

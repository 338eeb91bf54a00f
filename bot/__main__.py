"""The `studybot` command line: console, serve, runner, content check, sandbox check."""

from __future__ import annotations

import os
import signal
import sys

if __name__ == "__main__" or os.path.basename(sys.argv[0]) == "studybot":
    # Ctrl-C during the imports below (a second or so) ends the program quietly, as it does
    # once main() runs; main() puts Python's own handler back.
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))

import argparse
import asyncio
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot import content_cli
from bot.config import Settings, settings_errors
from bot.errors import ContentError, StudyBotError

if TYPE_CHECKING:
    pass

DESCRIPTION = """A study bot for PyTorch interview preparation.

commands:
  console          chat with the bot in this terminal (no token needed)
  serve            run the bot on Telegram and/or Discord (needs a bot token)
  runner           serve the /run sandbox on a Unix socket or TCP
  content check    validate the question bank and print its counts
  content reports  list the open problem reports users filed on questions
  sandbox check    print the sandbox level and run a containment self-test
  db backup PATH   copy the database to PATH, safely while the bot runs
  db check [PATH]  check the database (or a backup) for damage
  db restore PATH  replace the database with a backup (the bot must be stopped)

`studybot COMMAND --help` says what each command does, what it reads and how to call it.
Configuration comes from the environment and from .env in the current directory (see
.env.example; `runner` and `sandbox check` read the environment only); relative paths such as
data/studybot.db are taken from the current directory."""

# Each subcommand: (one-line help, what it does, the variables it reads, examples).
COMMANDS: dict[str, tuple[str, str, str, str]] = {
    "console": (
        "chat with the bot in this terminal",
        "Chat with the bot in this terminal as one local user: daily questions, answers by\n"
        "letter, streaks, statistics, /run and /bench, on the same services and database as the\n"
        "Telegram bot. No token is needed. The /run sandbox warms up in the background;\n"
        "it needs root or unprivileged user namespaces (`studybot sandbox check` says which).",
        "STUDYBOT_DATABASE (data/studybot.db), STUDYBOT_TIMEZONE, STUDYBOT_CONTENT_DIR,\n"
        "STUDYBOT_RUNNER_URL (a runner started elsewhere), STUDYBOT_SANDBOX_LEVEL,\n"
        "STUDYBOT_SANDBOX_MIN_LEVEL, STUDYBOT_RUNNER_SOCKET, STUDYBOT_RUN_* (limits),\n"
        "STUDYBOT_BENCH_BUDGET_S (/bench's timing budget)",
        "studybot console\nprintf '/daily\\nA\\n/streak\\n/quit\\n' | studybot console",
    ),
    "serve": (
        "run the bot on Telegram and/or Discord",
        "Run the bot on Telegram when TELEGRAM_BOT_TOKEN is set and on Discord when\n"
        "DISCORD_BOT_TOKEN is set, both in one process (one database, runner and scheduler)\n"
        "when both are. Telegram: long-poll the Bot API (or serve a webhook) and publish the\n"
        "command menus; Discord: connect to the gateway and register the application\n"
        "commands. Rebuild every chat's daily question from the database, and answer /run and\n"
        "/bench through a local runner (or the one at STUDYBOT_RUNNER_URL). On SIGINT or\n"
        "SIGTERM it stops taking updates on both, lets running /run jobs finish, and exits 0.",
        "TELEGRAM_BOT_TOKEN and/or DISCORD_BOT_TOKEN (one is required),\n"
        "TELEGRAM_API_BASE_URL, DISCORD_API_BASE_URL, STUDYBOT_DATABASE,\n"
        "STUDYBOT_WEBHOOK_URL, STUDYBOT_WEBHOOK_LISTEN, STUDYBOT_WEBHOOK_SECRET,\n"
        "STUDYBOT_TIMEZONE, STUDYBOT_DAILY_TIME, STUDYBOT_ADMIN_IDS, STUDYBOT_LOG_LEVEL,\n"
        "STUDYBOT_LOG_FORMAT (text or json),\n"
        "STUDYBOT_METRICS_LISTEN (127.0.0.1:9464: /healthz and /metrics; empty: off),\n"
        "STUDYBOT_RUNNER_URL, STUDYBOT_RUNNER_TOKEN, STUDYBOT_RUN_ALLOW, STUDYBOT_SANDBOX_*,\n"
        "STUDYBOT_RUN_*, STUDYBOT_BENCH_BUDGET_S",
        "TELEGRAM_BOT_TOKEN=123456789:AA... studybot serve\n"
        "DISCORD_BOT_TOKEN=MTA... studybot serve\n"
        "sudo --preserve-env=TELEGRAM_BOT_TOKEN .venv/bin/studybot serve   # with /run",
    ),
    "runner": (
        "serve the /run sandbox",
        "Serve the /run sandbox API on a Unix socket (mode 0600) or TCP, for a bot started\n"
        "with STUDYBOT_RUNNER_URL. As root it builds the strong level with cgroups; as an\n"
        "ordinary user, in user namespaces (`studybot sandbox check` says which level and\n"
        "what it bounds). It refuses to start (exit 2, one\n"
        "line) below STUDYBOT_SANDBOX_MIN_LEVEL, or on TCP beyond loopback without\n"
        "STUDYBOT_RUNNER_TOKEN. It reads only its own environment: never .env, never the\n"
        "bot's token. SIGTERM drains it (new jobs refused, the jobs taken finish, then it\n"
        "exits 0); SIGINT, or a second signal, stops it at once.",
        "STUDYBOT_RUNNER_SOCKET (data/runner.sock), STUDYBOT_RUNNER_LISTEN,\n"
        "STUDYBOT_RUNNER_TOKEN (required on TCP beyond loopback),\n"
        "STUDYBOT_RUNNER_METRICS_LISTEN (/healthz and /metrics; empty: off),\n"
        "STUDYBOT_SANDBOX_LEVEL, STUDYBOT_SANDBOX_MIN_LEVEL, STUDYBOT_RUN_* (limits),\n"
        "STUDYBOT_LOG_LEVEL, STUDYBOT_LOG_FORMAT",
        "sudo STUDYBOT_RUNNER_LISTEN=tcp://127.0.0.1:8765 .venv/bin/studybot runner\n"
        "STUDYBOT_RUNNER_URL=tcp://127.0.0.1:8765 studybot serve",
    ),
    "content": (
        "question bank tools",
        "content check: validate every file of the question bank and print the counts by\n"
        "topic, difficulty and language, then review it (near-duplicates, topics without an easy\n"
        "and a hard question, snippets without a check); exit 1 with one line per problem.\n"
        "It also runs every exercise (content/exercises): the reference must pass every case\n"
        "and every wrong solution must fail one (else: not discriminating). Jobs go to the\n"
        "runner at STUDYBOT_RUNNER_URL, else to a local sandbox runner (root or not), or\n"
        "to plain subprocesses only where no sandbox can start.\n"
        'content reports: list the open problem reports users filed with the "Report a\n'
        'problem" button (or /report in the console), newest first; --close ID closes one.',
        "STUDYBOT_CONTENT_DIR (the content/ folder shipped with the bot),\n"
        "STUDYBOT_DATABASE (data/studybot.db; for reports)",
        "studybot content check\nSTUDYBOT_CONTENT_DIR=my-bank studybot content check\n"
        "studybot content check --exercise softmax --exercise layer-norm\n"
        "studybot content reports\nstudybot content reports --close 3",
    ),
    "sandbox": (
        "sandbox tools",
        "sandbox check: print the sandbox level this host allows and each protection, then\n"
        "attack the sandbox (network, secrets, writes outside scratch, fork bomb, leftovers,\n"
        "kill(-1)); exit 0 only if everything was contained, 2 (one line) if the level is\n"
        "below STUDYBOT_SANDBOX_MIN_LEVEL. Runs as root or as an ordinary user (then in user\n"
        "namespaces, with cgroups only where a subtree is delegated).",
        "STUDYBOT_SANDBOX_LEVEL, STUDYBOT_SANDBOX_MIN_LEVEL, STUDYBOT_RUN_* (limits)",
        "studybot sandbox check\nsudo .venv/bin/studybot sandbox check",
    ),
    "db": (
        "back up, check and restore the database",
        "db backup PATH: write a consistent copy of the database to PATH (SQLite's online\n"
        "backup, safe while the bot runs; written to a temporary file, then renamed).\n"
        "db check [PATH]: check the database, or the file at PATH, for damage and broken\n"
        "references; exit 1 with one line per problem.\n"
        "db restore PATH: check the backup at PATH, then replace the database with it;\n"
        "refused (exit 1) while a bot has the database open.",
        "STUDYBOT_DATABASE (data/studybot.db)",
        "studybot db backup backups/studybot-$(date +%F).db\n"
        "studybot db check backups/studybot-2026-03-10.db\n"
        "studybot db restore backups/studybot-2026-03-10.db",
    ),
}


def package_version() -> str:
    """Return the installed version of studybot."""
    try:
        return version("studybot")
    except PackageNotFoundError:
        return "unknown (not installed)"


def load_settings() -> Settings:
    """Read settings, or print one line per invalid variable and exit 2."""
    try:
        return Settings()
    except ValidationError as e:
        for line in settings_errors(e):
            print(f"studybot: {line}", file=sys.stderr)
        raise SystemExit(2) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studybot",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"studybot {package_version()}")
    # The description lists the commands once; the subcommands add no second list.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", help="one of the commands above")
    for name, (_short, what, variables, examples) in COMMANDS.items():
        command = sub.add_parser(
            name,
            description=what,
            epilog=f"{_where(name)}:\n{_indent(variables)}\n\nexamples:\n{_indent(examples)}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == "content":
            command.add_argument("action", choices=["check", "reports"])
            command.add_argument(
                "--close", type=int, metavar="ID", help="with reports: close report ID"
            )
            command.add_argument(
                "--exercise",
                action="append",
                metavar="ID",
                help="with check: run only this exercise (repeatable)",
            )
            command.add_argument(
                "--no-run", action="store_true", help="with check: validate exercises, run none"
            )
        if name == "sandbox":
            command.add_argument("action", choices=["check"], help="the only action: check")
        if name == "db":
            command.add_argument("action", choices=["backup", "check", "restore"])
            command.add_argument("path", nargs="?", type=Path, help="the backup file")
    return parser


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def _where(command: str) -> str:
    """Say where a command's settings come from."""
    if command in {"runner", "sandbox"}:
        return "environment (only: the runner never reads .env)"
    return "environment (or .env in the current directory)"


def db_main(settings: Settings, action: str, path: Path | None) -> int:
    """Back up, check or restore the database; print one line per problem."""
    from bot.storage import backup

    if action == "check":
        target = path or settings.database
        problems = backup.check(target)
        for problem in problems:
            print(problem)
        if problems:
            print(f"{target}: {len(problems)} problem(s) found", file=sys.stderr)
            return 1
        print(f"{target}: ok")
        return 0
    if path is None:
        print(f"studybot: db {action} needs a PATH", file=sys.stderr)
        return 2
    if action == "backup":
        backup.backup(settings.database, path)
        print(f"backed up {settings.database} to {path}")
    else:
        backup.restore(path, settings.database)
        print(f"restored {settings.database} from {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line."""
    parser = _parser()
    # Over 60 lines on purpose: one dispatch over every command, each branch a line or two.
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(
            "studybot: a COMMAND is needed: studybot console chats in this terminal;"
            " studybot --help lists every command",
            file=sys.stderr,
        )
        return 2
    if args.command in {"runner", "sandbox"}:
        # A separate program: its own settings (its environment only: never .env, never the
        # bot's tokens) and its own logging.
        from bot.runner.cli import main as runner_cli

        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            return runner_cli(args.command)
        except KeyboardInterrupt:
            return 130
    settings = load_settings()
    from bot.logging_setup import setup_logging

    secrets = [
        s.get_secret_value()
        for s in (
            settings.telegram_bot_token,
            settings.discord_bot_token,
            settings.webhook_secret,
            settings.runner_token,
        )
        if s
    ]
    setup_logging(
        settings.log_level if args.command != "console" else "WARNING", secrets, settings.log_format
    )
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        if args.command == "content" and args.action == "reports":
            return asyncio.run(content_cli.content_reports(settings, args.close))
        if args.command == "content":
            return content_cli.content_check(settings, args.exercise, not args.no_run)
        if args.command == "db":
            return db_main(settings, args.action, args.path)
        if args.command == "console":
            from bot.adapters.console_main import console_main

            return asyncio.run(console_main(settings))
        if args.command == "serve":
            from bot.adapters.serve import serve_main

            return serve_main(settings)
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

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
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.config import Settings, settings_errors
from bot.errors import ContentError, StudyBotError

if TYPE_CHECKING:
    from bot.runclient import Runner

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
        "letter, streaks, statistics and /run, on the same services and database as the\n"
        "Telegram bot. No token is needed. The /run sandbox warms up in the background;\n"
        "it needs root or unprivileged user namespaces (`studybot sandbox check` says which).",
        "STUDYBOT_DATABASE (data/studybot.db), STUDYBOT_TIMEZONE, STUDYBOT_CONTENT_DIR,\n"
        "STUDYBOT_RUNNER_URL (a runner started elsewhere), STUDYBOT_SANDBOX_LEVEL,\n"
        "STUDYBOT_SANDBOX_MIN_LEVEL, STUDYBOT_RUNNER_SOCKET, STUDYBOT_RUN_* (limits)",
        "studybot console\nprintf '/daily\\nA\\n/streak\\n/quit\\n' | studybot console",
    ),
    "serve": (
        "run the bot on Telegram and/or Discord",
        "Run the bot on Telegram when TELEGRAM_BOT_TOKEN is set and on Discord when\n"
        "DISCORD_BOT_TOKEN is set, both in one process (one database, runner and scheduler)\n"
        "when both are. Telegram: long-poll the Bot API (or serve a webhook) and publish the\n"
        "command menus; Discord: connect to the gateway and register the application\n"
        "commands. Rebuild every chat's daily question from the database, and answer /run\n"
        "through a local runner (or the one at STUDYBOT_RUNNER_URL). On SIGINT or SIGTERM it\n"
        "stops taking updates on both, lets running /run jobs finish, and exits 0.",
        "TELEGRAM_BOT_TOKEN and/or DISCORD_BOT_TOKEN (one is required),\n"
        "TELEGRAM_API_BASE_URL, DISCORD_API_BASE_URL, STUDYBOT_DATABASE,\n"
        "STUDYBOT_WEBHOOK_URL, STUDYBOT_WEBHOOK_LISTEN, STUDYBOT_WEBHOOK_SECRET,\n"
        "STUDYBOT_TIMEZONE, STUDYBOT_DAILY_TIME, STUDYBOT_ADMIN_IDS, STUDYBOT_LOG_LEVEL,\n"
        "STUDYBOT_LOG_FORMAT (text or json),\n"
        "STUDYBOT_METRICS_LISTEN (127.0.0.1:9464: /healthz and /metrics; empty: off),\n"
        "STUDYBOT_RUNNER_URL, STUDYBOT_RUNNER_TOKEN, STUDYBOT_RUN_ALLOW, STUDYBOT_SANDBOX_*,\n"
        "STUDYBOT_RUN_*",
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
        "bot's token.",
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


# `studybot content reports` lists at most this many open reports.
REPORTS_LISTED = 1000


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


def _where(command: str) -> str:
    """Say where a command's settings come from."""
    if command in {"runner", "sandbox"}:
        return "environment (only: the runner never reads .env)"
    return "environment (or .env in the current directory)"


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def content_check(
    settings: Settings, exercise_ids: list[str] | None = None, run: bool = True
) -> int:
    """Validate the bank and run the exercises; print every problem (exit 1) or the counts."""
    if exercise_ids:  # one exercise at a time, as while writing it: skip the question review
        return asyncio.run(exercises_check(settings, exercise_ids, run))
    questions = questions_check(settings)
    exercises = asyncio.run(exercises_check(settings, None, run))
    return max(questions, exercises)


async def exercises_check(settings: Settings, ids: list[str] | None, run: bool) -> int:
    """Load the exercises and run them: each reference passes, each wrong solution fails."""
    from bot.exercises.check import check_exercises
    from bot.exercises.loader import load_exercises

    try:
        bank = load_exercises(settings.content_dir)
    except ContentError as e:
        for problem in e.problems:
            print(problem)
        print(f"{len(e.problems)} problem(s) in the exercises", file=sys.stderr)
        return 1
    chosen = bank.exercises
    if ids:
        unknown = [i for i in ids if bank.get(i) is None]
        if unknown:
            import difflib

            ids_known = [x.id for x in bank.exercises]
            for wanted in unknown:
                close = difflib.get_close_matches(wanted, ids_known, n=3, cutoff=0.6)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                print(f"studybot: no exercise {wanted}{hint}", file=sys.stderr)
            return 1
        chosen = tuple(x for x in bank.exercises if x.id in ids)
    topics = Counter(x.topic for x in bank.exercises)
    print(f"{len(bank)} exercises: " + ", ".join(f"{k} {v}" for k, v in topics.items()))
    if not run or not chosen:
        return 0
    async with exercise_runner(settings) as (runner, how):
        print(f"running {len(chosen)} exercise(s) on {how}")
        reports = await check_exercises(chosen, runner)
    problems = [p for r in reports for p in r.problems]
    for r in reports:
        for problem in r.problems:
            print(problem)
        if not r.problems:
            print(
                f"exercise {r.exercise_id}: the reference passes {r.cases} cases;"
                f" {r.rejected} wrong solution(s) rejected"
            )
    if problems:
        print(f"{len(problems)} exercise problem(s)", file=sys.stderr)
        return 1
    return 0


@asynccontextmanager
async def exercise_runner(settings: Settings) -> AsyncIterator[tuple[Runner, str]]:
    """Yield the runner at STUDYBOT_RUNNER_URL, a local sandbox runner, or plain subprocesses."""
    import tempfile

    from bot.exercises.check import PlainRunner
    from bot.runclient import LocalRunner, RunnerClient, RunnerUnavailable

    if settings.runner_url:
        token = settings.runner_token.get_secret_value() if settings.runner_token else None
        yield RunnerClient(settings.runner_url, token), settings.runner_url
        return
    # Root or not: the runner picks its level (user namespaces without root).
    with tempfile.TemporaryDirectory(prefix="studybot-check-") as folder:
        local = settings.model_copy(
            update={
                "runner_socket": Path(folder) / "runner.sock",
                "run_rate_per_minute": 1_000_000,
                "log_level": "WARNING",
                "run_wall_time_s": max(settings.run_wall_time_s, 30.0),
                "run_cpu_time_s": max(settings.run_cpu_time_s, 30),
            }
        )
        try:
            async with LocalRunner(local) as client:
                yield client, "the local sandbox runner"
                return
        except RunnerUnavailable as e:
            print(f"the local runner did not start ({e}); using subprocesses", file=sys.stderr)
    yield PlainRunner(settings.run_wall_time_s * 3), "plain subprocesses (no sandbox)"


def questions_check(settings: Settings) -> int:
    """Validate the question bank; print every problem (exit 1) or the counts (exit 0)."""
    from bot.content.loader import load_bank
    from bot.content.review import review

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
    hints = sum(1 for q in bank.questions if q.has_hint)
    gpu = sum(1 for q in bank.questions if q.snippet is not None and q.snippet.device == "gpu")
    print(f"with a hint: {hints}; GPU-only snippets: {gpu}")
    findings = review(bank)
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} review finding(s)", file=sys.stderr)
        return 1
    return 0


async def content_reports(settings: Settings, close: int | None) -> int:
    """Print the open problem reports, newest first, or close one of them."""
    from bot.app import open_core

    async with open_core(settings) as core:
        if close is not None:
            if not await core.reports.close(close):
                print(f"studybot: no open report #{close}", file=sys.stderr)
                return 1
            print(f"closed report #{close}")
            return 0
        found = await core.reports.open_reports(limit=REPORTS_LISTED)
    print(f"{found.count} open report(s)")
    for r in found.newest:
        when = r.created_at.strftime("%Y-%m-%d %H:%M UTC")
        text = " ".join(r.text.split())
        print(f"#{r.id}  {when}  {r.question_id}  {r.user_platform}:{r.user_name}  {text}")
    return 0


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
            return asyncio.run(content_reports(settings, args.close))
        if args.command == "content":
            return content_check(settings, args.exercise, not args.no_run)
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

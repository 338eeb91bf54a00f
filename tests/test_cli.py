"""The command line as a newcomer meets it: help pages, the version, and one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import COMMANDS, _where
from bot.config import Settings
from tests.conftest import clean_env, studybot

FAKE_TOKEN = "123456:fake-token-for-tests"  # noqa: S105 - a fake, shaped like a token
ALIASES = {info.alias for info in Settings.model_fields.values() if info.alias}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_has_a_help_page_with_variables_and_an_example(
    tmp_path: Path, command: str
) -> None:
    proc = studybot(command, "--help", env=clean_env(), cwd=tmp_path)
    assert proc.returncode == 0
    page = proc.stdout
    assert COMMANDS[command][1].splitlines()[0] in page  # what it does
    assert _where(command) + ":" in page
    assert "examples:" in page and "studybot " + command in page.split("examples:")[1]
    # Every variable it names exists (NAME_* stands for a family of them).
    named = re.findall(r"\b((?:STUDYBOT|TELEGRAM)_[A-Z_]*)(\*?)", page)
    assert named
    for name, star in named:
        if star:
            assert any(alias.startswith(name) for alias in ALIASES), name
        else:
            assert name in ALIASES, name


def test_no_command_is_an_error_and_help_lists_each_command_once(tmp_path: Path) -> None:
    bare = studybot(env=clean_env(), cwd=tmp_path)
    assert bare.returncode == 2 and bare.stdout == ""
    assert bare.stderr.startswith("usage: studybot")
    assert "studybot: a COMMAND is needed: studybot console chats in this terminal" in bare.stderr
    page = studybot("--help", env=clean_env(), cwd=tmp_path).stdout
    for name in COMMANDS:
        listed = re.findall(rf"^  {name}\b", page, re.MULTILINE)
        assert len(listed) == 1 or name in {"content", "db"}, (name, page)
    assert page.count("chat with the bot in this terminal") == 1


def test_version(tmp_path: Path) -> None:
    proc = studybot("--version", env=clean_env(), cwd=tmp_path)
    assert proc.returncode == 0
    assert re.fullmatch(r"studybot \d+\.\d+\.\d+\n", proc.stdout)


def test_invalid_value_is_named_once(tmp_path: Path) -> None:
    env = clean_env(STUDYBOT_DAILY_TIME="25:00")
    proc = studybot("console", env=env, cwd=tmp_path, stdin="")
    assert proc.returncode == 2
    assert proc.stderr == (
        "studybot: invalid STUDYBOT_DAILY_TIME: expected a time as HH:MM (00:00–23:59) "
        "(got '25:00')\n"
    )


def test_long_invalid_value_is_shown_as_an_excerpt(tmp_path: Path) -> None:
    proc = studybot("content", "check", env=clean_env(STUDYBOT_TIMEZONE="x" * 5000), cwd=tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr) < 200


@pytest.mark.parametrize("command", [["runner"], ["console"], ["sandbox", "check"]])
def test_runner_listening_beyond_loopback_without_a_token_is_refused_at_once(
    tmp_path: Path, command: list[str]
) -> None:
    env = clean_env(STUDYBOT_RUNNER_LISTEN="tcp://0.0.0.0:8765")
    proc = studybot(*command, env=env, cwd=tmp_path, stdin="")
    assert proc.returncode == 2
    assert proc.stderr == (
        "studybot: invalid STUDYBOT_RUNNER_TOKEN: required when STUDYBOT_RUNNER_LISTEN is TCP "
        "beyond loopback (the runner API must not be open to the network); "
        "e.g. `openssl rand -hex 32`\n"
    )


def test_runner_process_refuses_bad_address_the_same_way(tmp_path: Path) -> None:
    env = clean_env(STUDYBOT_RUNNER_LISTEN="tcp://0.0.0.0:8765")
    proc = subprocess.run(
        [sys.executable, "-m", "bot.runner"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("studybot runner: invalid STUDYBOT_RUNNER_TOKEN: required ")
    assert len(proc.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", ["console", "serve"])
def test_corrupt_database_is_one_line_and_left_as_it_was(tmp_path: Path, command: str) -> None:
    database = tmp_path / "data" / "studybot.db"
    database.parent.mkdir()
    garbage = b"not a database " * 400
    database.write_bytes(garbage)
    env = clean_env(
        TELEGRAM_BOT_TOKEN=FAKE_TOKEN,
        STUDYBOT_RUNNER_URL=f"unix:{tmp_path / 'no-runner.sock'}",
    )
    proc = studybot(command, env=env, cwd=tmp_path, stdin="/quit\n")  # times out if it hangs
    assert proc.returncode == 1
    assert proc.stderr == (
        f"studybot: cannot open database {database}: file is not a database "
        "(the file was left as it is)\n"
    )
    assert database.read_bytes() == garbage
    assert sorted(p.name for p in database.parent.iterdir()) == ["studybot.db"]


@pytest.mark.parametrize("command", ["console", "serve"])
def test_database_path_that_is_a_folder_is_one_line(tmp_path: Path, command: str) -> None:
    (tmp_path / "db").mkdir()
    env = clean_env(
        STUDYBOT_DATABASE="db",
        TELEGRAM_BOT_TOKEN=FAKE_TOKEN,
        STUDYBOT_RUNNER_URL=f"unix:{tmp_path / 'no-runner.sock'}",
    )
    for _ in range(3):  # the old traceback came from a race: try it a few times
        proc = studybot(command, env=env, cwd=tmp_path, stdin="/quit\n")
        assert proc.returncode == 1
        assert proc.stderr == (
            f"studybot: cannot open database {tmp_path / 'db'}: it is a folder; "
            "set STUDYBOT_DATABASE to a file path\n"
        )

"""The console adapter, driven like a person would: the real command with piped input."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from bot.adapters.console import Console
from bot.app import Core
from tests.conftest import clean_env, studybot

FIXTURE_BANK = Path(__file__).parent / "fixtures" / "bank"


def console(tmp_path: Path, lines: list[str]) -> subprocess.CompletedProcess[str]:
    env = clean_env(
        STUDYBOT_DATABASE=str(tmp_path / "db" / "bot.db"),
        STUDYBOT_CONTENT_DIR=str(FIXTURE_BANK),
        STUDYBOT_RUNNER_URL="unix:" + str(tmp_path / "no-runner.sock"),
    )
    return studybot("console", env=env, cwd=tmp_path, stdin="\n".join(lines) + "\n")


def test_console_session_daily_answer_streak(tmp_path: Path) -> None:
    proc = console(tmp_path, ["/daily", "A", "/streak", "/answer", "/stats", "/quit"])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Daily question" in out
    assert ("Correct!" in out) or ("Not quite" in out)
    assert "Streak: 1 day" in out
    assert "Quiz answer:" in out
    assert "Answered: 1" in out
    # A second session on the same database remembers the streak.
    again = console(tmp_path, ["/streak"])
    assert "Streak: 1 day" in again.stdout
    assert "Today is done" in again.stdout


def test_console_bad_input_and_language(tmp_path: Path) -> None:
    proc = console(
        tmp_path,
        [
            "/question nosuchtopic",
            "/lang xx",
            "/timezone Mars/Olympus",
            "Z",
            "/what",
            "/lang zh",
            "/topics",
            "/daily",
            "9",
        ],
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Unknown topic" in out
    assert "Usage: /lang zh or /lang en." in out
    assert "Usage: /timezone" in out
    assert "No question yet" in out
    assert "Unknown command /what" in out
    assert "主题" in out and "每日一题" in out
    assert "输入字母" in out  # "9" is not an option of a 4-option question


async def test_console_in_process_answers_by_number(core: Core) -> None:
    out = io.StringIO()
    c = Console(core, stdin=io.StringIO(""), stdout=out, user="tester")
    await c.handle("/question nn")
    await c.handle("4")
    text = out.getvalue()
    assert "Building models" in text
    assert "you chose D" in text or "The answer is D" in text


async def test_console_daily_is_the_same_question_all_day(core: Core) -> None:
    out = io.StringIO()
    c = Console(core, stdin=io.StringIO(""), stdout=out, user="tester")
    await c.handle("/daily")
    first = c.current
    await c.handle("/daily")
    assert first is not None
    assert c.current is not None
    assert c.current.question.id == first.question.id
    assert c.current.prompt.id == first.prompt.id  # answered once, however often shown

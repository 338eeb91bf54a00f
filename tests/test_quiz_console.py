"""The quiz on the console and the leaderboard periods, with the injected clock."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.console import Console
from bot.app import Core
from bot.clock import FixedClock
from bot.services.boards import period_start
from tests.test_console import console


async def test_console_quiz_is_timed_answers_by_letter_or_number_and_ends_with_result(
    core: Core, clock: FixedClock
) -> None:
    out = io.StringIO()
    c = Console(core, stdin=io.StringIO(""), stdout=out, user="tester")
    await c.handle("/quiz 3")
    assert "Quiz: 3 questions" in out.getvalue()
    assert "[1/3]" in out.getvalue()
    assert c.poll is not None
    first = c.poll[1]
    clock.set(clock.now() + timedelta(seconds=4))
    await c.handle("ABCD"[first.correct])
    assert "Correct!" in out.getvalue()
    assert "[2/3]" not in out.getvalue()  # the next one comes 3 s later
    clock.set(clock.now() + timedelta(seconds=3))
    await core.timers.run_due()
    assert "[2/3]" in out.getvalue()
    # Nobody answers the second question: the time runs out and the answer is shown.
    clock.set(clock.now() + timedelta(seconds=30))
    await core.timers.run_due()
    assert "Time's up" in out.getvalue()
    assert "[3/3]" in out.getvalue()
    third = c.poll[1] if c.poll else None
    assert third is not None
    wrong = (third.correct + 1) % len(third.options)
    clock.set(clock.now() + timedelta(seconds=2))
    await c.handle(str(wrong + 1))
    text = out.getvalue()
    assert "Not quite" in text
    # The last answer ends the quiz at once; its verdict comes before the result.
    assert text.index("Not quite") < text.index("Quiz over: 3 questions.")
    assert "Your result: 1/3 correct · mean answer time 3.0 s" in text
    assert await core.quiz.running(c_chat := (await c.context()).chat) is None
    assert c_chat.type == "private"


async def test_console_quiz_stop_and_usage(core: Core) -> None:
    out = io.StringIO()
    c = Console(core, stdin=io.StringIO(""), stdout=out, user="tester")
    await c.handle("/quiz 25")
    assert "Usage: /quiz" in out.getvalue()
    await c.handle("/quiz 2 nn")
    await c.handle("/quiz")
    assert "already running" in out.getvalue()
    await c.handle("/stopquiz")
    assert "Quiz stopped after 1 question." in out.getvalue()
    assert "Nobody answered this time." in out.getvalue()
    await c.handle("/stopquiz")
    assert "No quiz is running" in out.getvalue()


def test_console_quiz_piped_as_the_readme_shows(tmp_path: Path) -> None:
    proc = console(tmp_path, ["/quiz 2", "A", "2", "/leaderboard", "/lang zh", "/leaderboard"])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.count("⏱ 30 s") == 2
    assert "Quiz over: 2 questions." in out
    assert "Your result: " in out
    assert "Your answers this week" in out
    assert "In quizzes: " in out
    # The console's own words: no polls, replies or files to send here.
    assert "Answer each question with its letter; the scoreboard comes at the end." in out
    assert "Answer in the polls" not in out
    assert "你本周的答题" in out


def test_leaderboard_periods_start_at_the_local_week_and_month() -> None:
    # Sunday 2026-03-15 20:00 UTC is already Monday 04:00 in Shanghai: a new week there.
    now = datetime(2026, 3, 15, 20, 0, tzinfo=UTC)
    assert period_start("week", now, "UTC") == datetime(2026, 3, 9, tzinfo=UTC)
    shanghai = period_start("week", now, "Asia/Shanghai")
    assert shanghai is not None
    assert shanghai.astimezone(UTC) == datetime(2026, 3, 15, 16, 0, tzinfo=UTC)
    month = period_start("month", datetime(2026, 3, 31, 23, 0, tzinfo=UTC), "Asia/Tokyo")
    assert month is not None
    assert month.astimezone(UTC) == datetime(2026, 3, 31, 15, 0, tzinfo=UTC)  # April 1 there
    assert period_start("all", now, "UTC") is None

"""The console adapter, driven like a person would: the real command with piped input."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.adapters.console import Console
from bot.app import Core
from tests.conftest import clean_env, ordinary_user_prefix, studybot, user_namespaces_allowed

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
    assert "Accuracy: 0% (0/1)" in out
    # A second session on the same database remembers the streak.
    again = console(tmp_path, ["/streak"])
    assert "Streak: 1 day" in again.stdout
    assert "Today is done" in again.stdout


def test_console_bad_input_and_language(tmp_path: Path) -> None:
    proc = console(
        tmp_path,
        [
            "/question nosuchtopic",
            "/lang",
            "/remind",
            "/lang xx",
            "/timezone Mars/Olympus",
            "Z",
            "/what",
            "/cancel",
            "/lang zh",
            "/topics",
            "/daily",
            "9",
        ],
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Unknown topic" in out
    assert "Current language: English.\nUsage: /lang zh or /lang en." in out
    assert "Usage: /remind" in out  # bare: the reminder (none yet), then how to set one
    assert "Usage: /lang zh or /lang en." in out
    assert "Usage: /timezone" in out
    assert "No question yet" in out
    assert "Unknown command /what" in out
    assert "Nothing to cancel: /cancel stops code you are pasting." in out
    assert "reply to my message" not in out and "caption" not in out
    assert "something went wrong" not in out
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
    assert first.lang == "en"
    await c.handle("/lang zh")
    out.truncate(0)
    await c.handle("/daily")
    assert c.current.prompt.id == first.prompt.id and c.current.lang == "zh"
    assert first.question.text("zh").quiz.options[0] in out.getvalue()
    assert first.question.text("en").quiz.options[0] not in out.getvalue()


def root_runner_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Return the environment of a console that starts its own local runner."""
    return clean_env(
        STUDYBOT_DATABASE=str(tmp_path / "db" / "bot.db"),
        STUDYBOT_CONTENT_DIR=str(FIXTURE_BANK),
        STUDYBOT_RUNNER_SOCKET=str(tmp_path / "runner.sock"),
        **extra,
    )


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the local runner needs root")


def test_start_welcomes_and_help_lists(tmp_path: Path) -> None:
    out = console(tmp_path, ["/start", "/help"]).stdout
    assert out.count("I help you prepare for PyTorch interviews") == 2  # at start and /start
    assert out.count("/daily — Today's question") == 3  # with each welcome, and /help


def test_long_input_is_echoed_as_a_short_excerpt(tmp_path: Path) -> None:
    proc = console(tmp_path, ["/question " + "x" * 100_000, "/" + "y" * 100_000])
    replies = [line for line in proc.stdout.splitlines() if "x" * 20 in line or "y" * 20 in line]
    assert len(replies) == 2
    assert all(len(line) < 120 for line in replies), replies
    assert "Unknown topic “" + "x" * 39 + "…”" in replies[0]


def test_unknown_zone_is_named_with_close_matches(tmp_path: Path) -> None:
    out = console(
        tmp_path, ["/timezone Mars/Olympus", "/timezone Asia/Shangai", "/timezone asia/tokyo"]
    ).stdout
    assert "Unknown time zone “Mars/Olympus”.\nUsage: /timezone <IANA name>" in out
    assert "Unknown time zone “Asia/Shangai”. Did you mean Asia/Shanghai" in out
    assert "Time zone set to Asia/Tokyo." in out


def test_cancel_drops_a_run_block(tmp_path: Path) -> None:
    proc = console(tmp_path, ["/run", "print('never')", "/cancel", "/streak"])
    assert proc.returncode == 0, proc.stderr
    assert "Cancelled: nothing was run." in proc.stdout
    assert "Streak: 0 days" in proc.stdout  # the console went on after the cancel
    assert "never" not in proc.stdout.split("/cancel")[-1]


def test_end_of_input_inside_a_run_block_runs_it_and_quits(tmp_path: Path) -> None:
    # printf '/run\nprint(1)\n' | studybot console: no final ".", no /quit.
    proc = studybot(
        "console", env=root_runner_env(tmp_path), cwd=tmp_path, stdin="/run\nprint(6 * 7)\n"
    )
    assert proc.returncode == 0, proc.stderr  # before, it waited for more input forever
    if os.geteuid() == 0:
        assert "✅ OK" in proc.stdout and "\n42\n" in proc.stdout


@needs_root
def test_welcome_comes_before_the_runner_is_warm(tmp_path: Path) -> None:
    proc = studybot(
        "console", env=root_runner_env(tmp_path), cwd=tmp_path, stdin="/run print(1)\n/quit\n"
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Hi ")  # the welcome did not wait for the runner
    warming = lines.index("> ⏳ The /run sandbox is warming up…")
    # The status, the device and time, then (after a blank line) the output.
    assert lines[warming + 1 : warming + 5] == ["✅ OK", lines[warming + 2], "", "1"]
    assert proc.stderr == ""


@needs_root
def test_console_is_not_held_to_the_per_minute_run_limit(tmp_path: Path) -> None:
    runs = [f"/run print({i})" for i in range(8)]  # the runner's default limit is 5 a minute
    proc = studybot(
        "console", env=root_runner_env(tmp_path), cwd=tmp_path, stdin="\n".join(runs) + "\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("✅ OK") == 8
    assert "Too many runs" not in proc.stdout


def as_ordinary_user(
    tmp_path: Path, stdin: str, *, userns: bool = True, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run the console as uid 1000 (see ordinary_user_prefix), without user namespaces if asked."""
    return subprocess.run(
        [*ordinary_user_prefix(userns=userns), sys.executable, "-m", "bot", "console"],
        input=stdin,
        env=root_runner_env(tmp_path, **extra),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_run_without_root_builds_its_jail_in_user_namespaces(tmp_path: Path) -> None:
    if not user_namespaces_allowed():
        pytest.skip("unprivileged user namespaces are off here")
    proc = as_ordinary_user(tmp_path, "/run import os; print(os.getuid(), 6 * 7)\n/quit\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "✅ OK" in proc.stdout
    # The job's own uid in its user namespace (from STUDYBOT_RUN_UID_RANGE), not the user's.
    uid, answer = proc.stdout.split("✅ OK\n", 1)[1].splitlines()[2].split()  # after a blank
    assert answer == "42"
    assert 60000 <= int(uid) <= 60999


NEEDS_USERNS = (
    "/run cannot build its sandbox here without root: unprivileged user namespaces are "
    "disabled on this host (user.max_user_namespaces = 0); an administrator enables them with: "
    "sudo sysctl -w user.max_user_namespaces=15000 (add it to /etc/sysctl.d/ to keep it after "
    "a reboot). Or start the console with sudo."
)


def test_run_without_root_or_user_namespaces_says_what_an_administrator_runs(
    tmp_path: Path,
) -> None:
    proc = as_ordinary_user(tmp_path, "/run print(1)\n/run\n/run print(2)\n/quit\n", userns=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no runner refusal line, no warning
    replies = [line.removeprefix("> ") for line in proc.stdout.splitlines()]
    assert replies.count(NEEDS_USERNS) == 3, proc.stdout
    assert "Paste the code" not in proc.stdout  # a bare /run says it at once, too


def test_min_level_none_without_root_runs_jobs(tmp_path: Path) -> None:
    code = (
        "import threading; t = threading.Thread(target=print, args=('side',)); t.start(); t.join()"
    )
    proc = as_ordinary_user(
        tmp_path,
        f"/run {code}\n/run print(3)\n/quit\n",
        userns=False,
        STUDYBOT_SANDBOX_MIN_LEVEL="none",
    )
    assert proc.returncode == 0, proc.stderr
    assert "crashed" not in proc.stdout
    assert proc.stdout.count("✅ OK") == 2, proc.stdout
    assert "\nside\n" in proc.stdout


@needs_root
def test_bench_reads_blocks_until_a_lone_dot_and_answers_with_a_table(tmp_path: Path) -> None:
    session = [
        *("/bench", "x = torch.randn(16, 16)", ".", "x + x", ".", "for _ in range(40): x + x"),
        ".",  # the third block: timing starts at once, without a lone dot
        *("/bench", "1 / 0", ".", "."),  # one snippet, then a lone dot
        "/bench ```2 ** 8``` ```3 ** 9```",  # fenced blocks on the command line itself
        *("/bench", "/cancel"),
        *("/bench gpu", "1", ".", "."),
        *("/bench", "."),  # nothing pasted
        "/quit",
    ]
    proc = studybot(
        "console",
        env=root_runner_env(tmp_path, STUDYBOT_BENCH_BUDGET_S="0.4"),
        cwd=tmp_path,
        stdin="\n".join(session) + "\n",
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Paste the snippet to time" in out and "Paste snippet 2, or a lone dot" in out
    tables = out.split("⏱ Benchmark")[1:]
    assert len(tables) == 2, out
    assert "B is " in tables[0] and "slower than A." in tables[0]
    assert "median" in tables[0] and "\nA " in tables[0] and "\nB " in tables[0]
    assert "❌ The snippet failed: ZeroDivisionError: division by zero (line 1)" in out
    assert "than A" in tables[1] or "same time" in tables[1]
    assert "Cancelled: nothing was run." in out
    assert "No GPU on this runner. Use /bench cpu" in out
    assert "Usage: /bench [cpu|gpu], then paste each snippet" in out


@needs_root
def test_bench_follows_the_run_allowlist(tmp_path: Path) -> None:
    proc = studybot(
        "console",
        env=root_runner_env(tmp_path, STUDYBOT_RUN_ALLOW="telegram:1"),
        cwd=tmp_path,
        stdin="/bench ```1```\n/quit\n",
    )
    assert "limited to allowed users" in proc.stdout
    assert "⏱ Benchmark" not in proc.stdout


async def test_console_says_friend_streaks_need_a_chat_with_people(core: Core) -> None:
    out = io.StringIO()
    c = Console(core, stdin=io.StringIO(""), stdout=out, user="tester")
    await c.handle("/buddy")
    assert "Friend streaks need Telegram or Discord" in out.getvalue()
    out.truncate(0)
    await c.handle("/lang zh")
    await c.handle("/buddy")
    assert "好友连续打卡需要 Telegram 或 Discord" in out.getvalue()

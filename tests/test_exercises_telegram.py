"""Exercises end to end: Telegram (fake Bot API) and the console → bot → real runner jobs."""

from __future__ import annotations

import asyncio
import html
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from bot.adapters.console import Console
from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import CONTENT_DIR, Settings
from bot.exercises.loader import load_exercises
from bot.exercises.models import Exercise
from bot.runclient import LocalRunner, RunnerClient
from bot.services.runs import RunService
from tests.conftest import requires_root
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram import TOKEN, USER, App, running

pytestmark = [pytest.mark.asyncio(loop_scope="module"), requires_root]

EXERCISES = load_exercises(CONTENT_DIR)
_SOFTMAX = EXERCISES.get("softmax")
assert _SOFTMAX is not None
SOFTMAX: Exercise = _SOFTMAX
CASES = SOFTMAX.cases.count("yield ")  # the cases a verdict on softmax counts
NO_MAX = next(w.code for w in SOFTMAX.wrong if w.name.startswith("no max subtraction"))
# The exercise /exercise opens once softmax is solved: the first other one in bank order.
AFTER_SOFTMAX = next(x.id for x in EXERCISES.exercises if x.id != "softmax")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runner(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunnerClient]:
    folder: Path = tmp_path_factory.mktemp("exercise-runner")
    settings = Settings.model_validate(
        {
            "STUDYBOT_RUNNER_SOCKET": str(folder / "runner.sock"),
            "STUDYBOT_RUN_RATE_PER_MINUTE": 1000,
            "STUDYBOT_RUN_WALL_TIME": 5,
            "STUDYBOT_LOG_LEVEL": "WARNING",
        }
    )
    async with LocalRunner(settings) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def core(make_settings: Callable[..., Settings], clock: FixedClock) -> AsyncIterator[Core]:
    settings = make_settings(STUDYBOT_RUN_WALL_TIME=5)  # as the runner's, for its messages
    async with open_core(settings, clock=clock, exercises=EXERCISES) as c:
        yield c


@pytest_asyncio.fixture(loop_scope="module")
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api


@pytest_asyncio.fixture(loop_scope="module")
async def bot(core: Core, fake: FakeBotAPI, runner: RunnerClient) -> AsyncIterator[App]:
    async with running(core, fake, RunService(runner, frozenset(), wall_time_s=5)) as app:
        yield app


async def say(fake: FakeBotAPI, text: str) -> str:
    """Send a private message and return the text of the bot's next sendMessage."""
    since = fake.mark()
    fake.send_message(USER, USER, text, chat_type="private", language_code="en")
    call = await fake.wait_for_call("sendMessage", chat_id=USER, since=since, timeout=30)
    return str(call.params["text"])


# A right softmax whose parameters are not the signature's: every call fails the same way.
RENAMED = """
import torch


def softmax(t: torch.Tensor, axis: int = -1) -> torch.Tensor:
    e = (t - t.amax(dim=axis, keepdim=True)).exp()
    return e / e.sum(dim=axis, keepdim=True)
"""


def fenced(code: str) -> str:
    return f"/submit\n```python\n{code}```"


async def test_show_fail_hint_solve_on_telegram(bot: App, fake: FakeBotAPI, core: Core) -> None:
    listed = await say(fake, "/exercises")
    assert f"0/{len(EXERCISES)} solved" in listed and "▫️ <code>softmax</code>" in listed
    shown = await say(fake, "/exercise softmax")
    assert "Numerically stable softmax" in shown
    assert "def softmax(x: torch.Tensor, dim: int = -1) -&gt; torch.Tensor:" in shown
    assert "raise NotImplementedError" in shown

    wrong = await say(fake, fenced(NO_MAX + "print('debugging <here>')\n"))
    assert f"❌ Not yet: {CASES - 1}/{CASES} cases passed" in wrong
    assert "❌ large values: NaN found" in wrong
    assert "✅ basic 4x5" in wrong
    assert "Graded in " in wrong
    assert "Your code printed:\n\n<pre>debugging &lt;here&gt;</pre>" in wrong

    renamed = await say(fake, fenced(RENAMED))
    assert renamed.count("❌") == 2  # the head and one line for every case
    assert f"❌ All {CASES} failing cases: raised TypeError: missing a required" in renamed
    assert "the signature must be softmax(x: torch.Tensor, dim: int = -1)" in renamed
    assert "yours is softmax(t, axis)" in renamed

    hint = await say(fake, "/hint")
    assert "💡 Hint 1/3" in hint and "softmax(x - c)" in hint
    assert "💡 Hint 2/3" in await say(fake, "/hint")

    solved = await say(fake, fenced(SOFTMAX.reference))
    assert f"✅ Solved! {CASES} cases passed" in solved
    assert "First solve" in solved and "Streak: 1 day" in solved
    again = await say(fake, fenced(SOFTMAX.reference))
    assert "✅ Solved!" in again and "First solve" not in again

    # One attempts row for the first solve only: the streak, the calendar and the boards.
    rows = await core.db.fetchall("SELECT source, question_id FROM attempts")
    assert [tuple(r) for r in rows] == [("exercise", "exercise:softmax")]
    progress = await core.db.fetchone("SELECT attempts, hints_used FROM exercise_progress")
    assert progress is not None and tuple(progress) == (4, 2)
    assert "✅ <code>softmax</code>" in await say(fake, "/exercises")
    board = await say(fake, "/leaderboard")
    assert "1" in board  # private chat: the user's own totals include the first solve
    # The next /exercise opens the next unsolved one.
    following = next(x.id for x in EXERCISES.exercises if x.id != "softmax")
    assert f"<code>{following}</code>" in await say(fake, "/exercise")


async def test_giveup_needs_an_attempt_then_shows_the_reference(bot: App, fake: FakeBotAPI) -> None:
    await say(fake, "/exercise softmax")
    assert "Try at least once with /submit" in await say(fake, "/giveup")
    broken = await say(fake, fenced("import torch\ndef softmax(x, dim=-1):\n    1/0\n"))
    assert "raised ZeroDivisionError: division by zero (line 3)" in broken
    gave_up = await say(fake, "/giveup")
    assert "🏳 The reference solution" in gave_up
    assert html.escape(SOFTMAX.reference.strip().splitlines()[-1].strip(), quote=False) in gave_up
    assert html.escape(SOFTMAX.explanation.en.split()[0], quote=False) in gave_up
    assert "🏳 <code>softmax</code>" in await say(fake, "/exercises")


async def test_submit_from_a_py_file_and_a_reply(bot: App, fake: FakeBotAPI) -> None:
    await say(fake, "/exercise softmax")
    since = fake.mark()
    fake.send_document(USER, USER, NO_MAX.encode(), file_name="mine.py", caption="/submit")
    call = await fake.wait_for_call("sendMessage", chat_id=USER, since=since, timeout=30)
    assert "❌ large values: NaN found" in str(call.params["text"])
    code = fake.send_message(USER, USER, SOFTMAX.reference)
    since = fake.mark()
    fake.send_message(USER, USER, "/submit", reply_to_message=code)
    call = await fake.wait_for_call("sendMessage", chat_id=USER, since=since, timeout=30)
    assert "✅ Solved!" in str(call.params["text"])


async def test_usage_lines_forbidden_names_and_limits(bot: App, fake: FakeBotAPI) -> None:
    assert "No exercise open" in await say(fake, "/hint")
    assert "No exercise open" in await say(fake, fenced(SOFTMAX.reference))
    assert "Usage: /exercise [id|topic]" in await say(fake, "/exercise nonsense")
    await say(fake, "/exercise softmax")
    assert "Usage: /submit" in await say(fake, "/submit")
    forbidden = await say(
        fake, fenced("import torch\ndef softmax(x, dim=-1):\n    return x.softmax(dim)\n")
    )
    assert "runs aten._softmax" in forbidden and "judged on the operations" in forbidden
    looping = await say(fake, fenced("def softmax(x, dim=-1):\n    while True:\n        pass\n"))
    assert "Time limit reached (5 s)" in looping
    eating = await say(
        fake,
        fenced(
            "def softmax(x, dim=-1):\n    a = []\n"
            "    while True:\n        a.append(bytearray(1 << 26))\n"
        ),
    )
    assert "Out of memory" in eating


async def test_console_exercise_hint_follows_what_was_shown_last(
    core: Core, runner: RunnerClient
) -> None:
    out = io.StringIO()
    console = Console(
        core,
        stdin=io.StringIO(NO_MAX + ".\n" + SOFTMAX.reference + ".\n"),
        stdout=out,
        user="tester",
        runs=RunService(runner, frozenset(), wall_time_s=5),
    )
    await console.handle("/question tensors")
    await console.handle("/hint")
    assert "This question has no hint." in out.getvalue()  # the question's (it has none)
    await console.handle("/exercise softmax")
    assert "Numerically stable softmax" in out.getvalue()
    await console.handle("/hint")
    assert "💡 Hint 1/3" in out.getvalue()
    await console.handle("/giveup")
    assert "Try at least once with /submit" in out.getvalue()
    await console.handle("/submit")  # reads the block up to "."
    assert "❌ large values: NaN found" in out.getvalue()
    await console.handle("/submit")
    assert f"✅ Solved! {CASES} cases passed" in out.getvalue()
    await console.handle("/question tensors")
    mark = len(out.getvalue())
    await console.handle("/hint")
    assert "This question has no hint." in out.getvalue()[mark:]  # the question again
    await console.handle("/exercises")
    assert f"1/{len(EXERCISES)} solved" in out.getvalue()[mark:]
    await console.handle("/stats")
    assert "Exercises solved: 1" in out.getvalue()[mark:]


async def test_telegram_hint_follows_what_was_shown_last(bot: App, fake: FakeBotAPI) -> None:
    await say(fake, "/question tensors")
    assert await say(fake, "/hint") == "This question has no hint."
    await say(fake, "/exercise softmax")
    assert "💡 Hint 1/3" in await say(fake, "/hint")
    await say(fake, "/question tensors")
    assert await say(fake, "/hint") == "This question has no hint."  # the question's (none)
    await say(fake, "/exercise")
    assert "💡 Hint 2/3" in await say(fake, "/hint")


class WatchedOutput(io.StringIO):
    """A terminal that tells when something was printed."""

    def __init__(self) -> None:
        super().__init__()
        self.printed = asyncio.Event()

    def write(self, text: str) -> int:
        self.printed.set()
        return super().write(text)

    async def until(self, text: str) -> None:
        while True:
            self.printed.clear()
            if text in self.getvalue():
                return
            await asyncio.wait_for(self.printed.wait(), 30)


async def test_console_submit_waits_for_an_open_quiz_poll(core: Core, runner: RunnerClient) -> None:
    out = WatchedOutput()
    console = Console(
        core,
        stdin=io.StringIO(SOFTMAX.reference + ".\n"),
        stdout=out,
        user="quizzer",
        runs=RunService(runner, frozenset(), wall_time_s=5),
    )
    await console.handle("/exercise softmax")
    await console.handle("/quiz 1")
    assert console.poll is not None
    graded = asyncio.create_task(console.handle("/submit"))  # reads the block up to "."
    await out.until("A quiz question is open here")
    assert not graded.done() and "Solved" not in out.getvalue()
    await console.handle("/stopquiz")
    await asyncio.wait_for(graded, 30)
    assert f"✅ Solved! {CASES} cases passed" in out.getvalue()

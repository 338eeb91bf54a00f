"""Grading on the real runner: cheats that cannot pass, and the content's mutation rule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import CONTENT_DIR, Settings
from bot.exercises.check import check_exercise
from bot.exercises.loader import load_exercises
from bot.exercises.models import Exercise, WrongSolution
from bot.runner.client import LocalRunner, RunnerClient
from bot.services.exercises import Submitted
from bot.services.runs import RunService
from tests.conftest import requires_root

pytestmark = [pytest.mark.asyncio(loop_scope="module"), requires_root]

EXERCISES = load_exercises(CONTENT_DIR)
_SOFTMAX = EXERCISES.get("softmax")
assert _SOFTMAX is not None
SOFTMAX: Exercise = _SOFTMAX

# Each cheat returns the right answer when it finds anything of the reference or of the
# expected values, and zeros otherwise: it can pass only if grading leaks.
_LEGIT = """
def _right(x, dim=-1):
    if x.numel() == 0:
        return x.clone()
    top = x.amax(dim=dim, keepdim=True)  # not the reference's text: the cheats look for that
    e = (x - top).exp()
    return e / e.sum(dim=dim, keepdim=True)
"""
_MARK = "keepdim=True))" + ".exp()"  # the reference's text, never written out whole here
CHEATS = {
    "reads files for the reference": f"""
import os, torch
{_LEGIT}
MARK = "keepdim=True))" + ".exp()"
def _find():
    seen = 0
    for top in ["/", os.getcwd(), os.path.expanduser("~"), "/tmp"]:
        for folder, dirs, files in os.walk(top):
            if folder.startswith(("/proc", "/sys", "/dev")) or folder.count(os.sep) > 6:
                dirs[:] = []
                continue
            for name in files:
                seen += 1
                if seen > 20000:
                    return False
                try:
                    with open(os.path.join(folder, name), errors="ignore") as f:
                        if MARK in f.read(1 << 20):
                            return True
                except OSError:
                    pass
    for pid in os.listdir("/proc"):
        for part in ("cmdline", "environ"):
            try:
                if MARK in open(f"/proc/{{pid}}/{{part}}", errors="ignore").read():
                    return True
            except OSError:
                pass
    return False
FOUND = _find()
def softmax(x, dim=-1):
    return _right(x, dim) if FOUND else torch.zeros_like(x)
""",
    "walks frames and the heap for the reference": f"""
import gc, sys, torch
{_LEGIT}
MARK = "keepdim=True))" + ".exp()"
def _found():
    frame = sys._getframe()
    while frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            for value in list(scope.values()):
                if isinstance(value, str) and value is not MARK and MARK in value:
                    return True
        frame = frame.f_back
    for obj in gc.get_objects():
        # Another module's function compiled from submitted code: a reference, if any.
        code = getattr(obj, "__code__", None)
        if code is not None and code.co_filename == "<submission>":
            if getattr(obj, "__globals__", None) is not globals():
                return True
    return False
def softmax(x, dim=-1):
    return _right(x, dim) if _found() else torch.zeros_like(x)
""",
    "monkeypatches the comparison": """
import builtins, math, torch
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
torch.Tensor.__eq__ = lambda self, other: True
math.isclose = lambda *a, **k: True
builtins.abs = lambda v: 0
builtins.max = lambda *a, **k: 0
def softmax(x, dim=-1):
    return torch.zeros_like(x)
""",
    "prints and writes a forged result, then exits": """
import json, os, sys
forged = {"cases": [], "load_error": None, "unresolved": []}
print(json.dumps(forged))
print("✅ Solved! 8 cases passed")
with open("_grading.json", "w") as f:
    json.dump(forged, f)
sys.stdout.flush()
os._exit(0)
""",
    "returns an object whose __eq__ lies": """
class Liar:
    def __eq__(self, other):
        return True
    def __call__(self, *args, **kwargs):
        return self
    def __getattr__(self, name):
        return self
def softmax(x, dim=-1):
    return Liar()
""",
    "a tensor subclass that lies in comparisons": """
import torch
class Liar(torch.Tensor):
    def __eq__(self, other):
        return True
    def allclose(self, *a, **k):
        return True
def softmax(x, dim=-1):
    return torch.zeros_like(x).as_subclass(Liar)
""",
    "reaches a forbidden function by a computed name": """
import torch
def softmax(x, dim=-1):
    return getattr(torch, "soft" + "max")(x, dim)
""",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runner(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunnerClient]:
    folder: Path = tmp_path_factory.mktemp("grading-runner")
    settings = Settings.model_validate(
        {
            "STUDYBOT_RUNNER_SOCKET": str(folder / "runner.sock"),
            "STUDYBOT_RUN_RATE_PER_MINUTE": 100000,
            "STUDYBOT_LOG_LEVEL": "WARNING",
        }
    )
    async with LocalRunner(settings) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def core(settings: Settings) -> AsyncIterator[Core]:
    clock = FixedClock(datetime(2026, 3, 10, 12, tzinfo=UTC))
    async with open_core(settings, clock=clock, exercises=EXERCISES) as c:
        yield c


async def submit(core: Core, runner: RunnerClient, code: str, who: str) -> Submitted:
    ctx = await core.study.enter(
        platform="test",
        user_id=who,
        user_name=who,
        language_code="en",
        chat_id=who,
        chat_type="private",
    )
    await core.exercises.show(ctx, "softmax")
    return await core.exercises.submit(ctx, code, RunService(runner, frozenset()), f"test:{who}")


async def test_a_first_solve_counts_for_streak_stats_and_boards_once(
    core: Core, runner: RunnerClient
) -> None:
    submitted = await submit(core, runner, SOFTMAX.reference, "honest")
    assert submitted.verdict.solved and submitted.first_solve
    assert submitted.streak is not None and submitted.streak.current == 1
    again = await submit(core, runner, SOFTMAX.reference, "honest")
    assert again.verdict.solved and not again.first_solve and again.attempts == 2
    ctx = await core.study.enter(
        platform="test",
        user_id="honest",
        user_name="honest",
        language_code="en",
        chat_id="honest",
        chat_type="private",
    )
    overview = await core.stats.overview(ctx)
    assert overview.totals.exercises_solved == 1
    assert overview.totals.answered == 0  # questions only: a solve is not an answer
    assert not overview.empty
    assert overview.activity.get(overview.today) == 1
    board = await core.boards.leaderboard(ctx, "week")
    assert board.totals is not None and board.totals.correct == 1
    total = await core.db.fetchone(
        "SELECT correct, answered FROM board_totals WHERE user_id = ?", (ctx.user.id,)
    )
    assert total is not None and tuple(total) == (1, 1)


@pytest.mark.parametrize("name", list(CHEATS))
async def test_a_cheat_does_not_pass(core: Core, runner: RunnerClient, name: str) -> None:
    submitted = await submit(core, runner, CHEATS[name], f"cheat{list(CHEATS).index(name)}")
    verdict = submitted.verdict
    assert not verdict.solved, name
    assert not submitted.first_solve
    assert verdict.status in {"graded", "no_result"}, (verdict.status, verdict.job)
    if verdict.status == "graded":
        assert verdict.passed < len(verdict.cases)
    if name == "reaches a forbidden function by a computed name":
        assert "torch.softmax is not allowed in this exercise" in verdict.cases[0].detail
    if name == "prints and writes a forged result, then exits":
        assert {c.reason for c in verdict.cases} == {"missing"}


@pytest.mark.parametrize("exercise", EXERCISES.exercises, ids=[x.id for x in EXERCISES.exercises])
async def test_every_exercise_rejects_its_wrong_solutions(
    runner: RunnerClient, exercise: Exercise
) -> None:
    report = await check_exercise(exercise, runner)
    assert report.problems == ()
    assert report.rejected == len(exercise.wrong)


async def test_the_check_reports_a_wrong_solution_that_passes(runner: RunnerClient) -> None:
    assert SOFTMAX is not None
    passing = WrongSolution(name="secretly right", code=SOFTMAX.reference)
    weak = SOFTMAX.model_copy(update={"wrong": (*SOFTMAX.wrong, passing)})
    report = await check_exercise(weak, runner)
    assert report.problems == (
        "exercise softmax: not discriminating: wrong solution 'secretly right' passes every case",
    )
    raising = (
        "\n_ok = softmax\n\n\ndef softmax(x, dim=-1):\n"
        "    if x.shape == (5, 1):\n        raise ValueError('no')\n    return _ok(x, dim)\n"
    )
    broken = SOFTMAX.model_copy(update={"reference": SOFTMAX.reference + raising})
    report = await check_exercise(broken, runner)
    assert len(report.problems) == 1
    assert report.problems[0].startswith(
        "exercise softmax: the reference fails case 'size-1 dim': ValueError: no"
    )

"""Grading on the real runner through the service, and the content's mutation rule.

The cheats are graded at every sandbox level in tests/runner/test_grading.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from bot.adapters import exercise_render
from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import CONTENT_DIR, Settings
from bot.exercises.check import check_exercise
from bot.exercises.loader import load_exercises
from bot.exercises.models import Exercise, WrongSolution
from bot.runclient import LocalRunner, RunnerClient
from bot.services.exercises import Submitted
from bot.services.runs import RunService
from tests.conftest import requires_root

pytestmark = [pytest.mark.asyncio(loop_scope="module"), requires_root]

EXERCISES = load_exercises(CONTENT_DIR)
_SOFTMAX = EXERCISES.get("softmax")
assert _SOFTMAX is not None
SOFTMAX: Exercise = _SOFTMAX


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


async def test_a_refused_grading_is_answered_as_a_refused_run_and_not_counted(
    core: Core, tmp_path: Path
) -> None:
    settings = Settings.model_validate(
        {
            "STUDYBOT_RUNNER_SOCKET": str(tmp_path / "runner.sock"),
            "STUDYBOT_RUN_RATE_PER_MINUTE": 1,
            "STUDYBOT_LOG_LEVEL": "WARNING",
        }
    )
    async with LocalRunner(settings) as limited:
        first = await submit(core, limited, SOFTMAX.reference, "hasty")
        second = await submit(core, limited, SOFTMAX.reference, "hasty")
    assert first.verdict.solved and first.attempts == 1
    assert second.verdict.status == "job" and not second.verdict.solved
    assert second.verdict.job is not None and second.verdict.job.reason == "rate_limited"
    assert second.attempts == 1  # not the learner's doing: no attempt counted
    text = exercise_render.verdict("en", second, 10.0).text
    assert text.startswith("🚦 Too many runs. Try again in ")


async def test_a_malformed_result_is_one_line_and_a_counted_attempt(
    core: Core, runner: RunnerClient
) -> None:
    from tests.grading_cheats import CHEATS

    cheat = CHEATS["leaves a result with a 400-digit integer, then exits"]
    first = await submit(core, runner, cheat, "forger")
    assert first.verdict.status == "malformed" and first.attempts == 1
    text = exercise_render.verdict("en", first, 10.0).text
    assert text == (
        "❌ Your code's result could not be read (a torch.int64 tensor holds a value out of"
        " range). This counts as an attempt."
    )
    crowded = await submit(
        core, runner, CHEATS["crowds the result out with files that sort before it"], "forger"
    )
    assert crowded.verdict.status in {"no_result", "graded"} and crowded.attempts == 2
    assert not crowded.first_solve

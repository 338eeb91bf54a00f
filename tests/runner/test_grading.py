"""Grading through the real runner at every level: no cheat passes, nothing hidden leaks.

Each cheat of tests/grading_cheats.py is graded as a learner's /submit would be, against a
fenced runner at each isolation level this machine offers (strong, basic, strong without
root), for a graph exercise (softmax) and for the same exercise graded on values.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from bot.exercises.check import program_runner
from bot.exercises.grading import Grader, Verdict
from bot.exercises.models import Exercise
from tests.grading_cheats import (
    CHEATS,
    EXERCISES,
    FORBIDDEN,
    HIDDEN,
    SLOW_WITH_A_STOPPED_CLOCK,
    SOFTMAX,
)
from tests.runner.conftest import REPO, Fence, RunnerUnderTest, unprivileged_user

# The same exercise judged on the values the code returns (as values-only exercises are).
SOFTMAX_VALUES = SOFTMAX.model_copy(update={"grading": "values", "forbidden": ()})


def grade(runner: RunnerUnderTest, exercise: Exercise, code: str, key: str) -> Verdict:
    run = program_runner(runner.client(), f"cheat:{key}")
    return asyncio.run(Grader().grade(exercise, code, run))


def _seen(verdict: Verdict) -> str:
    """What the code's own job could print, write or raise (the verdict shows case names)."""
    job = verdict.job
    if job is None:
        return ""
    files = [f.data.decode(errors="replace") for f in job.files]
    details = [c.detail for c in verdict.cases]
    return "\n".join([job.stdout, job.stderr, *files, *details])


@pytest.mark.parametrize("name", list(CHEATS))
def test_a_cheat_does_not_pass_a_graph_exercise(runner: RunnerUnderTest, name: str) -> None:
    verdict = grade(runner, SOFTMAX, CHEATS[name], f"graph:{list(CHEATS).index(name)}")
    assert not verdict.solved, (name, verdict)
    if name in FORBIDDEN:
        assert verdict.status == "forbidden" and "aten._softmax" in verdict.forbidden
    else:
        assert verdict.status in {"graded", "no_result", "malformed", "job"}, (name, verdict)
    if verdict.status == "graded":
        assert verdict.passed < len(verdict.cases)
    for hidden in HIDDEN:
        assert hidden not in _seen(verdict), (name, hidden)


@pytest.mark.parametrize("name", list(CHEATS))
def test_a_cheat_does_not_pass_a_values_exercise(runner: RunnerUnderTest, name: str) -> None:
    verdict = grade(runner, SOFTMAX_VALUES, CHEATS[name], f"values:{list(CHEATS).index(name)}")
    if name in FORBIDDEN:
        # Judged on values alone, a forbidden call is a right answer: the reason why
        # exercises that forbid operations are graded on graphs.
        assert verdict.solved, (name, verdict)
        return
    assert not verdict.solved, (name, verdict)
    assert verdict.status in {"graded", "no_result", "malformed", "job"}, (name, verdict)
    for hidden in HIDDEN:
        assert hidden not in _seen(verdict), (name, hidden)


def test_a_malformed_result_is_one_clear_line(runner: RunnerUnderTest) -> None:
    code = CHEATS["leaves a result with a 400-digit integer, then exits"]
    for exercise in (SOFTMAX, SOFTMAX_VALUES):
        verdict = grade(runner, exercise, code, f"huge:{exercise.grading}")
        assert verdict.status == "malformed", verdict
        assert verdict.detail in {
            "an integer is out of range",
            "a torch.int64 tensor holds a value out of range",
        }, verdict.detail


def test_a_stopped_clock_does_not_make_a_loop_fast(runner: RunnerUnderTest) -> None:
    exercise = EXERCISES.get("vectorize-segment-mean")
    assert exercise is not None and exercise.max_ops
    verdict = grade(runner, exercise, SLOW_WITH_A_STOPPED_CLOCK, "clock")
    assert not verdict.solved
    assert {c.reason for c in verdict.cases if not c.passed} & {"ops"}, verdict.cases
    right = grade(runner, exercise, exercise.reference, "clock-reference")
    assert right.solved and right.ops is not None and right.ops * 4 <= exercise.max_ops


def test_content_check_as_an_ordinary_user_runs_in_the_sandbox(tmp_path: Path) -> None:
    user = unprivileged_user()
    fence = Fence()
    tmp_path.chmod(0o777)
    command = [*fence.prefix(), *user.prefix(), user.python, "-m", "bot", "content", "check"]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}

    def check(exercise: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, "--exercise", exercise],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    try:
        unknown, checked = check("layernorm"), check("softmax")
    finally:
        fence.remove()
    assert unknown.returncode == 1
    assert "no exercise layernorm (did you mean layer-norm?)" in unknown.stderr
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "running 1 exercise(s) on the local sandbox runner" in checked.stdout
    assert "exercise softmax: the reference passes" in checked.stdout

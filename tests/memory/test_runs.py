"""/run and a graded exercise on the in-memory platform, in the real sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import open_core
from bot.clock import FixedClock
from bot.config import CONTENT_DIR, Settings
from bot.errors import UserInputError
from bot.exercises.loader import load_exercises
from bot.runclient import LocalRunner, RunnerClient
from bot.services.runs import RunService
from tests.conftest import requires_root
from tests.memory.people import Member
from tests.memory.platform import MemoryPlatform

RIGHT = """
import torch

def softmax(x, dim=-1):
    if x.numel() == 0:
        return x.clone()
    e = torch.exp(x - x.amax(dim, keepdim=True))
    return e / e.sum(dim, keepdim=True)
"""

pytestmark = [pytest.mark.asyncio(loop_scope="module"), requires_root]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runner(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunnerClient]:
    folder: Path = tmp_path_factory.mktemp("memory-runner")
    settings = Settings.model_validate(
        {
            "STUDYBOT_RUNNER_SOCKET": str(folder / "runner.sock"),
            "STUDYBOT_RUN_RATE_PER_MINUTE": 1000,
            "STUDYBOT_RUN_CPU_CONCURRENCY": 1,
            "STUDYBOT_RUN_WALL_TIME": 10,
        }
    )
    local = LocalRunner(settings)
    client = await local.__aenter__()
    yield client
    await local.__aexit__(None, None, None)


async def test_run_keeps_to_the_allowlist_and_waits_for_an_open_quiz_poll(
    settings: Settings, clock: FixedClock, runner: RunnerClient
) -> None:
    async with open_core(settings, clock=clock) as core:
        platform = MemoryPlatform(clock=clock)
        await core.platforms.attach(platform)
        runs = RunService(runner, frozenset({("memory", 101)}))
        ann = Member(core, platform, "101", "-500", group=True, runs=runs)
        bob = Member(core, platform, "102", "-500", group=True, runs=runs)
        with pytest.raises(UserInputError, match="run_not_allowed"):
            await bob.run("print(1)", [])
        await ann.quiz("1")
        await platform.wait_for("poll", "-500")
        held: list[str] = []
        run = asyncio.ensure_future(ann.run("print(6 * 7)", held))
        await asyncio.sleep(0.2)
        assert held == ["held for the quiz"] and not run.done()
        clock.set(clock.now() + timedelta(seconds=45))
        await core.timers.run_due()  # the poll's deadline: it closes, the code goes
        result = await asyncio.wait_for(run, 60)
        assert (result.status, result.stdout) == ("ok", "42\n")


async def test_an_exercise_is_solved_and_counts_for_the_streak(
    settings: Settings, clock: FixedClock, runner: RunnerClient
) -> None:
    exercises = load_exercises(CONTENT_DIR)
    async with open_core(settings, clock=clock, exercises=exercises) as core:
        platform = MemoryPlatform(clock=clock)
        await core.platforms.attach(platform)
        ann = Member(core, platform, "101", "101", runs=RunService(runner, frozenset()))
        await ann.exercise("softmax")
        wrong = await ann.submit("import torch\ndef softmax(x, dim=-1):\n    return x\n")
        assert not wrong.verdict.solved
        solved = await ann.submit(RIGHT)
        assert solved.verdict.solved and solved.first_solve
        assert solved.streak is not None and solved.streak.current == 1

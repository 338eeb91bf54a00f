"""`studybot content check` for exercises: the reference passes, every wrong solution fails.

Programs go to the same runner the bot uses when one is at hand; otherwise (no root, no
STUDYBOT_RUNNER_URL) to plain subprocesses, which is fine for the bank's own trusted code.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.exercises.grading import (
    PUBLIC_SEED,
    Grader,
    ReferenceFailed,
    Role,
    RunProgram,
    Verdict,
    run_reference,
)
from bot.exercises.models import Exercise
from bot.runclient import Runner
from bot.runner.protocol import RunFile, RunRequest, RunResult

# The seed the check draws its cases from: fixed, so that a check gives the same result on
# every run (users' gradings each draw a fresh one).
CHECK_SEED = 20261207
# Output kept from a plain subprocess (the runner caps it too).
_PLAIN_OUTPUT_BYTES = 64 * 1024


class PlainRunner:
    """Run trusted programs as plain Python subprocesses, `concurrency` at a time (no sandbox)."""

    def __init__(self, wall_time_s: float = 60.0, concurrency: int = 2) -> None:
        self.wall_time_s = wall_time_s
        self._slots = asyncio.Semaphore(concurrency)

    async def run(
        self, request: RunRequest, on_queued: Callable[[int], Awaitable[None]] | None = None
    ) -> RunResult:
        """Run the request's code in a fresh temporary directory and collect the result file."""
        async with self._slots:
            with tempfile.TemporaryDirectory(prefix="studybot-exercise-") as folder:
                for given in request.files:
                    (Path(folder) / given.name).write_bytes(given.data)
                started = time.monotonic()
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-c",
                    request.code,
                    cwd=folder,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                try:
                    out, err = await asyncio.wait_for(proc.communicate(), self.wall_time_s)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
                    return RunResult("timeout", None, 9, "cpu", 0.0, "", "", False)
                files = await asyncio.to_thread(_left_in, Path(folder))
                return RunResult(
                    "ok" if proc.returncode == 0 else "error",
                    proc.returncode,
                    None,
                    "cpu",
                    (time.monotonic() - started) * 1000,
                    out[:_PLAIN_OUTPUT_BYTES].decode(errors="replace"),
                    err[-_PLAIN_OUTPUT_BYTES:].decode(errors="replace"),
                    False,
                    files,
                )


def _left_in(folder: Path) -> tuple[RunFile, ...]:
    """Return the regular files a program left in `folder`, in name order."""
    return tuple(
        RunFile(path.name, path.read_bytes())
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.is_symlink()
    )


@dataclass(frozen=True)
class ExerciseReport:
    """What the check found for one exercise: problems (empty when it is sound) and counts."""

    exercise_id: str
    cases: int
    rejected: int
    problems: tuple[str, ...]
    ops: int | None = None  # the reference's largest graph (graph exercises)


def program_runner(runner: Runner, key: str) -> RunProgram:
    """Return a RunProgram for `runner` whose jobs carry user keys under `key`."""
    count = 0

    async def run(program: str, role: Role, files: tuple[RunFile, ...]) -> RunResult:
        nonlocal count
        count += 1
        request = RunRequest(
            code=program, user_key=f"{key}:{role}:{count}", device="cpu", files=files
        )
        return await runner.run(request)

    return run


def _holds_tensor(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if value.get("t") == "tensor":
        return True
    items = value.get("items")
    children = items.values() if isinstance(items, dict) else items or []
    return any(_holds_tensor(item) for item in children)


def _reasons(verdict: Verdict) -> str:
    failed = [c for c in verdict.cases if not c.passed]
    if not failed:
        return verdict.detail or verdict.status
    return "; ".join(
        f"{c.name}: {c.reason} {c.where} {c.detail or c.got}".strip() for c in failed[:3]
    )


async def check_exercise(
    exercise: Exercise, runner: Runner, seed: int = CHECK_SEED
) -> ExerciseReport:
    """Run the reference, the starter and every wrong solution; report what does not hold."""
    run = program_runner(runner, f"content-check:{exercise.id}")
    where = f"exercise {exercise.id}"
    try:
        public = await run_reference(exercise, run, PUBLIC_SEED)
        reference = await run_reference(exercise, run, seed)
    except ReferenceFailed as e:
        return ExerciseReport(exercise.id, 0, 0, (f"{where}: the reference did not run: {e}",))
    cases = reference.document["cases"]
    problems = [
        f"{where}: the reference fails case {case['name']!r}: {case['error']}"
        for case in cases
        if "error" in case
    ]
    if exercise.grading == "graph":
        # Plain values in a result come from the trace, in the code's own process: a pass
        # must also rest on tensors that only running the graph on the secret cases gives.
        if not any(_holds_tensor(case.get("value")) for case in cases):
            problems.append(
                f"{where}: no case returns a tensor: a graph exercise's verdict must rest on "
                "values its graph computes (or use grading: values)"
            )
        for drawn, fixed in zip(cases, public.document["cases"], strict=True):
            if drawn.get("spec") != fixed.get("spec"):
                problems.append(
                    f"{where}: case {drawn['name']!r} changes its structure, shapes, dtypes or "
                    "plain values with the seed (a graph is traced on one draw, run on another)"
                )
    if problems:
        return ExerciseReport(exercise.id, len(cases), 0, tuple(problems))
    grader = Grader()
    verdicts = await asyncio.gather(
        grader.grade(exercise, exercise.reference, run, reference),
        grader.grade(exercise, exercise.starter, run, reference),
        *(grader.grade(exercise, w.code, run, reference) for w in exercise.wrong),
    )
    again, starter, *wrong = verdicts
    if not again.solved:
        problems.append(
            f"{where}: the reference fails its own grading ({again.status}): {_reasons(again)}"
        )
    elif exercise.max_ops and (again.ops or 0) * 4 > exercise.max_ops:
        problems.append(
            f"{where}: max_ops {exercise.max_ops} is under 4 times the reference's {again.ops}"
        )
    if starter.solved:
        problems.append(f"{where}: the starter code passes every case")
    rejected = 0
    for solution, verdict in zip(exercise.wrong, wrong, strict=True):
        if verdict.solved:
            problems.append(
                f"{where}: not discriminating: wrong solution {solution.name!r} passes every case"
            )
        else:
            rejected += 1
    return ExerciseReport(exercise.id, len(cases), rejected, tuple(problems), again.ops)


async def check_exercises(exercises: tuple[Exercise, ...], runner: Runner) -> list[ExerciseReport]:
    """Check every exercise, a few at a time."""
    slots = asyncio.Semaphore(4)

    async def one(exercise: Exercise) -> ExerciseReport:
        async with slots:
            return await check_exercise(exercise, runner)

    return list(await asyncio.gather(*(one(x) for x in exercises)))

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

from bot.exercises.grading import Role, grade, result_document
from bot.exercises.harness import RESULT_FILE, build_program
from bot.exercises.models import Exercise
from bot.runner.protocol import RunFile, RunRequest, RunResult
from bot.services.runs import Runner

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
                result = Path(folder) / RESULT_FILE
                files = (
                    (RunFile(RESULT_FILE, result.read_bytes(), False),) if result.exists() else ()
                )
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


@dataclass(frozen=True)
class ExerciseReport:
    """What the check found for one exercise: problems (empty when it is sound) and counts."""

    exercise_id: str
    cases: int
    rejected: int
    problems: tuple[str, ...]


def program_runner(runner: Runner, key: str) -> Callable[[str, Role], Awaitable[RunResult]]:
    """Return a RunProgram for `runner` whose jobs carry user keys under `key`."""
    count = 0

    async def run(program: str, role: Role) -> RunResult:
        nonlocal count
        count += 1
        request = RunRequest(code=program, user_key=f"{key}:{role}:{count}", device="cpu")
        return await runner.run(request)

    return run


async def check_exercise(exercise: Exercise, runner: Runner) -> ExerciseReport:
    """Run the reference and every wrong solution; report what does not hold."""
    run = program_runner(runner, f"content-check:{exercise.id}")
    where = f"exercise {exercise.id}"
    ref_run = await run(build_program(exercise, exercise.reference), "reference")
    reference = result_document(ref_run)
    if reference is None:
        tail = ref_run.stderr.strip().splitlines()[-1:] or [ref_run.reason or ref_run.status]
        return ExerciseReport(
            exercise.id, 0, 0, (f"{where}: the reference did not run: {tail[0]}",)
        )
    problems = [
        f"{where}: forbidden name {name} does not exist in this torch"
        for name in reference.get("unresolved") or []
    ]
    if reference.get("load_error"):
        problems.append(f"{where}: the reference does not load: {reference['load_error']}")
    for case in reference["cases"]:
        if "error" in case:
            problems.append(f"{where}: the reference fails case {case['name']!r}: {case['error']}")
    if not reference["cases"]:
        problems.append(f"{where}: cases() yields no case")
    if problems:
        return ExerciseReport(exercise.id, len(reference["cases"]), 0, tuple(problems))
    verdicts = await asyncio.gather(
        grade(exercise, exercise.reference, run, reference),
        grade(exercise, exercise.starter, run, reference),
        *(grade(exercise, w.code, run, reference) for w in exercise.wrong),
    )
    again, starter, *wrong = verdicts
    if not again.solved:
        failed = ", ".join(c.name for c in again.cases if not c.passed) or again.status
        problems.append(f"{where}: the reference does not match itself on {failed} (randomness?)")
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
    return ExerciseReport(exercise.id, len(reference["cases"]), rejected, tuple(problems))


async def check_exercises(exercises: tuple[Exercise, ...], runner: Runner) -> list[ExerciseReport]:
    """Check every exercise, a few at a time."""
    slots = asyncio.Semaphore(4)

    async def one(exercise: Exercise) -> ExerciseReport:
        async with slots:
            return await check_exercise(exercise, runner)

    return list(await asyncio.gather(*(one(x) for x in exercises)))

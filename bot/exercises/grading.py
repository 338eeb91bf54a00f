"""Grade code for an exercise: two sandbox jobs in parallel, then a plain-Python comparison."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from bot.exercises.compare import CaseVerdict, compare_documents, parse_document
from bot.exercises.forbidden import forbidden_used
from bot.exercises.harness import RESULT_FILE, build_program
from bot.exercises.models import Exercise
from bot.runner.protocol import RunResult

log = logging.getLogger(__name__)

Role = Literal["submission", "reference"]
# Runs one grading program as the given role (the caller picks user keys and limits).
RunProgram = Callable[[str, Role], Awaitable[RunResult]]
Status = Literal["graded", "forbidden", "job", "no_result", "reference"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of grading one piece of code.

    graded: `cases` holds a verdict per case. forbidden: the source names a disallowed API
    (nothing ran). job: the code's job did not finish (timeout, memory, rejected…: `job`
    says which). no_result: it ended without writing its outputs. reference: the reference
    job failed, so nothing could be compared (the exercise or the runner is at fault).
    """

    exercise_id: str
    status: Status
    cases: tuple[CaseVerdict, ...] = ()
    forbidden: tuple[str, ...] = ()
    job: RunResult | None = None
    seconds: float = 0.0

    @property
    def solved(self) -> bool:
        """Tell whether every case passed."""
        return self.status == "graded" and bool(self.cases) and all(c.passed for c in self.cases)

    @property
    def passed(self) -> int:
        """Return how many cases passed."""
        return sum(1 for c in self.cases if c.passed)


def result_document(result: RunResult) -> dict[str, Any] | None:
    """Return the outputs a grading job wrote, or None if it wrote none."""
    for f in result.files:
        if f.name == RESULT_FILE:
            return parse_document(f.data)
    return None


async def grade(
    exercise: Exercise,
    code: str,
    run: RunProgram,
    reference: dict[str, Any] | None = None,
) -> Verdict:
    """Grade `code`; the reference job runs alongside unless its document is given."""
    used = forbidden_used(code, exercise.forbidden)
    if used:
        return Verdict(exercise.id, "forbidden", forbidden=tuple(used))
    started = time.monotonic()
    jobs: list[Awaitable[RunResult]] = [run(build_program(exercise, code), "submission")]
    if reference is None:
        jobs.append(run(build_program(exercise, exercise.reference), "reference"))
    results = await asyncio.gather(*jobs)
    seconds = time.monotonic() - started
    mine = results[0]
    if reference is None:
        if results[1].status in {"rejected", "crashed"}:
            # Refused (rate limit, busy) or the runner went away: said as for any /run.
            return Verdict(exercise.id, "job", job=results[1], seconds=seconds)
        reference = result_document(results[1])
        if reference is None or reference.get("load_error"):
            log.error(
                "exercise %s: the reference job failed: %s %s %s",
                exercise.id,
                results[1].status,
                results[1].reason,
                results[1].stderr[-500:],
            )
            return Verdict(exercise.id, "reference", job=results[1], seconds=seconds)
    if mine.status in {"timeout", "memory", "killed", "rejected", "crashed"}:
        return Verdict(exercise.id, "job", job=mine, seconds=seconds)
    document = result_document(mine)
    if document is None:
        return Verdict(exercise.id, "no_result", job=mine, seconds=seconds)
    cases = compare_documents(reference, document, exercise.tolerance)
    return Verdict(exercise.id, "graded", cases=cases, job=mine, seconds=seconds)

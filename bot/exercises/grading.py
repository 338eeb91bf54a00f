"""Grade code for an exercise on evidence the code cannot touch.

Every grading draws its cases from a fresh secret seed in the reference job, the only job
that holds the case program. Then, by the exercise's `grading`:
- graph: the submission's job traces the code on inputs drawn once from a public seed, so
  whatever it computes there is useless on the secret cases. The grader checks each graph
  (ATen operations only, none forbidden, no more than allowed), and a job that holds no
  submitted code runs the graphs on the secret inputs. Those values are compared.
- values: the submission's job is given the secret inputs and its returned values are
  compared; what it computes and how is not judged (the README says which exercises).
Nothing printed, written or decided by the submission's process is taken at its word: every
document is validated (documents.py) and compared in plain Python (compare.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from bot.exercises.compare import CaseVerdict, compare_documents
from bot.exercises.documents import (
    Malformed,
    NoResult,
    Traced,
    TraceFailed,
    job_document,
    load,
    result_file,
    trace_document,
)
from bot.exercises.models import Exercise
from bot.exercises.programs import (
    GRAPH_FILE,
    GRAPHS_IN,
    INPUTS_IN,
    INPUTS_OUT,
    RESULT_FILE,
    execute_program,
    max_ops,
    reference_program,
    trace_program,
    values_program,
)
from bot.runner.protocol import RunFile, RunResult

log = logging.getLogger(__name__)

# submission: the code's own job; reference: the reference; execute: running the graphs;
# grader: drawing the public trace inputs (once per exercise). Each role is its own user key
# at the runner, so one grading is one job per key, as a /run is.
Role = Literal["submission", "reference", "execute", "grader"]
# Runs one grading program as the given role with input files (the caller picks user keys).
RunProgram = Callable[[str, Role, tuple[RunFile, ...]], Awaitable[RunResult]]
Status = Literal["graded", "forbidden", "job", "no_result", "malformed", "reference"]
MAX_CASES = 64
PUBLIC_SEED = 0
_FAILED_JOB = {"timeout", "memory", "killed", "rejected", "crashed"}


@dataclass(frozen=True)
class Verdict:
    """The outcome of grading one piece of code.

    graded: `cases` holds a verdict per case. forbidden: the code ran operations the exercise
    does not allow (`forbidden` names them). job: the code's job did not finish (timeout,
    memory, rejected…: `job` says which). no_result / malformed: it ended without a result, or
    with one the grader does not accept (`detail` says why). reference: the reference job
    failed, so nothing could be compared (the exercise or the runner is at fault).
    """

    exercise_id: str
    status: Status
    cases: tuple[CaseVerdict, ...] = ()
    forbidden: tuple[str, ...] = ()
    job: RunResult | None = None
    seconds: float = 0.0
    detail: str = ""
    ops: int | None = None  # the most operations one case's graph ran (graph exercises)

    @property
    def solved(self) -> bool:
        """Tell whether every case passed."""
        return self.status == "graded" and bool(self.cases) and all(c.passed for c in self.cases)

    @property
    def passed(self) -> int:
        """Return how many cases passed."""
        return sum(1 for c in self.cases if c.passed)


@dataclass(frozen=True)
class Reference:
    """One reference run: its document and the inputs it drew."""

    document: dict[str, Any]
    inputs: bytes
    case_seeds: list[int]

    @property
    def cases(self) -> int:
        """Return the number of cases."""
        return len(self.document["cases"])


class ReferenceFailed(Exception):
    """The reference job did not give a usable result."""

    def __init__(self, result: RunResult, why: str) -> None:
        super().__init__(why)
        self.result = result


def case_seeds(seed: int) -> list[int]:
    """Return the per-case seeds for random operations inside the code, from `seed`."""
    draw = random.Random(seed)  # noqa: S311 - reproducible streams, not secrets
    return [draw.getrandbits(31) for _ in range(MAX_CASES)]


async def run_reference(
    exercise: Exercise, run: RunProgram, seed: int, role: Role = "reference"
) -> Reference:
    """Draw the cases from `seed` and run the reference on them."""
    seeds = case_seeds(seed)
    result = await run(reference_program(exercise, seed, seeds), role, ())
    if result.status in {"rejected", "crashed"}:
        raise ReferenceFailed(result, result.reason or result.status)
    try:
        doc = load(result_file(result, RESULT_FILE))
        inputs = result_file(result, INPUTS_OUT)
    except Malformed as e:
        tail = result.stderr.strip().splitlines()[-1:] or [result.reason or result.status]
        raise ReferenceFailed(result, f"{e}: {tail[0]}") from None
    if doc.get("load_error"):
        raise ReferenceFailed(result, f"the reference does not load: {doc['load_error']}")
    if not doc["cases"] or len(doc["cases"]) > MAX_CASES:
        raise ReferenceFailed(result, f"cases() must yield 1 to {MAX_CASES} cases")
    return Reference(doc, inputs, seeds)


class Grader:
    """Grades code for exercises; keeps each exercise's public trace inputs once drawn."""

    def __init__(self) -> None:
        self._public: dict[str, bytes] = {}

    async def public_inputs(self, exercise: Exercise, run: RunProgram) -> bytes:
        """Return the inputs graphs are traced on: drawn once from a public seed."""
        key = hashlib.sha256(f"{exercise.cases}\0{exercise.check}".encode()).hexdigest()
        key = f"{exercise.id}:{key}"
        if key not in self._public:
            self._public[key] = (await run_reference(exercise, run, PUBLIC_SEED, "grader")).inputs
        return self._public[key]

    async def grade(
        self,
        exercise: Exercise,
        code: str,
        run: RunProgram,
        reference: Reference | None = None,
        seed: int | None = None,
    ) -> Verdict:
        """Grade `code`; the reference runs on a fresh secret seed unless given."""
        started = time.monotonic()
        drawn = seed if seed is not None else secrets.randbits(31)
        try:
            if exercise.grading == "values":
                reference = reference or await run_reference(exercise, run, drawn)
                verdict = await self._values(exercise, code, run, reference)
            else:
                verdict = await self._graph(exercise, code, run, reference, drawn)
        except ReferenceFailed as e:
            if e.result.status in {"rejected", "crashed"}:
                # Refused (rate limit, busy) or the runner went away: said as for any /run.
                return Verdict(exercise.id, "job", job=e.result)
            log.error(
                "exercise %s: the reference job failed: %s (%s)", exercise.id, e, e.result.status
            )
            return Verdict(exercise.id, "reference", job=e.result)
        return _timed(verdict, time.monotonic() - started)

    async def _values(
        self, exercise: Exercise, code: str, run: RunProgram, reference: Reference
    ) -> Verdict:
        given = (RunFile(INPUTS_IN, reference.inputs),)
        mine = await run(values_program(exercise, code, reference.case_seeds), "submission", given)
        if mine.status in _FAILED_JOB:
            return Verdict(exercise.id, "job", job=mine)
        try:
            document = job_document(result_file(mine, RESULT_FILE), reference.cases)
        except Malformed as e:
            return _malformed(exercise, mine, e)
        cases = compare_documents(
            reference.document, document, exercise.tolerance, exercise.tolerance64
        )
        return Verdict(exercise.id, "graded", cases=cases, job=mine)

    async def _graph(
        self,
        exercise: Exercise,
        code: str,
        run: RunProgram,
        reference: Reference | None,
        seed: int,
    ) -> Verdict:
        async def traced() -> RunResult:
            public = await self.public_inputs(exercise, run)
            program = trace_program(exercise, code, case_seeds(PUBLIC_SEED))
            return await run(program, "submission", (RunFile(INPUTS_IN, public),))

        if reference is not None:
            return await self._judge(exercise, run, reference, await traced())
        drawn, mine = await asyncio.gather(run_reference(exercise, run, seed), traced())
        return await self._judge(exercise, run, drawn, mine)

    async def _judge(
        self, exercise: Exercise, run: RunProgram, reference: Reference, mine: RunResult
    ) -> Verdict:
        """Check the traced graphs, run them on the reference's inputs and compare."""
        if mine.status in _FAILED_JOB:
            return Verdict(exercise.id, "job", job=mine)
        limit = max_ops(exercise)
        inputs = [int(c.get("tensors", 0)) for c in reference.document["cases"]]
        try:
            load_error, graphs = trace_document(result_file(mine, GRAPH_FILE), inputs, limit)
        except Malformed as e:
            return _malformed(exercise, mine, e)
        if load_error is not None:
            failed = {"cases": [{} for _ in inputs], "load_error": load_error}
            cases = compare_documents(reference.document, failed, exercise.tolerance)
            return Verdict(exercise.id, "graded", cases=cases, job=mine)
        used = frozenset().union(*(g.used for g in graphs if isinstance(g, Traced)))
        forbidden = tuple(name for name in exercise.forbidden if name in used)
        if forbidden:
            return Verdict(exercise.id, "forbidden", forbidden=forbidden, job=mine)
        ran = await self._execute(reference, graphs, run)
        if ran.status in _FAILED_JOB:
            return Verdict(exercise.id, "job", job=ran)
        try:
            document = job_document(result_file(ran, RESULT_FILE), reference.cases)
        except Malformed as e:
            # The execute job holds no submitted code: what it could not report is the graphs'
            # doing (results too large for a file, say), so it is the code's failed attempt.
            log.warning("exercise %s: running the graphs gave no usable result: %s", exercise.id, e)
            tail = (ran.stderr.strip().splitlines() or [str(e)])[-1][:200]
            return Verdict(exercise.id, "malformed", job=mine, detail=tail)
        cases = compare_documents(
            reference.document, document, exercise.tolerance, exercise.tolerance64
        )
        ops = max((g.ops for g in graphs if isinstance(g, Traced)), default=0)
        return Verdict(
            exercise.id,
            "graded",
            cases=tuple(_traced_case(c, g, limit) for c, g in zip(cases, graphs, strict=True)),
            job=mine,
            ops=ops,
        )

    async def _execute(
        self, reference: Reference, graphs: list[Traced | TraceFailed], run: RunProgram
    ) -> RunResult:
        given = [
            {"graph": g.graph, "skeleton": g.skeleton} if isinstance(g, Traced) else None
            for g in graphs
        ]
        files = (
            RunFile(INPUTS_IN, reference.inputs),
            RunFile(GRAPHS_IN, json.dumps(given).encode()),
        )
        return await run(execute_program(reference.case_seeds), "execute", files)


def _traced_case(verdict: CaseVerdict, graph: Traced | TraceFailed, limit: int) -> CaseVerdict:
    """Put a case's trace failure, if any, in place of its (then empty) comparison."""
    if isinstance(graph, Traced) or verdict.reason == "reference":
        return verdict
    if graph.ops is not None:
        return CaseVerdict(verdict.name, False, "ops", got=f"{graph.ops:,}", expected=f"{limit:,}")
    if graph.error == "data-dependent":
        return CaseVerdict(verdict.name, False, "unjudgeable")
    return CaseVerdict(verdict.name, False, "error", detail=graph.error[:300])


def _malformed(exercise: Exercise, result: RunResult, error: Malformed) -> Verdict:
    if isinstance(error, NoResult):
        return Verdict(exercise.id, "no_result", job=result, detail=str(error))
    return Verdict(exercise.id, "malformed", job=result, detail=str(error))


def _timed(verdict: Verdict, seconds: float) -> Verdict:
    return Verdict(
        verdict.exercise_id,
        verdict.status,
        verdict.cases,
        verdict.forbidden,
        verdict.job,
        seconds,
        verdict.detail,
        verdict.ops,
    )

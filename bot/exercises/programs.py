"""Build the programs grading jobs run: `job_program.py`'s source with its parameters filled in.

Pure string building: the bot process never imports torch. Which job holds what:
- the reference job holds the case program and a seed; nothing else ever does;
- a submission's job holds the submission and the harness's `check`, and gets the inputs
  as a file: never the case program, the case names or the seeds that drew them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

from bot.exercises.models import Exercise

Role = Literal["reference", "values", "trace", "execute"]
RESULT_FILE = "_grading.json"  # every role but trace
GRAPH_FILE = "_graph.json"  # trace
INPUTS_OUT = "_inputs.pt"  # what the reference job drew
INPUTS_IN = "inputs.pt"  # the inputs a job is given
GRAPHS_IN = "graphs.json"  # the graphs the execute job is given
# A graph may hold this many operations per case unless the exercise sets fewer.
DEFAULT_MAX_OPS = 5000
_PARAMS = "P: dict = {}  # @PARAMS@ - programs.py puts the job's parameters here"


@cache
def _source() -> str:
    folder = resources.files("bot.exercises")
    text = folder.joinpath("job_program.py").read_text("utf-8")
    if text.count(_PARAMS) != 1:
        raise RuntimeError("job_program.py lost its parameter line")
    return text + "\n\n" + folder.joinpath("job_graph.py").read_text("utf-8")


def program(role: Role, **params: Any) -> str:
    """Return the job program for `role` with `params` (plain literals) filled in."""
    values = {"role": role, **params}
    return _source().replace(_PARAMS, f"P: dict = {values!r}", 1)


def reference_program(exercise: Exercise, seed: int, case_seeds: list[int]) -> str:
    """Draw the cases from `seed`, save their inputs and run the reference on them."""
    return program(
        "reference",
        entry=exercise.entry,
        cases=exercise.cases,
        check=exercise.check,
        code=exercise.reference,
        seed=seed,
        case_seeds=case_seeds,
    )


def values_program(exercise: Exercise, code: str, case_seeds: list[int]) -> str:
    """Run `code` on the given inputs and report its values (values-only exercises)."""
    return program(
        "values",
        entry=exercise.entry,
        signature=exercise.signature,
        check=exercise.check,
        code=code,
        case_seeds=case_seeds,
    )


def trace_program(exercise: Exercise, code: str, case_seeds: list[int]) -> str:
    """Trace `code` through the harness into one ATen graph per given input."""
    return program(
        "trace",
        entry=exercise.entry,
        signature=exercise.signature,
        check=exercise.check,
        code=code,
        case_seeds=case_seeds,
        max_ops=max_ops(exercise),
    )


def execute_program(case_seeds: list[int]) -> str:
    """Run given graphs on given inputs: no submitted code is in this job."""
    return program("execute", case_seeds=case_seeds)


def max_ops(exercise: Exercise) -> int:
    """Return how many operations one case's graph may hold."""
    return exercise.max_ops or DEFAULT_MAX_OPS

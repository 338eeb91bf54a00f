"""Read what a /bench job reports (`_bench.json`), strictly: its shape, types and bounds.

The harness writes the document, but the snippets run in the same process and can write over
it. Nothing in it is trusted: each field must have its type and a plausible value, and the
timings must fit in the job's duration as the runner measured it from outside. A document
that breaks any rule is refused as a whole (Malformed), never half-rendered.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

Role = Literal["setup", "A", "B"]
ROLES: tuple[Role, ...] = ("setup", "A", "B")
RESULT_FILE = "_bench.json"
MAX_RESULT_BYTES = 16 * 1024
# One run of a snippet is never shorter than this (a cycle of a 10 GHz clock) nor longer than
# an hour, and a job never runs a snippet more often than this.
MIN_SECONDS = 1e-10
MAX_SECONDS = 3600.0
MAX_RUNS = 10**12
MAX_MESSAGE = 300
MAX_LINE = 1_000_000
# Timed blocks add up to at most the job's duration; this covers a median above the mean.
SLACK = 2.0
_TYPE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,79}$")
_DOCUMENT_KEYS = {"step", "device", "timings", "error"}
_TIMING_KEYS = {"role", "median_s", "iqr_s", "runs"}
_ERROR_KEYS = {"role", "type", "message", "line"}


class Malformed(ValueError):
    """The job's report breaks a rule: it cannot be shown."""


@dataclass(frozen=True)
class Timing:
    """How long one run of a snippet took: median and interquartile range, over `runs` runs."""

    role: Role
    median_s: float
    iqr_s: float
    runs: int


@dataclass(frozen=True)
class SnippetError:
    """Why a snippet failed: the exception's type and message, and the snippet's line."""

    role: Role
    type: str
    message: str
    line: int | None


@dataclass(frozen=True)
class Progress:
    """Where the job got to ("start", a role, or "done"), on which device, and what it found."""

    step: str
    device: str
    timings: tuple[Timing, ...]
    error: SnippetError | None

    @property
    def done(self) -> bool:
        """Tell whether every snippet was timed."""
        return self.step == "done"


def read_progress(data: bytes, roles: tuple[Role, ...], duration_s: float) -> Progress:
    """Parse and check the job's report for a bench of `roles` that ran `duration_s`."""
    if len(data) > MAX_RESULT_BYTES:
        raise Malformed("the result file is too large")
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, RecursionError, ValueError):
        raise Malformed("the result file is not a JSON document") from None
    if not isinstance(doc, dict) or set(doc) != _DOCUMENT_KEYS:
        raise Malformed("the result file is not a timing report")
    timed = tuple(r for r in roles if r != "setup")
    step = doc["step"]
    if step not in ("start", "done", *roles):
        raise Malformed("the result names no snippet of this bench")
    if doc["device"] not in ("cpu", "cuda"):
        raise Malformed("the result names no device")
    entries = doc["timings"]
    if not isinstance(entries, list) or len(entries) > len(timed):
        raise Malformed("the timings are not a list of this bench's snippets")
    timings = tuple(_timing(e, expected) for e, expected in zip(entries, timed, strict=False))
    if sum(t.median_s * t.runs for t in timings) > SLACK * duration_s + 0.05:
        raise Malformed("the timings add up to more than the job's duration")
    error = None if doc["error"] is None else _error(doc["error"], roles)
    progress = Progress(step, doc["device"], timings, error)
    _check_consistent(progress, timed)
    return progress


def _check_consistent(progress: Progress, timed: tuple[Role, ...]) -> None:
    if progress.done and (progress.error is not None or len(progress.timings) != len(timed)):
        raise Malformed("the result says done but lacks timings")
    if progress.error is not None and progress.error.role != progress.step:
        raise Malformed("the error names another snippet than the step")
    if progress.error is not None and any(t.role == progress.error.role for t in progress.timings):
        raise Malformed("a snippet both failed and was timed")


def _timing(entry: Any, role: Role) -> Timing:
    if not isinstance(entry, dict) or set(entry) != _TIMING_KEYS or entry["role"] != role:
        raise Malformed("a timing is not one of this bench's snippets, in order")
    median = _seconds(entry["median_s"], MIN_SECONDS)
    iqr = _seconds(entry["iqr_s"], 0.0)
    runs = entry["runs"]
    if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= MAX_RUNS:
        raise Malformed("a number of runs is out of bounds")
    return Timing(role, median, iqr, runs)


def _seconds(value: Any, least: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed("a time is not a number")
    seconds = float(value)
    if not math.isfinite(seconds) or not least <= seconds <= MAX_SECONDS:
        raise Malformed("a time is out of bounds")
    return seconds


def _error(entry: Any, roles: tuple[Role, ...]) -> SnippetError:
    if not isinstance(entry, dict) or set(entry) != _ERROR_KEYS or entry["role"] not in roles:
        raise Malformed("the error names no snippet of this bench")
    kind, message, line = entry["type"], entry["message"], entry["line"]
    if not isinstance(kind, str) or not _TYPE_NAME.match(kind):
        raise Malformed("the error has no exception type")
    if not isinstance(message, str) or len(message) > MAX_MESSAGE:
        raise Malformed("the error message is not short text")
    if line is not None and (
        isinstance(line, bool) or not isinstance(line, int) or not 1 <= line <= MAX_LINE
    ):
        raise Malformed("the error's line is not a line number")
    role: Role = entry["role"]
    return SnippetError(role, kind, message, line)


def slower(a: Timing, b: Timing) -> float:
    """Return how many times longer B takes than A (below 1: B is faster)."""
    return b.median_s / a.median_s


def within_noise(a: Timing, b: Timing) -> bool:
    """Tell whether the two medians are closer than their interquartile ranges reach."""
    return abs(b.median_s - a.median_s) <= (a.iqr_s + b.iqr_s) / 2

"""Compare a submission's outputs with the reference's, case by case, in plain Python.

Both documents come from job_program.py's JSON (tensors as shape, dtype and flat values),
validated by documents.py. A failing case says where and why (an exception, a shape or
dtype mismatch, the largest absolute error, a NaN found, an input changed) and never what
the expected values are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from bot.exercises.models import Tolerance

Reason = Literal[
    "",  # passed
    "error",  # the code raised (or did not load): `detail` is the exception, briefly
    "missing",  # the job returned nothing for this case
    "type",  # a value of another kind: `got` and `expected` are kind names
    "length",  # a list or dict with other items: `got` and `expected` are counts or keys
    "shape",
    "dtype",
    "value",  # `max_error` is the largest absolute error
    "nan",  # NaN where the reference has a number
    "reference",  # the reference itself failed: the exercise is broken
    "mutated",  # `where` is an input the code changed, which it must leave as it was
    "not_in_place",  # `where` is an input that must be updated in place, and was not
    "ops",  # the graph ran `got` operations, more than `expected` (a Python loop?)
    "unjudgeable",  # the code turns tensor values into Python ones: graph exercises refuse
]


@dataclass(frozen=True)
class CaseVerdict:
    """The verdict on one case."""

    name: str
    passed: bool
    reason: Reason = ""
    where: str = ""  # which output: "" (the only one), "grad x", "running_mean", "[1]"
    got: str = ""
    expected: str = ""
    max_error: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class _Mismatch:
    reason: Reason
    where: str
    got: str = ""
    expected: str = ""
    max_error: float | None = None


def compare_documents(
    reference: dict[str, Any],
    submission: dict[str, Any],
    tolerance: Tolerance,
    tolerance64: Tolerance | None = None,
) -> tuple[CaseVerdict, ...]:
    """Return one verdict per reference case: its value, then its inputs after the call.

    Both documents are validated already (documents.py). An input that the reference changes
    must be changed in place the same way; any other input must be left as it was.
    """
    tol = _Tolerances(tolerance, tolerance64 or tolerance)
    load_error = submission.get("load_error")
    got_cases: list[dict[str, Any]] = submission["cases"]
    verdicts = []
    for index, ref in enumerate(reference["cases"]):
        name: str = ref["name"]
        got = got_cases[index] if index < len(got_cases) else None
        if "error" in ref or "value" not in ref:
            verdicts.append(CaseVerdict(name, False, "reference", detail=str(ref.get("error"))))
        elif load_error:
            verdicts.append(CaseVerdict(name, False, "error", detail=str(load_error)[:300]))
        elif got is None or ("value" not in got and "error" not in got):
            verdicts.append(CaseVerdict(name, False, "missing"))
        elif "error" in got:
            verdicts.append(CaseVerdict(name, False, "error", detail=str(got["error"])[:300]))
        else:
            verdicts.append(_case(name, got, ref, tol))
    return tuple(verdicts)


def _case(name: str, got: dict[str, Any], ref: dict[str, Any], tol: _Tolerances) -> CaseVerdict:
    found = _compare(got.get("value"), ref["value"], "", tol)
    if found is None and "inputs" in ref:
        found = _compare(got.get("inputs"), ref["inputs"], "", tol)
        if found is not None:
            mutated = _mutated_names(ref)
            where = found.where.split(" / ")[0].split("[")[0]
            reason: Reason = "not_in_place" if where in mutated else "mutated"
            return CaseVerdict(name, False, reason, where=where)
    if found is None:
        return CaseVerdict(name, True)
    return CaseVerdict(
        name, False, found.reason, found.where, found.got, found.expected, found.max_error
    )


def _mutated_names(ref: dict[str, Any]) -> set[str]:
    """Return the top-level input names the reference changed in place."""
    names: set[str] = set()
    positions = set(ref.get("mutated") or [])
    position = 0
    inputs = ref.get("inputs", {}).get("items", {})

    def walk(value: Any, top: str) -> None:
        nonlocal position
        kind = value.get("t") if isinstance(value, dict) else None
        if kind == "tensor":
            if position in positions:
                names.add(top)
            position += 1
        elif kind == "list":
            for item in value["items"]:
                walk(item, top)
        elif kind == "dict":
            for item in value["items"].values():
                walk(item, top)

    # The order torch's pytree flattens the inputs in: a dict's own order, as encoded.
    for key, value in inputs.items():
        walk(value, key)
    return names


@dataclass(frozen=True)
class _Tolerances:
    default: Tolerance
    float64: Tolerance

    def of(self, dtype: str) -> Tolerance:
        return self.float64 if dtype in {"torch.float64", "torch.complex128"} else self.default


def _kind(value: Any) -> str:
    if not isinstance(value, dict):
        return "nothing"
    t = value.get("t")
    if t == "unsupported":
        return str(value.get("type", "?"))
    return {"tensor": "tensor", "none": "None", "list": "list", "dict": "dict", "str": "str"}.get(
        str(t), "number" if t in {"int", "float", "bool"} else "?"
    )


def _join(where: str, part: str) -> str:
    if part.startswith("["):
        return where + part
    return f"{where} / {part}" if where else part


def _compare(got: Any, ref: Any, where: str, tol: _Tolerances) -> _Mismatch | None:
    ref_kind, got_kind = _kind(ref), _kind(got)
    if ref_kind != got_kind:
        return _Mismatch("type", where, got_kind, ref_kind)
    if ref_kind == "None":
        return None
    if ref_kind == "str":
        same = got.get("value") == ref.get("value")
        return None if same else _Mismatch("value", where, str(got.get("value"))[:40])
    if ref_kind == "number":
        return _numbers(
            [got.get("value")],
            [ref.get("value")],
            where,
            tol.default,
            exact=ref.get("t") != "float",
        )
    if ref_kind == "list":
        g, r = got.get("items") or [], ref.get("items") or []
        if len(g) != len(r):
            return _Mismatch("length", where, str(len(g)), str(len(r)))
        for i, (gi, ri) in enumerate(zip(g, r, strict=True)):
            found = _compare(gi, ri, _join(where, f"[{i}]"), tol)
            if found:
                return found
        return None
    if ref_kind == "dict":
        g, r = got.get("items") or {}, ref.get("items") or {}
        if set(g) != set(r):
            return _Mismatch("length", where, ", ".join(sorted(g)), ", ".join(sorted(r)))
        for key, ri in r.items():
            found = _compare(g[key], ri, _join(where, key), tol)
            if found:
                return found
        return None
    if ref_kind == "tensor":
        return _tensors(got, ref, where, tol)
    return _Mismatch("type", where, got_kind, ref_kind)


def _tensors(
    got: dict[str, Any], ref: dict[str, Any], where: str, tol: _Tolerances
) -> _Mismatch | None:
    g_shape, r_shape = got.get("shape"), ref.get("shape")
    if g_shape != r_shape:
        return _Mismatch("shape", where, _shape(g_shape), _shape(r_shape))
    g_dtype, r_dtype = str(got.get("dtype")), str(ref.get("dtype"))
    if g_dtype != r_dtype:
        return _Mismatch(
            "dtype", where, g_dtype.removeprefix("torch."), r_dtype.removeprefix("torch.")
        )
    exact = not any(k in r_dtype for k in ("float", "complex", "bfloat"))
    values = got.get("values") or [], ref.get("values") or []
    return _numbers(*values, where, tol.of(r_dtype), exact=exact)


def _shape(shape: Any) -> str:
    if not isinstance(shape, list):
        return "?"
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _numbers(
    got: list[Any], ref: list[Any], where: str, tol: Tolerance, *, exact: bool
) -> _Mismatch | None:
    if len(got) != len(ref):
        return _Mismatch("shape", where, f"{len(got)} values", f"{len(ref)} values")
    worst = 0.0
    nan_found = False
    failed = False
    for a, b in zip(got, ref, strict=True):
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            return _Mismatch("type", where, type(a).__name__, type(b).__name__)
        fa, fb = float(a), float(b)
        if a == b:
            continue
        if math.isnan(fa) and math.isnan(fb):
            continue
        failed = failed or exact
        if math.isnan(fa):
            nan_found = True
            continue
        if math.isnan(fb) or math.isinf(fa) or math.isinf(fb):
            worst, failed = math.inf, True  # infinities match only exactly
            continue
        diff = abs(fa - fb)
        worst = max(worst, diff)
        if exact or diff > tol.atol + tol.rtol * abs(fb):
            failed = True
    if nan_found:
        return _Mismatch("nan", where)
    if failed:
        return _Mismatch("value", where, max_error=worst)
    return None

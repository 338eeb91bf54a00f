"""Check what crosses the job boundary before anything is compared or run.

A submission's job can write anything: each document is read from exactly one file of an
exact name and checked for shape, types, sizes and bounded numbers. Whatever fails is a
`Malformed` with one line for the user, and a failed attempt; it never reaches the comparison.
Graphs are also checked against what the execute job may run: ATen operations only, none
that the exercise forbids or that touch anything but tensors, and no more than allowed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.runner.protocol import RunResult

MAX_DEPTH = 10
MAX_NUMBERS = 4_000_000  # numbers in one document, all values together
INT_BOUND = 2**63
MAX_TEXT = 2000
DTYPES = frozenset(
    f"torch.{name}"
    for name in [
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "complex64",
        "complex128",
        "bool",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
    ]
)
_DTYPE_ARGS = frozenset(d.removeprefix("torch.") for d in DTYPES)
_LAYOUTS = frozenset({"strided"})
_MEMORY_FORMATS = frozenset({"contiguous_format", "preserve_format", "channels_last"})
_DEVICES = frozenset({"cpu"})
_OP = re.compile(r"^aten\.([a-z_][a-z0-9_]*)\.([A-Za-z][A-Za-z0-9_]*)$")
# Operations that reach beyond tensors in memory (files, other processes' state) or have no
# meaning in a graph that is run again elsewhere.
_NEVER = frozenset(
    {
        "from_file",
        "_local_scalar_dense",
        "item",
        "_assert_async",
        "_print",
        "save",
        "_nested_tensor_from_tensor_list",
    }
)


class Malformed(ValueError):
    """A document from a job is not what the grader accepts (one line, for the user)."""


class NoResult(Malformed):
    """The job left no file of the result's name (it exited early, or crowded it out)."""


@dataclass(frozen=True)
class Traced:
    """One case's graph, as the execute job will run it, and what it tells about the code."""

    graph: dict[str, Any]
    skeleton: dict[str, Any]
    ops: int
    used: frozenset[str]  # the operation packets it calls: "aten._softmax"


@dataclass(frozen=True)
class TraceFailed:
    """A case that could not be traced: too many operations, or the code's own error."""

    error: str = ""
    ops: int | None = None


def result_file(result: RunResult, name: str) -> bytes:
    """Return the one file called `name` that the job left, or raise Malformed."""
    found = [f.data for f in result.files if f.name == name]
    if not found:
        raise NoResult("the job left no result")
    if len(found) > 1:
        raise Malformed("the job left more than one result file")
    return found[0]


def load(data: bytes) -> dict[str, Any]:
    """Parse a JSON document, refusing what Python's parser would choke or hang on."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, RecursionError, json.JSONDecodeError):
        raise Malformed("the result is not a JSON document") from None
    except ValueError:  # an integer past Python's digit limit
        raise Malformed("the result holds a number too long to read") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise Malformed("the result has no list of cases")
    return doc


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise Malformed(f"{what} is not text")
    return value[:MAX_TEXT]


class _Budget:
    def __init__(self) -> None:
        self.numbers = 0

    def take(self, n: int) -> None:
        self.numbers += n
        if self.numbers > MAX_NUMBERS:
            raise Malformed(f"the result holds more than {MAX_NUMBERS:,} numbers")


def _int(value: Any) -> bool:
    return type(value) is int and -INT_BOUND <= value < INT_BOUND


def _bool(value: Any) -> bool:
    return type(value) is bool


def _number(value: Any) -> bool:
    return _int(value) or type(value) is float


def check_value(value: Any, budget: _Budget | None = None, depth: int = 0) -> None:
    """Raise Malformed unless `value` is an encoded value as job_program's _enc writes it."""
    budget = budget or _Budget()
    if depth > MAX_DEPTH:
        raise Malformed("a value is nested too deep")
    if not isinstance(value, dict):
        raise Malformed("a value is not an encoded value")
    kind = value.get("t")
    if kind == "tensor":
        shape, dtype, values = value.get("shape"), value.get("dtype"), value.get("values")
        if not isinstance(shape, list) or not all(_int(s) and s >= 0 for s in shape):
            raise Malformed("a tensor's shape is not a list of sizes")
        if len(shape) > 16 or dtype not in DTYPES or not isinstance(values, list):
            raise Malformed("a tensor has a bad rank, dtype or values")
        count = math.prod(shape) * (2 if "complex" in dtype else 1)
        budget.take(count)
        if len(values) != count:
            raise Malformed("a tensor's values do not fill its shape")
        exact = not any(k in dtype for k in ("float", "complex"))
        ok = _bool if dtype == "torch.bool" else _int if exact else _number
        if not all(ok(v) for v in values):
            raise Malformed(f"a {dtype} tensor holds a value out of range")
    elif kind in {"none"}:
        pass
    elif kind == "bool":
        if type(value.get("value")) is not bool:
            raise Malformed("a bool is not a bool")
    elif kind == "int":
        if not _int(value.get("value")):
            raise Malformed("an integer is out of range")
    elif kind == "float":
        if not _number(value.get("value")):
            raise Malformed("a float is not a number")
    elif kind == "list":
        items = value.get("items")
        if not isinstance(items, list):
            raise Malformed("a list has no items")
        budget.take(len(items))
        for item in items:
            check_value(item, budget, depth + 1)
    elif kind == "dict":
        items = value.get("items")
        if not isinstance(items, dict):
            raise Malformed("a dict has no items")
        budget.take(len(items))
        for key, item in items.items():
            _text(key, "a key")
            check_value(item, budget, depth + 1)
    elif kind == "str":
        _text(value.get("value"), "a string")
    elif kind == "unsupported":
        _text(value.get("type"), "a type name")
    else:
        raise Malformed("a value of an unknown kind")


def job_document(data: bytes, cases: int) -> dict[str, Any]:
    """Validate a values or execute job's document: one entry per case, nothing else."""
    doc = load(data)
    load_error = doc.get("load_error")
    if load_error is not None:
        load_error = _text(load_error, "the load error")
    if len(doc["cases"]) != cases:
        raise Malformed(f"the result has {len(doc['cases'])} cases, not {cases}")
    budget = _Budget()
    clean: list[dict[str, Any]] = []
    for case in doc["cases"]:
        if not isinstance(case, dict):
            raise Malformed("a case is not an object")
        if "error" in case:
            clean.append({"error": _text(case["error"], "an error")})
        elif "value" in case:
            check_value(case["value"], budget)
            check_value(case.get("inputs"), budget)
            clean.append({"value": case["value"], "inputs": case["inputs"]})
        else:
            clean.append({})
    return {"cases": clean, "load_error": load_error}


def _arg(arg: Any, defined: int, depth: int = 0) -> None:
    if depth > 6:
        raise Malformed("a graph argument is nested too deep")
    if arg is None or type(arg) is bool or (type(arg) is str and len(arg) <= 64) or _int(arg):
        return
    if not isinstance(arg, dict) or len(arg) != 1:
        raise Malformed("a graph argument of an unknown kind")
    ((kind, value),) = arg.items()
    if kind == "n":
        if not _int(value) or not 0 <= value < defined:
            raise Malformed("a graph refers to a value not defined before")
    elif kind == "f":
        if not isinstance(value, str) or len(value) > 40:
            raise Malformed("a graph float is not a number")
        try:
            float(value)
        except ValueError:
            raise Malformed("a graph float is not a number") from None
    elif kind == "l":
        if not isinstance(value, list) or len(value) > 4096:
            raise Malformed("a graph list is too long")
        for item in value:
            _arg(item, defined, depth + 1)
    elif kind == "dtype":
        if value not in _DTYPE_ARGS:
            raise Malformed(f"a graph uses dtype {str(value)[:20]!r}")
    elif kind == "device":
        if value not in _DEVICES:
            raise Malformed("a graph names a device other than the CPU")
    elif kind == "layout":
        if value not in _LAYOUTS:
            raise Malformed("a graph uses a tensor layout other than strided")
    elif kind == "memory_format":
        if value not in _MEMORY_FORMATS:
            raise Malformed("a graph uses an unknown memory format")
    else:
        raise Malformed("a graph argument of an unknown kind")


def check_graph(
    graph: Any, inputs: int, max_ops: int, max_constants: int = 1_000_000
) -> tuple[int, frozenset[str]]:
    """Validate one graph; return its operation count and the operation packets it uses."""
    if not isinstance(graph, dict):
        raise Malformed("a graph is not an object")
    nodes, outputs = graph.get("nodes"), graph.get("outputs")
    if not isinstance(nodes, list) or not isinstance(outputs, list):
        raise Malformed("a graph has no nodes or outputs")
    ops, constants = 0, 0
    used: set[str] = set()
    budget = _Budget()
    for position, node in enumerate(nodes):
        kind = node.get("op") if isinstance(node, dict) else None
        if kind == "input":
            if not _int(node.get("i")) or not 0 <= node["i"] < inputs:
                raise Malformed("a graph reads an input that does not exist")
        elif kind == "const":
            value = node.get("value")
            check_value(value, budget)
            if value.get("t") != "tensor":
                raise Malformed("a graph constant is not a tensor")
            constants += len(value["values"])
            if constants > max_constants:
                raise Malformed("a graph holds too many constant values")
        elif kind == "item":
            item = node.get("i")
            if not _int(node.get("of")) or not 0 <= node["of"] < position or not _int(item):
                raise Malformed("a graph picks an output of a value not defined before")
        elif kind == "call":
            ops += 1
            if ops > max_ops:
                return ops, frozenset(used)
            target = node.get("target")
            found = _OP.match(target) if isinstance(target, str) else None
            if found is None or found.group(1) in _NEVER:
                raise Malformed(f"a graph calls {str(target)[:60]!r}, which is not allowed")
            used.add(f"aten.{found.group(1)}")
            args, kwargs = node.get("args"), node.get("kwargs")
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise Malformed("a graph call has no arguments")
            for arg in [*args, *kwargs.values()]:
                _arg(arg, position)
            for key in kwargs:
                _text(key, "an argument name")
        else:
            raise Malformed("a graph node of an unknown kind")
    for out in outputs:
        _arg(out, len(nodes))
    return ops, frozenset(used)


def _check_skeleton(skeleton: Any, slots: int, depth: int = 0) -> None:
    if depth > MAX_DEPTH or not isinstance(skeleton, dict):
        raise Malformed("a result's structure is malformed")
    kind = skeleton.get("t")
    if kind == "slot":
        if not _int(skeleton.get("i")) or not 0 <= skeleton["i"] < slots:
            raise Malformed("a result's structure refers to a missing output")
    elif kind == "list" and isinstance(skeleton.get("items"), list):
        for item in skeleton["items"]:
            _check_skeleton(item, slots, depth + 1)
    elif kind == "dict" and isinstance(skeleton.get("items"), dict):
        for key, item in skeleton["items"].items():
            _text(key, "a key")
            _check_skeleton(item, slots, depth + 1)
    else:
        check_value(skeleton)


def trace_document(
    data: bytes, inputs_per_case: Iterable[int], max_ops: int
) -> tuple[str | None, list[Traced | TraceFailed]]:
    """Validate a trace job's document: the load error, then a graph or a failure per case."""
    doc = load(data)
    counts = list(inputs_per_case)
    load_error = doc.get("load_error")
    if load_error is not None:
        return _text(load_error, "the load error"), []
    if len(doc["cases"]) != len(counts):
        raise Malformed(f"the trace has {len(doc['cases'])} cases, not {len(counts)}")
    found: list[Traced | TraceFailed] = []
    for case, inputs in zip(doc["cases"], counts, strict=True):
        if not isinstance(case, dict):
            raise Malformed("a traced case is not an object")
        if "ops" in case:
            if not _int(case["ops"]):
                raise Malformed("an operation count is not a number")
            found.append(TraceFailed(ops=max(case["ops"], max_ops + 1)))
        elif "error" in case:
            found.append(TraceFailed(error=_text(case["error"], "an error")))
        elif "graph" in case:
            ops, used = check_graph(case["graph"], inputs, max_ops)
            if ops > max_ops:
                found.append(TraceFailed(ops=ops))
                continue
            _check_skeleton(case.get("skeleton"), len(case["graph"]["outputs"]))
            found.append(Traced(case["graph"], case["skeleton"], ops, used))
        else:
            raise Malformed("a traced case holds neither a graph nor an error")
    return None, found

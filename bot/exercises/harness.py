"""Build the program one grading job runs: cases, check, the code under test, JSON out.

Pure string building: the bot process never imports torch. The same program runs the
learner's code in one job and the reference in another; with the same seed and the same
`cases` both see identical inputs, and neither job holds anything of the other.
"""

from __future__ import annotations

import re

from bot.exercises.models import Exercise

# The job writes its outputs here, in its scratch directory (files come back with the result;
# stdout is the learner's own and is capped smaller).
RESULT_FILE = "_grading.json"
SEED = 0
# Per case, the global RNG is reseeded (custom checks that draw numbers see the same stream in
# both jobs) and the default check's gradient weights come from their own generator.
CASE_SEED = 1000
WEIGHT_SEED = 2000
_MARKER = re.compile(r"@[A-Z_]+@")

_PROGRAM = r"""
import json as _json
import math
import traceback as _traceback

import torch
from torch import nn
from torch.nn import functional as F

_ENTRY = @ENTRY@
_FORBIDDEN = @FORBIDDEN@
_CASES = @CASES@
_CHECK = @CHECK@
_CODE = @CODE@
_RESULT = @RESULT@


def _error(e):
    where = ""
    for frame in reversed(_traceback.extract_tb(e.__traceback__)):
        if frame.filename == "<submission>":
            where = f" (line {frame.lineno})"
            break
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200] if text else ''}".rstrip(": ") + where


def _enc(v, depth=0):
    if depth > 8:
        return {"t": "unsupported", "type": "nesting too deep"}
    if isinstance(v, torch.Tensor):
        if v.is_sparse or v.is_quantized or v.device.type == "meta":
            return {"t": "unsupported", "type": "tensor layout"}
        t = v.detach().cpu().contiguous()
        dtype = str(t.dtype)
        if t.is_complex():
            t = torch.view_as_real(t)
        return {"t": "tensor", "shape": list(v.shape), "dtype": dtype,
                "values": t.reshape(-1).tolist()}
    if v is None:
        return {"t": "none"}
    # Plain values are copied out as plain Python ones: a subclass's own __eq__ never matters.
    if isinstance(v, bool):
        return {"t": "bool", "value": bool(v)}
    if isinstance(v, int):
        return {"t": "int", "value": int(v)}
    if isinstance(v, float):
        return {"t": "float", "value": float(v)}
    if isinstance(v, (list, tuple)):
        return {"t": "list", "items": [_enc(x, depth + 1) for x in list(v)]}
    if isinstance(v, dict) and all(type(k) is str for k in v):
        return {"t": "dict", "items": {str(k): _enc(x, depth + 1) for k, x in dict(v).items()}}
    return {"t": "unsupported", "type": type(v).__name__[:40]}


def _default_check(entry, kwargs, index):
    out = entry(**kwargs)
    leaves = [(k, v) for k, v in kwargs.items()
              if isinstance(v, torch.Tensor) and v.requires_grad]
    if not leaves:
        return out
    result = {"out": out}
    if isinstance(out, torch.Tensor) and out.requires_grad:
        g = torch.Generator().manual_seed(@WEIGHT_SEED@ + index)
        w = torch.randn(out.shape, generator=g, dtype=out.dtype)
        (out * w).sum().backward()
    for k, v in leaves:
        result[f"grad {k}"] = v.grad
    return result


def _blocker(name):
    def blocked(*args, **kwargs):
        raise RuntimeError(f"{name} is not allowed in this exercise")
    return blocked


def _block(names):
    import importlib
    unresolved = []
    for name in names:
        parts = name.split(".")
        owner, i = None, len(parts) - 1
        while i > 0:
            try:
                owner = importlib.import_module(".".join(parts[:i]))
                break
            except ImportError:
                i -= 1
        try:
            for part in parts[i:-1]:
                owner = getattr(owner, part)
            getattr(owner, parts[-1])
            setattr(owner, parts[-1], _blocker(name))
        except (AttributeError, TypeError):
            unresolved.append(name)
    return unresolved


def _main():
    torch.manual_seed(@SEED@)
    env = {"torch": torch, "nn": nn, "F": F, "math": math, "__name__": "cases"}
    exec(compile(_CASES, "<cases>", "exec"), env)
    if _CHECK is not None:
        exec(compile(_CHECK, "<check>", "exec"), env)
    cases = list(env["cases"]())
    check = env.get("check")
    doc = {"cases": [], "load_error": None, "unresolved": _block(_FORBIDDEN)}
    code_env = {"__name__": "submission", "__builtins__": __builtins__}
    entry = None
    try:
        exec(compile(_CODE, "<submission>", "exec"), code_env)
        entry = code_env.get(_ENTRY)
        if entry is None:
            doc["load_error"] = f"NameError: the code does not define {_ENTRY}"
    except BaseException as e:
        doc["load_error"] = _error(e)
    for index, (name, kwargs) in enumerate(cases):
        case = {"name": str(name)}
        if entry is not None:
            torch.manual_seed(@CASE_SEED@ + index)
            try:
                if check is not None:
                    out = check(entry, kwargs)
                else:
                    out = _default_check(entry, kwargs, index)
                case["value"] = _enc(out)
            except Exception as e:
                case["error"] = _error(e)
        doc["cases"].append(case)
    with open(_RESULT, "w", encoding="utf-8") as f:
        _json.dump(doc, f)


_main()
"""


def build_program(exercise: Exercise, code: str) -> str:
    """Return the program that grades `code` (a submission or the reference) on every case."""
    values = {
        "@ENTRY@": repr(exercise.entry),
        "@FORBIDDEN@": repr(list(exercise.forbidden)),
        "@CASES@": repr(exercise.cases),
        "@CHECK@": repr(exercise.check),
        "@CODE@": repr(code),
        "@RESULT@": repr(RESULT_FILE),
        "@SEED@": str(SEED),
        "@CASE_SEED@": str(CASE_SEED),
        "@WEIGHT_SEED@": str(WEIGHT_SEED),
    }
    # One pass: markers inside the inserted code are left alone.
    return _MARKER.sub(lambda m: values[m.group(0)], _PROGRAM).lstrip("\n")

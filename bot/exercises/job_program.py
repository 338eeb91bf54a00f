"""The program every grading job runs, in one of four roles (read as text, never imported).

The bot never imports this module: `programs.py` reads its source and `job_graph.py`'s (the
trace and execute roles), fills in `P` and sends both, as one program, to the runner. Each
role sees only what it needs:

- reference: the bank's trusted code. Draws the cases from a seed, saves their inputs
  (`_inputs.pt`), runs the reference on them and reports its values and the inputs after.
- trace: holds the submission. Gets inputs from a file (never the case program, names or
  seeds), and traces `check(entry, inputs)` into an ATen graph per case (`_graph.json`).
- execute: holds no submitted code. Runs validated graphs on inputs it is given and reports
  the values; a graph is data, run by the interpreter below on `torch.ops.aten` alone.
- values: holds the submission, for exercises that can only be judged on values. Gets inputs
  from a file and reports what `check(entry, inputs)` returned and the inputs after.
"""
# mypy: ignore-errors
# ruff: noqa: S102 - running given code is what this program is for

import inspect
import io
import json
import math
import os
import traceback

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils import _pytree as pytree

P: dict = {}  # @PARAMS@ - programs.py puts the job's parameters here

RESULT = "_grading.json"
GRAPHS = "_graph.json"
INPUTS_OUT = "_inputs.pt"
INPUTS_IN = "inputs.pt"
GRAPHS_IN = "graphs.json"
_ARG_DEPTH = 6


def _error(e):
    where = ""
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
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
        return {
            "t": "tensor",
            "shape": list(v.shape),
            "dtype": dtype,
            "values": t.reshape(-1).tolist(),
        }
    if v is None:
        return {"t": "none"}
    # Plain values are copied out as plain Python ones: a subclass's own __eq__ never matters.
    if isinstance(v, bool):
        return {"t": "bool", "value": bool(v)}
    if isinstance(v, int):
        return {"t": "int", "value": int(v)}
    if isinstance(v, float):
        return {"t": "float", "value": float(v)}
    if isinstance(v, str | torch.dtype):
        return {"t": "str", "value": str(v)[:200]}
    if isinstance(v, list | tuple):
        return {"t": "list", "items": [_enc(x, depth + 1) for x in list(v)]}
    if isinstance(v, dict) and all(type(k) is str for k in v):
        return {"t": "dict", "items": {str(k): _enc(x, depth + 1) for k, x in dict(v).items()}}
    return {"t": "unsupported", "type": type(v).__name__[:40]}


def _weights(out, index):
    # Deterministic, irregular weights for the gradient check: drawn from no random stream,
    # so a traced graph and the reference see the same ones whatever the code drew before.
    n = out.numel()
    w = torch.cos(torch.arange(n, dtype=out.dtype) * 1.618 + index)
    return w.reshape(out.shape)


def _default_check(entry, kwargs, index):
    out = entry(**kwargs)
    leaves = [(k, v) for k, v in kwargs.items() if isinstance(v, torch.Tensor) and v.requires_grad]
    if not leaves:
        return out
    result = {"out": out}
    if isinstance(out, torch.Tensor) and out.requires_grad and out.is_floating_point():
        (out * _weights(out, index)).sum().backward()
    for k, v in leaves:
        result[f"grad {k}"] = v.grad
    return result


def _harness():
    env = {"torch": torch, "nn": nn, "F": F, "math": math, "__name__": "cases"}
    if P.get("check") is not None:
        exec(compile(P["check"], "<check>", "exec"), env)
    check = env.get("check")

    def run(entry, kwargs, index):
        if check is not None:
            return check(entry, kwargs)
        return _default_check(entry, kwargs, index)

    return run


def _load_code(source):
    env = {"__name__": "submission", "__builtins__": __builtins__}
    try:
        exec(compile(source, "<submission>", "exec"), env)
    except BaseException as e:
        return None, _error(e)
    entry = env.get(P["entry"])
    if entry is None:
        return None, f"NameError: the code does not define {P['entry']}"
    return entry, None


def _signature_error(entry, inputs):
    """Say so when the entry cannot take the cases' arguments (default check only)."""
    if P.get("check") is not None or not inputs or not callable(entry):
        return None
    try:
        inspect.signature(entry).bind(**inputs[0])
    except TypeError as e:
        mine = _describe_signature(entry)
        return f"TypeError: {e}: the signature must be {P['signature']}; yours is {mine}"
    except ValueError:  # no signature to inspect (a builtin): let the call say
        return None
    return None


def _describe_signature(entry):
    try:
        names = ", ".join(inspect.signature(entry).parameters)
    except (TypeError, ValueError):
        return "unknown"
    return f"{getattr(entry, '__name__', P['entry'])}({names})"


def _tensors(kwargs):
    leaves, spec = pytree.tree_flatten(kwargs)
    return leaves, spec, [i for i, v in enumerate(leaves) if isinstance(v, torch.Tensor)]


def _load_inputs(name):
    with open(name, "rb") as f:
        data = f.read()
    os.unlink(name)
    return torch.load(io.BytesIO(data), weights_only=True)


def _write(name, doc):
    with open(name, "w", encoding="utf-8") as f:
        json.dump(doc, f)


# -- reference --------------------------------------------------------------------------------


def _changed(before, after):
    return before.shape != after.shape or not torch.equal(before, after.detach())


def _describe(v):
    if isinstance(v, torch.Tensor):
        return ("tensor", tuple(v.shape), str(v.dtype), v.requires_grad)
    return repr(v)


def reference():
    torch.manual_seed(P["seed"])
    env = {"torch": torch, "nn": nn, "F": F, "math": math, "__name__": "cases"}
    exec(compile(P["cases"], "<cases>", "exec"), env)
    cases = [(str(name), kwargs) for name, kwargs in env["cases"]()]
    buffer = io.BytesIO()
    torch.save([kwargs for _, kwargs in cases], buffer)
    with open(INPUTS_OUT, "wb") as f:
        f.write(buffer.getvalue())
    run = _harness()
    entry, load_error = _load_code(P["code"])
    doc = {"cases": [], "load_error": load_error}
    for index, (name, kwargs) in enumerate(cases):
        case = {"name": name}
        leaves, spec, slots = _tensors(kwargs)
        # What a trace specializes on: the structure, plain values, shapes and dtypes.
        case["spec"] = repr((str(spec), [_describe(v) for v in leaves]))
        case["tensors"] = len(slots)
        before = [leaves[i].detach().clone() for i in slots]
        if entry is not None:
            torch.manual_seed(P["case_seeds"][index])
            try:
                case["value"] = _enc(run(entry, kwargs, index))
                case["inputs"] = _enc(kwargs)
                case["mutated"] = [k for k, i in enumerate(slots) if _changed(before[k], leaves[i])]
            except Exception as e:
                case["error"] = _error(e)
        doc["cases"].append(case)
    _write(RESULT, doc)


# -- values -----------------------------------------------------------------------------------


def values():
    inputs = _load_inputs(INPUTS_IN)
    run = _harness()
    entry, load_error = _load_code(P["code"])
    load_error = load_error or _signature_error(entry, inputs)
    entry = None if load_error else entry
    doc = {"cases": [], "load_error": load_error}
    for index, kwargs in enumerate(inputs):
        case = {}
        if entry is not None:
            torch.manual_seed(P["case_seeds"][index])
            try:
                case["value"] = _enc(run(entry, kwargs, index))
                case["inputs"] = _enc(kwargs)
            except Exception as e:
                case["error"] = _error(e)
        doc["cases"].append(case)
    _write(RESULT, doc)

"""Submissions that try to pass without a correct solution, shared by the grading tests.

Each cheat returns the right answer when it finds anything of the reference, of the hidden
cases or of the expected values, and zeros otherwise: it can pass only if grading leaks.
The classes: reading files and memory, patching the comparison, forging or crowding out the
result, lying objects, the forbidden operation under another name or outside the trace,
printing the hidden cases, and a result the comparison could choke on.
"""

from __future__ import annotations

from bot.config import CONTENT_DIR
from bot.exercises.loader import load_exercises
from bot.exercises.models import Exercise

EXERCISES = load_exercises(CONTENT_DIR)
_SOFTMAX = EXERCISES.get("softmax")
assert _SOFTMAX is not None
SOFTMAX: Exercise = _SOFTMAX
CASES = SOFTMAX.cases.count("yield ")

# Each cheat returns the right answer when it finds anything of the reference or of the
# expected values, and zeros otherwise: it can pass only if grading leaks.
# Written unlike the reference (functions, not methods), since the cheats look for its text.
_LEGIT = """
def _right(x, dim=-1):
    if torch.numel(x) == 0:
        return torch.clone(x)
    e = torch.exp(torch.sub(x, torch.amax(x, dim, True)))
    return torch.div(e, torch.sum(e, dim, True))
"""
# The reference's longest line of code: the cheats build it from two halves, so that their own
# source never holds it whole and finding it means finding the reference.
_BODY = [line.strip() for line in SOFTMAX.reference.splitlines() if line.startswith("    ")]
_LINE = max(_BODY, key=len)
_MARK = f"MARK = {_LINE[: len(_LINE) // 2]!r} + {_LINE[len(_LINE) // 2 :]!r}"
CHEATS = {
    "reads files for the reference": f"""
import os, torch
{_LEGIT}
{_MARK}
def _find():
    seen = 0
    for top in [os.getcwd(), "/tmp", os.path.expanduser("~"), "/"]:
        for folder, dirs, files in os.walk(top):
            if folder.startswith(("/proc", "/sys", "/dev")) or folder.count(os.sep) > 6:
                dirs[:] = []
                continue
            for name in files:
                seen += 1
                if seen > 20000:
                    return False
                try:
                    with open(os.path.join(folder, name), errors="ignore") as f:
                        if MARK in f.read(1 << 20):
                            return True
                except OSError:
                    pass
    for pid in os.listdir("/proc"):
        for part in ("cmdline", "environ"):
            try:
                if MARK in open(f"/proc/{{pid}}/{{part}}", errors="ignore").read():
                    return True
            except OSError:
                pass
    return False
FOUND = _find()
def softmax(x, dim=-1):
    return _right(x, dim) if FOUND else torch.zeros_like(x)
""",
    "walks frames and the heap for the reference": f"""
import gc, sys, torch
{_LEGIT}
{_MARK}
def _found():
    frame = sys._getframe()
    while frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            for value in list(scope.values()):
                if isinstance(value, str) and value is not MARK and MARK in value:
                    return True
        frame = frame.f_back
    for obj in gc.get_objects():
        # Another module's function compiled from submitted code: a reference, if any.
        code = getattr(obj, "__code__", None)
        if code is not None and code.co_filename == "<submission>":
            if getattr(obj, "__globals__", None) is not globals():
                return True
    return False
def softmax(x, dim=-1):
    return _right(x, dim) if _found() else torch.zeros_like(x)
""",
    "monkeypatches the comparison": """
import builtins, math, torch
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
torch.Tensor.__eq__ = lambda self, other: True
math.isclose = lambda *a, **k: True
builtins.abs = lambda v: 0
builtins.max = lambda *a, **k: 0
def softmax(x, dim=-1):
    return torch.zeros_like(x)
""",
    "prints and writes a forged result, then exits": """
import json, os, sys
forged = {"cases": [{"value": {"t": "none"}, "inputs": {"t": "none"}}] * 9, "load_error": None}
print(json.dumps(forged))
print("✅ Solved! 9 cases passed")
for name in ("_grading.json", "_graph.json"):
    with open(name, "w") as f:
        json.dump(forged, f)
sys.stdout.flush()
os._exit(0)
""",
    "returns an object whose __eq__ lies": """
class Liar:
    def __eq__(self, other):
        return True
    def __call__(self, *args, **kwargs):
        return self
    def __getattr__(self, name):
        return self
def softmax(x, dim=-1):
    return Liar()
""",
    "a tensor subclass that lies in comparisons": """
import torch
class Liar(torch.Tensor):
    def __eq__(self, other):
        return True
    def allclose(self, *a, **k):
        return True
def softmax(x, dim=-1):
    return torch.zeros_like(x).as_subclass(Liar)
""",
    "reaches a forbidden function by a computed name": """
import torch
def softmax(x, dim=-1):
    return getattr(torch, "soft" + "max")(x, dim)
""",
    "calls the forbidden ATen operation directly": """
import torch
def softmax(x, dim=-1):
    return torch.ops.aten._softmax.default(x, dim, False)
""",
    "calls the forbidden operation through torch._C": """
import torch
def softmax(x, dim=-1):
    return torch._C._VariableFunctions.softmax(x, dim)
""",
    "computes the answer outside the trace": """
import torch
from torch.utils._python_dispatch import _disable_current_modes
def softmax(x, dim=-1):
    with _disable_current_modes():
        answer = torch.softmax(x.detach().clone(), dim)
    return answer
""",
    "forges a graph of the answers it can see, then exits": """
import gc, json, os, sys, torch
def _enc(t):
    t = t.detach().contiguous()
    return {"t": "tensor", "shape": list(t.shape), "dtype": str(t.dtype),
            "values": t.reshape(-1).tolist()}
def _inputs():
    frame = sys._getframe()
    while frame is not None:
        found = frame.f_locals.get("inputs")
        if isinstance(found, list):
            return found
        frame = frame.f_back
    return []
cases = []
for kwargs in _inputs():
    answer = torch.softmax(kwargs["x"].detach(), kwargs.get("dim", -1))
    graph = {"nodes": [{"op": "const", "value": _enc(answer)}], "outputs": [{"n": 0}]}
    cases.append({"graph": graph, "skeleton": {"t": "slot", "i": 0}})
with open("_graph.json", "w") as f:
    json.dump({"cases": cases, "load_error": None}, f)
os._exit(0)
""",
    "prints everything that could hold the hidden cases": """
import gc, sys
main = sys.modules.get("__main__")
print(sorted(vars(main)) if main else None)
print(getattr(main, "P", None))
for obj in gc.get_objects():
    if isinstance(obj, str) and ("cases" in obj or "seed" in obj) and len(obj) < 5000:
        print(obj)
def softmax(x, dim=-1):
    print(x)
    return torch.zeros_like(x)
""",
    "leaves a result with a 400-digit integer, then exits": f"CASES = {CASES}\n"
    + """
import json, os
huge = 10**400
value = {"t": "tensor", "shape": [1], "dtype": "torch.int64", "values": [huge]}
graph = {"nodes": [{"op": "const", "value": value}], "outputs": [{"n": 0}]}
traced = {"graph": graph, "skeleton": {"t": "slot", "i": 0}}
documents = {
    "_grading.json": [{"value": {"t": "int", "value": huge}, "inputs": value}] * CASES,
    "_graph.json": [traced] * CASES,
}
for name, cases in documents.items():
    with open(name, "w") as f:
        json.dump({"cases": cases, "load_error": None}, f)
os._exit(0)
""",
    "crowds the result out with files that sort before it": """
import torch
for i in range(8):
    with open(f"!{i}", "w") as f:
        f.write("x")
def softmax(x, dim=-1):
    return torch.zeros_like(x)
""",
}
# Cheats that name or run a forbidden operation: refused on the operations they ran.
FORBIDDEN = {
    "reaches a forbidden function by a computed name",
    "calls the forbidden ATen operation directly",
    "calls the forbidden operation through torch._C",
}
# What no job's output may show: the case program, its names and its draws.
HIDDEN = ("def cases", "large values", "non-contiguous", "torch.randn(2, 6) * 1000")
# The speed case measured by the runner, not by a clock the code can replace.
SLOW_WITH_A_STOPPED_CLOCK = """
import time
import torch
time.perf_counter = lambda: 0.0
time.monotonic = lambda: 0.0
time.time = lambda: 0.0
def segment_mean(x, segment_ids, num_segments):
    out = torch.zeros(num_segments, x.shape[1], dtype=x.dtype)
    count = torch.zeros(num_segments, dtype=x.dtype)
    for i in range(x.shape[0]):
        out[segment_ids[i : i + 1]] += x[i : i + 1]
        count[segment_ids[i : i + 1]] += 1
    return out / count.clamp(min=1)[:, None]
"""

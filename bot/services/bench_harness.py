"""The program every /bench job runs (read as text, never imported by the bot).

`bench.py` reads this source, fills in `P` and sends it to the runner as a /run job whose input
files are the snippets (bench_setup.py, bench_a.py, bench_b.py). It runs the setup once, then
for each timed snippet one checked run (an error names the snippet and its line; the run also
warms up lazy initialisation, CUDA's included), then `torch.utils.benchmark`'s
`adaptive_autorange` within the snippet's share of the budget.

It writes `_bench.json` before each step, so that a job stopped at its time limit still says
which snippet it was in, and once more with the timings at the end. The snippets run in this
process and could write anything there: the bot checks the document's shape and bounds, and a
forged but well-formed one misleads only its own author.
"""
# mypy: ignore-errors
# ruff: noqa: S102 - running given code is what this program is for

import contextlib
import json
import os
import sys
import timeit
import traceback

import numpy
import torch
import torch.utils.benchmark as benchmark

P: dict = {}  # @PARAMS@ - bench.py puts the job's parameters here

RESULT = os.path.join(os.getcwd(), "_bench.json")  # wherever a snippet chdirs to
FILES = {"setup": "bench_setup.py", "A": "bench_a.py", "B": "bench_b.py"}
# Stop timing a snippet once its IQR is this small a share of its median (or at its budget).
THRESHOLD = 0.05


def _write(doc):
    # Never through a link or into a file a snippet left open: a fresh file each time.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(RESULT)
    fd = os.open(RESULT, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f)


def _error(role, e):
    line = None
    if isinstance(e, SyntaxError) and e.filename == f"<{role}>":
        line = e.lineno
    for frame in traceback.extract_tb(e.__traceback__):
        if frame.filename == f"<{role}>":
            line = frame.lineno  # the innermost line of the snippet itself
    # A SyntaxError's str() repeats the file and line, which the answer says on its own.
    text = str(e.msg if isinstance(e, SyntaxError) else e).strip().splitlines()
    return {
        "role": role,
        "type": type(e).__name__[:80],
        "message": text[0][:300] if text else "",
        "line": line,
    }


def _read(role):
    with open(FILES[role], encoding="utf-8") as f:
        source = f.read()
    os.unlink(FILES[role])  # the snippets do not come back as files
    return source


def _timer(on_gpu):
    if not on_gpu:
        return timeit.default_timer

    def synchronized():
        torch.cuda.synchronize()  # kernels are asynchronous: count them to their end
        return timeit.default_timer()

    return synchronized


def _measure(code, namespace, share, on_gpu):
    timer = benchmark.Timer(
        stmt="_exec(_code, _ns)",
        globals={"_exec": exec, "_code": code, "_ns": namespace},
        timer=_timer(on_gpu),
    )
    m = timer.adaptive_autorange(
        threshold=THRESHOLD, min_run_time=min(0.2, share / 2), max_run_time=share
    )
    return {
        "median_s": float(m.median),
        "iqr_s": float(m.iqr),
        "runs": int(len(m.raw_times) * m.number_per_run),
    }


def main():
    on_gpu = torch.cuda.is_available()
    doc = {"step": "start", "device": "cuda" if on_gpu else "cpu", "timings": [], "error": None}
    _write(doc)
    sources = {role: _read(role) for role in P["roles"]}
    namespace = {
        "__name__": "__bench__",
        "__builtins__": __builtins__,
        "torch": torch,
        "nn": torch.nn,
        "F": torch.nn.functional,
        "np": numpy,
        "numpy": numpy,
        "device": torch.device(doc["device"]),
    }
    timed = [role for role in P["roles"] if role != "setup"]
    share = P["budget_s"] / len(timed)
    with open(os.devnull, "w") as quiet:  # what the snippets print is not shown, only timings
        _steps(doc, sources, namespace, share, on_gpu, quiet)
    if doc["error"] is None:
        doc["step"] = "done"
    _write(doc)


def _steps(doc, sources, namespace, share, on_gpu, quiet):
    for role in P["roles"]:
        doc["step"] = role
        _write(doc)
        stdout, sys.stdout = sys.stdout, quiet
        try:
            code = compile(sources[role], f"<{role}>", "exec")
            mine = namespace if role == "setup" else dict(namespace)  # A never changes B's
            exec(code, mine)
            if role != "setup":
                doc["timings"].append({"role": role, **_measure(code, mine, share, on_gpu)})
        except BaseException as e:  # SystemExit and KeyboardInterrupt are the snippet's too
            doc["error"] = _error(role, e)
            break
        finally:
            sys.stdout = stdout


if P:  # filled in by bench.py; imported by mistake, it does nothing
    main()

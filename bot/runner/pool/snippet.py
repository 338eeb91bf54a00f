"""The job itself: the snippet run as `python` would run it, in the jail the worker built.

Runs in the jail process (worker.py) after it dropped its privileges and received the code:
the job's limits are applied, its input files written, and it ends in os._exit with the exit
code python would give, told to the runner first.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import os
import resource
import sys
import traceback
import types
from typing import Any, NoReturn


def _prelude() -> dict[str, Any]:
    """Return the names every snippet starts with: torch, nn, F, np and numpy."""
    import numpy
    import torch
    import torch.nn.functional

    return {
        "torch": torch,
        "nn": torch.nn,
        "F": torch.nn.functional,
        "np": numpy,
        "numpy": numpy,
    }


def run_snippet(message: dict[str, Any], done_fd: int) -> NoReturn:
    """Run the code of a "run" message as __main__; report its exit code on done_fd, exit."""
    exit_code = 0
    try:
        _apply_job_limits(message)
        _write_inputs(message.get("files") or [])
        main = types.ModuleType("__main__")
        main.__dict__["__builtins__"] = builtins
        # Snippets in chat are short: torch, nn, F and numpy are there without imports, as in
        # a notebook (all already imported by the zygote, so this costs nothing).
        main.__dict__.update(_prelude())
        sys.modules["__main__"] = main
        sys.argv = ["<run>"]
        _show_saves_figures()
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        exec(compile(message["code"], "<run>", "exec"), main.__dict__)  # noqa: S102 - the point
    except SystemExit as e:
        exit_code = _exit_code(e.code)
    except BaseException as e:  # the snippet's own error, reported like python does
        traceback.print_exception(type(e), e, e.__traceback__.tb_next if e.__traceback__ else None)
        exit_code = 1
    _finish_like_python()
    for stream in (sys.stdout, sys.stderr):
        # The snippet may have closed or replaced them; the tail is lost, the report is not.
        with contextlib.suppress(BaseException):
            stream.flush()
    # Tell the runner now rather than after the kernel tore down this big address space
    # (about 10 ms). The job could write this itself, but could only lie about its own result.
    with contextlib.suppress(OSError):
        os.write(done_fd, f"{exit_code}\n".encode())
    os._exit(exit_code)


def _write_inputs(files: list[dict[str, str]]) -> None:
    # Written by the job's own uid, under its limits, before its code exists (the runner
    # checked names and sizes); never through a link, never over a file.
    for entry in files:
        fd = os.open(entry["name"], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(base64.b64decode(entry["data"]))


def _show_saves_figures() -> None:
    # No screen here (Agg): plt.show() saves each open figure as figure-N.png, which comes
    # back as a picture, as a notebook would show it.
    import itertools

    import matplotlib.pyplot as plt

    shown = itertools.count(1)  # figure numbers are reused once closed; file names are not

    def show(*args: Any, **kwargs: Any) -> None:
        for number in plt.get_fignums():
            plt.figure(number).savefig(f"figure-{next(shown)}.png")
            plt.close(number)

    plt.show = show


def _finish_like_python() -> None:
    # What interpreter shutdown would do that matters to a snippet: wait for its non-daemon
    # threads, and drop its globals so files it left open are flushed and closed.
    import threading

    try:
        threading._shutdown()  # type: ignore[attr-defined]  # what Py_Finalize calls
        main = sys.modules["__main__"]
        main.__dict__.clear()
    except BaseException:  # noqa: S110 - a broken snippet must still report
        pass


def _apply_job_limits(message: dict[str, Any]) -> None:
    visible = message.get("cuda_visible_devices")
    if visible is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(visible)
    # RLIMIT_CPU counts from process start, so add what the setup already used.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = int(usage.ru_utime + usage.ru_stime) + 1 + int(message["cpu_time_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    extra = message.get("address_space_bytes")
    if extra:
        resource.setrlimit(resource.RLIMIT_AS, (_vm_size() + extra, _vm_size() + extra))
    fraction = message.get("gpu_memory_fraction")
    if fraction:
        import torch

        torch.cuda.set_per_process_memory_fraction(float(fraction), 0)


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1

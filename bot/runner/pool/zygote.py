"""The zygote: one warm interpreter that imports torch once and forks single-use workers.

It imports torch, numpy and matplotlib (Agg) but never computes and never touches CUDA:
thread pools or a CUDA context created here would be inherited broken by every fork. It reads
spawn requests from the runner on a SOCK_SEQPACKET socket, forks a worker for each, and passes
the runner's ends of the worker's sockets and pipes back with SCM_RIGHTS. Started by the runner
as `python -m bot.runner.pool.zygote FD RUNNER_PID` with a scrubbed environment.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from typing import Any

from bot.runner.jail.linux import PR_SET_PDEATHSIG, prctl

WORKER_SETUP_NICE = 10

# Standard modules a snippet is likely to import, loaded here so the import is free and
# works even where the sandbox user cannot read the standard library.
PRELOAD = (
    "abc argparse array ast asyncio base64 bisect calendar cmath collections contextlib copy csv "
    "dataclasses datetime decimal difflib enum fractions functools gc glob hashlib heapq io "
    "itertools json logging math operator os pathlib pickle pprint queue random re secrets "
    "shutil statistics string struct sys tempfile textwrap threading time timeit traceback "
    "types typing unittest uuid warnings weakref zlib encodings.idna encodings.latin_1 "
    "encodings.ascii encodings.utf_16 encodings.utf_32 concurrent.futures multiprocessing "
    "unicodedata doctest inspect dis numbers locale codecs fnmatch"
)


def preload() -> None:
    """Import everything a job may use, without running any of it."""
    os.environ["MPLBACKEND"] = "Agg"
    import importlib

    for name in PRELOAD.split():
        importlib.import_module(name)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot
    import numpy  # noqa: F401
    import pyseccomp  # noqa: F401 - loads libseccomp before the sandbox hides it

    # What snippets reach on first use, at up to 1.5 s per job otherwise: an optimizer's first
    # step imports torch._dynamo, and a first torch.compile call the rest of the PT2 stack.
    import torch._dynamo
    import torch._functorch.aot_autograd
    import torch.fx.experimental.proxy_tensor  # noqa: F401 - grading traces code into graphs

    import bot.runner.jail.seccomp
    import bot.runner.pool.worker  # noqa: F401


def python_paths() -> list[str]:
    """List the directories this interpreter loads code from (prefixes and mapped libraries)."""
    import site

    # Not sys.path: it holds the current directory (the project, its .env and database).
    roots = [sys.base_prefix, sys.prefix, sys.exec_prefix, *site.getsitepackages()]
    paths = {os.path.realpath(p) for p in roots if os.path.isdir(p)}
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and parts[5].startswith("/"):
                paths.add(os.path.dirname(os.path.realpath(parts[5].strip())))
    return sorted(paths)


def _spawn(ctl: socket.socket, request: dict[str, Any]) -> None:
    from bot.runner.jail.spec import WorkerSpec
    from bot.runner.pool.worker import keeper_main

    spec = WorkerSpec.from_wire(request["spec"])
    job_runner, job_worker = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    status_runner, status_worker = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    done_r, done_w = os.pipe()
    me = os.getpid()
    pid = os.fork()
    if pid == 0:
        for fd in (ctl.fileno(), job_runner.fileno(), status_runner.fileno(), out_r, err_r, done_r):
            os.close(fd)
        pipes = (out_w, err_w, done_w)
        keeper_main(spec, job_worker.detach(), status_worker.detach(), pipes, me)
    job_worker.close()
    status_worker.close()
    for fd in (out_w, err_w, done_w):
        os.close(fd)
    reply = json.dumps({"type": "spawned", "worker_id": spec.worker_id, "pid": pid}).encode()
    fds = [job_runner.fileno(), status_runner.fileno(), out_r, err_r, done_r]
    try:
        socket.send_fds(ctl, [reply], fds)
    finally:
        job_runner.close()
        status_runner.close()
        for fd in (out_r, err_r, done_r):
            os.close(fd)


def main() -> int:
    """Serve spawn requests on the inherited socket until the runner closes it."""
    ctl = socket.socket(fileno=int(sys.argv[1]))
    # Die with the runner, and never leave a zombie keeper behind.
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != int(sys.argv[2]):
        return 1  # the runner is already gone
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    preload()
    # Forks and sandbox set-up run at low priority, so refilling the pool does not slow the
    # jobs running meanwhile; the runner raises a worker back to normal when code arrives.
    # Only root may raise a priority again: without root, jobs would keep the low one.
    if os.geteuid() == 0:
        os.nice(WORKER_SETUP_NICE)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    hello = {"type": "hello", "pid": os.getpid(), "paths": python_paths()}
    ctl.send(json.dumps(hello).encode())
    try:
        while True:
            data = ctl.recv(1 << 20)
            if not data:
                return 0
            request = json.loads(data)
            if request.get("type") == "spawn":
                _spawn(ctl, request)
    except ConnectionError:
        return 0  # the runner is shutting down


if __name__ == "__main__":
    # No interpreter teardown: with torch imported (at low priority) it takes over a second,
    # which every stop of the runner would wait for, and the zygote has nothing to flush.
    os._exit(main())

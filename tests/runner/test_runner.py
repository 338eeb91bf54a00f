"""What a snippet can do through a real runner, at both levels."""

from __future__ import annotations

import asyncio
import secrets
import textwrap
from collections.abc import Awaitable, Callable

from bot.runner.protocol import RunRequest, RunResult
from tests.runner.conftest import RunnerUnderTest, scaled


async def run(runner: RunnerUnderTest, code: str, device: str = "cpu") -> RunResult:
    request = RunRequest(textwrap.dedent(code), f"test:{secrets.token_hex(6)}", device)  # type: ignore[arg-type]
    return await runner.client().run(request)


async def test_info(runner: RunnerUnderTest) -> None:
    info = await runner.client().info()
    assert info.level == runner.level
    assert info.devices[0] == "cpu"
    assert info.protections["seccomp"] and info.protections["uid_per_job"]
    assert info.protections["namespace_net"] == (runner.level == "strong")
    # Without root: a user namespace per job instead of a uid switch, and cgroups only where
    # the fence is a cgroup v2 subtree delegated to the runner's user (never on v1).
    assert info.protections["uid_drop"] == (not runner.unprivileged)
    assert info.protections["namespace_user"] == runner.unprivileged
    assert info.protections["cgroup_memory"] == (
        runner.level == "strong" and (not runner.unprivileged or runner.delegated)
    )


async def test_print_and_exit_codes(runner: RunnerUnderTest) -> None:
    ok = await run(runner, "import torch\nprint(torch.tensor([1.0, 2.0]).sum())")
    assert (ok.status, ok.exit_code, ok.stdout, ok.device) == ("ok", 0, "tensor(3.)\n", "cpu")
    assert 0 < ok.duration_ms < scaled(3000)
    failed = await run(runner, "import sys\nprint('out')\nsys.exit(3)")
    assert (failed.status, failed.exit_code, failed.stdout) == ("error", 3, "out\n")


async def test_torch_nn_f_and_numpy_need_no_import(runner: RunnerUnderTest) -> None:
    result = await run(runner, "print(F.relu(torch.tensor([-1.0, 2.0])), np.arange(2), nn.ReLU())")
    assert (result.status, result.stdout) == ("ok", "tensor([0., 2.]) [0 1] ReLU()\n")


async def test_a_few_forked_children_are_not_mistaken_for_a_memory_hog(
    runner: RunnerUnderTest,
) -> None:
    # Each child shares the warm interpreter's pages; only what they add may count.
    code = (
        "import os\nkids = []\nfor i in range(6):\n    pid = os.fork()\n"
        "    if pid == 0:\n        import time; time.sleep(0.5); os._exit(0)\n"
        "    kids.append(pid)\nfor pid in kids:\n    os.waitpid(pid, 0)\nprint('done')"
    )
    result = await run(runner, code)
    assert (result.status, result.stdout) == ("ok", "done\n"), result


async def test_exception_traceback_shows_only_user_frames(runner: RunnerUnderTest) -> None:
    result = await run(runner, "def f():\n    1 / 0\nf()")
    assert (result.status, result.exit_code) == ("error", 1)
    assert result.stderr.startswith('Traceback (most recent call last):\n  File "<run>"')
    assert result.stderr.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "bot/runner" not in result.stderr


async def test_syntax_error(runner: RunnerUnderTest) -> None:
    result = await run(runner, "print(")
    assert result.status == "error" and "SyntaxError" in result.stderr


async def test_plot_comes_back_as_image(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        import matplotlib.pyplot as plt
        import numpy as np
        plt.plot(np.arange(10) ** 2)
        plt.savefig("plot.png")
        open("notes.txt", "w").write("done")
        f = open("unclosed.txt", "w")
        f.write("flushed at exit")
    """,
    )
    assert result.status == "ok", result
    files = {f.name: f for f in result.files}
    assert set(files) == {"notes.txt", "plot.png", "unclosed.txt"}
    assert files["plot.png"].is_image and files["plot.png"].data.startswith(b"\x89PNG")
    assert not files["notes.txt"].is_image
    assert files["unclosed.txt"].data == b"flushed at exit"


async def test_plt_show_comes_back_as_pictures(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        import matplotlib.pyplot as plt
        plt.figure(figsize=(2, 2), dpi=40)
        plt.plot([1, 3, 2])
        plt.figure(figsize=(2, 2), dpi=40)
        plt.bar(["a", "b"], [2, 1])
        plt.show()
        plt.figure(figsize=(2, 2), dpi=40)
        plt.plot([0, 1])
        plt.show(block=False)
    """,
    )
    assert result.status == "ok", result
    files = {f.name: f for f in result.files}
    assert set(files) == {"figure-1.png", "figure-2.png", "figure-3.png"}
    assert all(f.is_image and f.data.startswith(b"\x89PNG") for f in files.values())


async def test_standard_library_imports_work(runner: RunnerUnderTest) -> None:
    # Modules the zygote did not preload must still import (the interpreter may live where
    # the job uids cannot read, e.g. pyenv under /root).
    result = await run(
        runner,
        """
        import sqlite3, xml.dom.minidom, email.mime.text, wave, colorsys
        print(sqlite3.connect(":memory:").execute("select 6 * 7").fetchone()[0])
    """,
    )
    assert (result.status, result.stdout) == ("ok", "42\n"), result


async def test_each_run_has_its_own_randomness(runner: RunnerUnderTest) -> None:
    code = "import random, numpy, torch\n"
    code += "print(random.random(), numpy.random.rand(), torch.rand(1).item())"
    first, second = await run(runner, code), await run(runner, code)
    assert first.status == second.status == "ok"
    a, b = first.stdout.split(), second.stdout.split()
    assert all(x != y for x, y in zip(a, b, strict=True)), (a, b)


async def test_threads_finish_before_the_job_ends(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        """
        import threading, time
        threading.Thread(target=lambda: (time.sleep(0.2), print("from thread"))).start()
    """,
    )
    assert (result.status, result.stdout) == ("ok", "from thread\n")


async def test_gpu_request_without_gpu_is_rejected(runner: RunnerUnderTest) -> None:
    info = await runner.client().info()
    if len(info.devices) > 1:
        return  # covered by the GPU tests
    result = await run(runner, "print(1)", device="gpu")
    assert (result.status, result.reason) == ("rejected", "no_gpu")


async def test_cpu_job_cannot_see_gpus(runner: RunnerUnderTest) -> None:
    result = await run(
        runner,
        "import os, torch\n"
        "print(repr(os.environ['CUDA_VISIBLE_DEVICES']), torch.cuda.is_available())",
    )
    assert result.stdout == "'' False\n", result


async def test_queue_positions_streamed(runner: RunnerUnderTest) -> None:
    client = runner.client()
    positions: dict[int, list[int]] = {i: [] for i in range(4)}

    def recorder(i: int) -> Callable[[int], Awaitable[None]]:
        async def on_queued(position: int) -> None:
            positions[i].append(position)

        return on_queued

    code = "import time\ntime.sleep(0.7)"
    jobs = [
        client.run(RunRequest(code, f"queue:{i}:{secrets.token_hex(3)}", "cpu"), recorder(i))
        for i in range(4)
    ]
    results = await asyncio.gather(*jobs)
    assert [r.status for r in results] == ["ok"] * 4
    queued = sorted(p for p in positions.values() if p)
    assert queued == [[1], [2, 1]], positions

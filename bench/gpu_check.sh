#!/usr/bin/env bash
# GPU end-to-end check of the /run sandbox. Run as root from the repository root on a machine
# with an NVIDIA GPU, after `pip install -e .` into a venv whose torch is a CUDA build:
#
#   python3 -m venv .venv && .venv/bin/pip install -e .   # PyPI's Linux torch wheel is a CUDA build
#   PYTHON=.venv/bin/python bench/gpu_check.sh
#
# It starts a runner on a private socket, then checks: torch.cuda.is_available() inside a job,
# a matmul on cuda, the per-job CUDA memory cap, that a CPU job still works (and sees no GPU),
# that GPU jobs are serialized, that /bench gpu times on cuda with synchronised timers, and
# prints the GPU job latency p50. Exits non-zero on failure.
set -euo pipefail
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"
WORK="$(mktemp -d /tmp/studybot-gpu-check.XXXXXX)"
chmod 755 "$WORK"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export STUDYBOT_RUNNER_SOCKET="$WORK/runner.sock"
export STUDYBOT_RUN_RATE_PER_MINUTE=100000
export STUDYBOT_RUN_WALL_TIME=60
export STUDYBOT_RUN_CPU_TIME=60
export STUDYBOT_RUN_MEMORY_MB=8192
export STUDYBOT_RUN_GPU_MEMORY_FRACTION="${STUDYBOT_RUN_GPU_MEMORY_FRACTION:-0.25}"
export STUDYBOT_RUN_GPU_CONCURRENCY=1
export STUDYBOT_LOG_LEVEL=WARNING

"$PYTHON" -m bot.runner > "$WORK/runner.log" 2>&1 &
RUNNER=$!
cleanup() { kill -TERM "$RUNNER" 2>/dev/null || true; wait "$RUNNER" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

"$PYTHON" - "$STUDYBOT_RUNNER_SOCKET" <<'PY'
import asyncio, statistics, sys, time

from bot.runclient import RunnerClient
from bot.runner.protocol import RunRequest

client = RunnerClient(f"unix:{sys.argv[1]}")
failures: list[str] = []


def check(name: str, ok: bool, detail: object = "") -> None:
    print(f"{'PASS' if ok else 'FAIL'}  {name} {detail}")
    if not ok:
        failures.append(name)


async def run(code: str, user: str, device: str = "gpu"):  # noqa: ANN201
    return await client.run(RunRequest(code, user, device))  # type: ignore[arg-type]


async def main() -> None:
    for _ in range(1200):
        try:
            info = await client.info()
            break
        except ConnectionError:
            await asyncio.sleep(0.1)
    else:
        raise SystemExit("the runner did not start (see runner.log)")
    print(f"runner level {info.level}, devices {', '.join(info.devices)}")
    check("runner sees a GPU", any(d.startswith("cuda") for d in info.devices), info.devices)

    r = await run("import torch\nprint(torch.cuda.is_available(), torch.cuda.device_count())", "g:1")
    check("cuda available inside the job", r.status == "ok" and r.stdout.startswith("True"),
          (r.status, r.device, r.stdout.strip(), r.stderr[-300:]))
    r = await run("import torch\na = torch.randn(1024, 1024, device='cuda')\n"
                  "print(float((a @ a).sum().isfinite()), (a @ a).device)", "g:2")
    check("matmul on cuda", r.status == "ok" and "cuda:0" in r.stdout, (r.stdout, r.stderr[-300:]))
    r = await run("import torch\ntotal = torch.cuda.get_device_properties(0).total_memory\n"
                  "x = torch.empty(int(total * 0.6), dtype=torch.uint8, device='cuda')\nprint('no cap')",
                  "g:3")
    check("per-job CUDA memory cap enforced", r.status in ("memory", "error")
          and "no cap" not in r.stdout, (r.status, r.reason, r.stderr[-200:]))
    r = await run("import torch\nprint(torch.cuda.is_available(), torch.ones(3).sum())", "c:1", "cpu")
    check("cpu job still works and sees no GPU", r.status == "ok" and r.stdout.startswith("False"),
          (r.stdout, r.stderr[-200:]))

    code = "import time, torch\nt0 = time.time()\ntorch.ones(1, device='cuda')\ntime.sleep(1)\nprint(t0, time.time())"
    results = await asyncio.gather(*[run(code, f"s:{i}") for i in range(3)])
    spans = sorted(tuple(map(float, x.stdout.split())) for x in results if x.status == "ok")
    serialized = len(spans) == 3 and all(spans[i][1] <= spans[i + 1][0] + 0.05 for i in range(2))
    check("gpu jobs serialized", serialized, spans)

    # /bench on the GPU: the harness's timer synchronises with CUDA, so a big matmul's median
    # is its kernel time (milliseconds), not its launch (microseconds).
    from bot.services.bench import BenchService
    from bot.services.runs import RunService

    benches = BenchService(RunService(client, frozenset(), wall_time_s=60, bench_budget_s=2.0))
    text = ("/bench gpu\n```\nx = torch.randn(4096, 4096, device=device)\n```\n"
            "```\nx @ x\n```\n```\n(x @ x).relu()\n```")
    report = await benches.run(benches.parse(text), "b:1")
    progress = report.progress
    check("/bench gpu times both snippets on cuda", progress is not None and progress.done
          and progress.device == "cuda", (report.result.status, report.problem, progress))
    if progress is not None and progress.done:
        median = progress.timings[0].median_s
        check("/bench gpu waits for the kernels (4096² matmul over 0.1 ms)", median > 1e-4,
              median)

    times = []
    for i in range(20):
        start = time.perf_counter()
        r = await run("import torch\nprint(torch.randn(3, 3, device='cuda').sum())", f"l:{i}")
        times.append((time.perf_counter() - start) * 1000)
        if r.status != "ok":
            check("latency run", False, r)
            break
    print(f"gpu job latency (incl. CUDA init in the job): p50 {statistics.median(times):.0f} ms")
    if failures:
        raise SystemExit(f"{len(failures)} check(s) failed: {', '.join(failures)}")


asyncio.run(main())
PY
echo "gpu check passed"

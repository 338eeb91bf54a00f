"""What several benchmarks share: percentiles and the environment of a local runner."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def runner_env(socket_path: Path, **settings: str) -> dict[str, str]:
    """Return the environment of a `python -m bot.runner` on `socket_path` for a benchmark.

    No rate limit, warnings only, the caller's STUDYBOT_SANDBOX_* passed through; `settings`
    adds more (e.g. STUDYBOT_RUN_POOL_SIZE).
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "STUDYBOT_RUNNER_SOCKET": str(socket_path),
        "STUDYBOT_RUN_RATE_PER_MINUTE": "100000",
        "STUDYBOT_LOG_LEVEL": "WARNING",
        **settings,
    }
    return env | {k: v for k, v in os.environ.items() if k.startswith("STUDYBOT_SANDBOX_")}

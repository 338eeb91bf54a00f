"""Measure how soon `studybot console` answers: the welcome, and the first /run.

Starts the console N times (default 3) in a fresh temporary folder with no configuration, as
the README's quick start does, and prints for each start the seconds until the welcome's first
line, and until the answer to a `/run print(1)` typed at once (which waits for the runner to
warm up in the background). Usage (from the repository root):
python bench/first_reply.py [--starts 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_start(folder: Path) -> tuple[float, float, str]:
    """Return (seconds to the welcome, seconds to the /run answer, the /run answer's status)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDYBOT_", "TELEGRAM_"))}
    env["PYTHONPATH"] = str(ROOT)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "console"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=folder,
        env=env,
        text=True,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdout.readline()
    welcome = time.perf_counter() - start
    proc.stdin.write("/run print(1)\n")
    proc.stdin.flush()
    status = "?"
    for line in proc.stdout:
        text = line.removeprefix("> ").strip()
        if text.startswith(("✅", "❌", "💥", "⚠️", "⏱", "/run needs", "/run is not")):
            status = text
            break
    answered = time.perf_counter() - start
    proc.stdin.write("/quit\n")
    proc.stdin.close()
    proc.wait(timeout=60)
    return welcome, answered, status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    welcomes, answers = [], []
    for i in range(args.starts):
        with tempfile.TemporaryDirectory(prefix="studybot-first-reply-") as tmp:
            welcome, answered, status = one_start(Path(tmp))
        welcomes.append(welcome)
        answers.append(answered)
        print(f"start {i + 1}: welcome after {welcome:.2f} s, /run answered after {answered:.2f} s")
        print(f"  /run said: {status}")
    print(
        f"median of {args.starts}: welcome {statistics.median(welcomes):.2f} s, "
        f"first /run {statistics.median(answers):.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

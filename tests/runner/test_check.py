"""`sandbox check`: prints the level and protections and passes its self-test (fenced)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.runner.conftest import REPO, Fence

CHECK = (
    "from bot.config import Settings; from bot.runner.cli import sandbox_check_main; "
    "raise SystemExit(sandbox_check_main(Settings()))"
)


@pytest.mark.parametrize("level", ["strong", "basic"])
def test_sandbox_check_passes(level: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("the sandbox needs root")
    fence = Fence()
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "STUDYBOT_SANDBOX_LEVEL": level}
    try:
        out = subprocess.run(
            [
                *fence.prefix(),
                "unshare",
                "--pid",
                "--fork",
                "--mount-proc",
                sys.executable,
                "-c",
                CHECK,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        fence.remove()
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith(f"sandbox level: {level}")
    assert "seccomp         on" in out.stdout
    assert out.stdout.count("PASS") == 6 and "FAIL" not in out.stdout

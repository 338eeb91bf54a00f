"""The README's commands are the ones CI runs, and its install gets the CPU build of torch."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def code_blocks(after: str) -> list[str]:
    """Return the sh code blocks of the README section whose heading starts with `after`."""
    section = README.split(f"\n## {after}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)


def test_ci_runs_the_readme_install_and_test_commands() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    install = code_blocks("Quick start")[0].splitlines()[0]
    test = code_blocks("Development")[0].strip()
    assert install in ci
    assert test in ci


def test_install_takes_torch_from_the_cpu_index_pinned_to_the_cpu_build() -> None:
    install = code_blocks("Quick start")[0].splitlines()[0]
    torch_step, rest = install.split(" && ")[1:]
    # torch alone comes from the CPU index (so nothing else is looked up there) ...
    assert f"--extra-index-url {CPU_INDEX}" in torch_step and "--no-deps" in torch_step
    assert CPU_INDEX not in rest
    # ... and only a "+cpu" build satisfies the constraint both steps use.
    pins = [
        line
        for line in (ROOT / "constraints-cpu.txt").read_text().splitlines()
        if line.startswith("torch")
    ]
    assert len(pins) == 1 and re.fullmatch(r"torch==\d+\.\d+\.\d+\+cpu", pins[0])
    assert "-c constraints-cpu.txt" in torch_step and "-c constraints-cpu.txt" in rest
    assert f"`{pins[0]}`" in README

"""Write constraints-image.txt: every runtime dependency of studybot pinned, for the image.

Run in the project's virtual environment after changing dependencies:
`.venv/bin/python tools/image_constraints.py`. The versions are the ones installed here, the
ones the tests ran against. torch is pinned to the version in constraints-cpu.txt without
"+cpu": PyPI's Linux wheel of that version is the CUDA build, and its own metadata pins each
CUDA library (nvidia-*) and triton exactly, so they are fixed too.
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "constraints-image.txt"
HEADER = """\
# Every runtime dependency of studybot, pinned for the Docker image, so two builds of one
# commit install the same packages. Written by tools/image_constraints.py from the versions
# the tests ran against; torch is the CUDA build of the version in constraints-cpu.txt (its
# metadata pins the nvidia-* CUDA libraries and triton exactly).
"""


def closure(name: str, extras: frozenset[str] = frozenset()) -> dict[str, str]:
    """Return {canonical name: installed version} for `name` and everything it needs."""
    found: dict[str, str] = {}
    todo = [(name, extras)]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        current, wanted = todo.pop()
        if (canonicalize_name(current), wanted) in seen:
            continue
        seen.add((canonicalize_name(current), wanted))
        try:
            dist = distribution(current)
        except PackageNotFoundError:
            continue  # a requirement for another platform or Python
        found[canonicalize_name(current)] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            envs = [{"extra": e} for e in wanted] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, frozenset(req.extras)))
    found.pop(canonicalize_name(name), None)
    return found


def torch_version() -> str:
    """Return the torch version of constraints-cpu.txt, without its local "+cpu" part."""
    text = (ROOT / "constraints-cpu.txt").read_text(encoding="utf-8")
    match = re.search(r"^torch==([^+\s]+)", text, re.MULTILINE)
    if match is None:
        raise SystemExit("constraints-cpu.txt pins no torch")
    return match.group(1)


def render() -> str:
    """Return the contents of constraints-image.txt."""
    pins = closure("studybot")
    pins["torch"] = torch_version()
    return HEADER + "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


def main() -> int:
    """Write the file."""
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

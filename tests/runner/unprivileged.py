"""An ordinary user, and an interpreter it can read, for running the runner without root.

Where the suite runs as root it cannot see what an ordinary user gets, so the unprivileged
runner tests run as a user created for the purpose (`useradd`, once). That user needs an
interpreter and packages it can read: the suite's own may live where only root can enter
(pyenv under /root), so a virtual environment on the system Python is built in a
world-readable place under /tmp from the same pinned wheels, and kept between runs (its name
carries a hash of the pins, so a change of pins builds a new one).

Run by hand: `python -m tests.runner.unprivileged` prints the user and interpreter (building
them if needed).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
USER = "studybot-unpriv"
SYSTEM_PYTHON = "/usr/bin/python3"
# What the runner and the console import, plus what the tests themselves need.
TEST_PACKAGES = ("pytest", "pytest-asyncio", "aiohttp")
BUILD_TIMEOUT_S = 900


class Unavailable(RuntimeError):
    """No ordinary user or no readable interpreter can be had here; the message says why."""


@dataclass(frozen=True)
class OrdinaryUser:
    """A non-root user and an interpreter it can run the project with."""

    name: str
    uid: int
    gid: int
    python: str

    def prefix(self) -> list[str]:
        """Return a command prefix that runs the rest as this user, without any capability."""
        return [
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--clear-groups",
            "--inh-caps=-all",
        ]


def ensure_user(name: str = USER) -> tuple[int, int]:
    """Create the user if it does not exist (idempotent); return its uid and gid."""
    with contextlib.suppress(KeyError):
        entry = pwd.getpwnam(name)
        return entry.pw_uid, entry.pw_gid
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        raise Unavailable(f"no user {name}, and creating one needs root and useradd")
    proc = subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/bin/sh", name],
        capture_output=True,
        text=True,
        check=False,
    )
    with contextlib.suppress(KeyError):
        entry = pwd.getpwnam(name)  # created now, or by a parallel run meanwhile
        return entry.pw_uid, entry.pw_gid
    raise Unavailable(f"useradd {name} failed: {proc.stderr.strip()}")


def readable_by_others(path: str) -> bool:
    """Tell whether a user with no special rights can reach and read `path`."""
    current = "/"
    for part in [p for p in os.path.realpath(path).split("/") if p]:
        if not os.stat(current).st_mode & 0o001:
            return False
        current = os.path.join(current, part)
    return bool(os.stat(current).st_mode & 0o004)


def _requirements() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *TEST_PACKAGES]


def venv_dir() -> Path:
    """Return where the environment for the ordinary user lives (keyed by the pins)."""
    digest = hashlib.sha256()
    for part in (SYSTEM_PYTHON, *_requirements(), (REPO / "constraints-cpu.txt").read_text()):
        digest.update(part.encode() + b"\0")
    return Path(tempfile.gettempdir()) / f"studybot-unpriv-venv-{digest.hexdigest()[:12]}"


def ensure_python() -> str:
    """Return an interpreter with the project's dependencies that any user can run."""
    if readable_by_others(sys.executable) and readable_by_others(sys.prefix):
        return sys.executable
    if not os.path.exists(SYSTEM_PYTHON):
        raise Unavailable(
            f"{sys.executable} is not readable by others and {SYSTEM_PYTHON} is absent"
        )
    target = venv_dir()
    python = target / "bin" / "python"
    done = target / ".complete"
    lock_path = Path(str(target) + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; the others wait and reuse it
        if done.exists():
            return str(python)
        shutil.rmtree(target, ignore_errors=True)
        steps = [
            [SYSTEM_PYTHON, "-m", "venv", str(target)],
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "-c",
                str(REPO / "constraints-cpu.txt"),
                *_requirements(),
            ],
        ]
        for step in steps:
            proc = subprocess.run(
                step, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
            )
            if proc.returncode != 0:
                tail = re.sub(r"\s+", " ", (proc.stderr or proc.stdout)[-400:])
                raise Unavailable(f"cannot build {target}: {' '.join(step[:4])}…: {tail}")
        os.chmod(target, 0o755)  # noqa: S103 - the point: another user runs it
        done.touch()
    return str(python)


def ordinary_user() -> OrdinaryUser:
    """Return the ordinary user and its interpreter, creating them if needed (needs root)."""
    if os.geteuid() != 0:
        raise Unavailable("not root: cannot run anything as another user")
    if shutil.which("setpriv") is None:
        raise Unavailable("util-linux setpriv is missing")
    uid, gid = ensure_user()
    python = ensure_python()
    if not readable_by_others(str(REPO / "bot" / "__init__.py")):
        raise Unavailable(f"{REPO} is not readable by other users")
    user = OrdinaryUser(USER, uid, gid, python)
    # What the runner will need: a user namespace owning pid, mount and network namespaces.
    probe = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc", "--net"]
    proc = subprocess.run(
        [*user.prefix(), *probe, "true"], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise Unavailable(
            f"an ordinary user cannot create user namespaces here: {proc.stderr.strip()}"
        )
    return user


if __name__ == "__main__":
    user = ordinary_user()
    print(f"{user.name} uid={user.uid} gid={user.gid} python={user.python}")

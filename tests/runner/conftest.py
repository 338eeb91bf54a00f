"""Fixtures for the runner tests: a real runner, fenced in so a sandbox bug cannot hurt the host.

The runner under test runs as pid 1 of its own pid namespace (`unshare --pid --fork
--mount-proc`), so a kill(-1) escaping the sandbox can only end that namespace, and inside a
memory+pids cgroup (v1, or v2 where delegated), so an escaped memory or fork bomb hits that
cgroup's limits, not the machine. Tests that need this skip with the reason when it cannot be
arranged, and the summary says loudly at which levels the attack battery ran; with
STUDYBOT_REQUIRE_BATTERY=1 (as .ci/run sets) a run where it ran at no level fails.

The battery also runs against a runner without root ("unprivileged"): inside the same fence,
the runner itself runs as an ordinary user created for the purpose (tests/runner/unprivileged.py)
and builds its strong-level jail in user namespaces, as it would on a desktop. On cgroup v2 the
fence is delegated to that user (as systemd's Delegate=yes would), so its jobs get cgroups too.

STUDYBOT_TEST_TIME_SCALE (default 1) multiplies the fenced runners' wall and CPU limits and the
tests' waits, for slow hosts: a virtual machine under software emulation needs about 10.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from bot.runclient import RunnerClient
from bot.runner.jail.cgroup_v2 import LEAF
from bot.runner.jail.cgroups import CgroupError, JobCgroup, JobLimitsSpec, create_manager
from tests.runner.unprivileged import OrdinaryUser, Unavailable, ordinary_user

REPO = Path(__file__).resolve().parents[2]
FENCE_MEMORY_BYTES = 6 * 1024**3
FENCE_PIDS = 2048
# What systemd hands over with Delegate=yes (besides the directory itself).
DELEGATED_FILES = ("cgroup.procs", "cgroup.threads", "cgroup.subtree_control")


def time_scale() -> float:
    """Return STUDYBOT_TEST_TIME_SCALE: how much slower than a development machine this host is."""
    raw = os.environ.get("STUDYBOT_TEST_TIME_SCALE", "1")
    try:
        scale = float(raw)
    except ValueError:
        scale = 0.0
    if not 1 <= scale <= 30:
        raise pytest.UsageError(f"STUDYBOT_TEST_TIME_SCALE={raw!r}: a number from 1 to 30")
    return scale


TIME_SCALE = time_scale()


def scaled(seconds: float) -> float:
    """Return a time limit or wait of these tests, stretched for a slow host."""
    return seconds * TIME_SCALE


START_TIMEOUT_S = scaled(120.0)
# Levels a fenced runner came up at in this session, and why one could not start.
BATTERY_LEVELS: set[str] = set()
BATTERY_SKIPS: set[str] = set()
UNPRIVILEGED = "strong (without root)"
UNPRIVILEGED_SKIPS: set[str] = set()


@dataclass(frozen=True)
class RunnerUnderTest:
    """A running runner and what a test needs to attack it."""

    level: str
    url: str
    socket_path: Path
    workdir: Path  # the runner's cwd, world-readable, holding a fake .env and database
    secret: str  # in the runner's environment, its .env and its database file
    env_file: Path
    database: Path
    proc: subprocess.Popen[bytes]
    uid_range: tuple[int, int]
    user: OrdinaryUser | None = None  # the runner runs as this user, without root
    delegated: bool = False  # the fence is a cgroup v2 subtree delegated to that user

    @property
    def unprivileged(self) -> bool:
        """Tell whether the runner runs without root (in user namespaces)."""
        return self.user is not None

    def client(self) -> RunnerClient:
        """Return a client for this runner."""
        return RunnerClient(self.url)

    def alive(self) -> bool:
        """Tell whether the runner process is still running."""
        return self.proc.poll() is None


class Fence:
    """A memory+pids cgroup (v1, or v2 where delegated) the runner under test is started in."""

    def __init__(self) -> None:
        name = f"studybot-test-{os.getpid()}-{secrets.token_hex(3)}"
        why = "cannot create a fence cgroup (needs root and memory+pids controllers)"
        try:
            self._manager = create_manager(name)
        except CgroupError as e:
            skip(f"{why}: {e}")
        try:
            self._cgroup: JobCgroup = self._manager.job(
                0, JobLimitsSpec(FENCE_MEMORY_BYTES, FENCE_PIDS, 0)
            )
        except CgroupError as e:
            self._manager.close()
            skip(f"{why}: {e}")

        self._top = Path(self._cgroup.procs_files[0]).parent
        self._v2 = self._manager.version == 2
        if self._v2:
            # v2 allows no process in a cgroup that enables controllers for its children, and
            # the runner enables them in the fence for its own base: it joins a leaf, as it
            # would move itself into one (runner_parent), and restarted runners join it again.
            (self._top / LEAF).mkdir()

    def prefix(self) -> list[str]:
        """Return a command prefix that joins the fence and then execs the rest.

        Run inside the pid namespace, so the fence holds nothing the runner cannot see.
        """
        if self._v2:
            joins = f"echo $$ > {self._top / LEAF / 'cgroup.procs'}"
        else:
            joins = " && ".join(f"echo $$ > {f}" for f in self._cgroup.procs_files)
        return ["sh", "-c", f'{joins} && exec "$@"', "fence"]

    def delegate(self, user: OrdinaryUser) -> bool:
        """On cgroup v2, hand the fence to `user` as Delegate=yes would (say whether it did).

        The user may then create cgroups below it and move its own processes among them, but
        not raise the fence's memory.max or pids.max (files of the fence itself, still root's).
        """
        if not self._v2:
            return False
        for path in (self._top, *(self._top / f for f in DELEGATED_FILES)):
            os.chown(path, user.uid, user.gid)
        return True

    def remove(self) -> None:
        """Kill whatever is left inside and remove the cgroups (with the runner's below)."""
        self._manager.close()

    def cgroups(self) -> list[Path]:
        """Return every cgroup below the fence (the runners' bases and job cgroups)."""
        # os.walk ignores directories removed while it walks (workers come and go).
        found = (Path(d) / n for d, names, _ in os.walk(self._top) for n in names)
        return sorted(p for p in found if p != self._top / LEAF)


def skip(reason: str) -> NoReturn:
    """Skip a fenced test, remembering why for the battery summary."""
    BATTERY_SKIPS.add(reason)
    pytest.skip(reason)


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    client = RunnerClient(url)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"runner exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(ConnectionError):
            asyncio.run(client.info())
            return
        time.sleep(0.2)
    pytest.fail(f"runner did not come up:\n{log.read_text()[-3000:]}")


def stop_runner(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the runner itself: `unshare --fork` ignores SIGTERM while it waits."""
    with contextlib.suppress(OSError, ValueError):
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        for child in children:
            os.kill(int(child), signal.SIGTERM)
        if children:
            return
    proc.terminate()


def unprivileged_user() -> OrdinaryUser:
    """Return the ordinary user the unprivileged runner runs as, or skip saying why not."""
    try:
        return ordinary_user()
    except Unavailable as e:
        UNPRIVILEGED_SKIPS.add(str(e))
        skip(f"the unprivileged runner cannot run: {e}")


@contextlib.contextmanager
def fenced_runner(
    level: str, *, unprivileged: bool = False, no_pivot_root: bool = False, **settings: str
) -> Iterator[RunnerUnderTest]:
    """Start `python -m bot.runner` at `level` inside the fence; stop it afterwards.

    With `unprivileged` the runner runs as an ordinary user (its jail in user namespaces).
    With `no_pivot_root` it runs under a seccomp filter that refuses pivot_root with EPERM, as
    Docker's default profile does for a Swarm service (which cannot set security_opt).
    """
    with runner_in(None, level, unprivileged, settings, no_pivot_root) as runner:
        yield runner


# Loads a filter refusing pivot_root (EPERM, as Docker's default profile), then becomes the runner.
NO_PIVOT_ROOT = (
    "import errno, os, sys, pyseccomp as sc; "
    "f = sc.SyscallFilter(defaction=sc.ALLOW); "
    "f.add_rule(sc.ERRNO(errno.EPERM), 'pivot_root'); "
    "f.load(); "
    "os.execv(sys.executable, [sys.executable, '-m', 'bot.runner'])"
)


@contextlib.contextmanager
def runner_in(
    fence: Fence | None,
    level: str,
    unprivileged: bool,
    settings: dict[str, str],
    no_pivot_root: bool = False,
) -> Iterator[RunnerUnderTest]:
    """Start a runner in `fence` (kept, so runners can restart in it) or in a fence of its own."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        skip("the runner tests need root and util-linux unshare")
    user = unprivileged_user() if unprivileged else None
    own_fence = fence is None
    fence = fence or Fence()
    delegated = user is not None and fence.delegate(user)
    # World-traversable on purpose: at the basic level only the sandbox, not permissions,
    # may stand between a job and these files.
    workdir = Path(tempfile.mkdtemp(prefix="studybot-runner-test-"))
    workdir.chmod(0o755)
    secret = "test-secret-" + secrets.token_hex(12)
    env_file, database = workdir / ".env", workdir / "studybot.db"
    env_file.write_text(f"TELEGRAM_BOT_TOKEN={secret}\n")
    database.write_text(f"SQLite format 3 {secret}\n")
    for f in (env_file, database):
        f.chmod(0o644)
    if user is not None:
        # The runner's own folder, as an ordinary user's would be: its files are readable by
        # the runner's uid, which is also what every job's uid stands for outside its jail.
        for path in (workdir, env_file, database):
            os.chown(path, user.uid, user.gid)
    socket_path = workdir / "runner.sock"
    # A range of its own, far from real users: runners alive at once (this session's, or a
    # parallel one's on the same machine) must never hand out the same uid.
    first = 1_000_000 + secrets.randbelow(40_000) * 100
    uid_range = (first, first + 99)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "TELEGRAM_BOT_TOKEN": secret,
        "STUDYBOT_DATABASE": str(database),
        "STUDYBOT_SANDBOX_LEVEL": level,
        "STUDYBOT_RUNNER_SOCKET": str(socket_path),
        "STUDYBOT_RUN_WALL_TIME": "3",
        "STUDYBOT_RUN_CPU_TIME": "3",
        "STUDYBOT_RUN_MEMORY_MB": "512",
        "STUDYBOT_RUN_MAX_PROCESSES": "32",
        "STUDYBOT_RUN_SCRATCH_MB": "16",
        "STUDYBOT_RUN_MAX_FILE_MB": "4",
        "STUDYBOT_RUN_OUTPUT_KB": "16",
        "STUDYBOT_RUN_RATE_PER_MINUTE": "100000",
        "STUDYBOT_LOG_LEVEL": "INFO",
        "STUDYBOT_RUN_UID_RANGE": f"{first}-{first + 99}",
        **settings,
    }
    for name in ("STUDYBOT_RUN_WALL_TIME", "STUDYBOT_RUN_CPU_TIME"):
        env[name] = str(math.ceil(scaled(float(env[name]))))
    log = workdir / "runner.log"
    command = [
        "unshare",
        "--pid",
        "--fork",
        "--mount-proc",
        "--kill-child=SIGTERM",
        *fence.prefix(),
        *(user.prefix() if user else []),
        user.python if user else sys.executable,
        *(["-c", NO_PIVOT_ROOT] if no_pivot_root else ["-m", "bot.runner"]),
    ]
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"unix:{socket_path}"
        _wait_until_up(url, proc, log)
        BATTERY_LEVELS.add(UNPRIVILEGED if user else level)
        yield RunnerUnderTest(
            level,
            url,
            socket_path,
            workdir,
            secret,
            env_file,
            database,
            proc,
            uid_range,
            user,
            delegated,
        )
    finally:
        stop_runner(proc)
        try:
            proc.wait(timeout=scaled(30))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if own_fence:
            fence.remove()
        if not os.environ.get("STUDYBOT_KEEP_TEST_RUNNER"):
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session", params=["strong", "basic", "unprivileged"])
def runner(request: pytest.FixtureRequest) -> Iterator[RunnerUnderTest]:
    """A fenced runner at each isolation level, and one without root (strong, user namespaces)."""
    if request.param == "unprivileged":
        with fenced_runner("strong", unprivileged=True) as r:
            yield r
        return
    with fenced_runner(request.param) as r:
        yield r


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say at which levels the attack battery ran, loudly when at none."""
    if BATTERY_LEVELS:
        terminalreporter.write_line(
            f"runner attack battery ran at: {', '.join(sorted(BATTERY_LEVELS))}"
        )
        if UNPRIVILEGED_SKIPS and UNPRIVILEGED not in BATTERY_LEVELS:
            terminalreporter.write_sep(
                "!", "THE RUNNER ATTACK BATTERY DID NOT RUN WITHOUT ROOT", red=True
            )
            for reason in sorted(UNPRIVILEGED_SKIPS):
                terminalreporter.write_line(f"  {reason}", red=True)
    elif BATTERY_SKIPS or battery_required():
        terminalreporter.write_sep("!", "THE RUNNER ATTACK BATTERY DID NOT RUN", red=True)
        for reason in sorted(BATTERY_SKIPS) or ["no fenced runner was started"]:
            terminalreporter.write_line(f"  {reason}", red=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run when the battery was required but ran at no level."""
    if battery_required() and not BATTERY_LEVELS:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def battery_required() -> bool:
    """Tell whether this run must attack the sandbox at some level (.ci/run says so)."""
    return os.environ.get("STUDYBOT_REQUIRE_BATTERY") == "1"

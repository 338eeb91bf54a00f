"""Shared fixtures: an injected clock, settings on a temp database, and the core."""

from __future__ import annotations

import os

# Build RetryAfter without deprecation warnings; must be set before telegram is imported.
os.environ.setdefault("PTB_TIMEDELTA", "true")

import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings

FIXTURE_BANK = Path(__file__).parent / "fixtures" / "bank"


def user_namespaces_allowed() -> bool:
    """Tell whether this user may build a jail in user namespaces, as a runner without root does."""
    probe = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc", "--net"]
    try:
        return subprocess.run([*probe, "true"], capture_output=True, check=False).returncode == 0
    except OSError:
        return False


# The runner's sandbox runs each job in its own namespaces: as root, or without root in user
# namespaces; where neither is possible it refuses to start (STUDYBOT_SANDBOX_MIN_LEVEL=basic),
# so these tests cannot run /run at all.
requires_root = pytest.mark.skipif(
    os.geteuid() != 0 and not user_namespaces_allowed(),
    reason="needs root or unprivileged user namespaces: the /run sandbox builds each job's jail "
    "in namespaces of its own; run the tests with sudo to cover /run end to end",
)

# In a user namespace of its own with user.max_user_namespaces = 0, a process cannot create
# any below it: a host whose administrator switched unprivileged user namespaces off.
_WITHOUT_USERNS = (
    "echo 0 > /proc/sys/user/max_user_namespaces && "
    'exec setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all "$@"'
)


def ordinary_user_prefix(*, userns: bool = True) -> list[str]:
    """Return a command prefix that runs the rest as uid 1000 without any capability.

    As root that is a user namespace mapping uid 1000 (files stay readable: outside it is still
    root); not as root, nothing. With `userns=False` the command also cannot create user
    namespaces, as where they are disabled. Skips when the prefix cannot be had here.
    """
    if userns and os.geteuid() != 0:
        return []
    prefix = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]
    if not userns:
        prefix += ["--keep-caps", "sh", "-c", _WITHOUT_USERNS, "without-userns"]
    if subprocess.run([*prefix, "true"], capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot create a user namespace to run as an ordinary user")
    return prefix


@pytest.fixture
def clock() -> FixedClock:
    """Return a clock fixed at 2026-03-10 12:00 UTC, moved by the test."""
    return FixedClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Return a factory of settings on a temp database and the fixture bank."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "STUDYBOT_DATABASE": str(tmp_path / "data" / "bot.db"),
            "STUDYBOT_CONTENT_DIR": str(FIXTURE_BANK),
            "STUDYBOT_RUNNER_SOCKET": str(tmp_path / "runner.sock"),
        }
        values.update(overrides)
        return Settings.model_validate(values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """Return default settings on a temp database and the fixture bank."""
    return make_settings()


@pytest.fixture
async def core(settings: Settings, clock: FixedClock) -> AsyncIterator[Core]:
    """Return the core on a fresh database with the injected clock."""
    async with open_core(settings, clock=clock) as c:
        yield c


def clean_env(**extra: str) -> dict[str, str]:
    """Return this environment without STUDYBOT_, TELEGRAM_ or DISCORD_ variables, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STUDYBOT_", "TELEGRAM_", "DISCORD_"))
    }
    env.update(extra)
    return env


def studybot(
    *args: str, env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `studybot` command line as a user would and capture what it prints."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

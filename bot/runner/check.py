"""`studybot sandbox check`: show the level and each protection, then attack the sandbox.

The self-test runs a few escapes through a real sandbox (in this process, no server) and
reports which were contained. Traffic goes only to listeners this process opens on loopback.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import textwrap
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bot.runner.protocol import RunResult
from bot.runner.sandbox import Sandbox

Run = Callable[[str], Awaitable[RunResult]]


@dataclass(frozen=True)
class Verdict:
    """One attack and whether the sandbox contained it."""

    name: str
    contained: bool
    detail: str


async def self_test(sandbox: Sandbox) -> list[Verdict]:
    """Run the containment self-test and return one verdict per attack."""

    async def run(code: str) -> RunResult:
        return await sandbox.run(textwrap.dedent(code), "cpu")

    verdicts = []
    for attack in (_network, _env_secret, _write_outside, _fork_limit, _leftovers, _kill_all):
        verdicts.append(await attack(run))
    return verdicts


async def _network(run: Run) -> Verdict:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        result = await run(f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=1).send(b"x")
                print("connected")
            except OSError as e:
                print("refused", e)
        """)
        try:
            listener.accept()[0].close()
            reached = True
        except BlockingIOError:
            reached = False
    finally:
        listener.close()
    contained = not reached and "connected" not in result.stdout
    return Verdict("network (TCP to a loopback listener)", contained, result.stdout.strip())


async def _env_secret(run: Run) -> Verdict:
    canary = os.environ.get("STUDYBOT_CHECK_CANARY", "")
    result = await run("""
        import glob, os
        print(dict(os.environ))
        for path in glob.glob("/proc/*/environ"):
            try:
                print(open(path, "rb").read())
            except OSError:
                pass
    """)
    leaked = bool(canary) and canary in result.stdout + result.stderr
    return Verdict(
        "secrets in the runner's environment",
        not leaked,
        f"{len(result.stdout)} bytes of environment seen, canary absent={not leaked}",
    )


async def _write_outside(run: Run) -> Verdict:
    name = f"studybot-check-{secrets.token_hex(4)}"
    # The host's /tmp on purpose: a job writing there must not create this file.
    targets = [f"/tmp/{name}", f"{sys.prefix}/{name}", f"{Path.cwd()}/{name}", f"/etc/{name}"]  # noqa: S108
    result = await run(f"""
        for path in {targets!r}:
            try:
                open(path, "w").write("x")
                print("wrote", path)
            except OSError as e:
                print("refused", path, e.strerror)
    """)
    escaped = _remove_existing(targets)
    return Verdict(
        "write outside the scratch directory",
        not escaped,
        f"host files created: {escaped or 'none'}; job: {' / '.join(result.stdout.splitlines())}",
    )


def _remove_existing(paths: list[str]) -> list[str]:
    found = [p for p in paths if os.path.exists(p)]
    for path in found:
        os.unlink(path)
    return found


async def _fork_limit(run: Run) -> Verdict:
    result = await run("""
        import os, time
        n = 0
        for _ in range(2000):
            try:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                n += 1
            except OSError:
                break
        print("forked", n)
    """)
    count = int(result.stdout.split()[-1]) if result.stdout.startswith("forked") else 0
    return Verdict("fork bomb", count < 2000, f"{count} forks before the limit ({result.status})")


async def _leftovers(run: Run) -> Verdict:
    await run("""
        import os
        for path in ("leftover", "/tmp/leftover", "/dev/shm/leftover"):
            try:
                open(path, "w").write("x")
            except OSError:
                pass
    """)
    result = await run("""
        import os
        print([p for p in ("leftover", "/tmp/leftover", "/dev/shm/leftover") if os.path.exists(p)])
    """)
    return Verdict(
        "files left for the next job",
        result.stdout.strip() == "[]",
        f"seen by the next job: {result.stdout.strip()}",
    )


async def _kill_all(run: Run) -> Verdict:
    await run("import os\ntry:\n    os.kill(-1, 9)\nexcept OSError:\n    pass")
    after = await run("print('alive')")
    return Verdict(
        "kill(-1, SIGKILL)", after.stdout.strip() == "alive", f"next job: {after.status}"
    )


def print_verdicts(verdicts: list[Verdict]) -> bool:
    """Print one line per verdict; return True when everything was contained."""
    for v in verdicts:
        print(f"  {'PASS' if v.contained else 'FAIL'}  {v.name}: {v.detail}")
    return all(v.contained for v in verdicts)


async def run_self_test(sandbox: Sandbox) -> bool:
    """Start the sandbox, attack it, stop it; True when all attacks were contained."""
    await sandbox.start()
    try:
        return print_verdicts(await self_test(sandbox))
    finally:
        await sandbox.close()

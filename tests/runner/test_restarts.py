"""A runner that is SIGKILLed leaves nothing in the kernel that breaks the next one."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
from pathlib import Path

from bot.runner.jail.cgroups import foreign, remove_stale, runner_tag
from bot.runner.protocol import RunRequest
from tests.runner.conftest import Fence, RunnerUnderTest, runner_in, scaled, stop_runner

ROUNDS = int(os.environ.get("STUDYBOT_RUNNER_KILL_ROUNDS", "20"))


def runner_pid(runner: RunnerUnderTest) -> int:
    """Return the runner's own pid (the child of `unshare --fork`)."""
    children = Path(f"/proc/{runner.proc.pid}/task/{runner.proc.pid}/children").read_text()
    return int(children.split()[0])


def answers(runner: RunnerUnderTest) -> bool:
    request = RunRequest("print(6 * 7)", f"test:{secrets.token_hex(6)}", "cpu")
    result = asyncio.run(runner.client().run(request))
    return (result.status, result.stdout) == ("ok", "42\n")


def test_sigkilled_runner_restarts_with_its_cgroups_back_to_baseline() -> None:
    fence = Fence()
    try:
        counts: list[int] = []
        for round_ in range(ROUNDS):
            with runner_in(fence, "strong", False, {}) as runner:
                assert answers(runner), f"round {round_}: /run did not answer"
                now = fence.cgroups()
                counts.append(len(now))
                # One base (this runner's) and its workers: nothing of the killed ones.
                bases = {p for p in now if p.parent == now[0].parent}
                assert len(bases) == 1, f"round {round_}: {bases}"
                os.kill(runner_pid(runner), signal.SIGKILL)
                runner.proc.wait(timeout=scaled(30))
        print(f"{ROUNDS} SIGKILLs; cgroups per live runner: {counts}")
        # One more, stopped with SIGTERM: it removes its own and the last killed one's.
        with runner_in(fence, "strong", False, {}) as runner:
            assert answers(runner)
            stop_runner(runner.proc)
            runner.proc.wait(timeout=scaled(30))
        assert fence.cgroups() == []
    finally:
        fence.remove()


def test_tags_name_one_process_and_tell_a_reused_pid() -> None:
    namespace, pid, start = runner_tag().split("-")
    assert (pid, start.isdigit()) == (str(os.getpid()), True)
    assert not foreign(runner_tag())
    assert foreign(f"1-{pid}-{start}")
    # A later process with our pid (a restarted runner) is not the one that made the name.
    from bot.runner.jail.cgroups import is_stale

    assert not is_stale(runner_tag())
    assert is_stale(f"{namespace}-{pid}-{int(start) - 1}")
    assert is_stale(f"{namespace}-{pid}")  # an old-style name with our own pid


def test_sweep_leaves_what_is_not_a_runner_cgroup() -> None:
    assert remove_stale("studybot-no-such-prefix-") == []

"""/run: extract code from what people send, check who may run, and call the runner."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.content.models import Snippet
from bot.errors import UserInputError
from bot.runclient import Runner
from bot.runner.protocol import Device, RunFile, RunRequest, RunResult
from bot.storage.records import Chat

DEFAULT_MAX_CODE_BYTES = 64 * 1024
DEFAULT_BENCH_BUDGET_S = 2.0
# A runner that says nothing for a job's wall time plus this long is taken for dead.
RUNNER_GRACE_S = 5.0
_COMMAND = re.compile(r"^/run(@\w+)?(?=\s|$)", re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*(?:python3|python|py)?[ \t]*\n?(.*?)```", re.DOTALL | re.IGNORECASE)
_FIRST_WORD = re.compile(r"\s*(\S+)(?:\s+|$)")
_DEVICES: dict[str, Device] = {"cpu": "cpu", "gpu": "gpu", "cuda": "gpu", "auto": "auto"}


class RunObserver(Protocol):
    """Told of every run handed to the runner (metrics)."""

    def run_started(self) -> None:
        """A run was handed to the runner."""
        ...

    def run(self, result: RunResult | None, seconds: float) -> None:
        """The run ended with `result` (None: the runner never answered) after `seconds`."""
        ...


@dataclass(frozen=True)
class Job:
    """Code to run, the device asked for, and files the code finds in its directory."""

    code: str
    device: Device
    files: tuple[RunFile, ...] = ()


def strip_command(text: str, command: re.Pattern[str] = _COMMAND) -> str:
    """Remove a leading /run or /run@bot (or another `command`) from a message text."""
    return command.sub("", text.strip(), count=1)


def device_word(text: str) -> tuple[Device, str]:
    """Split a leading cpu, gpu, cuda or auto from the text: (device, the rest)."""
    first = _FIRST_WORD.match(text)
    if first and first.group(1).lower() in _DEVICES:
        return _DEVICES[first.group(1).lower()], text[first.end() :]
    return "auto", text


def parse_job(
    text: str, fallback: str | None = None, max_bytes: int = DEFAULT_MAX_CODE_BYTES
) -> Job:
    """Parse `/run [cpu|gpu] code…` (fenced blocks joined) or fall back to other text.

    `fallback` is the replied-to message or an attached .py file; raise UserInputError
    ("usage_run") when there is no code at all.
    """
    device, rest = device_word(strip_command(text))
    code = code_of(rest) or (code_of(fallback) if fallback else "")
    if not code.strip():
        raise UserInputError("usage_run")
    if len(code.encode()) > max_bytes:
        raise UserInputError("run_too_long", limit=max_bytes // 1024)
    return Job(code=code, device=device)


def snippet_job(snippet: Snippet) -> Job:
    """Return the job that runs a bank snippet on the device it was written for."""
    return Job(code=snippet.code, device=snippet.device)


def code_of(text: str | None) -> str:
    """Return the code of a message: its fenced blocks joined, or else the whole text."""
    if not text:
        return ""
    blocks = fenced_blocks(text)
    if blocks:
        return "\n".join(blocks)
    return text.strip()


def fenced_blocks(text: str) -> list[str]:
    """Return the code of each fenced block (```python … ```) of a text, in order."""
    return [block.strip("\n") for block in _FENCE.findall(text)]


class StartingRunner:
    """A runner that is still starting: runs wait for it, or learn why it never came."""

    def __init__(self) -> None:
        self._done = asyncio.Event()
        self._runner: Runner | None = None
        self.problem: UserInputError | None = None

    @property
    def ready(self) -> bool:
        """Tell whether the runner has started (or failed to)."""
        return self._done.is_set()

    @property
    def current(self) -> Runner | None:
        """Return the runner once it has started."""
        return self._runner

    def started(self, runner: Runner) -> None:
        """Hand over the runner once it answers."""
        self._runner = runner
        self._done.set()

    def failed(self, problem: UserInputError) -> None:
        """Record why the runner will not come; waiting runs get this problem."""
        self.problem = problem
        self._done.set()

    async def run(
        self, request: RunRequest, on_queued: Callable[[int], Awaitable[None]] | None = None
    ) -> RunResult:
        """Wait until the runner is up, then run; raise the problem if it never came."""
        await self._done.wait()
        if self._runner is None:
            raise self.problem or UserInputError("run_unavailable")
        return await self._runner.run(request, on_queued)


class RunService:
    """Decide whether a /run may go ahead and hand it to the runner."""

    def __init__(
        self,
        runner: Runner | None,
        allow: frozenset[tuple[str, int]],
        max_code_bytes: int = DEFAULT_MAX_CODE_BYTES,
        wall_time_s: float = 10.0,
        bench_budget_s: float = DEFAULT_BENCH_BUDGET_S,
    ) -> None:
        self.runner = runner
        self.allow = allow
        self.max_code_bytes = max_code_bytes
        self.observers: list[RunObserver] = []
        self.wall_time_s = wall_time_s
        # /bench: seconds of timing one job may spend, shared by its snippets.
        self.bench_budget_s = bench_budget_s

    def parse(self, text: str, fallback: str | None = None) -> Job:
        """Parse a /run message with this bot's code size limit."""
        return parse_job(text, fallback, self.max_code_bytes)

    @property
    def warming(self) -> bool:
        """Tell whether the runner is still starting (a run now waits for it)."""
        return isinstance(self.runner, StartingRunner) and not self.runner.ready

    def check_allowed(self, user_id: int | None, chat: Chat) -> None:
        """Raise UserInputError unless /run is on here and the allowlist admits the user or chat."""
        if self.runner is None:
            raise UserInputError("run_unavailable")
        if isinstance(self.runner, StartingRunner) and self.runner.problem is not None:
            raise self.runner.problem
        if not chat.run_enabled:
            raise UserInputError("run_disabled")
        if self.allow and not self.allowed(chat.platform, user_id, chat):
            raise UserInputError("run_not_allowed")

    def allowed(self, platform: str, user_id: int | None, chat: Chat) -> bool:
        """Tell whether STUDYBOT_RUN_ALLOW lists the user or the chat, on this platform."""
        # Ids are qualified by platform: a Telegram id never admits the Discord user that
        # happens to have the same number.
        return (platform, user_id) in self.allow or (platform, _int(chat.external_id)) in self.allow

    async def run(
        self, job: Job, user_key: str, on_queued: Callable[[int], Awaitable[None]] | None = None
    ) -> RunResult:
        """Run a job for a user (the runner enforces fairness per `user_key`)."""
        if self.runner is None:
            raise UserInputError("run_unavailable")
        request = RunRequest(code=job.code, user_key=user_key, device=job.device, files=job.files)
        for observer in self.observers:
            observer.run_started()
        started, result = time.monotonic(), None
        try:
            if isinstance(self.runner, StartingRunner) and not self.runner.ready:
                result = await self.runner.run(request, on_queued)  # start-up has its own timeout
            else:
                result = await self._watched(self.runner, request, on_queued)
            return result
        finally:
            for observer in self.observers:
                observer.run(result, time.monotonic() - started)

    @property
    def client(self) -> Runner | None:
        """Return the runner answering now (None while a local one starts, or if it failed)."""
        if isinstance(self.runner, StartingRunner):
            return self.runner.current
        return self.runner

    async def _watched(
        self,
        runner: Runner,
        request: RunRequest,
        on_queued: Callable[[int], Awaitable[None]] | None,
    ) -> RunResult:
        """Run, giving up on a runner that stays silent past the job's wall time plus a grace."""
        loop = asyncio.get_running_loop()
        budget = self.wall_time_s + RUNNER_GRACE_S
        deadline = loop.time() + budget

        async def queued(position: int) -> None:
            nonlocal deadline
            # The runner is alive; each job ahead of this one ends within its wall time.
            deadline = loop.time() + budget + position * self.wall_time_s
            if on_queued is not None:
                await on_queued(position)

        task = asyncio.ensure_future(runner.run(request, queued))
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=max(0.0, deadline - loop.time()))
                if not task.done() and loop.time() >= deadline:
                    task.cancel()
                    return RunResult.crashed(f"the runner did not answer within {budget:g} s")
            return task.result()
        finally:
            task.cancel()


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None

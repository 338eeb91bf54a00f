"""/bench: time one snippet, or compare two, in the /run sandbox with torch.utils.benchmark.

A bench is a /run job like any other (the same allowlist, per-user limits and quiz-poll wait):
its code is `bench_harness.py` with the budget filled in, and the snippets go to it as input
files. What comes back is read from the job's result file, strictly (`bench_result.py`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from bot.errors import UserInputError
from bot.runner.protocol import Device, RunFile, RunResult
from bot.services.bench_result import (
    RESULT_FILE,
    Malformed,
    Progress,
    Role,
    read_progress,
)
from bot.services.runs import Job, RunService, device_word, fenced_blocks, strip_command
from bot.storage.records import Chat

log = logging.getLogger(__name__)

MAX_BLOCKS = 3
INPUT_FILES: dict[Role, str] = {"setup": "bench_setup.py", "A": "bench_a.py", "B": "bench_b.py"}
_COMMAND = re.compile(r"^/bench(@\w+)?(?=\s|$)", re.IGNORECASE)
_PARAMS = "P: dict = {}  # @PARAMS@ - bench.py puts the job's parameters here"


@dataclass(frozen=True)
class Bench:
    """One snippet to time alone, or two to compare, after an optional shared setup."""

    a: str
    b: str | None = None
    setup: str | None = None
    device: Device = "auto"

    @property
    def roles(self) -> tuple[Role, ...]:
        """Return the roles of the snippets it holds, in the order they run."""
        parts: tuple[tuple[Role, str | None], ...] = (
            ("setup", self.setup),
            ("A", self.a),
            ("B", self.b),
        )
        return tuple(role for role, code in parts if code is not None)

    @property
    def alone(self) -> bool:
        """Tell whether one snippet is timed, with nothing to compare it to."""
        return self.b is None

    def code(self, role: Role) -> str:
        """Return the code of one of its snippets."""
        found = {"setup": self.setup, "A": self.a, "B": self.b}[role]
        if found is None:
            raise KeyError(role)
        return found


@dataclass(frozen=True)
class BenchReport:
    """What a bench job came to: the runner's result and, if readable, the job's report.

    `progress` is None when the job left no report, or one that broke a rule (`problem` says
    which); a report that is not done says where the job stopped.
    """

    bench: Bench
    result: RunResult
    progress: Progress | None
    problem: str = ""


def bench_of_blocks(blocks: list[str], device: Device, max_bytes: int) -> Bench:
    """Give blocks their roles: one is timed alone, two compared, three a setup then two."""
    if not 1 <= len(blocks) <= MAX_BLOCKS or any(not b.strip() for b in blocks):
        raise UserInputError("usage_bench")
    if len(blocks) == MAX_BLOCKS:
        return bench_of_parts(blocks[1], blocks[2], blocks[0], device, max_bytes)
    return bench_of_parts(
        blocks[0], blocks[1] if len(blocks) == 2 else None, None, device, max_bytes
    )


def bench_of_parts(
    a: str, b: str | None, setup: str | None, device: Device, max_bytes: int
) -> Bench:
    """Return a bench of named parts (a form's fields); an empty B or setup is left out."""
    b = b if b is not None and b.strip() else None
    setup = setup if setup is not None and setup.strip() else None
    if not a.strip():
        raise UserInputError("usage_bench")
    if any(len(code.encode()) > max_bytes for code in (a, b or "", setup or "")):
        raise UserInputError("run_too_long", limit=max_bytes // 1024)
    return Bench(a=a, b=b, setup=setup, device=device)


def split_command(text: str) -> tuple[Device, str]:
    """Split `/bench [cpu|gpu] …` into the device asked for and the rest of the text."""
    return device_word(strip_command(text, _COMMAND))


def parse_bench(text: str, fallback: str | None, max_bytes: int) -> Bench:
    """Parse `/bench [cpu|gpu]` and its fenced blocks (else those of `fallback`, a reply)."""
    device, rest = split_command(text)
    blocks = fenced_blocks(rest)
    if not blocks and fallback:
        blocks = fenced_blocks(fallback)
    return bench_of_blocks(blocks, device, max_bytes)


@cache
def _harness() -> str:
    text = resources.files("bot.services").joinpath("bench_harness.py").read_text("utf-8")
    if text.count(_PARAMS) != 1:
        raise RuntimeError("bench_harness.py lost its parameter line")
    return text


def harness_program(bench: Bench, budget_s: float) -> str:
    """Return the harness with this bench's roles and timing budget filled in."""
    params = {"roles": list(bench.roles), "budget_s": float(budget_s)}
    return _harness().replace(_PARAMS, f"P: dict = {params!r}", 1)


def bench_job(bench: Bench, budget_s: float) -> Job:
    """Return the /run job that times the bench: the harness, with the snippets as its files."""
    files = tuple(RunFile(INPUT_FILES[r], bench.code(r).encode()) for r in bench.roles)
    return Job(code=harness_program(bench, budget_s), device=bench.device, files=files)


def read_report(bench: Bench, result: RunResult) -> BenchReport:
    """Read the job's report from its result file, refusing one that breaks a rule."""
    if result.status in {"rejected", "crashed"}:
        return BenchReport(bench, result, None)
    found = [f.data for f in result.files if f.name == RESULT_FILE]
    if not found:
        return BenchReport(bench, result, None, "the job left no timings")
    try:
        progress = read_progress(found[0], bench.roles, result.duration_ms / 1000)
    except Malformed as e:
        # The user is told the timings could not be read; what broke which rule is for us.
        log.info("bench report refused: %s", e)
        return BenchReport(bench, result, None, str(e))
    return BenchReport(bench, result, progress)


class BenchService:
    """Parse /bench, apply /run's rules to it and time it on the runner."""

    def __init__(self, runs: RunService) -> None:
        self.runs = runs

    def parse(self, text: str, fallback: str | None = None) -> Bench:
        """Parse a /bench message with this bot's code size limit."""
        return parse_bench(text, fallback, self.runs.max_code_bytes)

    def of_blocks(self, blocks: list[str], device: Device) -> Bench:
        """Return the bench of blocks typed one after the other (the console)."""
        return bench_of_blocks(blocks, device, self.runs.max_code_bytes)

    def of_parts(self, a: str, b: str | None, setup: str | None, device: Device) -> Bench:
        """Return the bench of a form's fields (Discord's modal)."""
        return bench_of_parts(a, b, setup, device, self.runs.max_code_bytes)

    def check_allowed(self, user_id: int | None, chat: Chat) -> None:
        """Raise UserInputError unless /run (and so /bench) may be used here by this user."""
        self.runs.check_allowed(user_id, chat)

    @property
    def budget_s(self) -> float:
        """Return the seconds of timing one bench may spend."""
        return self.runs.bench_budget_s

    async def run(
        self,
        bench: Bench,
        user_key: str,
        on_queued: Callable[[int], Awaitable[None]] | None = None,
    ) -> BenchReport:
        """Time the bench for a user (the runner's per-user limits apply, as for /run)."""
        result = await self.runs.run(bench_job(bench, self.budget_s), user_key, on_queued)
        return read_report(bench, result)

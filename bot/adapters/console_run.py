"""/run in the console: code typed or pasted, run in the sandbox, output and files saved."""

from __future__ import annotations

import itertools
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.adapters import render
from bot.adapters.bench_render import bench_reply
from bot.adapters.console_base import ConsoleBase
from bot.adapters.run_render import run_reply
from bot.errors import UserInputError
from bot.i18n import _
from bot.services.bench import MAX_BLOCKS, BenchService, split_command
from bot.services.runs import Job, RunService, snippet_job, strip_command
from bot.services.study import Context


class ConsoleRun(ConsoleBase):
    """Run code and snippets, read pasted blocks and save what comes back."""

    async def run_snippet(self, ctx: Context) -> None:
        """Run the current question's snippet in the sandbox (`/answer run`)."""
        if self.current is None:
            raise UserInputError("no_question")
        snippet = self.current.question.snippet
        if snippet is None:
            raise UserInputError("no_snippet")
        await self.run_job(ctx, snippet_job(snippet))

    async def run_code(self, ctx: Context, line: str) -> None:
        """Run `/run [cpu|gpu] code`; a bare /run reads a block until a line with only `.`."""
        if self.runs is None:
            raise UserInputError("run_unavailable")
        text = line
        self.runs.check_allowed(None, ctx.chat)
        if strip_command(line).strip().lower() in {"", "cpu", "gpu", "auto"}:
            block = await self.read_block(ctx)
            if block is None:
                return
            text = line + "\n" + block
        await self.run_job(ctx, self.runs.parse(text))

    async def run_job(self, ctx: Context, job: Job) -> None:
        """Run a job once no quiz poll is open here, and print the result and saved files."""
        if self.runs is None:
            raise UserInputError("run_unavailable")
        self.runs.check_allowed(None, ctx.chat)
        on_queued = await self._ready_to_run(ctx, self.runs)
        # UserInputError if the runner did not start after all.
        result = await self.runs.run(job, f"console:{self.user}", on_queued)
        reply = run_reply(ctx.lang, result, self.core.settings.run_wall_time_s)
        self.say(reply.text)
        for file in reply.files:
            saved = self.save_file(file.name, file.data)
            self.say(_(ctx.lang, "File saved: {path}", path=saved))

    async def bench(self, ctx: Context, line: str) -> None:
        """Time `/bench [cpu|gpu]` with fenced blocks, or blocks pasted one after the other."""
        if self.runs is None:
            raise UserInputError("run_unavailable")
        benches = BenchService(self.runs)
        benches.check_allowed(None, ctx.chat)
        device, rest = split_command(line)
        if rest.strip():
            bench = benches.parse(line)
        else:
            blocks = await self.read_blocks(ctx)
            if blocks is None:
                return
            bench = benches.of_blocks(blocks, device)
        on_queued = await self._ready_to_run(ctx, self.runs)
        report = await benches.run(bench, f"console:{self.user}", on_queued)
        self.say(bench_reply(ctx.lang, report, self.core.settings.run_wall_time_s))

    async def _ready_to_run(
        self, ctx: Context, runs: RunService
    ) -> Callable[[int], Awaitable[None]]:
        """Wait while a quiz poll is open here, say if the sandbox warms up; return on_queued."""
        await self.core.quiz.hold_code(
            ctx.chat.id, lambda: self.say_async(render.held_for_quiz(ctx.lang))
        )

        async def on_queued(position: int) -> None:
            self.say(_(ctx.lang, "⏳ In queue: position {position}", position=position))

        if runs.warming:
            self.say(_(ctx.lang, "⏳ The /run sandbox is warming up…"))
        return on_queued

    async def read_blocks(self, ctx: Context) -> list[str] | None:
        """Read up to three snippets, each ended by `.`; a lone `.` ends them (None: /cancel)."""
        blocks: list[str] = []
        while len(blocks) < MAX_BLOCKS:
            prompt = _(
                ctx.lang,
                "Paste snippet {n}, or a lone dot (.) to start timing: one snippet is timed "
                "alone, two are compared, and with three the first is a setup for the others.",
                n=len(blocks) + 1,
            )
            if not blocks:
                prompt = _(
                    ctx.lang,
                    "Paste the snippet to time; end it with a line holding only a dot (.), "
                    "or /cancel.",
                )
            block = await self.read_block(ctx, prompt)
            if block is None:
                return None
            if not block.strip():
                break
            blocks.append(block)
        return blocks

    async def read_block(self, ctx: Context, prompt: str | None = None) -> str | None:
        """Read code lines until `.` or end of input; None if the user types /cancel."""
        self.say(
            prompt
            or _(ctx.lang, "Paste the code; end it with a line holding only a dot (.), or /cancel.")
        )
        block: list[str] = []
        while more := await self.readline():  # end of input ends the block too
            if more.strip() == ".":
                break
            if more.strip() == "/cancel":
                self.say(_(ctx.lang, "Cancelled: nothing was run."))
                return None
            block.append(more.rstrip("\n"))
        return "\n".join(block)

    def save_file(self, name: str, data: bytes) -> str:
        """Save a file a run produced under ./studybot-output/ and return its path.

        Never over an earlier file (output.txt, output-2.txt, …), and readable by this user
        alone: what a snippet printed or drew is the user's own.
        """
        folder = Path("studybot-output")
        folder.mkdir(mode=0o700, exist_ok=True)
        base = Path(Path(name).name or "file")
        for n in itertools.count(1):
            path = folder / (base.name if n == 1 else f"{base.stem}-{n}{base.suffix}")
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            try:
                fd = os.open(path, flags, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            return str(path)
        raise AssertionError("unreachable")

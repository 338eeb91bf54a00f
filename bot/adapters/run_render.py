"""Render a /run result: status line, output block, and the files that go with it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.adapters.render import usage
from bot.document import CodeBlock, Document, bold, doc, lines
from bot.errors import UserInputError
from bot.i18n import _
from bot.runner.protocol import RunFile, RunResult
from bot.services.model import Lang

# Telegram allows 4096 characters a message; leave room for the status lines and tags.
INLINE_OUTPUT_CHARS = 3000


@dataclass(frozen=True)
class RunReply:
    """The text of a /run reply and the files to send after it."""

    text: Document
    files: tuple[RunFile, ...]


def status_line(lang: Lang, r: RunResult, wall_limit_s: float) -> str:
    """Return the one-line verdict of a run, in words."""
    if r.status == "ok":
        return _(lang, "✅ OK")
    if r.status == "error":
        if r.exit_code is not None:
            return _(lang, "❌ Error (exit code {code})", code=r.exit_code)
        return _(lang, "❌ Error")
    if r.status == "timeout":
        return _(lang, "⏱ Time limit reached ({limit:g} s): stopped", limit=wall_limit_s)
    if r.status == "memory":
        return _(lang, "💥 Out of memory: stopped")
    if r.status == "killed":
        reasons = {
            "processes": _(lang, "too many processes or threads"),
            "output": _(lang, "too much output"),
            "file_size": _(lang, "a file grew too large"),
            "disk": _(lang, "the scratch disk is full"),
            "cpu": _(lang, "CPU time limit"),
        }
        return _(lang, "💥 Killed: {reason}", reason=reasons.get(r.reason, r.reason or "signal"))
    if r.status == "crashed" and r.reason == "runner_lost":
        return _(
            lang,
            "💥 The runner running your code stopped. It was not run again, so that it never "
            "runs twice: send it again to run it on another runner.",
        )
    if r.status == "crashed":
        return _(lang, "💥 The runner crashed and is restarting. Please try again in a moment.")
    return rejection(lang, r)


def rejection(lang: Lang, r: RunResult) -> str:
    """Explain why the runner refused a job."""
    if r.reason == "rate_limited":
        wait = max(1, round(r.retry_after_s or 60))
        return _(lang, "🚦 Too many runs. Try again in {seconds} s.", seconds=wait)
    if r.reason == "busy":
        return _(lang, "⏳ Your previous run is still going. Wait for it to finish.")
    if r.reason == "no_gpu":
        return _(lang, "No GPU on this runner. Use /run cpu …")
    if r.reason == "draining":
        return _(lang, "⏳ The runner is restarting. Please try again in a moment.")
    if r.reason == "too_large":
        return _(lang, "The code is too long to run.")
    if r.reason == "no_runner":
        return _(lang, "⚠️ No runner can take code just now. Please try again in a moment.")
    if r.reason == "sandbox_unavailable":
        return _(
            lang,
            "⚠️ The sandbox could not be set up for this job (the runner's log says why). "
            "Try again in a moment.",
        )
    return _(lang, "The runner refused this job: {reason}", reason=r.reason or "?")


def combined_output(r: RunResult) -> str:
    """Return the run's stdout then stderr as one text, without trailing newlines."""
    output = r.stdout
    if r.stderr:
        output = (
            f"{output}\n{r.stderr}" if output and not output.endswith("\n") else output + r.stderr
        )
    return output.rstrip("\n")


def run_reply(lang: Lang, r: RunResult, wall_limit_s: float) -> RunReply:
    """Build the reply to a finished run."""
    head = status_line(lang, r, wall_limit_s)
    if r.status in {"rejected", "crashed"}:
        return RunReply(text=doc(head), files=())
    meta = _(lang, "{device} · {ms} ms", device=r.device or "?", ms=round(r.duration_ms))
    output = combined_output(r)
    files = list(r.files)
    body: CodeBlock | str = _(lang, "(no output)")
    if output:
        shown = output
        if len(output) > INLINE_OUTPUT_CHARS:
            shown = output[:INLINE_OUTPUT_CHARS] + "\n…"
        body = CodeBlock(shown)
        if len(output) > INLINE_OUTPUT_CHARS or r.output_truncated:
            files.insert(0, RunFile(name="output.txt", data=output.encode(), is_image=False))
    cut = _(lang, "Output was cut at the runner's limit.") if r.output_truncated else None
    text = doc(lines([bold(head)], [meta]), body, cut)
    return RunReply(text=text, files=tuple(files))


def run_problem(lang: Lang, err: UserInputError, *, operator: bool = False) -> Document:
    """Render why a /run cannot go ahead (to the `operator`, also what to do about it)."""
    if operator and err.key == "run_needs_root" and err.params.get("why"):
        return doc(
            _(
                lang,
                "/run cannot build its sandbox here without root: {why}. "
                "Or start the console with sudo.",
                why=str(err.params["why"]),
            )
        )
    if operator and err.key == "run_needs_root":
        return doc(
            _(
                lang,
                "/run needs root or unprivileged user namespaces here (its sandbox builds each "
                "job's jail in namespaces): start the console with sudo.",
            )
        )
    if operator and err.key == "run_unavailable" and err.params.get("why"):
        return doc(_(lang, "/run is not available: {why}", why=str(err.params["why"])))
    messages = {
        "run_unavailable": _(lang, "/run is not available on this bot right now."),
        "run_needs_root": _(lang, "/run is not available on this bot right now."),
        "run_disabled": _(lang, "/run is switched off in this group (admins: /run on)."),
        "run_not_allowed": _(lang, "/run is limited to allowed users on this bot."),
        "run_too_long": _(
            lang, "The code is too long: at most {limit} KiB.", limit=err.params.get("limit", 64)
        ),
    }
    message = messages.get(err.key)
    return doc(message) if message else usage(lang, err.key, **err.params)

"""Render a /bench report: a table of medians, IQRs and runs, and how A and B compare."""

from __future__ import annotations

import unicodedata

from bot.adapters.run_render import status_line
from bot.document import CodeBlock, Document, bold, doc, lines
from bot.i18n import _
from bot.services.bench import Bench, BenchReport
from bot.services.bench_result import Progress, Role, SnippetError, Timing, slower, within_noise
from bot.services.model import Lang


def who(lang: Lang, role: Role, bench: Bench) -> str:
    """Name a snippet as the answer does: the setup, snippet A or B, or the snippet."""
    if role == "setup":
        return _(lang, "The setup")
    if bench.alone:
        return _(lang, "The snippet")
    return _(lang, "Snippet A") if role == "A" else _(lang, "Snippet B")


def seconds(value: float) -> str:
    """Format a duration with its unit and three significant digits: 6.60 µs, 412 ms."""
    units = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))
    unit, scale = next((u for u in units if value >= u[1]), units[-1])
    shown = value / scale
    digits = 2 if shown < 10 else 1 if shown < 100 else 0
    return f"{shown:.{digits}f} {unit}"


def times(factor: float) -> str:
    """Format a ratio: 1.14×, 3.2×, 120×."""
    digits = 2 if factor < 2 else 1 if factor < 100 else 0
    return f"{factor:.{digits}f}×"


def display_width(text: str) -> int:
    """Return how many columns a text takes in a monospaced font."""
    # Chinese characters take two columns each.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def table(lang: Lang, bench: Bench, timings: tuple[Timing, ...]) -> str:
    """Return the timings as a plain-text table, one row per snippet, columns aligned."""
    rows = [["", _(lang, "median"), _(lang, "IQR"), _(lang, "runs")]]
    for t in timings:
        label = _(lang, "snippet") if bench.alone else t.role
        rows.append([label, seconds(t.median_s), seconds(t.iqr_s), f"{t.runs:,}"])
    widths = [max(display_width(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(_pad(cell, widths[i], right=i > 0) for i, cell in enumerate(row)).rstrip()
        for row in rows
    )


def comparison(lang: Lang, a: Timing, b: Timing) -> str:
    """Say how B compares to A: slower, faster, or the same within the noise."""
    ratio = slower(a, b)
    if within_noise(a, b):
        return _(
            lang,
            "A and B take about the same time: the difference ({factor}) is within the noise.",
            factor=times(max(ratio, 1 / ratio)),
        )
    if ratio >= 1:
        return _(lang, "B is {factor} slower than A.", factor=times(ratio))
    return _(lang, "B is {factor} faster than A.", factor=times(1 / ratio))


def failure(lang: Lang, bench: Bench, error: SnippetError) -> str:
    """Say which snippet failed and why: exception type, message and line."""
    what = f"{error.type}: {error.message}" if error.message else error.type
    if error.line is not None:
        what += " " + _(lang, "(line {line})", line=error.line)
    return _(lang, "❌ {who} failed: {error}", who=who(lang, error.role, bench), error=what)


def stopped(lang: Lang, report: BenchReport, progress: Progress, wall_limit_s: float) -> str:
    """Say in which snippet a job that reported no timings stopped, and why."""
    if progress.step not in ("setup", "A", "B"):
        return status_line(lang, report.result, wall_limit_s)
    name = who(lang, progress.step, report.bench)  # type: ignore[arg-type]  # checked above
    status = report.result.status
    if status == "timeout":
        return _(
            lang,
            "⏱ {who} reached the time limit ({limit:g} s): stopped.",
            who=name,
            limit=wall_limit_s,
        )
    if status in {"memory", "killed"}:
        return _(
            lang, "{stopped} (in {who})", stopped=status_line(lang, report.result, 0), who=name
        )
    return _(lang, "⚠️ {who} ended the program before it was timed.", who=name)


def no_gpu(lang: Lang) -> str:
    """Say the runner has no GPU, with the /bench form that works."""
    return _(lang, "No GPU on this runner. Use /bench cpu …")


def bench_reply(lang: Lang, report: BenchReport, wall_limit_s: float) -> Document:
    """Build the answer to a /bench: the table and the comparison, or what went wrong."""
    result, progress = report.result, report.progress
    if result.status == "rejected" and result.reason == "no_gpu":
        return doc(no_gpu(lang))
    if result.status in {"rejected", "crashed"}:
        return doc(status_line(lang, result, wall_limit_s))
    if progress is None:
        if result.status in {"timeout", "memory", "killed"}:
            return doc(status_line(lang, result, wall_limit_s))
        return doc(
            _(
                lang,
                "⚠️ The timings could not be read: a snippet may have written over them or "
                "ended the program.",
            )
        )
    if progress.error is not None:
        return doc(failure(lang, report.bench, progress.error))
    if not progress.done:
        return doc(stopped(lang, report, progress, wall_limit_s))
    return timed(lang, report.bench, progress, result.device)


def timed(lang: Lang, bench: Bench, progress: Progress, device: str) -> Document:
    """Render a finished bench: title, device, the table and the comparison."""
    head = _(lang, "⏱ Benchmark")
    meta = _(lang, "{device} · torch.utils.benchmark", device=device or progress.device)
    compared = None
    if not bench.alone and len(progress.timings) == 2:
        compared = comparison(lang, *progress.timings)
    return doc(
        lines([bold(head)], [meta]),
        CodeBlock(table(lang, bench, progress.timings)),
        compared,
    )

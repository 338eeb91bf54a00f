"""`studybot content check` and `studybot content reports`: the bank's checks and reports."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.errors import ContentError

if TYPE_CHECKING:
    from bot.runclient import Runner

# `studybot content reports` lists at most this many open reports.
REPORTS_LISTED = 1000


def content_check(
    settings: Settings, exercise_ids: list[str] | None = None, run: bool = True
) -> int:
    """Validate the bank and run the exercises; print every problem (exit 1) or the counts."""
    if exercise_ids:  # one exercise at a time, as while writing it: skip the question review
        return asyncio.run(exercises_check(settings, exercise_ids, run))
    questions = questions_check(settings)
    exercises = asyncio.run(exercises_check(settings, None, run))
    return max(questions, exercises)


async def exercises_check(settings: Settings, ids: list[str] | None, run: bool) -> int:
    """Load the exercises and run them: each reference passes, each wrong solution fails."""
    from bot.exercises.check import check_exercises
    from bot.exercises.loader import load_exercises

    try:
        bank = load_exercises(settings.content_dir)
    except ContentError as e:
        for problem in e.problems:
            print(problem)
        print(f"{len(e.problems)} problem(s) in the exercises", file=sys.stderr)
        return 1
    chosen = bank.exercises
    if ids:
        unknown = [i for i in ids if bank.get(i) is None]
        if unknown:
            import difflib

            ids_known = [x.id for x in bank.exercises]
            for wanted in unknown:
                close = difflib.get_close_matches(wanted, ids_known, n=3, cutoff=0.6)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                print(f"studybot: no exercise {wanted}{hint}", file=sys.stderr)
            return 1
        chosen = tuple(x for x in bank.exercises if x.id in ids)
    topics = Counter(x.topic for x in bank.exercises)
    print(f"{len(bank)} exercises: " + ", ".join(f"{k} {v}" for k, v in topics.items()))
    if not run or not chosen:
        return 0
    async with exercise_runner(settings) as (runner, how):
        print(f"running {len(chosen)} exercise(s) on {how}")
        reports = await check_exercises(chosen, runner)
    problems = [p for r in reports for p in r.problems]
    for r in reports:
        for problem in r.problems:
            print(problem)
        if not r.problems:
            print(
                f"exercise {r.exercise_id}: the reference passes {r.cases} cases;"
                f" {r.rejected} wrong solution(s) rejected"
            )
    if problems:
        print(f"{len(problems)} exercise problem(s)", file=sys.stderr)
        return 1
    return 0


@asynccontextmanager
async def exercise_runner(settings: Settings) -> AsyncIterator[tuple[Runner, str]]:
    """Yield the runner at STUDYBOT_RUNNER_URL, a local sandbox runner, or plain subprocesses."""
    import tempfile

    from bot.exercises.check import PlainRunner
    from bot.runclient import LocalRunner, RunnerUnavailable
    from bot.runfleet import Fleet

    if settings.runner_url:
        token = settings.runner_token.get_secret_value() if settings.runner_token else None
        yield Fleet(settings.runner_url, token), settings.runner_url
        return
    # Root or not: the runner picks its level (user namespaces without root).
    with tempfile.TemporaryDirectory(prefix="studybot-check-") as folder:
        local = settings.model_copy(
            update={
                "runner_socket": Path(folder) / "runner.sock",
                "run_rate_per_minute": 1_000_000,
                "log_level": "WARNING",
                "run_wall_time_s": max(settings.run_wall_time_s, 30.0),
                "run_cpu_time_s": max(settings.run_cpu_time_s, 30),
            }
        )
        try:
            async with LocalRunner(local) as client:
                yield client, "the local sandbox runner"
                return
        except RunnerUnavailable as e:
            print(f"the local runner did not start ({e}); using subprocesses", file=sys.stderr)
    yield PlainRunner(settings.run_wall_time_s * 3), "plain subprocesses (no sandbox)"


def questions_check(settings: Settings) -> int:
    """Validate the question bank; print every problem (exit 1) or the counts (exit 0)."""
    from bot.content.loader import load_bank
    from bot.content.review import review

    try:
        bank = load_bank(settings.content_dir)
    except ContentError as e:
        for problem in e.problems:
            print(problem)
        print(f"{len(e.problems)} problem(s) found", file=sys.stderr)
        return 1
    total = len(bank.questions)
    print(f"{total} questions in {settings.content_dir}")
    print("by topic:      " + ", ".join(f"{k} {v}" for k, v in bank.counts_by_topic().items()))
    print("by difficulty: " + ", ".join(f"{k} {v}" for k, v in bank.counts_by_difficulty().items()))
    print("by language:   " + ", ".join(f"{k} {v}" for k, v in bank.counts_by_language().items()))
    share = round(100 * bank.with_snippet / total) if total else 0
    print(f"with runnable snippet: {bank.with_snippet} ({share}%)")
    seeds = sorted(n for q in bank.questions if (n := q.seed_number) is not None)
    print(f"from the seed: {len(seeds)} (questions {', '.join(map(str, seeds)) or '-'})")
    hints = sum(1 for q in bank.questions if q.has_hint)
    gpu = sum(1 for q in bank.questions if q.snippet is not None and q.snippet.device == "gpu")
    print(f"with a hint: {hints}; GPU-only snippets: {gpu}")
    findings = review(bank)
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} review finding(s)", file=sys.stderr)
        return 1
    return 0


async def content_reports(settings: Settings, close: int | None) -> int:
    """Print the open problem reports, newest first, or close one of them."""
    from bot.app import open_core

    async with open_core(settings) as core:
        if close is not None:
            if not await core.reports.close(close):
                print(f"studybot: no open report #{close}", file=sys.stderr)
                return 1
            print(f"closed report #{close}")
            return 0
        found = await core.reports.open_reports(limit=REPORTS_LISTED)
    print(f"{found.count} open report(s)")
    for r in found.newest:
        when = r.created_at.strftime("%Y-%m-%d %H:%M UTC")
        text = " ".join(r.text.split())
        print(f"#{r.id}  {when}  {r.question_id}  {r.user_platform}:{r.user_name}  {text}")
    return 0

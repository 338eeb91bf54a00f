"""Operator tools: the bot's numbers at a glance, and reloading the question bank live."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bot.clock import Clock
from bot.content.loader import ContentBank, load_bank
from bot.exercises.loader import load_exercises
from bot.runner.protocol import RunResult
from bot.services.exercises import ExerciseService
from bot.services.quiz import QuizService
from bot.services.reports import OpenReports, ReportService
from bot.services.runs import RunService
from bot.services.study import StudyService
from bot.storage.stats import StatsRepo

RUNNER_TIMEOUT_S = 3.0
# /admin stats lists this many of the newest open reports.
SHOWN_REPORTS = 3


@dataclass(frozen=True)
class AdminStats:
    """What /admin stats shows; "today" is the UTC day."""

    users: int
    chats: int
    subscribed: int
    answers_today: int
    runs_today: int
    runs_in_flight: int
    sandbox_level: str  # "?" when the runner does not answer
    version: str
    questions: int
    reports: OpenReports


class AdminService:
    """Count what operators ask about, and swap the question bank for a freshly loaded one."""

    def __init__(
        self,
        stats: StatsRepo,
        study: StudyService,
        quiz: QuizService,
        clock: Clock,
        content_dir: Path,
        reports: ReportService,
        exercises: ExerciseService | None = None,
    ) -> None:
        self.stats_repo = stats
        self.study = study
        self.quiz = quiz
        self.clock = clock
        self.content_dir = content_dir
        self.reports = reports
        self.exercises = exercises
        self._runs_day: date | None = None
        self._runs_today = 0
        self._in_flight = 0

    # A RunObserver: runs are not stored, so they are counted here as they happen.
    def run_started(self) -> None:
        """Count a run handed to the runner."""
        self._in_flight += 1

    def run(self, result: RunResult | None, seconds: float) -> None:
        """Count a finished run on today's (UTC) tally."""
        self._in_flight -= 1
        today = self.clock.now().astimezone(UTC).date()
        if self._runs_day != today:
            self._runs_day, self._runs_today = today, 0
        self._runs_today += 1

    async def stats(self, runs: RunService) -> AdminStats:
        """Return the numbers of /admin stats."""
        now = self.clock.now().astimezone(UTC)
        totals = await self.stats_repo.totals(datetime.combine(now.date(), time(), UTC))
        return AdminStats(
            users=totals.users,
            chats=totals.chats,
            subscribed=totals.subscribed,
            answers_today=totals.answers,
            runs_today=self._runs_today if self._runs_day == now.date() else 0,
            runs_in_flight=self._in_flight,
            sandbox_level=await _level(runs),
            version=_version(),
            questions=len(self.study.bank.questions),
            reports=await self.reports.open_reports(SHOWN_REPORTS),
        )

    async def reload(self) -> ContentBank:
        """Load the bank again and use it; a broken bank raises ContentError and changes nothing."""
        bank = await asyncio.to_thread(load_bank, self.content_dir)
        exercises = await asyncio.to_thread(load_exercises, self.content_dir)
        # Every reader of the bank goes through these two services (Core.bank is the study's).
        self.study.bank = bank
        self.quiz.bank = bank
        if self.exercises is not None:
            self.exercises.bank = exercises
        return bank


async def _level(runs: RunService) -> str:
    info = getattr(runs.client, "info", None)
    if info is None:
        return "?"
    try:
        answer = await asyncio.wait_for(info(), RUNNER_TIMEOUT_S)
    except Exception:  # a runner that is down or slow: the level is unknown, not an error
        return "?"
    return str(answer.level)


def _version() -> str:
    try:
        return version("studybot")
    except PackageNotFoundError:
        return "unknown"

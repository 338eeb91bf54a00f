"""Wire the bot together in one place: database, content, clock, services."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.content.loader import ContentBank, load_bank
from bot.services.boards import BoardService
from bot.services.daily import DailyService
from bot.services.quiz import QuizService
from bot.services.runs import RunService
from bot.services.study import StudyService
from bot.services.timers import Timers
from bot.storage.database import Database
from bot.storage.repos import Repos

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Core:
    """The platform-independent part of the bot that every adapter drives."""

    settings: Settings
    db: Database
    repos: Repos
    bank: ContentBank
    clock: Clock
    study: StudyService
    daily: DailyService
    quiz: QuizService
    boards: BoardService
    timers: Timers


@asynccontextmanager
async def open_runs(settings: Settings) -> AsyncIterator[RunService]:
    """Connect to STUDYBOT_RUNNER_URL, or start a local runner; /run is off if neither works."""
    from bot.runner.client import LocalRunner, RunnerClient

    async with AsyncExitStack() as stack:
        runner: RunnerClient | None
        if settings.runner_url:
            runner = RunnerClient(settings.runner_url)
        else:
            try:
                runner = await stack.enter_async_context(LocalRunner(settings))
            except Exception as e:
                # Expected where the sandbox cannot be built (not root, say): one line, no trace.
                log.warning("the local runner did not start (%s); /run is unavailable", e)
                runner = None
        yield RunService(runner, settings.run_allow, settings.run_max_code_kb * 1024)


@asynccontextmanager
async def open_core(
    settings: Settings, *, clock: Clock | None = None, bank: ContentBank | None = None
) -> AsyncIterator[Core]:
    """Load the bank, open and migrate the database, and build the services."""
    bank = bank or load_bank(settings.content_dir)
    clock = clock or SystemClock()
    async with Database(settings.database) as db:
        repos = Repos(db)
        study = StudyService(repos, bank, clock, settings.timezone, settings.daily_time)
        daily = DailyService(repos, study, clock)
        timers = Timers(clock)
        quiz = QuizService(repos, study, bank, clock, timers, settings.quiz_seconds)
        timers.start()
        try:
            yield Core(
                settings=settings,
                db=db,
                repos=repos,
                bank=bank,
                clock=clock,
                study=study,
                daily=daily,
                quiz=quiz,
                boards=BoardService(repos, clock),
                timers=timers,
            )
        finally:
            await timers.shutdown()

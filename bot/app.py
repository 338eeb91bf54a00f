"""Wire the bot together in one place: database, content, clock, services."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.content.loader import ContentBank, load_bank
from bot.errors import UserInputError
from bot.exercises.loader import ExerciseBank, load_exercises
from bot.services.access import AccessService
from bot.services.admin import AdminService
from bot.services.boards import BoardService
from bot.services.buddies import BuddyService
from bot.services.cards import CardService
from bot.services.daily import DailyService
from bot.services.daily_schedule import DailySchedule
from bot.services.exercises import ExerciseService
from bot.services.platform import Platforms
from bot.services.quiz import QuizService
from bot.services.readiness import ReadinessService
from bot.services.reminders import ReminderService
from bot.services.reports import ReportService
from bot.services.review import ReviewService
from bot.services.runs import RunService, StartingRunner
from bot.services.stats import StatsService
from bot.services.study import StudyService
from bot.services.timers import Timers
from bot.storage.database import Database
from bot.storage.repos import Repos
from bot.storage.stats import StatsRepo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Core:
    """The platform-independent part of the bot that every adapter drives."""

    settings: Settings
    db: Database
    repos: Repos
    clock: Clock
    study: StudyService
    daily: DailyService
    daily_schedule: DailySchedule
    platforms: Platforms  # each adapter attaches its implementation of the platform contract
    quiz: QuizService
    boards: BoardService
    timers: Timers
    admin: AdminService
    access: AccessService

    @property
    def bank(self) -> ContentBank:
        """Return the question bank in use (/admin reload replaces it)."""
        return self.study.bank

    review: ReviewService
    reminders: ReminderService
    stats: StatsService
    reports: ReportService
    exercises: ExerciseService
    readiness: ReadinessService
    buddies: BuddyService

    async def stop_timers(self) -> None:
        """Stop every timer (daily questions, quiz steps, reminders); let running steps end.

        Called while the platforms' clients are still open, so a step under way can finish
        its send; a step that has not started is left in the database for the next start.
        """
        await self.daily_schedule.shutdown()
        await self.timers.shutdown()


@asynccontextmanager
async def open_runs(settings: Settings, *, wait: bool = True) -> AsyncIterator[RunService]:
    """Connect to STUDYBOT_RUNNER_URL, or start a local runner; /run is off if neither works.

    With `wait=False` the local runner warms up in the background: a run waits for it
    (RunService.warming tells) or gets the reason it did not start, which is then logged at
    INFO only, since the one who asked is told.
    """
    from bot.runclient import LocalRunner
    from bot.runfleet import Fleet

    service = RunService(
        None,
        settings.run_allow,
        settings.run_max_code_kb * 1024,
        settings.run_wall_time_s,
        settings.bench_budget,
    )
    if settings.runner_url:
        token = settings.runner_token.get_secret_value() if settings.runner_token else None
        # One runner or many (a list, or a name with many addresses): dispatched by capacity.
        service.runner = Fleet(settings.runner_url, token)
        yield service
        return
    starting = StartingRunner()
    service.runner = starting
    local = LocalRunner(settings)

    async def start() -> None:
        try:
            starting.started(await local.__aenter__())
        except Exception as e:
            problem = runner_problem(e)
            # Expected where the sandbox cannot be built (not root, say): one line, no trace.
            log.log(
                logging.WARNING if wait else logging.INFO,
                "/run is unavailable: the local runner did not start (%s)%s",
                e,
                "; start studybot as root to use it" if problem.key == "run_needs_root" else "",
            )
            starting.failed(problem)

    task = asyncio.create_task(start())
    try:
        if wait:
            await task
        yield service
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if starting.ready and starting.problem is None:
            await local.__aexit__(None, None, None)


def runner_problem(error: Exception) -> UserInputError:
    """Say why /run is off after the local runner failed to start."""
    from bot.runclient import RunnerExited

    # Exit code 2: the level the host allows is below STUDYBOT_SANDBOX_MIN_LEVEL. Without
    # root the sandbox needs user namespaces; the runner's last words say why there are none
    # and what an administrator runs ("studybot runner: <level> is below <min>: <why>").
    if isinstance(error, RunnerExited) and error.exit_code == 2 and os.geteuid() != 0:
        why = error.said.split(": ", 2)[-1] if error.said.count(": ") >= 2 else ""
        return UserInputError("run_needs_root", why=why)
    return UserInputError("run_unavailable", why=str(error))


@asynccontextmanager
async def open_core(
    settings: Settings,
    *,
    clock: Clock | None = None,
    bank: ContentBank | None = None,
    exercises: ExerciseBank | None = None,
) -> AsyncIterator[Core]:
    """Load the bank, open and migrate the database, and build the services."""
    # Over 60 lines on purpose: the whole app is wired here, in one place, in the order the
    # services depend on each other.
    bank = bank or load_bank(settings.content_dir)
    exercises = exercises if exercises is not None else load_exercises(settings.content_dir)
    clock = clock or SystemClock()
    async with Database(settings.database) as db:
        repos = Repos(db)
        cards = CardService(repos, settings.retention)
        study = StudyService(
            repos, bank, clock, settings.timezone, settings.daily_time, cards=cards
        )
        daily = DailyService(repos, study, clock, settings.daily_reviews)
        timers = Timers(clock)
        platforms = Platforms()
        quiz = QuizService(repos, study, bank, clock, timers, settings.quiz_seconds, platforms)
        schedule = DailySchedule(daily, timers, clock, platforms)
        buddies = BuddyService(repos, study, clock, settings.timezone)
        reminders = ReminderService(
            repos, cards, clock, timers, settings.timezone, platforms, buddies
        )

        async def rebuild(platform: str) -> None:
            # A platform attached: its chats' timers come back from the database, the same
            # for every platform (overdue daily questions and reminders at once).
            timers.start()  # again, if this core served before
            await schedule.start(platform)
            await quiz.resume(platform)
            await reminders.resume(platform)

        platforms.on_attach(rebuild)
        timers.start()
        try:
            exercise_service = ExerciseService(repos, exercises, clock)
            reports = ReportService(repos, study, clock, exercise_service)
            readiness = ReadinessService(repos, study, cards, exercise_service, clock)
            admin = AdminService(
                StatsRepo(db), study, quiz, clock, settings.content_dir, reports, exercise_service
            )
            yield Core(
                settings=settings,
                db=db,
                repos=repos,
                clock=clock,
                study=study,
                daily=daily,
                daily_schedule=schedule,
                quiz=quiz,
                boards=BoardService(repos, clock),
                timers=timers,
                admin=admin,
                access=AccessService(settings.operators),
                review=ReviewService(study, cards),
                reminders=reminders,
                platforms=platforms,
                stats=StatsService(study, cards, readiness, buddies),
                reports=reports,
                exercises=exercise_service,
                readiness=readiness,
                buddies=buddies,
            )
        finally:
            await schedule.shutdown()  # already done by `stop_timers` when serving
            await timers.shutdown()

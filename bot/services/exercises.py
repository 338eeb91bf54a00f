"""Coding exercises: pick one, submit code, get graded in the sandbox, hints and give-up."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.clock import Clock, local_date
from bot.errors import UserInputError
from bot.exercises.grading import Grader, Role, Verdict
from bot.exercises.loader import ExerciseBank
from bot.exercises.models import EXERCISE_TOPICS, Exercise
from bot.runner.protocol import RunFile, RunResult
from bot.services import streaks
from bot.services.runs import Job, RunService, code_of
from bot.services.study import Context
from bot.storage.records import BoardPeriods, ExerciseProgress, Lang
from bot.storage.repos import Repos

log = logging.getLogger(__name__)

ExerciseState = Literal["new", "tried", "solved", "gave_up"]
_SUBMIT = re.compile(r"^/submit(@\w+)?(?=\s|$)", re.IGNORECASE)
# Graded outcomes that are the code's own doing count as attempts; a rejected or crashed job
# (rate limit, runner restart) or a broken reference does not.
_NOT_COUNTED = {"rejected", "crashed"}


@dataclass(frozen=True)
class ExerciseEntry:
    """One line of /exercises: an exercise and where the user stands with it."""

    exercise: Exercise
    state: ExerciseState
    attempts: int


@dataclass(frozen=True)
class ShownExercise:
    """An exercise shown to a user, with their progress on it."""

    exercise: Exercise
    progress: ExerciseProgress
    lang: Lang


@dataclass(frozen=True)
class HintShown:
    """The next hint of the current exercise (`number` counts from 1)."""

    exercise: Exercise
    number: int
    text: str
    last: bool


@dataclass(frozen=True)
class Submitted:
    """The verdict on a submission, and what a first solve earned."""

    exercise: Exercise
    verdict: Verdict
    first_solve: bool
    attempts: int
    streak: streaks.StreakView | None


def state_of(progress: ExerciseProgress | None) -> ExerciseState:
    """Return where a user stands with an exercise."""
    if progress is None:
        return "new"
    if progress.solved_at is not None:
        return "solved"
    if progress.gave_up_at is not None:
        return "gave_up"
    return "tried" if progress.attempts else "new"


def parse_submission(text: str, fallback: str | None, max_bytes: int) -> str:
    """Return the code of `/submit code…` (fenced blocks joined), or of the fallback text.

    `fallback` is the replied-to message or an attached .py file.
    """
    rest = _SUBMIT.sub("", text.strip(), count=1)
    code = code_of(rest) or (code_of(fallback) if fallback else "")
    if not code.strip():
        raise UserInputError("usage_submit")
    if len(code.encode()) > max_bytes:
        raise UserInputError("run_too_long", limit=max_bytes // 1024)
    return code


class ExerciseService:
    """Everything a user does with coding exercises; grading goes through the /run runner."""

    def __init__(self, repos: Repos, bank: ExerciseBank, clock: Clock) -> None:
        self.repos = repos
        self.bank = bank
        self.clock = clock
        self.grader = Grader()

    async def overview(self, ctx: Context) -> list[ExerciseEntry]:
        """Return every exercise with the user's state, in bank order."""
        progress = await self.repos.exercises.all(ctx.user.id)
        return [
            ExerciseEntry(x, state_of(progress.get(x.id)), _attempts(progress.get(x.id)))
            for x in self.bank.exercises
        ]

    async def show(self, ctx: Context, arg: str = "") -> ShownExercise:
        """Show an exercise by id or topic; by default the current or next unsolved one."""
        if not self.bank.exercises:
            raise UserInputError("no_exercises")
        wanted = arg.strip().lower()
        progress = await self.repos.exercises.all(ctx.user.id)

        def open_(x: Exercise) -> bool:
            return state_of(progress.get(x.id)) in {"new", "tried"}

        exercise = self.bank.get(wanted) if wanted else None
        if wanted and exercise is None:
            if wanted not in EXERCISE_TOPICS:
                raise UserInputError("usage_exercise", topics=", ".join(EXERCISE_TOPICS))
            pool = self.bank.in_topic(wanted)
            if not pool:
                raise UserInputError("no_exercises_in_topic", topic=wanted)
            exercise = next((x for x in pool if open_(x)), pool[0])
        if exercise is None:
            current = await self.repos.exercises.current(ctx.user.id)
            mine = self.bank.get(current[0]) if current else None
            exercise = mine if mine and open_(mine) else None
            exercise = exercise or next((x for x in self.bank.exercises if open_(x)), None)
            if exercise is None:
                raise UserInputError("exercises_done")
        shown = await self.repos.exercises.show(ctx.user.id, exercise.id, self.clock.now())
        return ShownExercise(exercise, shown, ctx.lang)

    async def current(self, ctx: Context) -> tuple[Exercise, datetime] | None:
        """Return the user's current exercise and when it was last shown."""
        found = await self.repos.exercises.current(ctx.user.id)
        exercise = self.bank.get(found[0]) if found else None
        return (exercise, found[1]) if exercise and found else None

    async def _current(self, ctx: Context) -> Exercise:
        found = await self.current(ctx)
        if found is None:
            raise UserInputError("no_exercise")
        return found[0]

    async def hint_target(self, ctx: Context) -> int | None:
        """Return the prompt id /hint is about when a question came after the exercise.

        None means the current exercise (if any) was shown last in this chat.
        """
        return await self.repos.exercises.question_since(ctx.user.id, ctx.chat.id)

    async def hint(self, ctx: Context) -> HintShown:
        """Give the current exercise's next hint (the last one again once all are used)."""
        exercise = await self._current(ctx)
        total = len(exercise.hints)
        used = await self.repos.exercises.use_hint(ctx.user.id, exercise.id, total)
        number = max(1, used)
        return HintShown(exercise, number, exercise.hint(number - 1, ctx.lang), number == total)

    async def give_up(self, ctx: Context) -> Exercise:
        """Record a give-up and return the exercise (its reference is shown); needs an attempt."""
        exercise = await self._current(ctx)
        progress = await self.repos.exercises.get(ctx.user.id, exercise.id)
        if progress is None or progress.attempts == 0:
            raise UserInputError("giveup_needs_attempt")
        await self.repos.exercises.give_up(ctx.user.id, exercise.id, self.clock.now())
        return exercise

    async def submit(self, ctx: Context, code: str, runs: RunService, user_key: str) -> Submitted:
        """Grade code for the current exercise on the runner; record the attempt and a solve.

        The code's job and the grader's own jobs each run under the /run limits; the grader's
        run under their own key, so the runner's one-job-per-user rule holds.
        """
        exercise = await self._current(ctx)

        async def run(program: str, role: Role, files: tuple[RunFile, ...]) -> RunResult:
            key = user_key if role == "submission" else f"{user_key}:{role}"
            return await runs.run(Job(code=program, device="cpu", files=files), key)

        verdict = await self.grader.grade(exercise, code, run)
        progress = await self.repos.exercises.get(ctx.user.id, exercise.id)
        attempts = _attempts(progress)
        if verdict.status == "reference" or (
            verdict.status == "job" and verdict.job and verdict.job.status in _NOT_COUNTED
        ):
            return Submitted(exercise, verdict, False, attempts, None)
        await self.repos.exercises.add_attempt(ctx.user.id, exercise.id)
        attempts += 1
        if not verdict.solved:
            return Submitted(exercise, verdict, False, attempts, None)
        now = self.clock.now()
        recorded = await self.repos.attempts.add(
            user_id=ctx.user.id,
            chat_id=ctx.chat.id,
            prompt_id=None,
            question_id=f"exercise:{exercise.id}",
            source="exercise",
            chosen=0,
            correct=True,
            answered_at=now,
            local_date=local_date(now, ctx.user_zone),
            advance_streak=lambda s: streaks.advance_at(s, now, ctx.user_zone),
            board_periods=BoardPeriods.at(now, ctx.chat_zone),
            guard=self.repos.exercises.first_solve(ctx.user.id, exercise.id, now),
        )
        if recorded is None:  # solved before: no second credit
            return Submitted(exercise, verdict, False, attempts, None)
        log.info(
            "user %s solved exercise %s after %d attempt(s)", ctx.user.id, exercise.id, attempts
        )
        return Submitted(
            exercise, verdict, True, attempts, streaks.view_at(recorded[1], now, ctx.user_zone)
        )


def _attempts(progress: ExerciseProgress | None) -> int:
    return progress.attempts if progress else 0

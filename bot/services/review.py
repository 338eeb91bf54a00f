"""Personal review: serve the user's due cards, rate oneself, choose a retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.errors import UserInputError
from bot.services.cards import GRADES, RETENTION_RANGE, CardService, Grade, Rated, workload
from bot.services.study import Context, Shown, StudyService


@dataclass(frozen=True)
class ReviewSummary:
    """Where the user's reviews stand once nothing is due now."""

    cards: int  # cards the user has
    due_today: int  # due from now to the end of the user's local day
    next_due: datetime | None  # the next card's due time (UTC), if any


@dataclass(frozen=True)
class RetentionSet:
    """A user's new desired retention and what it does to their workload."""

    retention: float
    baseline: float  # the bot's default, to compare with
    workload: float  # reviews relative to the baseline (1.25: a quarter more)


@dataclass(frozen=True)
class SelfRating:
    """The outcome of rating oneself after reading the reference answer."""

    status: Literal["rated", "answered", "already", "stale"]
    card: Rated | None = None


class ReviewService:
    """Show each user their own due cards, one at a time, most overdue first."""

    def __init__(self, study: StudyService, cards: CardService) -> None:
        self.study = study
        self.cards = cards

    async def next(self, ctx: Context) -> Shown | None:
        """Show the user's most overdue card in the context's chat; None if nothing is due."""
        now = self.study.clock.now()
        for card in await self.cards.due(ctx.user, now):
            question = self.study.bank.get(card.question_id)
            if question is not None:  # a question gone from the bank is skipped
                return await self.study.show_question(ctx.chat, question, "review", ctx.lang)
        return None

    async def summary(self, ctx: Context) -> ReviewSummary:
        """Count the cards due for the rest of the user's day and find the next one."""
        now = self.study.clock.now()
        zone = ZoneInfo(ctx.user_zone)
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        end_of_day = datetime.combine(tomorrow, time(0), tzinfo=zone)
        return ReviewSummary(
            cards=await self.cards.count(ctx.user),
            due_today=await self.cards.count_due(ctx.user, end_of_day),
            next_due=await self.cards.next_due(ctx.user, now),
        )

    async def reviewed_today(self, ctx: Context) -> int:
        """Return how many review cards the user answered on their local day."""
        return await self.study.repos.attempts.count_on(
            ctx.user.id, self.study.today(ctx), "review"
        )

    async def due_now(self, ctx: Context) -> int:
        """Return how many of the user's cards are due now."""
        return await self.cards.count_due(ctx.user, self.study.clock.now())

    async def set_retention(self, ctx: Context, value: str) -> RetentionSet:
        """Set the user's desired retention (0.80–0.97; "default" returns to the bot's)."""
        baseline = self.cards.retention
        word = value.strip().lower().rstrip("%")
        if word == "default":
            await self.study.repos.users.set_retention(ctx.user.id, None)
            return RetentionSet(baseline, baseline, 1.0)
        try:
            retention = float(word)
        except ValueError:
            raise UserInputError("usage_retention") from None
        if retention > 1:  # "85" or "85%" means 0.85
            retention /= 100
        low, high = RETENTION_RANGE
        if not low <= retention <= high:
            raise UserInputError("usage_retention")
        retention = round(retention, 2)
        await self.study.repos.users.set_retention(ctx.user.id, retention)
        return RetentionSet(retention, baseline, workload(retention, baseline))

    def retention(self, ctx: Context) -> float:
        """Return the user's desired retention."""
        return self.cards.retention_of(ctx.user)

    async def rate_self(self, ctx: Context, prompt_id: int, grade: str) -> SelfRating:
        """Rate oneself on a prompt one did not answer (after reading its answer)."""
        if grade not in GRADES:
            return SelfRating("stale")
        found = await self.study.prompt(prompt_id)
        if found is None or found[0].chat_id != ctx.chat.id:
            return SelfRating("stale")
        prompt, question = found
        if await self.study.has_answered(ctx, prompt_id):
            return SelfRating("answered")
        rated = await self.cards.rate(
            ctx.user,
            question.id,
            _grade(grade),
            source="self",
            prompt_id=prompt.id,
            now=self.study.clock.now(),
        )
        return SelfRating("rated", rated) if rated else SelfRating("already")

    async def may_rate_self(self, ctx: Context, prompt_id: int) -> bool:
        """Return True if the user neither answered nor rated themselves on a prompt."""
        if await self.study.has_answered(ctx, prompt_id):
            return False
        return not await self.cards.self_rated(ctx.user, prompt_id)


def _grade(word: str) -> Grade:
    for grade in GRADES:
        if grade == word:
            return grade
    raise ValueError(word)

"""What /stats shows: activity by day, readiness by topic, cards by state and due soon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fsrs import State

from bot.services import streaks
from bot.services.buddies import BuddyService, FriendStreak
from bot.services.cards import CardService
from bot.services.readiness import Readiness, ReadinessService
from bot.services.study import Context, StudyService
from bot.storage.records import UserStats

WEEKS = 12
DUE_DAYS = 7


@dataclass(frozen=True)
class StatsOverview:
    """Everything the /stats picture and caption show, in the user's local dates."""

    totals: UserStats
    streak: streaks.StreakView
    first_day: date  # a Monday: the heatmap's first column starts here
    today: date
    activity: dict[date, int]  # answers per local date since first_day
    new: int  # questions of the bank the user never met
    learning: int  # cards in their learning or relearning steps
    review: int  # cards on day intervals
    due_days: tuple[int, ...]  # cards due on each of the next DUE_DAYS days (today: overdue too)
    readiness: Readiness
    friends: tuple[FriendStreak, ...] = ()  # the friend streaks, oldest friendship first

    @property
    def empty(self) -> bool:
        """Return True when the user never answered anything."""
        return self.totals.answered == 0 and self.totals.exercises_solved == 0

    @property
    def due_today(self) -> int:
        """Return how many cards are due by the end of today."""
        return self.due_days[0]


class StatsService:
    """Gather a user's statistics for the /stats picture and caption."""

    def __init__(
        self,
        study: StudyService,
        cards: CardService,
        readiness: ReadinessService,
        buddies: BuddyService,
    ) -> None:
        self.buddies = buddies
        self.study = study
        self.cards = cards
        self.readiness = readiness

    async def overview(self, ctx: Context) -> StatsOverview:
        """Return the user's totals, 12 weeks of activity, and their cards."""
        now = self.study.clock.now()
        zone = ZoneInfo(ctx.user_zone)
        today = now.astimezone(zone).date()
        first_day = today - timedelta(days=today.weekday() + 7 * (WEEKS - 1))
        repos = self.study.repos
        states = await repos.cards.by_state(ctx.user.id)
        end = datetime.combine(today + timedelta(days=DUE_DAYS), time(0), tzinfo=zone)
        due_days = [0] * DUE_DAYS
        for due in await repos.cards.due_before(ctx.user.id, end):
            index = max(0, (due.astimezone(zone).date() - today).days)
            due_days[index] += 1
        carded = sum(states.values())
        return StatsOverview(
            totals=await self.study.stats(ctx),
            streak=await self.study.streak(ctx),
            first_day=first_day,
            today=today,
            activity=await repos.attempts.per_day(ctx.user.id, first_day),
            new=max(0, len(self.study.bank.questions) - carded),
            learning=states.get(int(State.Learning), 0) + states.get(int(State.Relearning), 0),
            review=states.get(int(State.Review), 0),
            due_days=tuple(due_days),
            readiness=await self.readiness.readiness(ctx),
            friends=tuple(await self.buddies.friends(ctx)),
        )

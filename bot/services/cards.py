"""Spaced-repetition cards scheduled by FSRS (the `fsrs` package): rate, queue, count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler, State

from bot.storage.records import Card, User
from bot.storage.repos import Repos

Grade = Literal["again", "hard", "good", "easy"]
GRADES: tuple[Grade, ...] = ("again", "hard", "good", "easy")
_RATINGS: dict[Grade, Rating] = {
    "again": Rating.Again,
    "hard": Rating.Hard,
    "good": Rating.Good,
    "easy": Rating.Easy,
}

# A card failed this many times is a leech: it is taken out of the queue and shown with its
# answer, since drilling it again the same way has not worked.
LEECH_LAPSES = 6
RETENTION_RANGE = (0.80, 0.97)


@dataclass(frozen=True)
class Rated:
    """A card after one rating."""

    card: Card
    became_leech: bool


class CardService:
    """Keep each user's cards on the FSRS schedule at their desired retention."""

    def __init__(self, repos: Repos, retention: float) -> None:
        self.repos = repos
        self.retention = retention

    def retention_of(self, user: User) -> float:
        """Return the user's desired retention (theirs, else the bot's)."""
        return user.retention if user.retention is not None else self.retention

    def scheduler(self, user: User) -> Scheduler:
        """Return an FSRS scheduler with default parameters and steps, fuzz on."""
        return Scheduler(desired_retention=self.retention_of(user), enable_fuzzing=True)

    async def rate(
        self,
        user: User,
        question_id: str,
        grade: Grade,
        *,
        source: str,
        prompt_id: int | None,
        now: datetime,
    ) -> Rated | None:
        """Review the user's card of a question with a grade; None if already self-rated."""
        stored = await self.repos.cards.get(user.id, question_id)
        fsrs_card = _to_fsrs(stored, now)
        reviewed, _log = self.scheduler(user).review_card(
            fsrs_card, _RATINGS[grade], review_datetime=now.astimezone(UTC)
        )
        lapses = (stored.lapses if stored else 0) + (grade == "again")
        was_leech = stored.leech if stored else False
        card = Card(
            user_id=user.id,
            question_id=question_id,
            state=int(reviewed.state),
            step=reviewed.step,
            stability=reviewed.stability,
            difficulty=reviewed.difficulty,
            due=reviewed.due.astimezone(UTC),
            last_review=reviewed.last_review,
            lapses=lapses,
            leech=was_leech or lapses >= LEECH_LAPSES,
        )
        saved = await self.repos.cards.save(
            card, prompt_id=prompt_id, rating=int(_RATINGS[grade]), source=source, now=now
        )
        if not saved:
            return None
        return Rated(card=card, became_leech=card.leech and not was_leech)

    async def due(self, user: User, now: datetime, limit: int = 20) -> list[Card]:
        """Return the user's due cards, most overdue first, leeches left out."""
        return await self.repos.cards.due(user.id, now, limit)

    async def count_due(self, user: User, until: datetime) -> int:
        """Return how many of the user's cards fall due by `until`."""
        return await self.repos.cards.count_due(user.id, until)

    async def next_due(self, user: User, after: datetime) -> datetime | None:
        """Return when the user's next card falls due after `after`."""
        return await self.repos.cards.next_due(user.id, after)

    async def recall(self, user: User, now: datetime) -> dict[str, float]:
        """Return the chance, by the model, that the user recalls each question they met now."""
        scheduler = self.scheduler(user)
        return {
            card.question_id: float(
                scheduler.get_card_retrievability(_to_fsrs(card, now), now.astimezone(UTC))
            )
            for card in await self.repos.cards.all(user.id)
        }

    async def count(self, user: User) -> int:
        """Return how many cards the user has."""
        return await self.repos.cards.count(user.id)

    async def self_rated(self, user: User, prompt_id: int) -> bool:
        """Return True if the user rated themselves on a prompt."""
        return await self.repos.cards.self_rated(prompt_id, user.id)


def workload(retention: float, baseline: float) -> float:
    """Return how many reviews `retention` costs relative to `baseline` (1.0: the same).

    Intervals scale with R^(1/decay) - 1 under FSRS's forgetting curve, so reviews scale with
    its inverse; the decay is the default parameters' own.
    """
    decay = -Scheduler().parameters[20]

    def interval(r: float) -> float:
        return float(r ** (1 / decay) - 1)

    return interval(baseline) / interval(retention)


def _to_fsrs(card: Card | None, now: datetime) -> FsrsCard:
    if card is None:
        # The id is only the package's handle; a fixed one spares its 1 ms sleep per card.
        return FsrsCard(card_id=1, due=now.astimezone(UTC))
    return FsrsCard(
        card_id=1,
        state=State(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
    )

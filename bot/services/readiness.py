"""Interview readiness per topic, from the review model: recall, coverage and exercises solved.

A topic's knowledge is the share of its questions the user would answer right now by the
model: the recall probability (FSRS retrievability) of each question they met, and 0 for each
question they never met, averaged over the topic. A topic with exercises weighs its share of
exercises solved at EXERCISE_WEIGHT: interviews ask for code too. The topics to study next are
the two least ready, those the user has met least first.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.services.cards import CardService
from bot.services.exercises import ExerciseService
from bot.services.study import Context, StudyService
from bot.storage.repos import Repos

EXERCISE_WEIGHT = 0.2
STUDY_NEXT = 2
# Exercise topics named otherwise than the question topic they belong to.
_AS_QUESTION_TOPIC = {"modules": "nn"}


@dataclass(frozen=True)
class TopicReadiness:
    """How ready the user is in one topic."""

    topic: str
    questions: int  # in the bank
    met: int  # of them, with a review card (answered or rated at least once)
    recall: float  # mean recall probability of the questions met (0 when none)
    exercises: int  # in the bank
    solved: int
    score: float  # 0..1

    @property
    def coverage(self) -> float:
        """Return the share of the topic's questions the user has met."""
        return self.met / self.questions if self.questions else 0.0


@dataclass(frozen=True)
class Readiness:
    """Readiness in every topic of the bank (its order), overall, and what to study next."""

    topics: tuple[TopicReadiness, ...]
    overall: float  # 0..1, weighted by the topics' questions
    study_next: tuple[str, ...]  # topic ids

    @property
    def empty(self) -> bool:
        """Return True when the user has met no question and solved no exercise yet."""
        return not any(t.met or t.solved for t in self.topics)


class ReadinessService:
    """Compute readiness from the user's cards and solved exercises."""

    def __init__(
        self,
        repos: Repos,
        study: StudyService,
        cards: CardService,
        exercises: ExerciseService,
        clock: Clock,
    ) -> None:
        self.repos = repos
        self.study = study
        self.cards = cards
        self.exercises = exercises
        self.clock = clock

    async def readiness(self, ctx: Context) -> Readiness:
        """Return the user's readiness now."""
        recall = await self.cards.recall(ctx.user, self.clock.now())
        progress = await self.repos.exercises.all(ctx.user.id)
        rows = []
        for topic in self.study.bank.topics:
            ids = [q.id for q in self.study.bank.questions if q.topic == topic.id]
            met = [recall[i] for i in ids if i in recall]
            tasks = [
                x.id
                for x in self.exercises.bank.exercises
                if _AS_QUESTION_TOPIC.get(x.topic, x.topic) == topic.id
            ]
            solved = sum(1 for x in tasks if (p := progress.get(x)) and p.solved_at is not None)
            knowledge = sum(met) / len(ids) if ids else 0.0
            score = knowledge
            if tasks:
                score = (1 - EXERCISE_WEIGHT) * knowledge + EXERCISE_WEIGHT * solved / len(tasks)
            rows.append(
                TopicReadiness(
                    topic=topic.id,
                    questions=len(ids),
                    met=len(met),
                    recall=sum(met) / len(met) if met else 0.0,
                    exercises=len(tasks),
                    solved=solved,
                    score=score,
                )
            )
        total = sum(r.questions for r in rows)
        overall = sum(r.score * r.questions for r in rows) / total if total else 0.0
        ranked = sorted(
            (r for r in rows if r.questions), key=lambda r: (r.score, r.coverage)
        )  # stable: the bank's order breaks ties
        return Readiness(
            topics=tuple(rows),
            overall=overall,
            study_next=tuple(r.topic for r in ranked[:STUDY_NEXT]),
        )

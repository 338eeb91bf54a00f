"""Study use cases: who is talking, which question to show, grading, streaks and stats."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Literal

from bot.clock import Clock, local_date
from bot.content.loader import ContentBank
from bot.content.models import Question
from bot.errors import UserInputError
from bot.services import streaks
from bot.services.cards import CardService
from bot.services.chat_settings import ChatSettings
from bot.services.context import AnswerResult, Context, Shown, language_from_code
from bot.storage.records import BoardPeriods, Chat, Lang, Prompt, User, UserStats
from bot.storage.repos import Repos

log = logging.getLogger(__name__)

__all__ = ["AnswerResult", "Context", "Shown", "StudyService", "language_from_code"]


# How a press of "show the answer" is met (StudyService.reveal).
RevealVerdict = Literal["show", "post", "answer_first", "already_posted"]


class StudyService(ChatSettings):
    """Everything a chat does with questions; adapters call these and render the results."""

    def __init__(
        self,
        repos: Repos,
        bank: ContentBank,
        clock: Clock,
        default_zone: str,
        default_daily_time: str,
        cards: CardService,
    ) -> None:
        self.cards = cards
        self.repos = repos
        self.bank = bank
        self.clock = clock
        self.default_zone = default_zone
        self.default_daily_time = default_daily_time
        self.schedule_hooks: list[Callable[[Chat], Awaitable[object]]] = []

    # -- who and where -------------------------------------------------------------------
    async def enter(
        self,
        *,
        platform: str,
        user_id: str,
        user_name: str,
        language_code: str | None,
        chat_id: str,
        chat_type: str,
        chat_title: str = "",
    ) -> Context:
        """Register the user and chat on first sight and resolve language and zones."""
        now = self.clock.now()
        language = language_from_code(language_code)
        user = await self.repos.users.upsert(platform, user_id, user_name, now, language)
        chat = await self.repos.chats.upsert(
            platform, chat_id, chat_type, chat_title, self.default_daily_time, now
        )
        return self.context(user, chat)

    async def enter_in_chat(
        self,
        *,
        platform: str,
        user_id: str,
        user_name: str,
        language_code: str | None,
        chat: Chat,
    ) -> Context:
        """Register a user seen in a known chat (a poll vote carries no chat) and return them."""
        language = language_from_code(language_code)
        user = await self.repos.users.upsert(
            platform, user_id, user_name, self.clock.now(), language
        )
        return self.context(user, chat)

    async def follow_migration(self, chat: Chat, new_external_id: int | str) -> bool:
        """Follow a group to its new platform id (it became a supergroup); False if taken."""
        return await self.repos.chats.set_external_id(chat.id, str(new_external_id))

    def context(self, user: User, chat: Chat) -> Context:
        """Build the context of a known user and chat."""
        chat_zone = chat.timezone or self.default_zone
        if chat.is_group:
            lang: Lang = chat.language or user.language or "en"
        else:
            lang = user.language or chat.language or "en"
        return Context(
            user=user,
            chat=chat,
            lang=lang,
            user_zone=user.timezone or (chat_zone if not chat.is_group else self.default_zone),
            chat_zone=chat_zone,
        )

    # -- questions ----------------------------------------------------------------------
    def topic_or_error(self, topic: str | None) -> str | None:
        """Return a valid topic id (or None), raising UserInputError for an unknown one."""
        if topic is None:
            return None
        topic = topic.strip().lower()
        if self.bank.topic(topic) is None or not self.bank.in_topic(topic):
            raise UserInputError("unknown_topic", topic=topic)
        return topic

    async def pick(self, chat: Chat, topic: str | None = None) -> Question:
        """Pick the chat's next question: least shown first, no repeats until the pool is used up.

        Deterministic for a given chat history: ties break on a hash of chat, round and id.
        """
        pool = self.bank.in_topic(topic)
        if not pool:
            pool = self.bank.questions
        counts = await self.repos.prompts.ask_counts(chat.id)
        round_ = min(counts.get(q.id, 0) for q in pool)
        candidates = [q for q in pool if counts.get(q.id, 0) == round_]

        # The hash of f"{chat.id}:{round_}:{q.id}", its common prefix hashed once.
        prefix = hashlib.sha256(f"{chat.id}:{round_}:".encode())

        def order(q: Question) -> bytes:
            h = prefix.copy()
            h.update(q.id.encode())
            return h.digest()

        return min(candidates, key=order)

    async def show(self, ctx: Context, kind: str, topic: str | None = None) -> Shown:
        """Pick a question for the chat and record that it is shown."""
        topic = self.topic_or_error(topic) if topic is not None else ctx.chat.topic_filter
        question = await self.pick(ctx.chat, topic)
        prompt = await self.repos.prompts.create(
            ctx.chat.id, question.id, kind, ctx.lang, self.clock.now()
        )
        return Shown(prompt=prompt, question=question, lang=ctx.lang)

    async def show_question(self, chat: Chat, question: Question, kind: str, lang: Lang) -> Shown:
        """Record that a given question is shown in a chat."""
        prompt = await self.repos.prompts.create(chat.id, question.id, kind, lang, self.clock.now())
        return Shown(prompt=prompt, question=question, lang=lang)

    async def attach_message(self, prompt_id: int, message_ref: str) -> None:
        """Remember which platform message shows a prompt."""
        await self.repos.prompts.set_message_ref(prompt_id, message_ref)

    async def prompt(self, prompt_id: int) -> tuple[Prompt, Question] | None:
        """Return a prompt and its question, or None if either is gone."""
        prompt = await self.repos.prompts.get(prompt_id)
        if prompt is None:
            return None
        question = self.bank.get(prompt.question_id)
        return (prompt, question) if question else None

    async def answer(self, ctx: Context, prompt_id: int, option: int) -> AnswerResult:
        """Grade an option of a prompt, record the attempt, advance the streak, rate the card.

        Every graded answer counts for the user's card: wrong is Again, right is Good.
        """
        found = await self.prompt(prompt_id)
        if found is None:
            return AnswerResult(status="stale")
        prompt, question = found
        quiz = question.text(prompt.language).quiz
        if not 0 <= option < len(quiz.options):
            return AnswerResult(status="stale")
        previous = await self.repos.attempts.for_prompt(prompt_id, ctx.user.id)
        if previous is not None:
            return AnswerResult(
                status="already",
                question=question,
                lang=prompt.language,
                chosen=previous.chosen,
                correct=previous.correct,
            )
        now = self.clock.now()
        today = local_date(now, ctx.user_zone)
        correct = option == quiz.correct
        before = await self.repos.streaks.get(ctx.user.id)
        recorded = await self.repos.attempts.add(
            user_id=ctx.user.id,
            chat_id=ctx.chat.id,
            prompt_id=prompt_id,
            question_id=question.id,
            source=prompt.kind,
            chosen=option,
            correct=correct,
            answered_at=now,
            local_date=today,
            advance_streak=lambda s: streaks.advance_at(s, now, ctx.user_zone),
            board_periods=BoardPeriods.at(now, ctx.chat_zone),
        )
        if recorded is None:  # a double press raced us
            return await self.answer(ctx, prompt_id, option)
        _, after = recorded
        card = await self.cards.rate(
            ctx.user,
            question.id,
            "good" if correct else "again",
            source=prompt.kind,
            prompt_id=prompt_id,
            now=now,
        )
        return AnswerResult(
            status="recorded",
            question=question,
            lang=prompt.language,
            chosen=option,
            correct=correct,
            streak=streaks.view_at(after, now, ctx.user_zone),
            streak_grew=after.current != before.current or before.last_date is None,
            card=card,
        )

    async def pressed(self, ctx: Context, prompt_id: int | None) -> tuple[Prompt, Question]:
        """Return the prompt a button under a question names, if it was shown in this chat.

        Buttons carry their prompt's id in data anyone can forge: a press that names a prompt
        of another chat, or none, gets "no longer available" and changes nothing.
        """
        found = await self.prompt(prompt_id) if prompt_id is not None else None
        if found is None or found[0].chat_id != ctx.chat.id:
            raise UserInputError("stale_button")
        return found

    async def reveal(self, ctx: Context, prompt_id: int, *, privately: bool) -> RevealVerdict:
        """Decide how a press of "show the answer" is met.

        In a group only someone who answered may see it, or one press would spoil the question
        for the others; a platform that can show it to the presser alone (`privately`) does so,
        the others post it in the chat once, kept in the database so that a restart does not
        post it again.
        """
        if not ctx.chat.is_group:
            return "show"
        if not await self.has_answered(ctx, prompt_id):
            return "answer_first"
        if privately:
            return "show"
        if await self.repos.prompts.mark_revealed(prompt_id, self.clock.now()):
            return "post"
        return "already_posted"

    async def has_answered(self, ctx: Context, prompt_id: int) -> bool:
        """Return True if the user answered this prompt."""
        return await self.repos.attempts.for_prompt(prompt_id, ctx.user.id) is not None

    # -- progress -----------------------------------------------------------------------
    def today(self, ctx: Context) -> date:
        """Return the user's local date now."""
        return local_date(self.clock.now(), ctx.user_zone)

    async def streak(self, ctx: Context) -> streaks.StreakView:
        """Return the user's streak as it stands today in their zone."""
        stored = await self.repos.streaks.get(ctx.user.id)
        return streaks.view_at(stored, self.clock.now(), ctx.user_zone)

    async def stats(self, ctx: Context) -> UserStats:
        """Return the user's totals, overall and per topic."""
        by_topic: dict[str, tuple[int, int]] = {}
        answered = correct = 0
        for question_id, n, c in await self.repos.attempts.totals(ctx.user.id):
            if question_id.startswith("exercise:"):  # first solves: counted apart below
                continue
            question = self.bank.get(question_id)
            topic = question.topic if question else "?"
            a, k = by_topic.get(topic, (0, 0))
            by_topic[topic] = (a + n, k + c)
            answered += n
            correct += c
        days = await self.repos.attempts.active_days(ctx.user.id)
        solved = await self.repos.exercises.solved_count(ctx.user.id)
        return UserStats(
            answered=answered,
            correct=correct,
            days=days,
            by_topic=by_topic,
            exercises_solved=solved,
        )

"""Votes in quiz polls: scored once, in time, and a poll closed early once everyone answered."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.services.platform import Platform, Platforms
from bot.services.quiz_platform import CloseReason, PollSpec, QuizAnswer
from bot.services.study import StudyService
from bot.storage.records import Chat, QuizPoll, QuizSession
from bot.storage.repos import Repos

NEXT_DELAY = timedelta(seconds=3)  # after everybody answered, before the next poll
# Once every player so far answered a group's poll, it stays open this long for a member who
# has not played yet: long enough to read four short options and tap one, short enough that a
# session whose players are all done waits at most this per question.
EARLY_CLOSE_GRACE = timedelta(seconds=10)


def poll_key(platform: str, poll_ref: str) -> str:
    """Return how a platform's poll id is stored (ids are unique per platform only)."""
    return f"{platform}:{poll_ref}"


class QuizVotes:
    """The vote half of `QuizService` (bot.services.quiz), which brings the steps."""

    repos: Repos
    study: StudyService
    clock: Clock
    platforms: Platforms
    _locks: dict[int, asyncio.Lock]

    def _lock(self, session_id: int) -> asyncio.Lock:
        raise NotImplementedError

    def _spec(self, chat: Chat, session: QuizSession, poll: QuizPoll) -> PollSpec:
        raise NotImplementedError

    def _schedule(self, session_id: int, when: datetime) -> None:
        raise NotImplementedError

    async def _close(
        self,
        chat: Chat,
        sender: Platform,
        session: QuizSession,
        poll: QuizPoll,
        reason: CloseReason,
    ) -> None:
        raise NotImplementedError

    async def _finish(self, chat: Chat, session: QuizSession, status: str) -> None:
        raise NotImplementedError

    async def answer(
        self,
        *,
        platform: str,
        poll_ref: str,
        user_id: str,
        user_name: str,
        language_code: str | None,
        option_ids: list[int],
    ) -> QuizAnswer | None:
        """Score a vote; None if it is not a vote on one of our polls (or a retraction)."""
        if not option_ids:
            return None  # a retracted vote counts for nothing
        poll = await self.repos.quizzes.by_ref(poll_key(platform, poll_ref))
        if poll is None:
            # A fast vote can arrive before the send that opened its poll has stored the
            # poll's id: let the sends under way finish, then look again.
            for lock in list(self._locks.values()):
                if lock.locked():
                    async with lock:
                        pass
            poll = await self.repos.quizzes.by_ref(poll_key(platform, poll_ref))
        if poll is None:
            return None
        async with self._lock(poll.session_id):
            poll = await self.repos.quizzes.poll(poll.id)
            session = await self.repos.quizzes.session(poll.session_id) if poll else None
            chat = await self.repos.chats.get(session.chat_id) if session else None
            if poll is None or session is None or chat is None:
                return None
            spec = self._spec(chat, session, poll)
            now = self.clock.now()
            chosen = option_ids[0]
            if not self._accepts(poll, now) or not 0 <= chosen < len(spec.options):
                return QuizAnswer(counted=False, poll=spec)
            ctx = await self.study.enter_in_chat(
                platform=platform,
                user_id=user_id,
                user_name=user_name,
                language_code=language_code,
                chat=chat,
            )
            assert poll.sent_at is not None  # noqa: S101 - an open poll was sent
            elapsed = max(0, round((now - poll.sent_at).total_seconds() * 1000))
            added = await self.repos.quizzes.add_answer(
                poll=poll, user_id=ctx.user.id, chosen=chosen, elapsed_ms=elapsed, now=now
            )
            if not added:
                return QuizAnswer(counted=False, poll=spec)
            if poll.prompt_id is not None:
                await self.study.answer(ctx, poll.prompt_id, poll.option_order[chosen])
            await self._maybe_close_early(chat, session, poll)
            return QuizAnswer(counted=True, correct=chosen == poll.correct, poll=spec)

    def _accepts(self, poll: QuizPoll, now: datetime) -> bool:
        return poll.status == "open" and poll.deadline is not None and now <= poll.deadline

    async def _maybe_close_early(self, chat: Chat, session: QuizSession, poll: QuizPoll) -> None:
        """Close the poll soon once every player of the session so far has answered it.

        Soon, not at once: a member who has not played yet gets EARLY_CLOSE_GRACE to vote
        (their vote counts like any other while the poll is open); in a private chat the one
        player is everybody, so the poll closes at once. A group's first poll always runs its
        full period: nobody is known to play yet, and the first voter must not close it on
        everybody else.
        """
        if chat.is_group and poll.number == 0:
            return
        players = await self.repos.quizzes.players(session.id)
        if not players <= await self.repos.quizzes.answered(poll.id):
            return
        if chat.is_group:
            # The session's timer closes it at the new deadline (`_step`), as at any deadline.
            closes = self.clock.now() + EARLY_CLOSE_GRACE
            if await self.repos.quizzes.shorten(poll.id, closes):
                self._schedule(session.id, closes)
            return
        sender = self.platforms.get(chat.platform)
        if sender is None:
            return
        await self._close(chat, sender, session, poll, "answered")
        if await self.repos.quizzes.asked(session.id) >= session.total:
            await self._finish(chat, session, "finished")
            return
        next_at = self.clock.now() + NEXT_DELAY
        await self.repos.quizzes.set_next_at(session.id, next_at)
        self._schedule(session.id, next_at)

"""Quiz sessions: N questions as quiz polls one after another, scored live, on any platform.

The rules live here; each platform implements the `Platform` contract (Telegram: native quiz
polls; the console: lettered options). Every step of a session is driven by one timer per
session on the services' scheduler and rebuilt from the database at start-up, so a restart
resumes a session (the current poll keeps its deadline) and never sends a poll twice: a poll is
claimed in the database before it is sent, and a claim whose send may have gone out is not
retried; another question takes its place (`bot.services.quiz_questions`), so the session still
asks N.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.content.loader import ContentBank
from bot.errors import UserInputError
from bot.services.platform import Platform, Platforms
from bot.services.quiz_gate import QuizGate
from bot.services.quiz_platform import (
    CloseReason,
    PollSpec,
    QuizRunning,
    Scoreboard,
)
from bot.services.quiz_questions import QuestionPicker, parse_quiz_args
from bot.services.quiz_votes import NEXT_DELAY, QuizVotes, poll_key
from bot.services.sending import ChatGone, SendFailed, SendRefused, SendUncertain
from bot.services.study import Context, StudyService
from bot.services.timers import Timers
from bot.storage.records import Chat, QuizPoll, QuizSession
from bot.storage.repos import Repos

log = logging.getLogger(__name__)

RETRY_DELAY = timedelta(seconds=5)  # after a send that surely failed
SEND_ATTEMPTS = 3


class QuizService(QuizVotes):
    """Start, drive, score and stop quiz sessions."""

    def __init__(
        self,
        repos: Repos,
        study: StudyService,
        bank: ContentBank,
        clock: Clock,
        timers: Timers,
        open_seconds: int,
        platforms: Platforms,
    ) -> None:
        self.repos = repos
        self.study = study
        self.picker = QuestionPicker(repos, bank, clock)
        self.clock = clock
        self.timers = timers
        self.open_seconds = open_seconds
        self.platforms = platforms
        self._locks: dict[int, asyncio.Lock] = {}
        # Chats with a poll open right now: code waits until it closes (`hold_code`).
        self.gate = QuizGate(timedelta(seconds=open_seconds) + NEXT_DELAY * 2)

    @property
    def bank(self) -> ContentBank:
        """Return the question bank the sessions ask from."""
        return self.picker.bank

    @bank.setter
    def bank(self, bank: ContentBank) -> None:
        self.picker.bank = bank

    def _spec(self, chat: Chat, session: QuizSession, poll: QuizPoll) -> PollSpec:
        platform = self.platforms.get(chat.platform)
        limit = platform.limits.poll_question_chars if platform is not None else None
        return self.picker.spec(session, poll, limit)

    # -- starting and stopping ----------------------------------------------------------
    async def start(self, ctx: Context, args: list[str]) -> QuizSession:
        """Create a session from `/quiz [N] [topic]`; `begin` sends its first poll."""
        count, topic = parse_quiz_args(args, lambda t: bool(self.bank.in_topic(t)))
        running = await self.repos.quizzes.running(ctx.chat.id)
        if running is not None:
            raise await self._running_error(running)
        questions = await self.picker.choose(ctx.chat, topic, count)
        session = await self.repos.quizzes.create(
            chat_id=ctx.chat.id,
            starter_id=ctx.user.id,
            topic=topic,
            questions=[q.id for q in questions],
            language=ctx.lang,
            open_seconds=self.open_seconds,
            now=self.clock.now(),
        )
        if session is None:  # another /quiz won the race
            running = await self.repos.quizzes.running(ctx.chat.id)
            if running is None:
                raise UserInputError("usage_quiz")
            raise await self._running_error(running)
        log.info("quiz %s started in chat %s: %d question(s)", session.id, ctx.chat.id, count)
        return session

    async def begin(self, session_id: int) -> None:
        """Send the first poll of a new session."""
        await self._step(session_id)

    async def stop(self, ctx: Context, *, privileged: bool) -> None:
        """End the chat's session with the partial scoreboard (starter, admins, operators)."""
        session = await self.repos.quizzes.running(ctx.chat.id)
        if session is None:
            raise UserInputError("no_quiz")
        if not privileged and session.starter_id != ctx.user.id:
            raise UserInputError("quiz_stop_refused")
        if not await self._stop(ctx.chat, session):
            raise UserInputError("no_quiz")  # it ended meanwhile: another /stopquiz, or its end

    async def stop_all(self, platform: str) -> int:
        """End every running session of a platform (the console's, when it quits)."""
        sessions = await self.repos.quizzes.running_on(platform)
        for session in sessions:
            chat = await self.repos.chats.get(session.chat_id)
            if chat is not None:
                await self._stop(chat, session)
        return len(sessions)

    async def _stop(self, chat: Chat, session: QuizSession) -> bool:
        """End the session; False if it was no longer running once its lock was ours."""
        async with self._lock(session.id):
            fresh = await self.repos.quizzes.session(session.id)
            if fresh is None or fresh.status != "running":
                return False
            session = fresh
            sender = self.platforms.get(chat.platform)
            current = await self._current(session)
            if current is not None and current.status == "open" and sender is not None:
                await self._close(chat, sender, session, current, "stopped")
            await self._finish(chat, session, "stopped")
            return True

    async def running(self, chat: Chat) -> QuizSession | None:
        """Return the chat's running session."""
        return await self.repos.quizzes.running(chat.id)

    async def resume(self, platform: str) -> int:
        """Pick up every running session of a platform after a start; return how many."""
        sessions = await self.repos.quizzes.running_on(platform)
        for session in sessions:
            await self._step(session.id)
        if sessions:
            log.info("resumed %d quiz session(s)", len(sessions))
        return len(sessions)

    # -- fairness -----------------------------------------------------------------------
    async def hold_code(self, chat_id: int, on_hold: Callable[[], Awaitable[object]]) -> None:
        """Hold code back while a quiz poll is open in the chat, saying so once (`on_hold`).

        Running "what does this print?" while its poll is open would give the answer away;
        every platform's /run, snippet run and /submit waits here.
        """
        await self.gate.hold(chat_id, on_hold)

    # -- the session's steps ------------------------------------------------------------
    def _lock(self, session_id: int) -> asyncio.Lock:
        return self._locks.setdefault(session_id, asyncio.Lock())

    def _schedule(self, session_id: int, when: datetime) -> None:
        self.timers.at(_timer_key(session_id), when, lambda: self._step(session_id))

    async def _step(self, session_id: int) -> None:
        """Do whatever the session needs now: close a poll at its deadline, send the next one,
        or finish; and leave a timer for the next step unless the session ended."""
        async with self._lock(session_id):
            session = await self.repos.quizzes.session(session_id)
            if session is None or session.status != "running":
                self.timers.cancel(_timer_key(session_id))
                return
            chat = await self.repos.chats.get(session.chat_id)
            if chat is None:
                return
            sender = self.platforms.get(chat.platform)
            if sender is None:
                return  # another process drives this platform
            now = self.clock.now()
            current = await self._current(session)
            if current is not None:
                if current.status == "open":
                    assert current.deadline is not None  # noqa: S101 - set when sent
                    if now < current.deadline:
                        self.gate.mark_open(chat.id)
                        self._schedule(session.id, current.deadline)
                        return
                    # A deadline brought forward once everybody answered (`_maybe_close_early`).
                    everybody = await self.repos.quizzes.players(
                        session.id
                    ) <= await self.repos.quizzes.answered(current.id)
                    reason: CloseReason = "answered" if everybody else "deadline"
                    await self._close(chat, sender, session, current, reason)
                elif current.status == "sending":
                    # Claimed before a crash: it may have gone out, so it is never resent.
                    await self.repos.quizzes.set_status(current.id, "lost", now)
                elif current.status == "retry":
                    if current.attempts < SEND_ATTEMPTS and await self.repos.quizzes.reclaim(
                        current.id
                    ):
                        await self._send(chat, sender, session, current)
                        return
                    await self.repos.quizzes.set_status(current.id, "lost", now)
                elif session.next_at is not None and now < session.next_at:
                    self._schedule(session.id, session.next_at)
                    return
            if await self.repos.quizzes.asked(session.id) >= session.total:
                await self._finish(chat, session, "finished")
                return
            question = await self.picker.next(chat, session)
            if question is None:
                # Every question of the bank was taken by this session (lost polls took some).
                log.warning("quiz %s: no question left to ask; session ends", session.id)
                await self._finish(chat, session, "finished")
                return
            order = list(range(len(question.text(session.language).quiz.options)))
            random.SystemRandom().shuffle(order)
            correct = order.index(question.text(session.language).quiz.correct)
            claimed = await self.repos.quizzes.claim(session, question.id, order, correct)
            if claimed is None:
                return
            session = await self.repos.quizzes.session(session_id) or session
            await self._send(chat, sender, session, claimed)

    async def _send(
        self, chat: Chat, sender: Platform, session: QuizSession, poll: QuizPoll
    ) -> None:
        spec = self._spec(chat, session, poll)
        now = self.clock.now()
        self.gate.mark_open(chat.id)  # /run waits from the moment the question's code is shown
        try:
            sent = await sender.send_poll(chat, spec)
        except ChatGone:
            self.gate.mark_closed(chat.id)
            log.info("quiz %s: chat %s is gone; session stopped", session.id, chat.id)
            await self.repos.quizzes.set_status(poll.id, "lost", now)
            await self._end(chat, session, "stopped")
            return
        except SendRefused as e:
            self.gate.mark_closed(chat.id)
            log.warning(
                "quiz %s: poll refused in chat %s (%s); session stopped", session.id, chat.id, e
            )
            await self.repos.quizzes.set_status(poll.id, "lost", now)
            await self._finish(chat, session, "stopped")
            return
        except SendUncertain as e:
            self.gate.mark_closed(chat.id)
            log.warning("quiz %s: poll %d may not have arrived (%s)", session.id, poll.position, e)
            await self.repos.quizzes.set_status(poll.id, "lost", now)
            self._schedule(session.id, now + NEXT_DELAY)
            return
        except SendFailed as e:
            self.gate.mark_closed(chat.id)
            log.warning("quiz %s: poll %d not sent (%s); retrying", session.id, poll.position, e)
            await self.repos.quizzes.set_status(poll.id, "retry", now)
            self._schedule(session.id, now + RETRY_DELAY)
            return
        except Exception:
            # Unexpected: log once, and keep a timer so that the session is never stuck.
            self.gate.mark_closed(chat.id)
            log.exception("quiz %s: sending poll %d failed", session.id, poll.position)
            await self.repos.quizzes.set_status(poll.id, "retry", now)
            self._schedule(session.id, now + RETRY_DELAY)
            return
        question = self.bank.get(poll.question_id)
        assert question is not None  # noqa: S101 - checked when claimed
        shown = await self.study.show_question(chat, question, "quiz", session.language)
        await self.study.attach_message(shown.prompt.id, sent.message_ref)
        # The bot's own timer closes the poll: its deadline is on the bot's clock, while answer
        # times count from the send time the platform reported.
        deadline = now + timedelta(seconds=session.open_seconds)
        await self.repos.quizzes.sent(
            poll.id,
            poll_ref=poll_key(chat.platform, sent.poll_ref),
            message_ref=sent.message_ref,
            prompt_id=shown.prompt.id,
            sent_at=sent.sent_at,
            deadline=deadline,
        )
        self._schedule(session.id, deadline)

    async def _close(
        self,
        chat: Chat,
        sender: Platform,
        session: QuizSession,
        poll: QuizPoll,
        reason: CloseReason,
    ) -> None:
        if await self.repos.quizzes.close(poll.id, self.clock.now()) and poll.message_ref:
            try:
                spec = self._spec(chat, session, poll)
                await sender.stop_poll(chat, spec, poll.message_ref, reason)
            except Exception as e:  # closed by the platform already, or the chat is gone
                log.debug("quiz %s: stopping poll %d: %s", session.id, poll.position, e)
        self.gate.mark_closed(chat.id)

    async def _finish(self, chat: Chat, session: QuizSession, status: str) -> None:
        """Post the scoreboard, then end the session.

        In this order so that a crash between the two posts it again at the next start
        rather than never: a session is not over for its players until they see its result.
        """
        fresh = await self.repos.quizzes.session(session.id)
        if fresh is None or fresh.status != "running":
            return
        sender = self.platforms.get(chat.platform)
        if sender is not None:
            board = await self.scoreboard(chat, session, stopped=status == "stopped")
            try:
                await sender.send_text(chat, board)
            except Exception:
                log.exception("quiz %s: sending the scoreboard failed", session.id)
        await self._end(chat, session, status)

    async def _end(self, chat: Chat, session: QuizSession, status: str) -> bool:
        self.timers.cancel(_timer_key(session.id))
        self.gate.mark_closed(chat.id)
        ended = await self.repos.quizzes.end(
            session.id, "stopped" if status == "stopped" else "finished", self.clock.now()
        )
        if ended:
            log.info("quiz %s in chat %s %s", session.id, chat.id, status)
        return ended

    async def scoreboard(self, chat: Chat, session: QuizSession, *, stopped: bool) -> Scoreboard:
        """Return the session's result so far."""
        asked = await self.repos.quizzes.asked(session.id)
        rows = await self.repos.quizzes.scores(session.id)
        return Scoreboard(
            lang=session.language,
            asked=asked,
            rows=tuple(rows),
            stopped=stopped,
            private=not chat.is_group,
        )

    # -- helpers ------------------------------------------------------------------------
    async def _current(self, session: QuizSession) -> QuizPoll | None:
        if session.position == 0:
            return None
        return await self.repos.quizzes.poll_at(session.id, session.position - 1)

    async def _running_error(self, session: QuizSession) -> QuizRunning:
        current = await self._current(session)
        number = current.number + 1 if current else 0
        return QuizRunning(session, number, current.message_ref if current else None)


def _timer_key(session_id: int) -> str:
    return f"quiz:{session_id}"

"""Reports of problems with questions: users file them, operators read and close them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.clock import Clock
from bot.errors import UserInputError
from bot.services.exercises import ExerciseService
from bot.services.study import Context, StudyService
from bot.storage.records import Report
from bot.storage.repos import Repos

# Enough for "option C is also right because …"; a longer text is cut, not refused.
MAX_REPORT_CHARS = 1000


@dataclass(frozen=True)
class OpenReports:
    """How many reports are open and the newest of them."""

    count: int
    newest: tuple[Report, ...]


@dataclass(frozen=True)
class Filed:
    """A stored report and what it is about, for the thank-you to name."""

    report_id: int
    item: str  # a question id, or "exercise:<id>"
    title: str  # the question's id or the exercise's title, in the user's language


class ReportService:
    """Store what users say is wrong with a question or exercise and list it for operators."""

    def __init__(
        self, repos: Repos, study: StudyService, clock: Clock, exercises: ExerciseService
    ) -> None:
        self.repos = repos
        self.study = study
        self.clock = clock
        self.exercises = exercises
        # Chats where a "what is wrong?" message is being sent and stored: a reply that comes
        # in meanwhile waits for it rather than being taken for an ordinary message.
        self._asking: dict[int, int] = {}
        self._asked = asyncio.Condition()

    def _title(self, ctx: Context, item: str) -> str:
        kind, _, exercise_id = item.partition(":")
        if kind == "exercise":
            exercise = self.exercises.bank.get(exercise_id)
            if exercise is None:
                raise UserInputError("no_question")
            return exercise.title.get(ctx.lang)
        if self.study.bank.get(item) is None:
            raise UserInputError("no_question")
        return item

    async def report(self, ctx: Context, item: str, text: str) -> Filed:
        """Store a report by the context's user on an item; raise UserInputError if empty."""
        text = text.strip()
        if not text:
            raise UserInputError("usage_report")
        title = self._title(ctx, item)
        report_id = await self.repos.reports.add(
            item, ctx.user.id, ctx.chat.id, text[:MAX_REPORT_CHARS], self.clock.now()
        )
        return Filed(report_id, item, title)

    async def report_prompt(self, ctx: Context, prompt_id: int, text: str) -> Filed:
        """Store a report on the question a prompt showed."""
        found = await self.study.prompt(prompt_id)
        if found is None:
            raise UserInputError("no_question")
        return await self.report(ctx, found[1].id, text)

    async def latest_item(self, ctx: Context) -> str:
        """Return what /report is about: the exercise or the question shown last in the chat."""
        # The same rule as /hint: an exercise shown after the chat's last question is current.
        question = await self.exercises.hint_target(ctx)  # the chat's newest, if no exercise
        if question is None:
            current = await self.exercises.current(ctx)
            if current is not None:
                return f"exercise:{current[0].id}"
        found = await self.study.prompt(question) if question is not None else None
        if found is None:
            raise UserInputError("no_question")
        return found[1].id

    async def report_latest(self, ctx: Context, text: str) -> Filed:
        """Store a report on the exercise or question shown last (/report <text>)."""
        if not text.strip():
            raise UserInputError("usage_report")
        return await self.report(ctx, await self.latest_item(ctx), text)

    @asynccontextmanager
    async def asking(self, ctx: Context) -> AsyncIterator[None]:
        """Hold replies in the chat back while the block sends and stores a request (`ask`)."""
        chat = ctx.chat.id
        self._asking[chat] = self._asking.get(chat, 0) + 1
        try:
            yield
        finally:
            self._asking[chat] -= 1
            if not self._asking[chat]:
                del self._asking[chat]
            async with self._asked:
                self._asked.notify_all()

    async def ask(self, ctx: Context, prompt_id: int, message_ref: str) -> None:
        """Remember that the message `message_ref` asks the user what is wrong with a prompt."""
        found = await self.study.prompt(prompt_id)
        if found is None:
            raise UserInputError("no_question")
        await self.repos.reports.ask(
            ctx.chat.id, message_ref, found[1].id, prompt_id, ctx.user.id, self.clock.now()
        )

    async def answer(self, ctx: Context, message_ref: str, text: str) -> Filed | None:
        """File the user's reply to a "what is wrong?" message; None if it asked them nothing."""
        now = self.clock.now()
        asking = ctx.chat.id in self._asking  # before the read: the request may land after it
        waiting = await self.repos.reports.request(ctx.chat.id, message_ref, ctx.user.id, now)
        if waiting is None and asking:
            # A quick reply to a request still being stored: look again once it is.
            async with self._asked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._asked.wait_for(lambda: ctx.chat.id not in self._asking), 10
                    )
            waiting = await self.repos.reports.request(ctx.chat.id, message_ref, ctx.user.id, now)
        if waiting is None:
            return None
        item = waiting[0]
        text = text.strip()
        if not text:
            raise UserInputError("usage_report")
        title = self._title(ctx, item)
        report_id = await self.repos.reports.add_answering(
            ctx.chat.id, message_ref, item, ctx.user.id, text[:MAX_REPORT_CHARS], now
        )
        return Filed(report_id, item, title)

    async def open_reports(self, limit: int = 5) -> OpenReports:
        """Return the count of open reports and the newest `limit` of them."""
        count = await self.repos.reports.count_open()
        newest = await self.repos.reports.newest_open(limit) if count else []
        return OpenReports(count=count, newest=tuple(newest))

    async def close(self, report_id: int) -> bool:
        """Close a report once it is dealt with; False if it is not open."""
        return await self.repos.reports.close(report_id, self.clock.now())

"""Reports of problems with questions: users file them, operators read and close them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.errors import UserInputError
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


class ReportService:
    """Store what users say is wrong with a question and list it for operators."""

    def __init__(self, repos: Repos, study: StudyService, clock: Clock) -> None:
        self.repos = repos
        self.study = study
        self.clock = clock

    async def report(self, ctx: Context, question_id: str, text: str) -> int:
        """Store a report by the context's user on a question; raise UserInputError if empty."""
        text = text.strip()
        if not text:
            raise UserInputError("usage_report")
        if self.study.bank.get(question_id) is None:
            raise UserInputError("no_question")
        return await self.repos.reports.add(
            question_id, ctx.user.id, ctx.chat.id, text[:MAX_REPORT_CHARS], self.clock.now()
        )

    async def report_prompt(self, ctx: Context, prompt_id: int, text: str) -> int:
        """Store a report on the question a prompt showed."""
        found = await self.study.prompt(prompt_id)
        if found is None:
            raise UserInputError("no_question")
        return await self.report(ctx, found[1].id, text)

    async def open_reports(self, limit: int = 5) -> OpenReports:
        """Return the count of open reports and the newest `limit` of them."""
        count = await self.repos.reports.count_open()
        newest = await self.repos.reports.newest_open(limit) if count else []
        return OpenReports(count=count, newest=tuple(newest))

    async def close(self, report_id: int) -> bool:
        """Close a report once it is dealt with; False if it is not open."""
        return await self.repos.reports.close(report_id, self.clock.now())

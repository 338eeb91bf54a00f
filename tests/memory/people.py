"""People on the in-memory platform: each action parses nothing and calls one service.

This is the whole adapter of a third platform. Every rule (who may run code, waiting for an
open quiz poll, forged buttons, admin rights, when questions go out) comes from the services;
sends come back through the contract (`tests.memory.platform.MemoryPlatform`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.app import Core
from bot.runner.protocol import RunResult
from bot.services.daily import DeliveryOutcome
from bot.services.exercises import ShownExercise, Submitted
from bot.services.model import Chat, QuizSession
from bot.services.quiz_platform import QuizAnswer
from bot.services.runs import RunService
from bot.services.study import AnswerResult, Context, Shown
from tests.memory.platform import MemoryPlatform


@dataclass
class Member:
    """One user in one chat of the in-memory platform."""

    core: Core
    platform: MemoryPlatform
    user: str  # the platform's user id (digits, as Telegram's and Discord's are)
    chat: str  # the platform's chat id
    group: bool = False
    runs: RunService | None = None

    async def context(self) -> Context:
        """Register the member and chat on first sight, as every platform's update does."""
        return await self.core.study.enter(
            platform=self.platform.name,
            user_id=self.user,
            user_name=f"member {self.user}",
            language_code="en",
            chat_id=self.chat,
            chat_type="group" if self.group else "private",
        )

    async def subscribe(self, at: str) -> Chat:
        """Subscribe the chat to the daily question at a local time (/subscribe)."""
        ctx = await self.context()
        await self.core.access.require_manage(ctx, self._no_chat_admins)
        return await self.core.study.subscribe_args(ctx, [at])

    async def daily(self) -> DeliveryOutcome:
        """Ask for today's question now (/daily)."""
        return await self.core.daily_schedule.today(await self.context(), self.platform.send_prompt)

    async def press(self, prompt_id: int, option: int) -> AnswerResult:
        """Press an option under a question (the button's data could be forged)."""
        ctx = await self.context()
        prompt, _question = await self.core.study.pressed(ctx, prompt_id)
        return await self.core.study.answer(ctx, prompt.id, option)

    async def streak(self) -> int:
        """Return the current streak (/streak)."""
        return (await self.core.study.streak(await self.context())).current

    async def quiz(self, *args: str) -> QuizSession:
        """Start a quiz in the chat (/quiz N)."""
        session = await self.core.quiz.start(await self.context(), list(args))
        await self.core.quiz.begin(session.id)
        return session

    async def stop_quiz(self, *, admin: bool = False) -> None:
        """End the chat's quiz (/stopquiz), as its starter or a group admin."""
        await self.core.quiz.stop(await self.context(), privileged=admin)

    async def vote(self, poll_ref: str, option: int) -> QuizAnswer | None:
        """Vote in a quiz poll."""
        return await self.core.quiz.answer(
            platform=self.platform.name,
            poll_ref=poll_ref,
            user_id=self.user,
            user_name=f"member {self.user}",
            language_code="en",
            option_ids=[option],
        )

    async def run(self, code: str, held: list[str]) -> RunResult:
        """Run code (/run): allowed by the allowlist, held while a quiz poll is open."""
        assert self.runs is not None
        ctx = await self.context()
        self.runs.check_allowed(int(self.user), ctx.chat)
        job = self.runs.parse("/run " + code)

        async def hold() -> None:
            held.append("held for the quiz")

        await self.core.quiz.hold_code(ctx.chat.id, hold)
        return await self.runs.run(job, f"memory:{self.user}")

    async def exercise(self, exercise_id: str) -> ShownExercise:
        """Open an exercise (/exercise id)."""
        return await self.core.exercises.show(await self.context(), exercise_id)

    async def submit(self, code: str) -> Submitted:
        """Submit code for the current exercise (/submit)."""
        assert self.runs is not None
        ctx = await self.context()
        self.runs.check_allowed(int(self.user), ctx.chat)
        return await self.core.exercises.submit(ctx, code, self.runs, f"memory:{self.user}")

    async def review(self) -> Shown | None:
        """Take the next due card (/review)."""
        return await self.core.review.next(await self.context())

    async def _no_chat_admins(self) -> bool:
        return False  # this platform has no chat admins: groups are managed by operators

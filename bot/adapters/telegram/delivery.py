"""Daily jobs on PTB's JobQueue, rebuilt from the database at start-up."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import ReplyParameters
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, Job, JobQueue

from bot.adapters import render
from bot.adapters.telegram.keyboards import question_keyboard
from bot.adapters.telegram.sending import send_mapped
from bot.app import Core
from bot.services.daily import DeliveryOutcome
from bot.services.study import Shown
from bot.storage.records import Chat

log = logging.getLogger(__name__)

PLATFORM = "telegram"
RETRY_AFTER_FAILURE = timedelta(minutes=5)
# A daily job that fires late (busy loop, suspended host) still runs within this window;
# later than that, the start-up catch-up delivers it.
MISFIRE_GRACE_S = 6 * 3600
# Deliveries claimed and not yet answered, at most: a fan-out of 10,000 chats claims each chat
# just before its send rather than all at once, so a crash loses at most this many (one second
# of sends at Telegram's 30 a second).
MAX_IN_FLIGHT = 30


def job_name(chat_id: int) -> str:
    """Return the stable name of a chat's daily job."""
    return f"daily:{chat_id}"


class DailyScheduler:
    """Keep one JobQueue job per subscribed chat and deliver through the Bot API."""

    def __init__(self, core: Core, application: Application) -> None:  # type: ignore[type-arg]
        self.core = core
        self.application = application
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)

    @property
    def jobs(self) -> JobQueue:  # type: ignore[type-arg]
        """Return the application's job queue."""
        queue = self.application.job_queue
        if queue is None:
            raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
        return queue

    async def start(self) -> None:
        """Schedule every subscribed chat and deliver at once where today's time has passed."""
        # Counted first: the catch-ups below start sending while the loop still runs.
        interrupted = await self.core.daily.interrupted()
        chats = await self.core.daily.subscribed_chats(PLATFORM)
        overdue = 0
        for chat in chats:
            if await self.schedule(chat):
                overdue += 1
        log.info("scheduled %d daily job(s); %d overdue sent now", len(chats), overdue)
        if interrupted:
            log.warning(
                "%d daily question(s) were being sent when the bot stopped; not sent again "
                "(at most once), they may be missing in those chats",
                interrupted,
            )

    async def schedule(self, chat: Chat) -> bool:
        """(Re)schedule a chat's daily job; deliver now if today's time has passed unsent.

        Return True when a delivery was queued for now (after downtime, or after the chat
        moved its time or zone so that today's time is already behind it).
        """
        if not chat.subscribed:
            self.unschedule(chat.id)
            return False
        # replace_existing replaces the chat's job by id, with no lookup first: before the
        # JobQueue starts (start-up schedules every chat then), APScheduler finds a job by
        # scanning its list of pending jobs, which made start-up quadratic in the chats.
        self.jobs.run_daily(
            self._run,
            time=self.core.daily.daily_time(chat),
            data=chat.id,
            name=job_name(chat.id),
            job_kwargs={
                "id": job_name(chat.id),
                "replace_existing": True,
                "misfire_grace_time": MISFIRE_GRACE_S,
                "coalesce": True,
            },
        )
        if not await self.core.daily.is_pending(chat):
            return False
        self._run_soon(chat.id, f"catchup:{chat.id}")
        return True

    def _run_soon(self, chat_id: int, name: str, when: float | timedelta = 0) -> None:
        # No misfire grace limit: a catch-up queued during a slow start must still run.
        self.jobs.run_once(
            self._run,
            when=when,
            data=chat_id,
            name=name,
            # One pending run per name: a newer one replaces it (looked up by id, not scanned).
            job_kwargs={"misfire_grace_time": None, "id": name, "replace_existing": True},
        )

    def unschedule(self, chat_id: int) -> None:
        """Remove a chat's daily job, if any."""
        # By id, not get_jobs_by_name: that scans every job, and start-up does this per chat.
        job = self.jobs.scheduler.get_job(job_name(chat_id))
        if job is not None:
            job.remove()

    async def _run(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        job: Job | None = context.job  # type: ignore[type-arg]
        if job is None or not isinstance(job.data, int):
            return
        outcome = await self.deliver(job.data)
        if outcome.status == "failed":
            self.retry_later(job.data)

    def retry_later(self, chat_id: int) -> None:
        """Try the chat's delivery again in a few minutes (a no-op unless it is still due)."""
        self._run_soon(chat_id, f"retry:{chat_id}", RETRY_AFTER_FAILURE)

    async def deliver(self, chat_id: int) -> DeliveryOutcome:
        """Deliver a chat's daily question now, if it has not had today's."""
        async with self._in_flight:
            outcome = await self.core.daily.deliver(chat_id, self.send)
        log.info("daily delivery chat=%s: %s", chat_id, outcome.status)
        if outcome.status == "gone":
            self.unschedule(chat_id)
        return outcome

    async def send(self, chat: Chat, shown: Shown, reply_to: int | None = None) -> str:
        """Send a question message; map Bot API failures to the services' send errors.

        The one sender of questions, scheduled or asked for (/daily, /question in reply to
        `reply_to`), so that every path learns whether a send surely failed.
        """
        text = render.question(self.core.bank, shown.question, shown.lang, shown.prompt.kind)
        markup = question_keyboard(
            shown.prompt.id,
            len(shown.question.text(shown.lang).quiz.options),
            shown.lang,
            shown.review_due,
            hint=shown.question.text(shown.lang).hint is not None,
        )

        reply = (
            None
            if reply_to is None
            else ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        )

        async def call(chat_id: int) -> str:
            message = await self.application.bot.send_message(
                chat_id=chat_id,
                text=text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                reply_parameters=reply,
            )
            return str(message.message_id)

        return await send_mapped(
            call, int(chat.external_id), lambda new: self.core.study.follow_migration(chat, new)
        )

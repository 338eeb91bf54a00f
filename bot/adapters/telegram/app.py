"""Build the PTB Application: all routing of the Telegram adapter is visible here."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    PollAnswerHandler,
    filters,
)

from bot.adapters import render
from bot.adapters.telegram.delivery import PLATFORM, DailyScheduler
from bot.adapters.telegram.flood import FloodLimiter
from bot.adapters.telegram.handlers import Handlers
from bot.adapters.telegram.polling import (
    STARTUP_RETRY_DELAYS,
    PollingWatch,
    WatchedRequest,
    initialize_with_retries,
)
from bot.adapters.telegram.quiz import QuizHandlers, TelegramQuizSender
from bot.adapters.telegram.run_handlers import RunHandlers
from bot.app import Core
from bot.services.runs import RunService

log = logging.getLogger(__name__)

# Requests that hit 429 are retried after retry_after this many times before giving up.
RATE_LIMIT_RETRIES = 3


def build_application(
    core: Core,
    token: str,
    base_url: str,
    runs: RunService,
    limiter: FloodLimiter | None = None,
) -> Application:  # type: ignore[type-arg]
    """Create the Application with rate limiting, job queue, handlers and start-up hooks.

    `limiter` replaces the default FloodLimiter; with STUDYBOT_RATE_LIMIT=off and no `limiter`
    the bot sends as fast as the Bot API answers.
    """
    watch = PollingWatch()  # one log line per failed poll, instead of PTB's tracebacks
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(file_url(base_url))
        .concurrent_updates(True)
        .get_updates_request(WatchedRequest(watch))
    )
    if limiter is None and core.settings.rate_limit == "on":
        limiter = FloodLimiter(max_retries=RATE_LIMIT_RETRIES)
    if limiter is not None:
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]  # PTB types it per builder
    application = builder.build()
    application.bot_data["polling_watch"] = watch
    scheduler = DailyScheduler(core, application)
    handlers = Handlers(core, scheduler)
    quiz = QuizHandlers(handlers)
    core.quiz.register(PLATFORM, TelegramQuizSender(core, application))
    application.bot_data["scheduler"] = scheduler
    application.bot_data["core"] = core

    commands = {
        "start": handlers.start,
        "help": handlers.help,
        "daily": handlers.daily,
        "question": handlers.question,
        "topics": handlers.topics,
        "streak": handlers.streak,
        "stats": handlers.stats,
        "subscribe": handlers.subscribe,
        "unsubscribe": handlers.unsubscribe,
        "timezone": handlers.timezone,
        "lang": handlers.lang,
        "quiz": quiz.quiz,
        "stopquiz": quiz.stopquiz,
        "leaderboard": quiz.leaderboard,
    }
    # Only new messages: an edited /daily must not send another question.
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=filters.UpdateType.MESSAGE))
    run = RunHandlers(handlers, runs)
    # /run also answers edits (re-run in place) and .py files with /run as their caption.
    application.add_handler(CommandHandler("run", run.run, filters=filters.UpdateType.MESSAGES))
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGES
            & filters.Document.ALL
            & filters.CaptionRegex(r"^/run(@\w+)?(\s|$)"),
            run.run,
        )
    )
    application.add_handler(CallbackQueryHandler(handlers.button))
    application.add_handler(PollAnswerHandler(quiz.poll_answer))
    # Last in the same group: only commands that no handler above took get the hint.
    application.add_handler(
        MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, handlers.unknown)
    )
    application.add_error_handler(handlers.error)
    return application


def file_url(base_url: str) -> str:
    """Derive the file download URL from the Bot API URL (…/bot → …/file/bot)."""
    head, sep, tail = base_url.rpartition("/bot")
    return f"{head}/file/bot{tail}" if sep else base_url.rstrip("/") + "/file/bot"


async def on_start(application: Application) -> None:  # type: ignore[type-arg]
    """Publish the command menus in zh and en and rebuild the daily jobs."""
    await publish_commands(application)
    scheduler: DailyScheduler = application.bot_data["scheduler"]
    await scheduler.start()
    core: Core = application.bot_data["core"]
    await core.quiz.resume(PLATFORM)


async def publish_commands(application: Application) -> None:  # type: ignore[type-arg]
    """Call setMyCommands for the default (English) menu and the Chinese one."""
    bot = application.bot
    await bot.set_my_commands([BotCommand(n, d) for n, d in render.command_menu("en")])
    await bot.set_my_commands(
        [BotCommand(n, d) for n, d in render.command_menu("zh")], language_code="zh"
    )


async def start_application(
    application: Application,  # type: ignore[type-arg]
    poll_timeout: int = 10,
    retry_delays: Sequence[float] = STARTUP_RETRY_DELAYS,
) -> None:
    """Start polling without owning the event loop (what run_polling does, minus the loop)."""
    bot = application.bot
    await initialize_with_retries(application, bot.base_url.removesuffix(bot.token), retry_delays)
    await on_start(application)
    if application.updater is not None:
        await application.updater.start_polling(
            timeout=poll_timeout,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
            error_callback=application.bot_data["polling_watch"].failed,
        )
    await application.start()


async def stop_application(application: Application) -> None:  # type: ignore[type-arg]
    """Stop polling, the handlers and the job queue, and shut down."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()

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
    TypeHandler,
    filters,
)

from bot.adapters import commands as registry
from bot.adapters.stats_picture import PictureRenderer
from bot.adapters.telegram.admin import AdminHandlers
from bot.adapters.telegram.answer_tools import AnswerTools
from bot.adapters.telegram.bench import BenchHandlers
from bot.adapters.telegram.buddies import BUDDY_PATTERN, BuddyHandlers
from bot.adapters.telegram.delivery import PLATFORM, TelegramDailySender
from bot.adapters.telegram.exercises import ExerciseHandlers
from bot.adapters.telegram.flood import FloodLimiter
from bot.adapters.telegram.handlers import Handlers
from bot.adapters.telegram.keyboards import REVIEW_PATTERN, TOOLS_PATTERN
from bot.adapters.telegram.observe import ApiSeen, SeenRequest, timed, update_counter
from bot.adapters.telegram.platform import TelegramChats
from bot.adapters.telegram.polling import (
    STARTUP_RETRY_DELAYS,
    PollingWatch,
    WatchedRequest,
    initialize_with_retries,
)
from bot.adapters.telegram.quiz import QuizHandlers, TelegramQuizSender
from bot.adapters.telegram.reminders import RemindHandlers
from bot.adapters.telegram.review import ReviewHandlers
from bot.adapters.telegram.run_handlers import RunHandlers
from bot.adapters.telegram.stats import StatsHandlers
from bot.adapters.telegram.webhook import Webhook
from bot.app import Core
from bot.metrics.bot import BotMetrics
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
    metrics: BotMetrics | None = None,
) -> Application:  # type: ignore[type-arg]
    """Create the Application with rate limiting, job queue, handlers and start-up hooks.

    `limiter` replaces the default FloodLimiter; with STUDYBOT_RATE_LIMIT=off and no `limiter`
    the bot sends as fast as the Bot API answers.
    """
    # Over 60 lines on purpose: all routing is visible in this one place, as in PTB's examples.
    watch = PollingWatch()  # one log line per failed poll, instead of PTB's tracebacks
    seen = ApiSeen()
    metrics = metrics or BotMetrics()
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(file_url(base_url))
        .concurrent_updates(True)
        # No JobQueue: daily questions, reminders and quiz steps run on the services' timers.
        .job_queue(None)
        .request(SeenRequest(seen))
        .get_updates_request(WatchedRequest(watch, seen.mark))
    )
    if limiter is None and core.settings.rate_limit == "on":
        limiter = FloodLimiter(max_retries=RATE_LIMIT_RETRIES)
    if limiter is not None:
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]  # PTB types it per builder
    application = builder.build()
    application.bot_data["polling_watch"] = watch
    application.bot_data["api_seen"] = seen
    application.bot_data["metrics"] = metrics
    core.daily.observers.append(metrics.delivery)
    runs.observers.extend([metrics, core.admin])
    sender = TelegramDailySender(core, application.bot)
    handlers = Handlers(core, sender)
    quiz = QuizHandlers(handlers)
    review = ReviewHandlers(handlers, application.bot)
    remind = RemindHandlers(handlers)
    pictures = PictureRenderer()
    application.bot_data["pictures"] = pictures
    stats = StatsHandlers(handlers, pictures)
    application.bot_data["chats"] = TelegramChats(
        core, application.bot, sender, TelegramQuizSender(core, application)
    )
    application.bot_data["core"] = core
    run_handlers = RunHandlers(handlers, runs)
    exercises = ExerciseHandlers(handlers, runs, run_handlers)
    buddies = BuddyHandlers(handlers)

    commands = {
        "start": handlers.start,
        "help": handlers.help,
        "daily": handlers.daily,
        "question": handlers.question,
        "topics": handlers.topics,
        "streak": handlers.streak,
        "buddy": buddies.buddy,
        "stats": stats.stats,
        "ready": stats.ready,
        "subscribe": handlers.subscribe,
        "unsubscribe": handlers.unsubscribe,
        "timezone": handlers.timezone,
        "lang": handlers.lang,
        "quiz": quiz.quiz,
        "stopquiz": quiz.stopquiz,
        "leaderboard": quiz.leaderboard,
        "admin": AdminHandlers(handlers, runs).admin,
        "review": review.review,
        "remind": remind.remind,
        "bench": BenchHandlers(handlers, runs).bench,
        "exercise": exercises.exercise,
        "exercises": exercises.exercises,
        "hint": exercises.hint,
        "giveup": exercises.giveup,
    }
    # Before any other group, so every update is counted whichever handler takes it.
    application.add_handler(TypeHandler(Update, update_counter(metrics)), group=-1)
    # Only new messages: an edited /daily must not send another question.
    for name, callback in commands.items():
        application.add_handler(
            CommandHandler(name, timed(name, callback, metrics), filters=filters.UpdateType.MESSAGE)
        )
    tools = AnswerTools(handlers, run_handlers)
    run = timed("run", run_handlers.run, metrics)
    # /run also answers edits (re-run in place) and .py files with /run as their caption.
    application.add_handler(CommandHandler("run", run, filters=filters.UpdateType.MESSAGES))
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGES
            & filters.Document.ALL
            & filters.CaptionRegex(r"^/run(@\w+)?(\s|$)"),
            run,
        )
    )
    # /submit takes code as /run does: inline, fenced, a reply, or a .py file with the caption.
    submit = timed("submit", exercises.submit, metrics)
    application.add_handler(CommandHandler("submit", submit, filters=filters.UpdateType.MESSAGE))
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE
            & filters.Document.ALL
            & filters.CaptionRegex(r"^/submit(@\w+)?(\s|$)"),
            submit,
        )
    )
    application.add_handler(CallbackQueryHandler(review.button, pattern=REVIEW_PATTERN))
    application.add_handler(CallbackQueryHandler(tools.button, pattern=TOOLS_PATTERN))
    application.add_handler(CallbackQueryHandler(buddies.button, pattern=BUDDY_PATTERN))
    # A reply to "what is wrong with this question?" carries a problem report.
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.REPLY & filters.TEXT & ~filters.COMMAND,
            tools.report_reply,
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


# The updates some handler takes: new and edited messages (an edited /run runs again), button
# presses and quiz poll votes. Telegram sends nothing else, so nothing is fetched to be dropped.
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.POLL_ANSWER,
]


async def on_start(application: Application) -> None:  # type: ignore[type-arg]
    """Publish the command menus in zh and en and rebuild the daily, quiz and reminder timers."""
    await publish_commands(application)
    core: Core = application.bot_data["core"]
    # Sends go through the platform contract from now on; its timers come back.
    await core.platforms.attach(application.bot_data["chats"])


async def publish_commands(application: Application) -> None:  # type: ignore[type-arg]
    """Call setMyCommands for the default (English) menu and the Chinese one."""
    bot = application.bot
    await bot.set_my_commands([BotCommand(n, d) for n, d in registry.menu(PLATFORM, "en")])
    await bot.set_my_commands(
        [BotCommand(n, d) for n, d in registry.menu(PLATFORM, "zh")], language_code="zh"
    )


async def start_application(
    application: Application,  # type: ignore[type-arg]
    poll_timeout: int = 10,
    retry_delays: Sequence[float] = STARTUP_RETRY_DELAYS,
    webhook: Webhook | None = None,
) -> None:
    """Start polling, or serve the webhook, without owning the event loop.

    What run_polling and run_webhook do, minus the loop. With a webhook, PTB calls setWebhook
    with the URL and the secret token and answers 403 to a post without that token.
    """
    bot = application.bot
    await initialize_with_retries(application, bot.base_url.removesuffix(bot.token), retry_delays)
    await on_start(application)
    if application.updater is not None and webhook is not None:
        await application.updater.start_webhook(
            listen=webhook.host,
            port=webhook.port,
            url_path=webhook.path,
            webhook_url=webhook.url,
            secret_token=webhook.secret,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
    elif application.updater is not None:
        await application.updater.start_polling(
            timeout=poll_timeout,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
            error_callback=application.bot_data["polling_watch"].failed,
        )
    await application.start()


async def stop_application(application: Application) -> None:  # type: ignore[type-arg]
    """Stop as `studybot serve` does with Telegram alone: updates, then timers, then the client."""
    await stop_updates(application)
    core = application.bot_data.get("core")
    if isinstance(core, Core):
        await core.stop_timers()
    await close_application(application)


async def stop_updates(application: Application) -> None:  # type: ignore[type-arg]
    """Stop taking updates and let running handlers (a /run up to its limit) end."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()


async def close_application(application: Application) -> None:  # type: ignore[type-arg]
    """Close the Bot API client, once no timer can send through it any more."""
    core = application.bot_data.get("core")
    if isinstance(core, Core):
        core.platforms.detach(PLATFORM)
    await application.shutdown()
    pictures = application.bot_data.get("pictures")
    if isinstance(pictures, PictureRenderer):
        pictures.close()

"""The console adapter: chat with the bot in a terminal, no token needed."""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Literal, TextIO

from bot.adapters import (
    buddy_render,
    console_usage,
    exercise_render,
    quiz_render,
    render,
    review_render,
)
from bot.adapters.console_exercises import ConsoleExercises
from bot.adapters.console_input import PROMPT, console_input
from bot.adapters.console_platform import PLATFORM, ConsolePlatform, option_index
from bot.adapters.console_review import ConsoleReview
from bot.adapters.console_run import ConsoleRun
from bot.adapters.run_render import run_problem
from bot.adapters.stats_picture import PictureRenderer
from bot.adapters.terminal import to_terminal
from bot.app import Core
from bot.content.models import Lang
from bot.document import Document, doc
from bot.errors import DatabaseDamaged, UserInputError
from bot.i18n import _
from bot.services.quiz_platform import PollSpec
from bot.services.runs import RunService
from bot.services.study import Context, Shown
from bot.text import excerpt

log = logging.getLogger(__name__)


# A console command: the user's context, the text after the command, and the whole line.
CommandHandler = Callable[[Context, str, str], Awaitable[None]]


class Console(ConsolePlatform, ConsoleRun, ConsoleReview):
    """A read–eval–print loop over the services, as one user in one private chat."""

    def __init__(
        self,
        core: Core,
        *,
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
        user: str | None = None,
        runs: RunService | None = None,
    ) -> None:
        self.core = core
        self.stdin = stdin
        self.stdout = stdout
        self.user = user or getpass.getuser()
        self.color = stdout.isatty()
        self.runs = runs
        self.current: Shown | None = None
        # What was shown last decides what /hint is about: a question or an exercise.
        self.focus: Literal["question", "exercise"] | None = None
        self.exercises = ConsoleExercises(self)
        self.input = console_input(stdin, stdout)
        # The quiz poll open in this terminal, and an event set whenever a new one opens.
        self.poll: tuple[str, PollSpec] | None = None
        self._poll_opened = asyncio.Event()
        self._poll_seq = 0
        self._answered_polls: set[str] = set()
        self._held: list[str] | None = None  # output held back while an answer is scored
        # Sends reach this terminal from construction on (a test drives `handle` alone); `run`
        # attaches it, which also rebuilds its reminders.
        core.platforms.add(self)
        self.pictures: PictureRenderer | None = None
        self._quit = False

    def say(self, message: Document | str) -> None:
        """Print one reply: a document, or plain words."""
        self.write(
            to_terminal(message if isinstance(message, Document) else doc(message), self.color)
        )

    def write(self, text: str) -> None:
        """Print terminal text as it is."""
        # At a terminal, through the prompt's stand-in for stdout: above the waiting prompt.
        out = sys.stdout if self.input.interactive else self.stdout
        out.write(text + "\n")
        out.flush()

    async def context(self) -> Context:
        """Return the console user's context (created on first use)."""
        return await self.core.study.enter(
            platform=PLATFORM,
            user_id=self.user,
            user_name=self.user,
            language_code=None,
            chat_id=self.user,
            chat_type="private",
            chat_title="console",
        )

    async def run(self) -> None:
        """Read commands until /quit or end of input."""
        ctx = await self.context()
        await self.core.quiz.stop_all(PLATFORM)  # a quiz left by a killed console
        await self.core.platforms.attach(self)
        self.say(render.welcome(ctx.lang, self.user, console=True))
        self.say(_(ctx.lang, "Type a command, an option letter to answer, or /quit."))
        try:
            with self.input.output():
                await self._loop()
        finally:
            await self.core.quiz.stop_all(PLATFORM)
            self.close()

    async def _loop(self) -> None:
        while True:
            if not self.input.interactive:  # the terminal reader draws its own prompt
                self.stdout.write(PROMPT)
                self.stdout.flush()
            line = await self.readline()
            if not line:
                self.write("")
                return
            for part in pasted_lines(line.strip()):
                if part == "/exit":
                    return
                if part:
                    await self.handle(part)
                if self._quit:
                    return

    async def readline(self) -> str:
        """Read one line ("" at end of input) without blocking the event loop."""
        return await self.input.readline()

    async def handle(self, line: str) -> None:
        """Answer one line of input; a failure costs this line, never the session."""
        # A pasted command may end its first line with its name: "/bench\n```…".
        command, arg = ([*line.split(maxsplit=1), "", ""])[:2]
        arg = arg.strip()
        lang: Lang = "en"  # until the user's own is known
        try:
            ctx = await self.context()
            lang = ctx.lang
            await self._dispatch(ctx, command.lower(), arg, line)
        except UserInputError as err:
            # The one error path: usage lines in the console's own words where they differ,
            # and why /run cannot go ahead (the console's user runs the bot, so they also
            # learn what to do about it).
            problem = console_usage.usage(lang, err.key) or exercise_render.problem(lang, err)
            self.say(problem or run_problem(lang, err, operator=True))
        except DatabaseDamaged:
            # Logged once where it was met; the user gets one line, not a traceback.
            self.say(
                _(
                    lang,
                    render.DATABASE_DAMAGED,
                )
            )
        except Exception:
            log.exception("console command %r failed", command)
            self.say(_(lang, "Sorry, something went wrong on my side. Please try again."))

    async def _dispatch(self, ctx: Context, command: str, arg: str, line: str) -> None:
        if not command.startswith("/"):
            await self.answer(ctx, line)
            return
        handler = self.commands.get(command.removeprefix("/"))
        if handler is None:
            self.say(_(ctx.lang, "Unknown command {command}. See /help.", command=excerpt(command)))
            return
        await handler(ctx, arg, line)

    @property
    def commands(self) -> dict[str, CommandHandler]:
        """Return the handler of each console command of the registry, by name."""
        return {
            "daily": self.daily,
            "question": self.question,
            "answer": self.reference,
            "hint": self.hint,
            "report": self.report,
            "topics": self.topics,
            "streak": self.streak,
            "buddy": lambda ctx, _arg, _line: self.buddy(ctx),
            "stats": lambda ctx, _arg, _line: self.stats(ctx),
            "ready": lambda ctx, _arg, _line: self.ready(ctx),
            "review": lambda ctx, arg, _line: self.review(ctx, arg),
            "rate": lambda ctx, arg, _line: self.rate(ctx, arg),
            "remind": self.remind,
            "quiz": self.quiz,
            "stopquiz": self.stopquiz,
            "leaderboard": lambda ctx, arg, _line: self.leaderboard(ctx, arg),
            "run": lambda ctx, _arg, line: self.run_code(ctx, line),
            "bench": lambda ctx, _arg, line: self.bench(ctx, line),
            **dict.fromkeys(("exercise", "exercises", "giveup", "submit"), self._exercise_command),
            "timezone": self.timezone,
            "lang": self.lang,
            "help": self.help,
            "quit": self.quit,
            "cancel": self.cancel,
            "start": self.start,
        }

    async def cancel(self, ctx: Context, arg: str, line: str) -> None:
        """Say there is nothing to cancel (code being pasted is cancelled where it is read)."""
        self.say(_(ctx.lang, "Nothing to cancel: /cancel stops code you are pasting."))

    async def start(self, ctx: Context, arg: str, line: str) -> None:
        """Greet the user."""
        self.say(render.welcome(ctx.lang, self.user, console=True))

    async def help(self, ctx: Context, arg: str, line: str) -> None:
        """List the console's commands."""
        self.say(render.help_text(ctx.lang, console=True))

    async def quit(self, ctx: Context, arg: str, line: str) -> None:
        """End the session after this line."""
        self._quit = True

    async def daily(self, ctx: Context, arg: str, line: str) -> None:
        """Show today's question; say so when it cannot be shown."""
        outcome = await self.core.daily_schedule.today(ctx, self.send_prompt)
        problem = render.daily_problem(ctx.lang, outcome.status)
        if problem is not None:
            self.say(problem)

    async def question(self, ctx: Context, arg: str, line: str) -> None:
        """Show a question, optionally from one topic."""
        await self.show(await self.core.study.show(ctx, "question", arg or None))

    async def reference(self, ctx: Context, arg: str, line: str) -> None:
        """Show the current question's reference answer, or run its snippet (`/answer run`)."""
        if arg.lower() == "run":
            await self.run_snippet(ctx)
        elif self.current is None:
            self.say(_(ctx.lang, "No question yet. Try /daily."))
        else:
            self.say(render.reference_answer(self.current.question, self.current.lang))
            if await self.core.review.may_rate_self(ctx, self.current.prompt.id):
                self.say(render.rate_prompt(ctx.lang))

    async def report(self, ctx: Context, arg: str, line: str) -> None:
        """Store a problem report on the exercise or question shown last."""
        filed = await self.core.reports.report_latest(ctx, arg)
        self.say(render.report_filed(ctx.lang, filed))

    async def topics(self, ctx: Context, arg: str, line: str) -> None:
        """List topics with counts."""
        self.say(render.topics(self.core.bank, ctx.lang))

    async def streak(self, ctx: Context, arg: str, line: str) -> None:
        """Show the streak."""
        self.say(render.streak(ctx.lang, await self.core.study.streak(ctx)))

    async def buddy(self, ctx: Context) -> None:
        """Say that friend streaks need a chat with other people (Telegram or Discord)."""
        self.say(buddy_render.console_refusal(ctx.lang))

    async def remind(self, ctx: Context, arg: str, line: str) -> None:
        """Show, set or stop the reminder."""
        if len(arg.split()) > 1:
            raise UserInputError("usage_remind")
        user = await self.core.reminders.set(ctx, arg) if arg.strip() else ctx.user
        zone = self.core.reminders.zone(user)
        self.say(review_render.remind_set(ctx.lang, user.remind_at, zone))
        if not arg.strip() and user.remind_at is None:
            self.say(render.usage(ctx.lang, "usage_remind"))

    async def timezone(self, ctx: Context, arg: str, line: str) -> None:
        """Show or set the time zone."""
        lang = ctx.lang
        if not arg:
            self.say(
                _(lang, "Your time zone: {zone}", zone=ctx.user_zone)
                + "\n"
                + render.usage_line(lang, "usage_timezone")
            )
            return
        ctx = await self.core.study.set_timezone(ctx, arg)
        self.say(_(lang, "Time zone set to {zone}.", zone=ctx.user_zone))

    async def lang(self, ctx: Context, arg: str, line: str) -> None:
        """Show or set the language."""
        if not arg.strip():
            self.say(render.language_now(ctx.lang))
            return
        ctx = await self.core.study.set_language(ctx, arg)
        self.say(_(ctx.lang, "I will speak English from now on."))

    async def quiz(self, ctx: Context, arg: str, line: str) -> None:
        """Start a timed quiz."""
        session = await self.core.quiz.start(ctx, arg.split())
        how = console_usage.how_to_answer_quiz(ctx.lang)
        self.say(quiz_render.intro(self.core.bank, ctx.lang, session, how))
        await self.core.quiz.begin(session.id)

    async def stopquiz(self, ctx: Context, arg: str, line: str) -> None:
        """End the running quiz."""
        await self.core.quiz.stop(ctx, privileged=True)

    async def _exercise_command(self, ctx: Context, arg: str, line: str) -> None:
        command = line.split(maxsplit=1)[0].lower()
        await self.exercises.dispatch(ctx, command, arg, line)

    async def hint(self, ctx: Context, arg: str, line: str) -> None:
        """Print the hint of what was shown last: the question's, or the exercise's next one."""
        if self.focus == "exercise" or (
            self.current is None and await self.core.exercises.current(ctx) is not None
        ):
            await self.exercises.hint(ctx)
            return
        if self.current is None:
            raise UserInputError("no_question")
        hint = self.current.question.text(self.current.lang).hint
        self.say(f"💡 {hint}" if hint else _(ctx.lang, "This question has no hint."))

    async def show(self, shown: Shown) -> None:
        """Print a question and remember it for answering."""
        self.current = shown
        self.focus = "question"
        self.say(render.question(self.core.bank, shown.question, shown.lang, shown.prompt.kind))
        self.say(
            _(
                shown.lang,
                "Answer with a letter (A–{last}) or /answer to see the answer.",
                last=render.LETTERS[len(shown.question.text(shown.lang).quiz.options) - 1],
            )
        )
        if shown.review_due:
            label = review_render.review_due_button(shown.lang, shown.review_due)
            self.say(_(shown.lang, "{label}: type /review.", label=label))

    async def answer(self, ctx: Context, text: str) -> None:
        """Grade a letter or number for the quiz poll, else for the current question."""
        if await self.answer_quiz(ctx, text):
            return
        if self.current is None:
            self.say(_(ctx.lang, "No question yet. Try /daily."))
            return
        options = len(self.current.question.text(self.current.lang).quiz.options)
        index = option_index(text, options)
        if index is None:
            self.say(
                _(
                    ctx.lang,
                    "Answer with a letter (A–{last}) or /answer to see the answer.",
                    last=render.LETTERS[options - 1],
                )
            )
            return
        result = await self.core.study.answer(ctx, self.current.prompt.id, index)
        if result.status == "stale":
            self.say(_(ctx.lang, "This question is no longer available."))
            return
        self.say(render.verdict(result))
        if result.question is not None and result.card is not None and result.card.became_leech:
            self.say(review_render.leech(result.lang))
            self.say(render.reference_answer(result.question, result.lang))
        if result.status == "recorded" and self.current.prompt.kind == "review":
            await self.next_card(ctx)

    def close(self) -> None:
        """Stop the picture worker, if one was started."""
        if self.pictures is not None:
            self.pictures.close()
            self.pictures = None


def pasted_lines(text: str) -> list[str]:
    """Split a paste of several lines into commands; code after /run, /submit, /bench stays."""
    if text.split(maxsplit=1)[:1] in (["/run"], ["/submit"], ["/bench"]):
        return [text]
    return [line.strip() for line in text.splitlines()] or [text]

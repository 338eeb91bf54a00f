"""The one command registry: every adapter's menus, /help and application commands come from it.

A command is declared once, with its English description (the msgid; translated where shown),
its options, who may use it and on which platforms it exists. Telegram publishes its menus from
it, Discord registers its application commands from it, and the console and Telegram render
/help from it; tests check that every platform has a handler for each of its commands and no
handler without an entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.i18n import N_, _
from bot.services.model import Lang

Platform = Literal["telegram", "discord", "console"]
# "manager": whoever may change the chat's settings: group or server admins (anyone in their own
# private chat); "operator": the bot's operators (STUDYBOT_ADMIN_IDS).
Access = Literal["everyone", "manager", "operator"]

ALL_PLATFORMS: frozenset[Platform] = frozenset({"telegram", "discord", "console"})
CHATS: frozenset[Platform] = frozenset({"telegram", "discord"})  # platforms with group chats
CONSOLE: frozenset[Platform] = frozenset({"console"})
TELEGRAM_CONSOLE: frozenset[Platform] = frozenset({"telegram", "console"})


@dataclass(frozen=True)
class Option:
    """One argument of a command, in Discord's terms (a Telegram command reads it positionally)."""

    name: str  # lowercase, a valid Discord option name
    description: str  # English msgid, 1–100 characters in every language
    required: bool = False
    kind: Literal["text", "integer", "number", "user"] = "text"  # user: a member of the chat
    choices: tuple[str, ...] = ()
    autocomplete: Literal["topic", "zone", "question", "exercise"] | None = None


@dataclass(frozen=True)
class Command:
    """One command of the bot."""

    name: str
    description: str  # English msgid
    options: tuple[Option, ...] = ()
    access: Access = "everyone"
    platforms: frozenset[Platform] = ALL_PLATFORMS
    menu: bool = True  # listed in Telegram's command menu and in /help
    # Platforms where it only answers why it is not offered there (not listed in their /help).
    unoffered: frozenset[Platform] = frozenset()


_TOPIC = Option("topic", N_("A topic from /topics"), autocomplete="topic")

# In the order of the menus and of /help.
COMMANDS: tuple[Command, ...] = (
    Command("daily", N_("Today's question")),
    Command("question", N_("A question, optionally from one topic: /question autograd"), (_TOPIC,)),
    Command(
        "answer",
        N_("Show the reference answer of the last question; /answer run runs its snippet"),
        (Option("action", N_("run: run the question's snippet"), choices=("run",)),),
        platforms=CONSOLE,  # a button under the question elsewhere
    ),
    Command(
        "hint",
        N_("A hint for the current question or exercise (whichever came last)"),
    ),
    Command(
        "report",
        N_("Report a problem with the current question: /report option C is right too"),
        (Option("text", N_("What is wrong with the question"), required=True),),
        platforms=CONSOLE,  # a button and a reply elsewhere
    ),
    Command("topics", N_("Topics and how many questions each has")),
    Command("streak", N_("Your streak")),
    Command(
        "buddy",
        N_("Friend streaks: invite a member of this chat, list your friends, end one"),
        (
            Option(
                "friend", N_("The member to invite (with action end: to stop with)"), kind="user"
            ),
            Option("action", N_("end: stop the friend streak with that member"), choices=("end",)),
        ),
        unoffered=CONSOLE,  # no one else to invite in a terminal: it says so
    ),
    Command("stats", N_("Your answers so far")),
    Command("ready", N_("Interview readiness by topic, and what to study next")),
    Command(
        "review",
        N_("Review what is due: what you missed comes back before you forget it"),
        (
            Option(
                "retention",
                N_("How much you want to remember, from 0.80 to 0.97"),
                kind="number",
            ),
        ),
    ),
    Command(
        "rate",
        N_("After /answer, rate your recall: /rate again, hard, good or easy"),
        (
            Option(
                "grade",
                N_("How well you recalled the answer"),
                required=True,
                choices=("again", "hard", "good", "easy"),
            ),
        ),
        platforms=CONSOLE,  # buttons under the answer elsewhere
    ),
    Command(
        "remind",
        N_("A reminder when your streak is at risk: /remind 20:30 or /remind off"),
        (Option("time", N_("Local time as HH:MM, or off")),),
    ),
    Command(
        "quiz",
        N_("A quiz of N questions as polls: /quiz 5 autograd"),
        (
            Option("count", N_("How many questions, from 1 to 20 (default 5)"), kind="integer"),
            _TOPIC,
        ),
    ),
    Command("stopquiz", N_("End the running quiz with the scoreboard so far")),
    Command(
        "leaderboard",
        N_("Top members: /leaderboard week, month or all; off or on"),
        (
            Option(
                "period",
                N_("week, month or all; off leaves the boards, on comes back"),
                choices=("week", "month", "all", "off", "on"),
            ),
        ),
    ),
    Command(
        "run",
        N_("Run PyTorch code: /run print(torch.ones(2))"),
        (
            Option("code", N_("The Python code to run")),
            Option("device", N_("Where to run it"), choices=("cpu", "gpu")),
        ),
    ),
    Command(
        "bench",
        N_("Time a PyTorch snippet, or compare two: which is faster, and by how much"),
        (Option("device", N_("Where to time them"), choices=("cpu", "gpu")),),
    ),
    Command(
        "exercise",
        N_("A coding exercise graded in the sandbox: /exercise [id|topic]"),
        (
            Option(
                "which",
                N_("An exercise id or a topic; by default your next one"),
                autocomplete="exercise",
            ),
        ),
    ),
    Command(
        "submit",
        N_("Submit code for your current exercise"),
        (Option("code", N_("The Python code to grade")),),
    ),
    Command("giveup", N_("After an attempt: the exercise's solution")),
    Command("exercises", N_("Every exercise and where you stand")),
    Command(
        "subscribe",
        N_("Get the daily question at a local time: /subscribe 08:30 [topic]"),
        (Option("time", N_("Local time as HH:MM (24-hour)")), _TOPIC),
        access="manager",
        platforms=CHATS,
    ),
    Command("unsubscribe", N_("Stop the daily question"), access="manager", platforms=CHATS),
    Command(
        "timezone",
        N_("Set your time zone: /timezone Asia/Shanghai"),
        (Option("zone", N_("An IANA time zone, e.g. Asia/Shanghai"), True, autocomplete="zone"),),
        access="manager",
    ),
    Command(
        "lang",
        N_("Language: /lang zh or /lang en"),
        (Option("language", N_("zh or en"), True, choices=("zh", "en")),),
        access="manager",
    ),
    Command("help", N_("What I can do")),
    Command("quit", N_("Leave"), platforms=CONSOLE),
    Command("cancel", N_("Stop pasting code: nothing is run"), platforms=CONSOLE),
    # Not in the menus: /start is Telegram's first message, /admin is for the operators.
    Command(
        "start",
        N_("A greeting and what I can do"),
        platforms=TELEGRAM_CONSOLE,
        menu=False,
    ),
    Command(
        "admin",
        N_("The bot's numbers, or reload the question bank"),
        (Option("action", N_("stats or reload"), choices=("stats", "reload")),),
        access="operator",
        platforms=CHATS,
        menu=False,
    ),
)


def for_platform(platform: Platform) -> tuple[Command, ...]:
    """Return the commands a platform offers, in menu order."""
    return tuple(c for c in COMMANDS if platform in c.platforms)


def menu(platform: Platform, lang: Lang) -> list[tuple[str, str]]:
    """Return the (name, description in `lang`) of the commands a platform lists."""
    return [
        (c.name, _(lang, c.description))
        for c in for_platform(platform)
        if c.menu and platform not in c.unoffered
    ]


def usage(command: Command, lang: Lang) -> str:
    """Return the command's synopsis, e.g. "/subscribe [time] [topic]" or "/lang <zh|en>"."""
    del lang  # option names are not translated; the signature leaves room for it
    parts = [f"/{command.name}"]
    for option in command.options:
        shown = "|".join(option.choices) if option.choices else option.name
        parts.append(f"<{shown}>" if option.required else f"[{shown}]")
    return " ".join(parts)


def find(name: str) -> Command | None:
    """Return the command called `name`, if any."""
    return next((c for c in COMMANDS if c.name == name), None)

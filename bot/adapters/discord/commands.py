"""The application commands: every route of the Discord adapter is visible here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import discord
from discord import app_commands
from discord.app_commands import Choice, locale_str

from bot.adapters.commands import Command, find
from bot.adapters.discord.base import Base, in_group, locale_lang
from bot.adapters.discord.bench import BenchHandlers
from bot.adapters.discord.buddies import BuddyHandlers
from bot.adapters.discord.daily import SubscribeHandlers
from bot.adapters.discord.exercises import ExerciseHandlers
from bot.adapters.discord.quiz import QuizHandlers
from bot.adapters.discord.review import AdminHandlers, ReviewHandlers
from bot.adapters.discord.runcode import RunHandlers
from bot.adapters.discord.study import StudyHandlers, short
from bot.i18n import N_, translations
from bot.services.study import Context

log = logging.getLogger(__name__)

Handler = Callable[[discord.Interaction[Any], Context], Awaitable[None]]
Private = Callable[[discord.Interaction[Any]], bool]

MAX_CHOICES = 25
RUN_CODE_MENU = N_("Run code")


def spec(name: str) -> Command:
    """Return the registry's entry of a Discord command."""
    found = find(name)
    if found is None or "discord" not in found.platforms:
        raise LookupError(f"/{name} is not a Discord command in bot.adapters.commands")
    return found


class Translator(app_commands.Translator):
    """Give zh-CN and zh-TW the Chinese descriptions from bot.i18n; names stay as they are."""

    async def translate(
        self,
        string: locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """Return the Chinese text of a description or choice, None for anything else."""
        if locale not in (discord.Locale.chinese, discord.Locale.taiwan_chinese):
            return None
        kinds = (
            app_commands.TranslationContextLocation.command_description,
            app_commands.TranslationContextLocation.parameter_description,
            app_commands.TranslationContextLocation.choice_name,
        )
        if context.location not in kinds:
            return None
        text = translations("zh").gettext(string.message)
        return text if text != string.message else None


@cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def zone_choices(typed: str) -> list[Choice[str]]:
    """Return up to 25 IANA names containing what was typed (case-insensitive)."""
    low = typed.strip().lower().replace(" ", "_")
    found = [z for z in _zones() if low in z.lower()] if low else list(_zones())
    found.sort(key=lambda z: (not z.lower().startswith(low), len(z)))
    return [Choice(name=z, value=z) for z in found[:MAX_CHOICES]]


class Routes:
    """Build the command tree from the handlers."""

    def __init__(
        self,
        base: Base,
        study: StudyHandlers,
        subscribe: SubscribeHandlers,
        quiz: QuizHandlers,
        run: RunHandlers,
        review: ReviewHandlers,
        admin: AdminHandlers,
        exercises: ExerciseHandlers,
        buddies: BuddyHandlers,
    ) -> None:
        self.buddies = buddies
        self.base = base
        self.study = study
        self.subscribe = subscribe
        self.quiz = quiz
        self.run = run
        self.bench = BenchHandlers(run)
        self.review = review
        self.admin = admin
        self.exercises = exercises

    def topic_choices(self, interaction: discord.Interaction[Any], typed: str) -> list[Choice[str]]:
        """Return the topics with questions whose id or name contains what was typed."""
        lang = locale_lang(interaction)
        low = typed.strip().lower()
        found = [
            Choice(name=short(f"{t.name(lang)} ({t.id})"), value=t.id)
            for t in self.base.core.bank.topics
            if (low in t.id.lower() or low in t.name(lang).lower())
            and self.base.core.bank.in_topic(t.id)
        ]
        return found[:MAX_CHOICES]

    def _add(
        self,
        tree: app_commands.CommandTree[Any],
        name: str,
        callback: Callable[..., Coroutine[Any, Any, None]],
    ) -> None:
        """Register a command as the registry describes it: description, options, choices."""
        command = spec(name)
        options = command.options
        func: Any = app_commands.describe(**{o.name: locale_str(o.description) for o in options})(
            callback
        )
        choices = {
            o.name: [Choice(name=c, value=c) for c in o.choices] for o in options if o.choices
        }
        if choices:
            func = app_commands.choices(**choices)(func)
        completers = {
            "topic": self._topics,
            "zone": self._zones,
            "exercise": self._exercises,
        }
        auto = {o.name: completers[o.autocomplete] for o in options if o.autocomplete}
        if auto:
            func = app_commands.autocomplete(**auto)(func)
        tree.add_command(
            app_commands.Command(
                name=name, description=locale_str(command.description), callback=func
            )
        )

    async def _topics(self, interaction: discord.Interaction[Any], typed: str) -> list[Choice[str]]:
        return self.topic_choices(interaction, typed)

    async def _zones(self, interaction: discord.Interaction[Any], typed: str) -> list[Choice[str]]:
        return zone_choices(typed)

    async def _exercises(
        self, interaction: discord.Interaction[Any], typed: str
    ) -> list[Choice[str]]:
        return self.exercises.choices(locale_lang(interaction), typed)

    def install(self, tree: app_commands.CommandTree[Any]) -> None:
        """Add every Discord command of the registry to the tree, each bound to its handler.

        Each callback acknowledges first (`enter` defers before the database is touched):
        ephemeral where the answer is personal in a server channel. Failures go to the
        tree's one error path (`StudyTree.on_error`).
        """
        # Over 60 lines on purpose: every route of the adapter is visible in this one place.
        enter = self.base.enter

        def public(_interaction: discord.Interaction[Any]) -> bool:
            return False

        def always(_interaction: discord.Interaction[Any]) -> bool:
            return True

        personal = in_group  # a personal answer is ephemeral in a server channel

        def simple(name: str, handler: Handler, private: Private = public) -> None:
            async def callback(interaction: discord.Interaction[Any]) -> None:
                await handler(interaction, await enter(interaction, ephemeral=private(interaction)))

            self._add(tree, name, callback)

        simple("help", self.study.help)
        simple("daily", self.study.daily)
        simple("topics", self.study.topics)
        simple("streak", self.study.streak, personal)
        simple("stats", self.study.stats, personal)
        simple("ready", self.study.ready, personal)
        simple("unsubscribe", self.subscribe.unsubscribe)
        simple("stopquiz", self.quiz.stopquiz, always)
        simple("exercises", self.exercises.exercises, always)
        simple("hint", self.exercises.hint, always)
        simple("giveup", self.exercises.giveup, always)

        async def question(interaction: discord.Interaction[Any], topic: str | None = None) -> None:
            await self.study.question(interaction, await enter(interaction), topic)

        async def subscribe(
            interaction: discord.Interaction[Any],
            time: app_commands.Range[str, 1, 5] | None = None,
            topic: str | None = None,
        ) -> None:
            await self.subscribe.subscribe(interaction, await enter(interaction), time, topic)

        async def timezone(interaction: discord.Interaction[Any], zone: str) -> None:
            await self.study.timezone(interaction, await enter(interaction), zone)

        async def lang(interaction: discord.Interaction[Any], language: str) -> None:
            await self.study.lang(interaction, await enter(interaction), language)

        async def run(
            interaction: discord.Interaction[Any],
            code: app_commands.Range[str, 1, 6000] | None = None,
            device: str | None = None,
        ) -> None:
            # Without code the answer is the code form: it must be the first response.
            ctx = await enter(interaction, defer=bool(code and code.strip()))
            await self.run.run(interaction, ctx, code, device)

        async def bench(interaction: discord.Interaction[Any], device: str | None = None) -> None:
            # The answer is the snippets' form: it must be the first response.
            await self.bench.bench(interaction, await enter(interaction, defer=False), device)

        async def quiz(
            interaction: discord.Interaction[Any],
            count: app_commands.Range[int, 1, 20] | None = None,
            topic: str | None = None,
        ) -> None:
            await self.quiz.quiz(interaction, await enter(interaction), count, topic)

        async def leaderboard(
            interaction: discord.Interaction[Any], period: str | None = None
        ) -> None:
            switch = (period or "").lower() in {"on", "off"}
            ctx = await enter(interaction, ephemeral=switch)
            await self.quiz.leaderboard(interaction, ctx, period)

        async def review(
            interaction: discord.Interaction[Any],
            retention: float | None = None,
        ) -> None:
            ctx = await enter(interaction, ephemeral=personal(interaction))
            await self.review.review(
                interaction, ctx, None if retention is None else str(retention)
            )

        async def remind(
            interaction: discord.Interaction[Any],
            time: app_commands.Range[str, 1, 5] | None = None,
        ) -> None:
            ctx = await enter(interaction, ephemeral=personal(interaction))
            await self.review.remind(interaction, ctx, time)

        async def admin(interaction: discord.Interaction[Any], action: str | None = None) -> None:
            ctx = await enter(interaction, ephemeral=True)
            await self.admin.admin(interaction, ctx, action)

        async def exercise(
            interaction: discord.Interaction[Any],
            which: app_commands.Range[str, 1, 100] | None = None,
        ) -> None:
            ctx = await enter(interaction, ephemeral=personal(interaction))
            await self.exercises.exercise(interaction, ctx, which)

        async def submit(
            interaction: discord.Interaction[Any],
            code: app_commands.Range[str, 1, 6000] | None = None,
        ) -> None:
            # Without code the answer is the code form: it must be the first response.
            has_code = bool(code and code.strip())
            ctx = await enter(interaction, ephemeral=personal(interaction), defer=has_code)
            await self.exercises.submit(interaction, ctx, code)

        async def buddy(
            interaction: discord.Interaction[Any],
            friend: discord.Member | discord.User | None = None,
            action: str | None = None,
        ) -> None:
            # An invitation is posted for the channel to see; a list or an ending is personal.
            invites = friend is not None and action is None
            ctx = await enter(interaction, ephemeral=personal(interaction) and not invites)
            await self.buddies.buddy(interaction, ctx, friend, action)

        routes: dict[str, Callable[..., Coroutine[Any, Any, None]]] = {
            "question": question,
            "subscribe": subscribe,
            "timezone": timezone,
            "lang": lang,
            "run": run,
            "bench": bench,
            "quiz": quiz,
            "leaderboard": leaderboard,
            "review": review,
            "remind": remind,
            "admin": admin,
            "exercise": exercise,
            "submit": submit,
            "buddy": buddy,
        }
        for name, callback in routes.items():
            self._add(tree, name, callback)

        async def run_menu(interaction: discord.Interaction[Any], message: discord.Message) -> None:
            await self.run.run_message(interaction, await enter(interaction), message)

        tree.add_command(app_commands.ContextMenu(name=RUN_CODE_MENU, callback=run_menu))

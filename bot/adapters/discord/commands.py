"""The application commands: every route of the Discord adapter is visible here."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import discord
from discord import app_commands
from discord.app_commands import Choice, locale_str

from bot.adapters.discord.base import Base, Handler, locale_lang
from bot.adapters.discord.daily import SubscribeHandlers
from bot.adapters.discord.quiz import QuizHandlers
from bot.adapters.discord.review import AdminHandlers, ReviewHandlers
from bot.adapters.discord.runcode import RunHandlers
from bot.adapters.discord.study import StudyHandlers, short
from bot.adapters.render import COMMANDS
from bot.i18n import N_, translations
from bot.services.study import Context

log = logging.getLogger(__name__)

MAX_CHOICES = 25
DESCRIPTIONS = dict(COMMANDS)
# Discord allows 100 characters; the Telegram menu's texts are longer in places.
OVERRIDES = {
    "question": N_("A question, optionally from one topic"),
    "quiz": N_("A quiz of N questions with buttons"),
    "run": N_("Run PyTorch code (leave code empty for a multi-line editor)"),
    "subscribe": N_("Get the daily question here at a local time"),
    "timezone": N_("Set the time zone"),
    "lang": N_("Language: zh or en"),
    "leaderboard": N_("Top members of the week, month or all time; off or on"),
}
OPTIONS = {
    "topic": N_("A topic from /topics"),
    "time": N_("Local time, HH:MM (24-hour)"),
    "zone": N_("An IANA time zone, e.g. Asia/Shanghai"),
    "language": N_("zh or en"),
    "code": N_("One line of code; leave empty for a multi-line editor"),
    "device": N_("cpu or gpu"),
    "count": N_("How many questions (1–20)"),
    "period": N_("week, month or all; off or on"),
    "retention": N_("How much you want to remember, 0.80–0.97 (or default)"),
    "remind": N_("Local time HH:MM, or off"),
    "action": N_("stats or reload"),
}
RUN_CODE_MENU = N_("Run code")


def description(name: str) -> locale_str:
    """Return a command's description (English; the translator gives the Chinese)."""
    return locale_str(OVERRIDES.get(name) or DESCRIPTIONS[name])


def option(name: str) -> locale_str:
    """Return an option's description."""
    return locale_str(OPTIONS[name])


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
    ) -> None:
        self.base = base
        self.study = study
        self.subscribe = subscribe
        self.quiz = quiz
        self.run = run
        self.review = review
        self.admin = admin

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

    def install(self, tree: app_commands.CommandTree[Any]) -> None:
        """Add every command to the tree."""
        guard = self.base.guarded

        async def topics_ac(interaction: discord.Interaction[Any], typed: str) -> list[Choice[str]]:
            return self.topic_choices(interaction, typed)

        async def zones_ac(interaction: discord.Interaction[Any], typed: str) -> list[Choice[str]]:
            return zone_choices(typed)

        def simple(name: str, handler: Handler) -> None:
            async def callback(interaction: discord.Interaction[Any]) -> None:
                await guard(interaction, handler)

            tree.add_command(
                app_commands.Command(name=name, description=description(name), callback=callback)
            )

        simple("help", self.study.help)
        simple("daily", self.study.daily)
        simple("topics", self.study.topics)
        simple("streak", self.study.streak)
        simple("stats", self.study.stats)
        simple("unsubscribe", self.subscribe.unsubscribe)
        simple("stopquiz", self.quiz.stopquiz)

        @tree.command(name="question", description=description("question"))
        @app_commands.describe(topic=option("topic"))
        @app_commands.autocomplete(topic=topics_ac)
        async def question(interaction: discord.Interaction[Any], topic: str | None = None) -> None:
            async def handle(inter: discord.Interaction[Any], ctx: Context) -> None:
                await self.study.question(inter, ctx, topic)

            await guard(interaction, handle)

        @tree.command(name="subscribe", description=description("subscribe"))
        @app_commands.describe(time=option("time"), topic=option("topic"))
        @app_commands.autocomplete(topic=topics_ac)
        async def subscribe(
            interaction: discord.Interaction[Any],
            time: app_commands.Range[str, 1, 5] | None = None,
            topic: str | None = None,
        ) -> None:
            async def handle(inter: discord.Interaction[Any], ctx: Context) -> None:
                await self.subscribe.subscribe(inter, ctx, time, topic)

            await guard(interaction, handle)

        @tree.command(name="timezone", description=description("timezone"))
        @app_commands.describe(zone=option("zone"))
        @app_commands.autocomplete(zone=zones_ac)
        async def timezone(interaction: discord.Interaction[Any], zone: str) -> None:
            async def handle(inter: discord.Interaction[Any], ctx: Context) -> None:
                await self.study.timezone(inter, ctx, zone)

            await guard(interaction, handle)

        @tree.command(name="lang", description=description("lang"))
        @app_commands.describe(language=option("language"))
        @app_commands.choices(
            language=[Choice(name="中文", value="zh"), Choice(name="English", value="en")]
        )
        async def lang(interaction: discord.Interaction[Any], language: str) -> None:
            async def handle(inter: discord.Interaction[Any], ctx: Context) -> None:
                await self.study.lang(inter, ctx, language)

            await guard(interaction, handle)

        @tree.command(name="run", description=description("run"))
        @app_commands.describe(code=option("code"), device=option("device"))
        @app_commands.choices(
            device=[Choice(name="cpu", value="cpu"), Choice(name="gpu", value="gpu")]
        )
        async def run(
            interaction: discord.Interaction[Any],
            code: app_commands.Range[str, 1, 6000] | None = None,
            device: str | None = None,
        ) -> None:
            async def handle(inter: discord.Interaction[Any], ctx: Context) -> None:
                await self.run.run(inter, ctx, code, device)

            await guard(interaction, handle)

        @tree.command(name="quiz", description=description("quiz"))
        @app_commands.describe(count=option("count"), topic=option("topic"))
        @app_commands.autocomplete(topic=topics_ac)
        async def quiz(
            interaction: discord.Interaction[Any],
            count: app_commands.Range[int, 1, 20] | None = None,
            topic: str | None = None,
        ) -> None:
            async def handle(inter: discord.Interaction[Any], ctx: Context) -> None:
                await self.quiz.quiz(inter, ctx, count, topic)

            await guard(interaction, handle)

        @tree.command(name="leaderboard", description=description("leaderboard"))
        @app_commands.describe(period=option("period"))
        @app_commands.choices(
            period=[Choice(name=p, value=p) for p in ("week", "month", "all", "off", "on")]
        )
        async def leaderboard(
            interaction: discord.Interaction[Any], period: str | None = None
        ) -> None:
            async def handle(inter: discord.Interaction[Any], ctx: Context) -> None:
                await self.quiz.leaderboard(inter, ctx, period)

            await guard(interaction, handle)

        @tree.command(name="review", description=description("review"))
        @app_commands.describe(retention=option("retention"))
        async def review(
            interaction: discord.Interaction[Any],
            retention: app_commands.Range[str, 1, 8] | None = None,
        ) -> None:
            async def handle(inter: discord.Interaction[Any], ctx: Context) -> None:
                await self.review.review(inter, ctx, retention)

            await guard(interaction, handle)

        @tree.command(name="remind", description=description("remind"))
        @app_commands.describe(time=option("remind"))
        async def remind(
            interaction: discord.Interaction[Any],
            time: app_commands.Range[str, 1, 5] | None = None,
        ) -> None:
            async def handle(inter: discord.Interaction[Any], ctx: Context) -> None:
                await self.review.remind(inter, ctx, time)

            await guard(interaction, handle)

        @tree.command(name="admin", description=locale_str(N_("Operators: stats or reload")))
        @app_commands.describe(action=option("action"))
        @app_commands.choices(
            action=[Choice(name="stats", value="stats"), Choice(name="reload", value="reload")]
        )
        async def admin(interaction: discord.Interaction[Any], action: str | None = None) -> None:
            async def handle(inter: discord.Interaction[Any], ctx: Context) -> None:
                await self.admin.admin(inter, ctx, action)

            await guard(interaction, handle)

        async def run_menu(interaction: discord.Interaction[Any], message: discord.Message) -> None:
            async def handle(inter: discord.Interaction[Any], ctx: Context) -> None:
                await self.run.run_message(inter, ctx, message)

            await guard(interaction, handle)

        tree.add_command(app_commands.ContextMenu(name=RUN_CODE_MENU, callback=run_menu))

"""The command registry: valid everywhere, and every platform handles exactly its commands."""

from __future__ import annotations

import io
import re
from typing import get_args

import pytest
from telegram.ext import CommandHandler
from telegram.warnings import PTBUserWarning

from bot.adapters import render
from bot.adapters.commands import COMMANDS, Command, Platform, find, for_platform, menu, usage
from bot.adapters.console import Console
from bot.adapters.telegram.app import build_application
from bot.app import Core
from bot.i18n import _
from bot.services.runs import RunService
from bot.storage.records import Lang

DISCORD_NAME = re.compile(r"^[-_a-z0-9]{1,32}$")  # Discord's rule for command and option names
LANGS: tuple[Lang, ...] = ("zh", "en")
TOKEN = "987654321:AAH-fake-token-for-tests-0123456789abcdef"  # noqa: S105 - fake


def names(platform: Platform) -> set[str]:
    return {c.name for c in for_platform(platform)}


async def test_every_telegram_command_has_a_handler_and_no_handler_is_unlisted(
    core: Core,
) -> None:
    # Built, not started: nothing is sent (the URL is never called).
    app = build_application(core, TOKEN, "http://127.0.0.1:9/bot", RunService(None, frozenset()))
    handled = {
        name
        for group in app.handlers.values()
        for handler in group
        if isinstance(handler, CommandHandler)
        for name in handler.commands
    }
    assert handled == names("telegram")
    with pytest.warns(PTBUserWarning, match="No `JobQueue`"):
        assert app.job_queue is None  # the services' timers schedule everything


async def test_every_console_command_has_a_handler_and_no_handler_is_unlisted(
    core: Core,
) -> None:
    console = Console(core, stdin=io.StringIO(), stdout=io.StringIO(), user="tester")
    assert set(console.commands) == names("console")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_commands_are_valid_application_commands(command: Command) -> None:
    assert DISCORD_NAME.match(command.name)
    assert command.platforms
    for lang in LANGS:
        assert 1 <= len(_(lang, command.description)) <= 100, (lang, command.description)
    seen_optional = False
    for option in command.options:
        assert DISCORD_NAME.match(option.name), option.name
        for lang in LANGS:
            assert 1 <= len(_(lang, option.description)) <= 100, (lang, option.description)
        if option.required:
            assert not seen_optional, f"/{command.name}: a required option after an optional one"
        else:
            seen_optional = True
        assert len(option.choices) <= 25  # Discord's limit
        assert not (option.choices and option.autocomplete)  # Discord allows one or the other
    assert len({o.name for o in command.options}) == len(command.options)


def test_names_are_unique_and_every_platform_has_help() -> None:
    assert len({c.name for c in COMMANDS}) == len(COMMANDS)
    for platform in get_args(Platform):
        assert find("help") in for_platform(platform)


def test_descriptions_are_translated() -> None:
    untranslated = [
        text
        for c in COMMANDS
        for text in (c.description, *(o.description for o in c.options))
        if _("zh", text) == text
    ]
    assert not untranslated


def test_usage_shows_required_and_optional_options() -> None:
    subscribe, lang, timezone = find("subscribe"), find("lang"), find("timezone")
    assert subscribe is not None and lang is not None and timezone is not None
    assert usage(subscribe, "en") == "/subscribe [time] [topic]"
    assert usage(lang, "zh") == "/lang <zh|en>"
    assert usage(timezone, "en") == "/timezone <zone>"


@pytest.mark.parametrize("lang", LANGS)
def test_help_and_menus_come_from_the_registry(lang: Lang) -> None:
    telegram = menu("telegram", lang)
    assert [n for n, _d in telegram][:2] == ["daily", "question"]
    assert "start" not in dict(telegram)  # Telegram's first message, not a menu entry
    assert "admin" not in dict(telegram)  # for the operators only
    assert "answer" not in dict(telegram)  # a button on Telegram
    page = render.help_text(lang).text
    for name, description in telegram:
        assert f"/{name} — {description}" in page
    console_page = render.help_text(lang, console=True).text
    for name, description in menu("console", lang):
        assert f"/{name} — {description}" in console_page
    assert "/subscribe" not in console_page  # no chats to subscribe in a terminal


def test_buddy_is_listed_where_it_is_offered() -> None:
    assert "buddy" in dict(menu("telegram", "en")) and "buddy" in dict(menu("discord", "en"))
    assert "buddy" not in dict(menu("console", "en"))  # it answers why not, unlisted
    assert "/buddy" not in render.help_text("en", console=True).text
    assert "/buddy" in render.help_text("en").text

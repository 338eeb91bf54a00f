"""Discord end to end: the real discord.py client against the fake Discord API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bot.adapters.discord.run import DiscordPlatform
from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from tests.discordbot import running
from tests.fakediscord import APP_ID, FakeDiscord

ALICE = 111111111111111111
BOB = 222222222222222222


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as api:
        yield api


@pytest.fixture
async def dcore(
    make_settings: Callable[..., Settings], fake: FakeDiscord, clock: FixedClock
) -> AsyncIterator[Core]:
    settings = make_settings(DISCORD_BOT_TOKEN=fake.token, DISCORD_API_BASE_URL=fake.base_url)
    async with open_core(settings, clock=clock) as core:
        yield core


@pytest.fixture
async def bot(dcore: Core, fake: FakeDiscord) -> AsyncIterator[DiscordPlatform]:
    async with running(dcore, fake) as platform:
        yield platform


async def test_connects_through_the_api_gateway_and_registers_commands(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    paths = [(r.method, r.path) for r in fake.requests]
    assert ("GET", "/gateway/bot") in paths
    assert fake.identify is not None and fake.identify["intents"] == 1  # guilds only
    puts = fake.requests_to("PUT", rf"/applications/{APP_ID}/commands")
    assert len(puts) == 1
    names = {c["name"] for c in puts[0].json}
    assert {"help", "daily", "question", "topics", "streak", "stats", "subscribe"} <= names
    assert {"unsubscribe", "timezone", "lang", "run", "quiz", "stopquiz", "leaderboard"} <= names
    assert "Run code" in names
    for command in puts[0].json:
        if command.get("type", 1) == 1:
            assert 1 <= len(command["description"]) <= 100
            assert command["name"] == command["name"].lower()
            assert 0 in command["contexts"] and 1 in command["contexts"]  # servers and DMs
            assert command["description_localizations"].get("zh-CN")


async def test_help_answers_a_slash_command(bot: DiscordPlatform, fake: FakeDiscord) -> None:
    interaction = await fake.slash("help", user_id=ALICE)
    reply = await fake.reply(interaction)
    assert "/daily" in reply.text

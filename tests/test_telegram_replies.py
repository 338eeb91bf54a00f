"""What the Telegram bot says back to odd input: short excerpts and helpful suggestions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import Core
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram import TOKEN, App, running, say


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api


@pytest.fixture
async def bot(core: Core, fake: FakeBotAPI) -> AsyncIterator[App]:
    async with running(core, fake) as app:
        yield app


async def test_long_input_comes_back_as_a_short_excerpt(bot: App, fake: FakeBotAPI) -> None:
    topic = await say(fake, "/question " + "x" * 4000)
    assert len(topic) < 120
    assert topic.startswith("Unknown topic “" + "x" * 39 + "…”")
    command = await say(fake, "/" + "y" * 4000)
    assert len(command) < 120
    assert command.startswith("Unknown command /" + "y" * 38 + "…")


async def test_unknown_zone_is_named_with_close_matches(bot: App, fake: FakeBotAPI) -> None:
    reply = await say(fake, "/timezone Europe/Berln")
    assert reply.startswith("Unknown time zone “Europe/Berln”. Did you mean Europe/Berlin")
    assert "Usage: /timezone" in reply
    assert await say(fake, "/timezone europe/berlin") == "Time zone set to Europe/Berlin."

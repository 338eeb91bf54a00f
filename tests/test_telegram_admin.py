"""/admin stats and /admin reload for the operators, over the fake Bot API."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from tests.conftest import FIXTURE_BANK
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram import GROUP, TOKEN, USER, App, running, say

OTHER = 2002


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    """A copy of the fixture bank the test may change."""
    folder = tmp_path / "bank"
    shutil.copytree(FIXTURE_BANK, folder)
    return folder


@pytest.fixture
async def core(
    make_settings: Callable[..., Settings], clock: FixedClock, bank: Path
) -> AsyncIterator[Core]:
    settings = make_settings(STUDYBOT_ADMIN_IDS=str(USER), STUDYBOT_CONTENT_DIR=str(bank))
    async with open_core(settings, clock=clock) as c:
        yield c


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api


@pytest.fixture
async def bot(core: Core, fake: FakeBotAPI) -> AsyncIterator[App]:
    async with running(core, fake) as app:
        yield app


async def test_stats_count_users_chats_answers_and_say_the_version(
    bot: App, fake: FakeBotAPI
) -> None:
    await say(fake, "/daily")
    question = fake.last_message(USER)
    query = fake.press_button(USER, USER, question.message_id, question.callback_data[0])
    await fake.wait_for_callback_answer(query)
    await say(fake, "/start", chat=OTHER, user=OTHER)
    text = await say(fake, "/admin stats")
    assert text.startswith("<b>studybot ")
    assert "Users: 2" in text
    assert "Chats: 2 (0 subscribed)" in text
    assert "Answers today (UTC): 1" in text
    assert "Runs today (UTC): 0" in text
    assert "Runs waiting or running: 0" in text
    assert "Sandbox level: ?" in text  # no runner here
    assert "Questions in the bank: 3" in text


async def test_admin_is_for_operators_in_a_private_chat_only(bot: App, fake: FakeBotAPI) -> None:
    refused = "/admin is for the bot's operators, in a private chat with the bot."
    assert await say(fake, "/admin stats", chat=OTHER, user=OTHER) == refused
    assert await say(fake, "/admin stats", chat=GROUP, user=USER) == refused
    assert "Usage: /admin stats or /admin reload" in await say(fake, "/admin")


async def test_reload_takes_a_good_bank_and_refuses_a_broken_one(
    bot: App, fake: FakeBotAPI, core: Core, bank: Path
) -> None:
    (bank / "questions" / "fixture-q3.yaml").unlink()
    assert await say(fake, "/admin reload") == "Question bank reloaded: 2 questions."
    assert len(core.bank.questions) == 2
    (bank / "questions" / "broken.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    text = await say(fake, "/admin reload")
    assert "it was not loaded and the old one stays" in text
    assert "broken.yaml" in text
    assert len(core.bank.questions) == 2  # the old one is still in use
    assert "Daily question" in await say(fake, "/daily")

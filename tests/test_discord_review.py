"""Review on Discord end to end: the daily question's "Review n due" batch and leeches."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest

from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.services.cards import LEECH_LAPSES
from tests.discordbot import running
from tests.fakediscord import FakeDiscord, Interaction, Sent

ALICE = 111111111111111111


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as api:
        yield api


def prompt_of(custom_id: str) -> int:
    """Return the prompt of an answer button: "dq:a:<prompt>:<option>" or "rv:<prompt>:…"."""
    parts = custom_id.split(":")
    return int(parts[2] if parts[0] == "dq" else parts[1])


async def correct(core: Core, custom_id: str) -> int:
    """Return the right option of the question behind an answer button."""
    found = await core.study.prompt(prompt_of(custom_id))
    assert found is not None
    prompt, question = found
    return question.text(prompt.language).quiz.correct


async def miss(fake: FakeDiscord, core: Core) -> None:
    """Ask a question in the DM and answer it wrong."""
    question = await fake.reply(await fake.slash("question", user_id=ALICE))
    answers = [b["custom_id"] for b in question.buttons if b["custom_id"].startswith("dq:a:")]
    right = await correct(core, answers[0])
    wrong = answers[(right + 1) % len(answers)]
    await fake.reply(await fake.click(question, wrong, user_id=ALICE))


async def followups(fake: FakeDiscord, interaction: Interaction) -> list[Sent]:
    """Wait for the messages sent after an interaction's response."""
    found: list[Sent] = await fake.wait_for(lambda: interaction.followups)
    return found


def options(card: Sent) -> list[str]:
    return [b["custom_id"] for b in card.buttons if b["custom_id"].startswith("rv:")]


async def test_a_private_daily_offers_its_due_reviews_in_a_capped_batch(
    fake: FakeDiscord, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    settings = make_settings(
        DISCORD_BOT_TOKEN=fake.token,
        DISCORD_API_BASE_URL=fake.base_url,
        STUDYBOT_DAILY_REVIEWS="1",
    )
    async with open_core(settings, clock=clock) as core, running(core, fake):
        for _ in range(3):  # three questions, each answered wrong
            await miss(fake, core)
        clock.set(clock.now() + timedelta(days=1))
        daily = await fake.reply(await fake.slash("daily", user_id=ALICE))
        assert "Daily question" in daily.text
        offer = daily.buttons[-1]
        assert (offer["label"], offer["custom_id"]) == ("🔁 Review 1 due", "rv:daily")

        card = await fake.reply(await fake.click(daily, "rv:daily", user_id=ALICE))
        assert "Review" in card.text
        buttons = options(card)
        assert buttons and all(b.endswith(":c") for b in buttons)
        right = await correct(core, buttons[0])
        answered = await fake.click(card, buttons[right], user_id=ALICE)
        done = await followups(fake, answered)
        assert "today's batch: 1 review" in done[-1].text

        # /review itself is not capped: another card is still there.
        more = await fake.reply(await fake.slash("review", user_id=ALICE))
        assert options(more) and not any(b.endswith(":c") for b in options(more))


async def test_a_card_missed_too_often_shows_the_leech_message_with_its_answer(
    fake: FakeDiscord, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    settings = make_settings(DISCORD_BOT_TOKEN=fake.token, DISCORD_API_BASE_URL=fake.base_url)
    async with open_core(settings, clock=clock) as core, running(core, fake):
        await miss(fake, core)  # the first lapse
        for lapse in range(2, LEECH_LAPSES + 1):
            clock.set(clock.now() + timedelta(minutes=15))
            card = await fake.reply(await fake.slash("review", user_id=ALICE))
            buttons = options(card)
            right = await correct(core, buttons[0])
            wrong = buttons[(right + 1) % len(buttons)]
            after = await followups(fake, await fake.click(card, wrong, user_id=ALICE))
            leech = [s for s in after if "leaves your review queue" in s.text]
            if lapse < LEECH_LAPSES:
                assert not leech
                continue
            assert len(leech) == 1
            found = await core.study.prompt(prompt_of(buttons[0]))
            assert found is not None
            texts = found[1].text("en")
            assert f"Quiz answer: {'ABCDEFGH'[texts.quiz.correct]}." in leech[0].text
        # The leech left the queue.
        summary = await fake.reply(await fake.slash("review", user_id=ALICE))
        assert not options(summary)

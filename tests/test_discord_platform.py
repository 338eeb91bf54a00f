"""The Discord client as discord.py's authors use it: restarts, shards, sync, deferral, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.adapters.serve import serve
from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.metrics.bot import BotMetrics
from bot.services.study import Context
from tests.discordbot import running
from tests.fakediscord import APP_ID, CHANNEL_ID, FakeDiscord, Sent
from tests.test_discord import correct_letter
from tests.test_health_metrics import free_port, get, sample

ALICE = 111111111111111111
BOB = 222222222222222222
FAN_OUT_CHATS = 10_000


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as api:
        yield api


@pytest.fixture
def dsettings(make_settings: Callable[..., Settings], fake: FakeDiscord) -> Settings:
    return make_settings(DISCORD_BOT_TOKEN=fake.token, DISCORD_API_BASE_URL=fake.base_url)


async def test_a_button_sent_before_a_restart_still_works(
    dsettings: Settings, fake: FakeDiscord, clock: FixedClock
) -> None:
    async with open_core(dsettings, clock=clock) as core, running(core, fake):
        question = await fake.reply(await fake.slash("question", user_id=ALICE, guild=True))
        right, wrong = await correct_letter(core, question)
    # A new client and core on the same database: nothing of the old process is left.
    async with open_core(dsettings, clock=clock) as core, running(core, fake):
        bob = await fake.reply(await fake.click(question, wrong, user_id=BOB, guild=True))
        assert bob.ephemeral and "Not quite" in bob.text
        alice = await fake.reply(await fake.click(question, right, user_id=ALICE, guild=True))
        assert alice.ephemeral and "Correct" in alice.text


async def test_the_recommended_shard_count_is_honoured(
    dsettings: Settings, fake: FakeDiscord, clock: FixedClock
) -> None:
    fake.shards = 2
    fake.max_concurrency = 2  # both shards may identify at once: no 5 s wait
    async with open_core(dsettings, clock=clock) as core, running(core, fake):
        assert sorted(i["shard"] for i in fake.identifies) == [[0, 2], [1, 2]]
        reply = await fake.reply(await fake.slash("help", user_id=ALICE, guild=True))
        assert "/daily" in reply.text
        dm = await fake.reply(await fake.slash("topics", user_id=ALICE))
        assert dm.text


async def test_commands_are_synced_only_when_they_changed(
    dsettings: Settings, fake: FakeDiscord, clock: FixedClock
) -> None:
    def puts() -> int:
        return len(fake.requests_to("PUT", rf"/applications/{APP_ID}/commands"))

    async with open_core(dsettings, clock=clock) as core, running(core, fake):
        assert puts() == 1  # Discord had none
    async with open_core(dsettings, clock=clock) as core, running(core, fake):
        fetched = fake.requests_to("GET", rf"/applications/{APP_ID}/commands")
        assert fetched[-1].query == {"with_localizations": "true"}  # the Chinese texts too
        assert puts() == 1  # unchanged: no bulk overwrite
    fake.commands[0]["description"] = "What an older version said"
    fake.commands.pop()  # and one command is missing
    async with open_core(dsettings, clock=clock) as core, running(core, fake):
        assert puts() == 2
        help_ = await fake.reply(await fake.slash("help", user_id=ALICE))
        assert "/daily" in help_.text


async def subscribe_many(core: Core, count: int) -> list[int]:
    """Subscribe `count` server channels at 13:00 through the services; return the chat ids."""
    chats = []
    for n in range(count):
        ctx = await core.study.enter(
            platform="discord",
            user_id=str(ALICE),
            user_name="alice",
            language_code="en-US",
            chat_id=str(CHANNEL_ID + 1000 + n),
            chat_type="group",
        )
        chats.append((await core.study.subscribe(ctx, "13:00")).id)
    return chats


async def test_a_button_is_acknowledged_within_3_s_during_a_10000_chat_fan_out(
    dsettings: Settings, fake: FakeDiscord, clock: FixedClock
) -> None:
    async with open_core(dsettings, clock=clock) as core, running(core, fake):
        chats = await subscribe_many(core, FAN_OUT_CHATS)
        question = await fake.reply(await fake.slash("question", user_id=ALICE))
        right, _wrong = await correct_letter(core, question)
        clock.set(clock.now() + timedelta(hours=1, minutes=1))
        fan_out = asyncio.gather(*(core.daily_schedule.deliver(c) for c in chats))
        try:
            await fake.wait_for(lambda: len(fake.requests_to("POST", r"/channels/\d+/messages")))
            press = await fake.click(question, right, user_id=ALICE)
            answer: Sent = await fake.reply(press, 60.0)
            assert "Correct" in answer.text
            assert fake.acknowledged_after(press) < 3.0  # else Discord shows "failed"
            assert not fan_out.done()  # the press came while the fan-out was writing
        finally:
            fan_out.cancel()
            await asyncio.gather(fan_out, return_exceptions=True)


async def test_a_discord_only_deployment_serves_its_metrics(
    make_settings: Callable[..., Settings], fake: FakeDiscord
) -> None:
    port = free_port()
    settings = make_settings(
        DISCORD_BOT_TOKEN=fake.token,
        DISCORD_API_BASE_URL=fake.base_url,
        STUDYBOT_METRICS_LISTEN=f"127.0.0.1:{port}",
    )
    stop = asyncio.Event()
    bot = asyncio.create_task(serve(settings, stop))
    try:
        await asyncio.wait_for(fake.identified.wait(), 60)
        await fake.reply(await fake.slash("daily", user_id=ALICE, guild=True))
        await fake.answered(await fake.autocomplete("question", "topic", "ten", user_id=ALICE))
        for _ in range(50):  # the command's timing is recorded as its task ends
            status, page = await get(f"http://127.0.0.1:{port}/metrics")
            if "studybot_command_seconds_count" in page:
                break
            await asyncio.sleep(0.1)
        assert status == 200
        assert sample(page, "studybot_updates_total", type="application_command") == 1
        assert sample(page, "studybot_updates_total", type="autocomplete") == 1
        assert sample(page, "studybot_command_seconds_count", command="daily") == 1
    finally:
        stop.set()
        await bot


async def test_daily_deliveries_are_counted(
    dsettings: Settings, fake: FakeDiscord, clock: FixedClock
) -> None:
    metrics = BotMetrics()
    async with open_core(dsettings, clock=clock) as core, running(core, fake, metrics=metrics):
        chats = await subscribe_many(core, 2)
        fake.gone_channels.add(CHANNEL_ID + 1001)
        clock.set(clock.now() + timedelta(hours=1, minutes=1))
        for chat in chats:
            await core.daily_schedule.deliver(chat)
    page = metrics.render()[2].decode()
    assert sample(page, "studybot_daily_deliveries_total", outcome="sent") == 1
    assert sample(page, "studybot_daily_deliveries_total", outcome="failed") == 1


@pytest.mark.parametrize("what", ["button", "command"])
async def test_the_acknowledgement_does_not_wait_for_the_database(
    dsettings: Settings, fake: FakeDiscord, clock: FixedClock, what: str
) -> None:
    async with open_core(dsettings, clock=clock) as core, running(core, fake):
        question = await fake.reply(await fake.slash("question", user_id=ALICE))
        right, _wrong = await correct_letter(core, question)
        enter = core.study.enter

        async def busy_enter(**kwargs: Any) -> Context:
            await asyncio.sleep(3.5)  # the database queue behind a long fan-out
            return await enter(**kwargs)

        core.study.enter = busy_enter  # type: ignore[method-assign]
        if what == "button":
            interaction = await fake.click(question, right, user_id=ALICE)
        else:
            interaction = await fake.slash("streak", user_id=ALICE)
        await fake.answered(interaction)
        assert fake.acknowledged_after(interaction) < 3.0
        assert (await fake.reply(interaction, 30.0)).text

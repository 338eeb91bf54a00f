"""Discord end to end: the real discord.py client against the fake Discord API."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.adapters.commands import for_platform
from bot.adapters.discord.run import DiscordPlatform
from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.services.quiz_votes import EARLY_CLOSE_GRACE
from tests.conftest import FIXTURE_BANK
from tests.discordbot import running
from tests.fakediscord import (
    ADMINISTRATOR,
    APP_ID,
    CHANNEL_ID,
    MANAGE_GUILD,
    OTHER_CHANNEL_ID,
    FakeDiscord,
    Recorded,
    Sent,
    dm_channel,
)
from tests.test_telegram_quiz import closing_soon

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
    # Exactly the registry's Discord commands, with its options (required ones first).
    slash = {c["name"]: c for c in puts[0].json if c.get("type", 1) == 1}
    assert set(slash) == {c.name for c in for_platform("discord")}
    for command in for_platform("discord"):
        sent = slash[command.name].get("options", [])
        assert [(o["name"], o.get("required", False)) for o in sent] == [
            (o.name, o.required) for o in command.options
        ]
        for option, given in zip(command.options, sent, strict=True):
            assert [c["value"] for c in given.get("choices", [])] == list(option.choices)
            assert given.get("autocomplete", False) == (option.autocomplete is not None)
            assert (given["type"] == 6) == (option.kind == "user")  # a member of the chat
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


# -- helpers --------------------------------------------------------------------------------
async def correct_letter(core: Core, message: Sent) -> tuple[str, str]:
    """Return the custom ids of the right and of a wrong option of a question message."""
    answers = [b["custom_id"] for b in message.buttons if b["custom_id"].startswith("dq:a:")]
    prompt_id = int(answers[0].split(":")[2])
    found = await core.study.prompt(prompt_id)
    assert found is not None
    prompt, question = found
    right = question.text(prompt.language).quiz.correct
    wrong = next(i for i in range(len(answers)) if i != right)
    return f"dq:a:{prompt_id}:{right}", f"dq:a:{prompt_id}:{wrong}"


def ephemeral(sent: Sent) -> bool:
    return sent.ephemeral


# -- studying ---------------------------------------------------------------------------------
async def test_daily_in_a_dm_answer_edits_the_message_and_streak_counts(
    bot: DiscordPlatform, fake: FakeDiscord, dcore: Core
) -> None:
    daily = await fake.slash("daily", user_id=ALICE)
    question = await fake.reply(daily)
    assert question.embeds and "Daily question" in question.text
    labels = [b["label"] for b in question.buttons]
    assert labels[:2] == ["A", "B"] and "Show answer" in labels[-1]
    right, _wrong = await correct_letter(dcore, question)

    press = await fake.click(question, right, user_id=ALICE)
    edited = (await fake.reply(press)).payload
    assert press.callbacks[0]["type"] == 6  # acknowledged at once, then the question is edited
    assert "Correct" in edited["embeds"][0]["description"]
    assert [c["custom_id"] for row in edited["components"] for c in row["components"]] == [
        f"dq:r:{right.split(':')[2]}"
    ]

    streak = await fake.reply(await fake.slash("streak", user_id=ALICE))
    assert "1" in streak.text and not streak.ephemeral
    ready = await fake.reply(await fake.slash("ready", user_id=ALICE))
    assert "Interview readiness" in ready.text and "Study next" in ready.text


async def test_daily_in_a_server_channel_verdicts_and_answers_are_ephemeral(
    bot: DiscordPlatform, fake: FakeDiscord, dcore: Core
) -> None:
    question = await fake.reply(await fake.slash("daily", user_id=ALICE, guild=True))
    assert not question.ephemeral
    right, wrong = await correct_letter(dcore, question)
    prompt_id = right.split(":")[2]

    early = await fake.reply(
        await fake.click(question, f"dq:r:{prompt_id}", user_id=BOB, guild=True)
    )
    assert ephemeral(early) and "Answer first" in early.content

    alice = await fake.reply(await fake.click(question, right, user_id=ALICE, guild=True))
    assert ephemeral(alice) and "Correct" in alice.content
    bob = await fake.reply(await fake.click(question, wrong, user_id=BOB, guild=True))
    assert ephemeral(bob) and "Not quite" in bob.content
    again = await fake.reply(await fake.click(question, right, user_id=BOB, guild=True))
    assert "already answered" in again.content

    shown = await fake.reply(
        await fake.click(question, f"dq:r:{prompt_id}", user_id=BOB, guild=True)
    )
    assert ephemeral(shown) and shown.embeds

    streak = await fake.reply(await fake.slash("streak", user_id=ALICE, guild=True))
    assert ephemeral(streak)
    # Users are per platform: the Discord user is "discord" in the users table.
    ctx_user = await dcore.study.streak(
        await dcore.study.enter(
            platform="discord",
            user_id=str(ALICE),
            user_name="a",
            language_code="en-US",
            chat_id="1",
            chat_type="private",
        )
    )
    assert ctx_user.current == 1


async def test_a_forged_button_for_another_channel_is_refused(
    bot: DiscordPlatform, fake: FakeDiscord, dcore: Core
) -> None:
    question = await fake.reply(await fake.slash("daily", user_id=ALICE))  # Alice's DM
    right, _wrong = await correct_letter(dcore, question)
    forged = await fake.reply(
        await fake.click(question, right, user_id=BOB, guild=True)  # pressed in a server
    )
    assert "no longer available" in forged.content


async def test_language_follows_the_discord_locale(bot: DiscordPlatform, fake: FakeDiscord) -> None:
    reply = await fake.reply(await fake.slash("daily", user_id=ALICE, locale="zh-CN"))
    assert "每日一题" in reply.text
    taiwan = await fake.reply(await fake.slash("daily", user_id=BOB, locale="zh-TW"))
    assert "每日一题" in taiwan.text


async def test_lang_switches_and_bad_values_get_the_usage_line(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    bad = await fake.reply(await fake.slash("lang", user_id=ALICE, language="xx"))
    assert ephemeral(bad)
    assert "Usage: /lang language:zh or /lang language:en." in bad.content
    zh = await fake.reply(await fake.slash("lang", user_id=ALICE, language="zh"))
    assert "中文" in zh.text or "我" in zh.text


async def test_bad_input_gets_the_usage_in_discords_option_syntax(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    bad = await fake.reply(await fake.slash("subscribe", user_id=ALICE, time="25:99"))
    content = bad.content
    assert ephemeral(bad)
    assert "Usage: /subscribe time:HH:MM topic:name" in content
    assert "/subscribe time:08:30 topic:autograd" in content
    assert "[HH:MM]" not in content  # Telegram's wording stays on Telegram


async def test_unknown_time_zone_is_answered_clearly(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    bad = await fake.reply(await fake.slash("timezone", user_id=ALICE, zone="Mars/Olympus"))
    content = bad.content
    assert ephemeral(bad) and "Unknown time zone" in content and "Mars/Olympus" in content
    assert "Usage: /timezone zone:Asia/Shanghai" in content  # Discord's option syntax
    good = await fake.reply(await fake.slash("timezone", user_id=ALICE, zone="asia/shanghai"))
    assert "Asia/Shanghai" in good.text


async def test_autocomplete_offers_topics_and_time_zones(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    topics = await fake.answered(await fake.autocomplete("question", "topic", "ten", user_id=ALICE))
    assert topics.callbacks[0]["type"] == 8
    assert [c["value"] for c in topics.callbacks[0]["data"]["choices"]] == ["tensors"]
    zones = await fake.answered(await fake.autocomplete("timezone", "zone", "shang", user_id=ALICE))
    assert {"name": "Asia/Shanghai", "value": "Asia/Shanghai"} in zones.callbacks[0]["data"][
        "choices"
    ]


async def test_question_with_an_unknown_topic_gets_the_usage_line(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    bad = await fake.reply(await fake.slash("question", user_id=ALICE, topic="cooking"))
    assert ephemeral(bad) and "Unknown topic" in bad.content
    good = await fake.reply(await fake.slash("question", user_id=ALICE, topic="tensors"))
    assert "Tensors" in good.text


# -- daily questions in channels -------------------------------------------------------------
async def test_subscribe_needs_manage_server_and_posts_at_the_local_time(
    bot: DiscordPlatform, fake: FakeDiscord, dcore: Core, clock: FixedClock
) -> None:
    refused = await fake.reply(await fake.slash("subscribe", user_id=BOB, guild=True, time="13:00"))
    assert ephemeral(refused) and "Only group admins" in refused.content
    assert await dcore.daily.subscribed_chats("discord") == []

    accepted = await fake.reply(
        await fake.slash(
            "subscribe", user_id=ALICE, guild=True, time="13:00", permissions=MANAGE_GUILD
        )
    )
    assert "13:00" in accepted.text
    assert not fake.channel_messages.get(CHANNEL_ID)

    clock.set(clock.now() + timedelta(hours=1, minutes=1))
    assert await dcore.timers.run_due() == 1
    posted = fake.channel_messages[CHANNEL_ID]
    assert len(posted) == 1 and "Daily question" in posted[0].text
    assert posted[0].buttons[0]["custom_id"].startswith("dq:a:")
    # At most once a local day: the next timer is tomorrow.
    assert await dcore.timers.run_due() == 0
    clock.set(clock.now() + timedelta(days=1))
    assert await dcore.timers.run_due() == 1
    assert len(fake.channel_messages[CHANNEL_ID]) == 2


async def test_administrators_and_operators_may_subscribe(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    admin = await fake.reply(
        await fake.slash("subscribe", user_id=BOB, guild=True, permissions=ADMINISTRATOR)
    )
    assert "Only group admins" not in admin.text
    gone = await fake.reply(
        await fake.slash("unsubscribe", user_id=BOB, guild=True, permissions=ADMINISTRATOR)
    )
    assert "Unsubscribed" in gone.text


@pytest.mark.parametrize("lost", ["deleted", "forbidden"])
async def test_a_deleted_channel_or_lost_permissions_unsubscribe(
    bot: DiscordPlatform, fake: FakeDiscord, dcore: Core, clock: FixedClock, lost: str
) -> None:
    await fake.reply(
        await fake.slash(
            "subscribe",
            user_id=ALICE,
            guild=True,
            channel_id=OTHER_CHANNEL_ID,
            time="13:00",
            permissions=MANAGE_GUILD,
        )
    )
    (fake.gone_channels if lost == "deleted" else fake.forbidden_channels).add(OTHER_CHANNEL_ID)
    clock.set(clock.now() + timedelta(hours=2))
    assert await dcore.timers.run_due() == 1
    assert await dcore.daily.subscribed_chats("discord") == []
    clock.set(clock.now() + timedelta(days=1))
    assert await dcore.timers.run_due() == 0  # not retried forever


# -- quizzes ----------------------------------------------------------------------------------
async def test_a_quiz_with_two_members(
    bot: DiscordPlatform, fake: FakeDiscord, dcore: Core, clock: FixedClock
) -> None:
    intro = await fake.reply(await fake.slash("quiz", user_id=ALICE, guild=True, count=2))
    assert "Quiz" in intro.text
    polls = await fake.wait_for(lambda: fake.channel_messages.get(CHANNEL_ID))
    first = polls[0]
    assert "Question 1 of 2" in first.text and "<t:" in first.text and ":R>" in first.text
    ids = [b["custom_id"] for b in first.buttons]
    assert ids[0].startswith("qz:") and len(ids) >= 2

    alice = await fake.reply(await fake.click(first, ids[0], user_id=ALICE, guild=True))
    assert ephemeral(alice) and "Answer recorded" in alice.content
    bob = await fake.reply(await fake.click(first, ids[1], user_id=BOB, guild=True))
    assert ephemeral(bob) and "Answer recorded" in bob.content
    twice = await fake.reply(await fake.click(first, ids[0], user_id=BOB, guild=True))
    assert "does not count" in twice.content

    # The deadline passes: the answer is revealed on the message, the buttons are disabled.
    clock.set(clock.now() + timedelta(seconds=dcore.settings.quiz_seconds + 1))
    await dcore.timers.run_due()
    revealed = await fake.wait_for(
        lambda: fake.requests_to("PATCH", rf"/channels/{CHANNEL_ID}/messages/{first.id}")
    )
    body = revealed[0].json
    assert "The answer is" in body["embeds"][0]["description"]
    assert all(c["disabled"] for row in body["components"] for c in row["components"])
    late = await fake.reply(await fake.click(first, ids[0], user_id=BOB, guild=True))
    assert "does not count" in late.content

    # The second question: both answer, it closes after the grace, and the scoreboard follows.
    for _ in range(3):
        clock.set(clock.now() + timedelta(seconds=5))
        await dcore.timers.run_due()
        if len(fake.channel_messages[CHANNEL_ID]) > 1:
            break
    second = fake.channel_messages[CHANNEL_ID][1]
    assert "Question 2 of 2" in second.text
    for who in (ALICE, BOB):
        await fake.reply(
            await fake.click(second, second.buttons[0]["custom_id"], user_id=who, guild=True)
        )
    await closing_soon(dcore)
    clock.set(clock.now() + EARLY_CLOSE_GRACE)
    await dcore.timers.run_due()
    board = await fake.wait_for(
        lambda: [m for m in fake.channel_messages[CHANNEL_ID] if "Scoreboard" in m.text]
    )
    assert f"user{ALICE}" in board[0].text and f"user{BOB}" in board[0].text


async def test_language_follows_a_changed_locale_until_lang_chooses(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    first = await fake.reply(await fake.slash("streak", user_id=ALICE, locale="en-US"))
    assert "streak" in first.text.lower()
    now_zh = await fake.reply(await fake.slash("help", user_id=ALICE, locale="zh-CN"))
    assert "每日一题" in now_zh.text or "今日" in now_zh.text
    await fake.reply(await fake.slash("lang", user_id=ALICE, language="en", locale="zh-CN"))
    chosen = await fake.reply(await fake.slash("help", user_id=ALICE, locale="zh-CN"))
    assert "Today's question" in chosen.text


# -- review and reminders ---------------------------------------------------------------------
async def test_review_serves_due_cards_and_reminders_come_by_dm(
    bot: DiscordPlatform, fake: FakeDiscord, dcore: Core, clock: FixedClock
) -> None:
    question = await fake.reply(await fake.slash("daily", user_id=ALICE))
    _right, wrong = await correct_letter(dcore, question)
    await fake.reply(await fake.click(question, wrong, user_id=ALICE))
    reminder = await fake.reply(await fake.slash("remind", user_id=ALICE, time="20:00"))
    assert "20:00" in reminder.text

    # The next day: the missed card is due, and at 20:00 the streak needs saving.
    clock.set(clock.now() + timedelta(days=1, hours=8, minutes=1))
    assert await dcore.timers.run_due() >= 1
    dm = await fake.wait_for(lambda: fake.channel_messages.get(dm_channel(ALICE)))
    assert "due" in dm[0].text
    start = dm[0].buttons[0]
    assert start["custom_id"] == "rv:go"

    card = await fake.reply(await fake.click(dm[0], "rv:go", user_id=ALICE))
    assert "Review" in card.text
    option = card.buttons[0]["custom_id"]
    assert option.startswith("rv:")
    answered = await fake.click(card, option, user_id=ALICE)
    after = await fake.wait_for(lambda: answered.followups)
    assert after[0].text  # the next card, or where the user stands
    assert answered.callbacks[0]["type"] == 6  # acknowledged at once
    verdict = [r for r in fake.requests if r.method == "PATCH" and answered.token in r.path]
    assert verdict[0].json["embeds"]  # the card shows its verdict


async def test_review_in_a_server_channel_is_ephemeral(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    review = await fake.reply(await fake.slash("review", user_id=BOB, guild=True))
    assert ephemeral(review)
    bad = await fake.reply(await fake.slash("review", user_id=BOB, guild=True, retention=0.5))
    assert ephemeral(bad) and "Usage: /review retention:0.85" in bad.content


async def test_a_subscribed_dm_gets_its_daily_question_by_dm(
    bot: DiscordPlatform, fake: FakeDiscord, dcore: Core, clock: FixedClock
) -> None:
    await fake.reply(await fake.slash("subscribe", user_id=BOB, time="13:00"))
    clock.set(clock.now() + timedelta(hours=1, minutes=1))
    assert await dcore.timers.run_due() == 1
    posted = await fake.wait_for(lambda: fake.channel_messages.get(dm_channel(BOB)))
    assert "Daily question" in posted[0].text
    assert fake.requests_to("POST", "/users/@me/channels")


async def test_report_a_problem_opens_a_modal_and_stores_the_report(
    bot: DiscordPlatform, fake: FakeDiscord, dcore: Core
) -> None:
    question = await fake.reply(await fake.slash("daily", user_id=ALICE))
    right, _wrong = await correct_letter(dcore, question)
    prompt_id = right.split(":")[2]
    answer = await fake.reply(await fake.click(question, f"dq:r:{prompt_id}", user_id=ALICE))
    ids = [b["custom_id"] for b in answer.buttons]
    assert ids == [f"dq:x:{prompt_id}", f"dq:p:{prompt_id}"]  # run its snippet, report
    opened = await fake.answered(await fake.click(answer, f"dq:p:{prompt_id}", user_id=ALICE))
    modal = opened.callbacks[0]
    assert modal["type"] == 9
    field = modal["data"]["components"][0]["components"][0]
    thanks = await fake.reply(
        await fake.submit(
            modal["data"]["custom_id"], {field["custom_id"]: "option C is right too"}, user_id=ALICE
        )
    )
    assert thanks.ephemeral and "Thank you" in thanks.text
    found = await dcore.reports.open_reports()
    assert found.count == 1 and found.newest[0].text == "option C is right too"


async def test_admin_is_for_discord_operators_only(
    make_settings: Callable[..., Settings], fake: FakeDiscord, clock: FixedClock
) -> None:
    settings = make_settings(
        DISCORD_BOT_TOKEN=fake.token,
        DISCORD_API_BASE_URL=fake.base_url,
        STUDYBOT_ADMIN_IDS=f"{BOB},discord:{ALICE}",  # Bob's number is a Telegram id
    )
    async with open_core(settings, clock=clock) as core, running(core, fake):
        refused = await fake.reply(await fake.slash("admin", user_id=BOB, action="stats"))
        assert ephemeral(refused) and "operators" in refused.content
        stats = await fake.reply(await fake.slash("admin", user_id=ALICE, action="stats"))
        assert stats.ephemeral and "questions" in stats.text.lower()
        # An operator may subscribe any server channel without Manage Server.
        subscribed = await fake.reply(await fake.slash("subscribe", user_id=ALICE, guild=True))
        assert "Only group admins" not in subscribed.text


async def test_a_restart_resumes_a_running_quiz(
    make_settings: Callable[..., Settings], fake: FakeDiscord, clock: FixedClock
) -> None:
    settings = make_settings(DISCORD_BOT_TOKEN=fake.token, DISCORD_API_BASE_URL=fake.base_url)
    async with open_core(settings, clock=clock) as core, running(core, fake):
        await fake.reply(await fake.slash("quiz", user_id=ALICE, guild=True, count=2))
        first = (await fake.wait_for(lambda: fake.channel_messages.get(CHANNEL_ID)))[0]
        await fake.reply(
            await fake.click(first, first.buttons[0]["custom_id"], user_id=ALICE, guild=True)
        )
    # Down past the question's deadline: the next start closes it and goes on.
    clock.set(clock.now() + timedelta(minutes=5))
    async with open_core(settings, clock=clock) as core, running(core, fake):
        await fake.wait_for(
            lambda: fake.requests_to("PATCH", rf"/channels/{CHANNEL_ID}/messages/{first.id}")
        )
        for _ in range(3):
            if len(fake.channel_messages[CHANNEL_ID]) > 1:
                break
            clock.set(clock.now() + timedelta(seconds=5))
            await core.timers.run_due()
        second = fake.channel_messages[CHANNEL_ID][1]
        assert "Question 2 of 2" in second.text


async def test_an_unexpected_error_is_logged_once_and_the_user_gets_an_apology(
    bot: DiscordPlatform, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_callbacks = 1  # Discord refuses the first answer
    with caplog.at_level(logging.ERROR):
        interaction = await fake.slash("topics", user_id=ALICE)
        apology = await fake.reply(interaction)
    assert apology.ephemeral and "Sorry, something went wrong" in apology.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert f"user={ALICE}" in errors[0].getMessage()


async def test_the_hint_is_ephemeral_and_only_where_a_hint_exists(
    make_settings: Callable[..., Settings], fake: FakeDiscord, clock: FixedClock, tmp_path: Path
) -> None:
    folder = tmp_path / "bank"
    shutil.copytree(FIXTURE_BANK, folder)
    path = folder / "questions" / "fixture-q3.yaml"  # the only question of topic nn
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["en"]["hint"] = "Count from one, not from zero."
    data["zh"]["hint"] = "从一数起，不是从零。"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings = make_settings(
        DISCORD_BOT_TOKEN=fake.token,
        DISCORD_API_BASE_URL=fake.base_url,
        STUDYBOT_CONTENT_DIR=str(folder),
    )
    async with open_core(settings, clock=clock) as core, running(core, fake):
        plain = await fake.reply(
            await fake.slash("question", user_id=ALICE, guild=True, topic="tensors")
        )
        assert not [b for b in plain.buttons if b["custom_id"].startswith("dq:h:")]
        hinted = await fake.reply(
            await fake.slash("question", user_id=ALICE, guild=True, topic="nn")
        )
        hint = next(b["custom_id"] for b in hinted.buttons if b["custom_id"].startswith("dq:h:"))
        shown = await fake.reply(await fake.click(hinted, hint, user_id=BOB, guild=True))
        assert ephemeral(shown)
        assert "Count from one" in shown.content
        zh = await fake.reply(
            await fake.click(hinted, hint, user_id=BOB, guild=True, locale="zh-CN")
        )
        assert "从一数起" in zh.content


async def test_a_fan_out_keeps_under_discords_global_rate_limit(
    bot: DiscordPlatform, fake: FakeDiscord, dcore: Core, clock: FixedClock
) -> None:
    chats = []
    for n in range(70):
        ctx = await dcore.study.enter(
            platform="discord",
            user_id=str(ALICE),
            user_name="alice",
            language_code="en-US",
            chat_id=str(CHANNEL_ID + 1000 + n),
            chat_type="group",
        )
        chats.append(await dcore.study.subscribe(ctx, "13:00"))
    clock.set(clock.now() + timedelta(hours=1, minutes=1))
    outcomes = await asyncio.gather(*(dcore.daily_schedule.deliver(c.id) for c in chats))
    assert {o.status for o in outcomes} == {"sent"}
    posts = sorted(r.at for r in fake.requests_to("POST", r"/channels/\d+/messages"))
    assert len(posts) == 70
    busiest = max(sum(1 for t in posts if start <= t < start + 1.0) for start in posts)
    assert busiest <= 50  # Discord's global limit per second


async def test_stats_is_a_picture_with_its_caption_once_there_is_history(
    bot: DiscordPlatform, fake: FakeDiscord, dcore: Core
) -> None:
    empty = await fake.reply(await fake.slash("stats", user_id=ALICE))
    assert "No answers yet" in empty.text and not empty.files  # a friendly line, no picture

    question = await fake.reply(await fake.slash("daily", user_id=ALICE))
    right, _wrong = await correct_letter(dcore, question)
    await fake.reply(await fake.click(question, right, user_id=ALICE))

    stats = await fake.answered(await fake.slash("stats", user_id=ALICE, guild=True))
    assert stats.callbacks[0]["type"] == 5  # deferred: the first picture starts a worker
    assert stats.callbacks[0]["data"]["flags"] & 64  # only the member sees it in a server

    def edited() -> Recorded | None:
        found = [
            r for r in fake.requests if r.method == "PATCH" and stats.token in r.path and r.files
        ]
        return found[-1] if found else None

    edit: Recorded = await fake.wait_for(edited, 30.0)
    name, png = next(iter(edit.files.values()))
    assert name == "stats.png" and png.startswith(b"\x89PNG")
    card = edit.json["embeds"][0]
    assert card["image"]["url"] == "attachment://stats.png"
    assert "Streak: 1 day" in card["description"] and "Accuracy: 100% (1/1)" in card["description"]

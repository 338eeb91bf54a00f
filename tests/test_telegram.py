"""End to end: the real PTB Application over real HTTP against the fake Bot API."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.adapters.telegram.app import build_application, start_application, stop_application
from bot.adapters.telegram.flood import FloodLimiter
from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.services.daily import DeliveryOutcome
from bot.services.runs import RunService
from tests.conftest import clean_env, studybot
from tests.fakebotapi import FakeBotAPI

App = Application[Any, Any, Any, Any, Any, Any]

TOKEN = "987654321:AAH-fake-token-for-tests-0123456789abcdef"  # noqa: S105 - fake
USER = 1001
GROUP = -100200300


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api


@asynccontextmanager
async def running(
    core: Core,
    fake: FakeBotAPI,
    runs: RunService | None = None,
    limiter: FloodLimiter | None = None,
) -> AsyncIterator[App]:
    app = build_application(
        core, TOKEN, fake.base_url, runs or RunService(None, frozenset()), limiter
    )
    await start_application(app, poll_timeout=1)
    try:
        yield app
    finally:
        await stop_application(app)


async def until(core: Core, sql: str, seconds: float = 5.0) -> None:
    """Wait until `sql` returns a row: the bot writes after Telegram answered it."""
    for _ in range(int(seconds / 0.01)):
        if await core.db.fetchall(sql):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no row after {seconds} s: {sql}")


@pytest.fixture
async def bot(core: Core, fake: FakeBotAPI) -> AsyncIterator[App]:
    async with running(core, fake) as app:
        yield app


async def say(
    fake: FakeBotAPI, text: str, *, chat: int = USER, user: int = USER, lang: str = "en"
) -> str:
    """Send a message as a user and return the text of the bot's next sendMessage."""
    since = fake.mark()
    kind = "private" if chat > 0 else "supergroup"
    fake.send_message(chat, user, text, chat_type=kind, language_code=lang)
    call = await fake.wait_for_call("sendMessage", chat_id=chat, since=since)
    return str(call.params["text"])


async def test_start_greets_in_the_users_language_and_menus_published(
    bot: App, fake: FakeBotAPI
) -> None:
    assert "PyTorch" in await say(fake, "/start")
    zh = await say(fake, "/start", chat=2002, user=2002, lang="zh-hans")
    assert "你好" in zh
    assert [c["command"] for c in fake.commands()][:2] == ["daily", "question"]
    assert fake.commands(language_code="zh")[0]["description"] == "今日一题"


async def test_polling_asks_only_for_the_updates_the_bot_handles(
    bot: App, fake: FakeBotAPI
) -> None:
    await say(fake, "/start")
    polled = fake.calls("getUpdates")[-1]
    allowed = polled.params["allowed_updates"]
    if isinstance(allowed, str):
        allowed = json.loads(allowed)
    assert sorted(allowed) == ["callback_query", "edited_message", "message", "poll_answer"]


async def test_daily_press_option_then_streak_is_one(
    bot: App, fake: FakeBotAPI, core: Core
) -> None:
    text = await say(fake, "/daily")
    assert "Daily question" in text
    question = fake.last_message(USER)
    data = question.callback_data
    assert all(len(d.encode()) <= 64 for d in data)
    assert len(data) == 5  # four options and "show answer"
    since = fake.mark()
    query = fake.press_button(USER, USER, question.message_id, data[0])
    answer = await fake.wait_for_callback_answer(query)
    assert answer.params.get("text")
    edit = await fake.wait_for_call("editMessageText", since=since)
    assert "Streak: 1 day" in str(edit.params["text"])
    assert "Streak: 1 day" in await say(fake, "/streak")
    ready = await say(fake, "/ready")
    assert "<b>🎯 Interview readiness:" in ready and "Study next" in ready
    # Pressing again does not count twice.
    query = fake.press_button_raw(USER, USER, question.message_id, data[1])
    again = await fake.wait_for_callback_answer(query)
    assert "already answered" in str(again.params.get("text"))
    assert len(await core.db.fetchall("SELECT * FROM attempts")) == 1


async def test_show_answer_button_sends_reference_answer(bot: App, fake: FakeBotAPI) -> None:
    await say(fake, "/question tensors")
    question = fake.last_message(USER)
    since = fake.mark()
    fake.press_button(USER, USER, question.message_id, question.callback_data[-1])
    call = await fake.wait_for_call("sendMessage", since=since)
    assert "Quiz answer" in str(call.params["text"])


async def test_subscribe_then_due_job_delivers_exactly_one(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    reply = await say(fake, "/subscribe 07:30")
    assert "07:30" in reply
    schedule = core.daily_schedule
    assert schedule.next_at(1) == datetime(2026, 3, 10, 7, 30, tzinfo=UTC)
    clock.set(datetime(2026, 3, 10, 7, 30, tzinfo=UTC))
    since = fake.mark()
    assert await core.timers.run_due() == 1
    assert await schedule.deliver(1) == DeliveryOutcome("already", date(2026, 3, 10))
    sent = [c for c in fake.calls("sendMessage") if c.seq >= since]
    assert len(sent) == 1
    assert "Daily question" in str(sent[0].params["text"])
    assert schedule.next_at(1) == datetime(2026, 3, 11, 7, 30, tzinfo=UTC)  # tomorrow's
    # Changing the time replaces the timer instead of adding one.
    await say(fake, "/subscribe 08:00")
    assert schedule.next_at(1) == datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    clock.set(datetime(2026, 3, 10, 8, 0, tzinfo=UTC))
    since = fake.mark()
    assert await core.timers.run_due() == 1  # at the new time, but today's is out already
    assert not [c for c in fake.calls("sendMessage") if c.seq >= since]
    assert schedule.next_at(1) == datetime(2026, 3, 11, 8, 0, tzinfo=UTC)


async def test_restart_keeps_streak_and_does_not_resend(
    fake: FakeBotAPI, settings: Settings, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    async with open_core(settings, clock=clock) as core, running(core, fake):
        await say(fake, "/subscribe 07:00")
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))  # downtime spans 07:00
    since = fake.mark()
    async with open_core(settings, clock=clock) as core, running(core, fake):
        catch_up = await fake.wait_for_call("sendMessage", since=since)
        assert "Daily question" in str(catch_up.params["text"])
        question = fake.last_message(USER)
        fake.press_button(USER, USER, question.message_id, question.callback_data[0])
        await fake.wait_for_call("editMessageText", since=since)
    since = fake.mark()
    async with open_core(settings, clock=clock) as core, running(core, fake):
        assert "Streak: 1 day" in await say(fake, "/streak")
        assert (await core.daily_schedule.deliver(1)).status == "already"
    texts = [str(c.params["text"]) for c in fake.calls("sendMessage") if c.seq >= since]
    assert not any("Daily question" in t for t in texts)


async def test_429_with_retry_after_is_retried_and_delivered(bot: App, fake: FakeBotAPI) -> None:
    fake.fail_next("sendMessage", error_code=429, retry_after=1)
    since = fake.mark()
    fake.send_message(USER, USER, "/help")
    calls = await fake.wait_for_calls("sendMessage", 2, since=since, timeout=10)
    assert calls[0].error_code == 429
    assert calls[1].ok and "/daily" in str(calls[1].params["text"])


async def test_blocked_chat_is_unsubscribed_not_retried(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    await say(fake, "/subscribe 07:00")
    clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
    fake.fail_next(
        "sendMessage", error_code=403, description="Forbidden: bot was blocked by the user"
    )
    assert core.daily_schedule.next_at(1) is not None
    assert (await core.daily_schedule.deliver(1)).status == "gone"
    chat = await core.repos.chats.by_external("telegram", str(USER))
    assert chat is not None
    assert not chat.subscribed
    assert core.daily_schedule.next_at(chat.id) is None
    assert core.timers.pending == 0


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/subscribe 25:99", "Usage: /subscribe"),
        ("/timezone Mars/Olympus", "Usage: /timezone"),
        ("/timezone Europe", "Usage: /timezone"),
        ("/lang xx", "Usage: /lang"),
        ("/lang", "Current language: English.\nUsage: /lang zh or /lang en."),
        ("/question nosuchtopic", "Unknown topic"),
        ("/subscribe 08:00 nosuchtopic", "Unknown topic “nosuchtopic”"),
        ("/subscribe nosuchtopic", "Unknown topic “nosuchtopic”"),
        ("/timezone Europe/Berln", "Did you mean Europe/Berlin,"),
        ("/timezone +08:00", "Did you mean Asia/Shanghai, Asia/Hong_Kong, Asia/Taipei?"),
        ("/frobnicate", "Unknown command /frobnicate"),
        ("/run", "/run is not available"),
    ],
)
async def test_bad_input_gets_a_usage_line(
    bot: App, fake: FakeBotAPI, command: str, expected: str
) -> None:
    assert expected in await say(fake, command)


async def test_forged_and_stale_callbacks_get_a_polite_answer(bot: App, fake: FakeBotAPI) -> None:
    await say(fake, "/daily")
    question = fake.last_message(USER)
    for data in ("a:999999:0", "garbage", "a:1:99", "r:x"):
        query = fake.press_button_raw(USER, USER, question.message_id, data)
        answer = await fake.wait_for_callback_answer(query)
        assert "no longer available" in str(answer.params.get("text"))
    # A prompt from another chat cannot be answered from here.
    await say(fake, "/daily", chat=3003, user=3003)
    other = fake.last_message(3003)
    query = fake.press_button_raw(USER, USER, question.message_id, other.callback_data[0])
    answer = await fake.wait_for_callback_answer(query)
    assert "no longer available" in str(answer.params.get("text"))


async def test_group_members_answer_for_themselves_admins_change_schedule(
    bot: App, fake: FakeBotAPI, core: Core
) -> None:
    refused = await say(fake, "/subscribe 08:00", chat=GROUP, user=11)
    assert "Only group admins" in refused
    fake.set_chat_member_status(GROUP, 12, "administrator")
    subscribed = fake.mark()
    assert "08:00" in await say(fake, "/subscribe 08:00", chat=GROUP, user=12)
    # At 12:00, 08:00 has passed: today's question goes out at once (the catch-up), on its own
    # time; waited for here so that it is not taken for the reply to the next command.
    await fake.wait_for_call(
        "sendMessage",
        lambda c: "Daily question" in str(c.params["text"]),
        chat_id=GROUP,
        since=subscribed,
    )
    assert "Only group admins" in await say(fake, "/timezone Asia/Tokyo", chat=GROUP, user=11)
    await say(fake, "/daily", chat=GROUP, user=11)
    question = fake.last_message(GROUP)
    since = fake.mark()
    for user in (11, 12):
        query = fake.press_button(GROUP, user, question.message_id, question.callback_data[1])
        answer = await fake.wait_for_callback_answer(query)
        assert answer.params.get("show_alert") in (True, "true")
    assert not [c for c in fake.calls("editMessageText") if c.seq >= since]
    rows = await core.db.fetchall("SELECT user_id FROM attempts")
    assert len(rows) == 2


async def test_unexpected_error_logged_once_with_context_and_apology(
    bot: App, fake: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake.fail_next("sendMessage", error_code=500, description="Internal Server Error")
    since = fake.mark()
    fake.send_message(USER, USER, "/topics")
    calls = await fake.wait_for_calls("sendMessage", 2, since=since)
    assert "Sorry, something went wrong" in str(calls[1].params["text"])
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert f"chat={USER}" in errors[0].getMessage()


async def test_serve_command_end_to_end_and_token_never_logged(
    fake: FakeBotAPI, tmp_path: Path
) -> None:
    """Run `studybot serve` as an operator would, at DEBUG, and read everything it logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDYBOT_", "TELEGRAM_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=fake.base_url,
        STUDYBOT_DATABASE=str(tmp_path / "data" / "bot.db"),
        STUDYBOT_RUNNER_URL="unix:" + str(tmp_path / "no-runner.sock"),
        STUDYBOT_LOG_LEVEL="DEBUG",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake.wait_for_call("getUpdates", timeout=60)
        assert "PyTorch" in await say(fake, "/start")
        assert "Daily question" in await say(fake, "/daily")
    finally:
        proc.terminate()
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    logs = (out + err).decode()
    assert proc.returncode == 0, logs
    assert "bot started" in logs
    assert TOKEN not in logs
    assert TOKEN.split(":")[1] not in logs


async def test_catch_up_survives_a_slow_start(
    fake: FakeBotAPI, settings: Settings, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    async with open_core(settings, clock=clock) as core, running(core, fake):
        await say(fake, "/subscribe 07:00")
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    fake.delay_next("deleteWebhook", 2.0)  # start-up takes longer than APScheduler's 1 s grace
    since = fake.mark()
    async with open_core(settings, clock=clock) as core, running(core, fake):
        call = await fake.wait_for_call("sendMessage", since=since, timeout=15)
        assert "Daily question" in str(call.params["text"])


async def test_group_upgraded_to_supergroup_is_followed(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    fake.set_chat_member_status(GROUP, 12, "administrator")
    await say(fake, "/subscribe 07:00", chat=GROUP, user=12)
    clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
    new_id = -100999888777
    fake.fail_next(
        "sendMessage",
        error_code=400,
        chat_id=GROUP,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        parameters={"migrate_to_chat_id": new_id},
    )
    chat = await core.repos.chats.by_external("telegram", str(GROUP))
    assert chat is not None
    assert (await core.daily_schedule.deliver(chat.id)).status == "sent"
    assert fake.calls("sendMessage", chat_id=new_id)
    moved = await core.repos.chats.get(chat.id)
    assert moved is not None
    assert moved.external_id == str(new_id)


async def test_refused_send_is_not_retried_all_day(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    await say(fake, "/subscribe 07:00")
    clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
    fake.fail_next(
        "sendMessage", error_code=400, description="Bad Request: not enough rights to send text"
    )
    assert (await core.daily_schedule.deliver(1)).status == "refused"
    assert core.timers.pending == 1  # the chat's daily timer, no retry
    chat = await core.repos.chats.get(1)
    assert chat is not None
    assert chat.subscribed


async def test_group_reference_answer_only_after_answering_and_once(
    bot: App, fake: FakeBotAPI
) -> None:
    await say(fake, "/daily", chat=GROUP, user=11)
    question = fake.last_message(GROUP)
    reveal = question.callback_data[-1]
    query = fake.press_button(GROUP, 11, question.message_id, reveal)
    early = await fake.wait_for_callback_answer(query)
    assert "Answer first" in str(early.params.get("text"))
    for user in (11, 12):
        await fake.wait_for_callback_answer(
            fake.press_button(GROUP, user, question.message_id, question.callback_data[0])
        )
    since = fake.mark()
    for user in (11, 12):
        await fake.wait_for_callback_answer(
            fake.press_button(GROUP, user, question.message_id, reveal)
        )
    posted = [c for c in fake.calls("sendMessage", chat_id=GROUP) if c.seq >= since]
    assert len(posted) == 1
    assert "Quiz answer" in str(posted[0].params["text"])


async def test_a_restart_does_not_post_a_revealed_answer_again(
    fake: FakeBotAPI, settings: Settings, clock: FixedClock
) -> None:
    async with open_core(settings, clock=clock) as core, running(core, fake):
        await say(fake, "/daily", chat=GROUP, user=11)
        question = fake.last_message(GROUP)
        reveal = question.callback_data[-1]
        await fake.wait_for_callback_answer(
            fake.press_button(GROUP, 11, question.message_id, question.callback_data[0])
        )
        await fake.wait_for_callback_answer(
            fake.press_button(GROUP, 11, question.message_id, reveal)
        )
    since = fake.mark()
    async with open_core(settings, clock=clock) as core, running(core, fake):
        again = await fake.wait_for_callback_answer(
            fake.press_button(GROUP, 11, question.message_id, reveal)
        )
        assert "already posted" in str(again.params.get("text"))
    posted = [c for c in fake.calls("sendMessage", chat_id=GROUP) if c.seq >= since]
    assert posted == []


async def test_rejected_token_is_one_line_without_the_token(
    fake: FakeBotAPI, tmp_path: Path
) -> None:
    wrong = "111111111:AAwrong-token-that-the-server-rejects-000000"
    env = clean_env(
        TELEGRAM_BOT_TOKEN=wrong,
        TELEGRAM_API_BASE_URL=fake.base_url,
        STUDYBOT_DATABASE=str(tmp_path / "bot.db"),
        STUDYBOT_RUNNER_URL="unix:" + str(tmp_path / "none.sock"),
    )
    proc = await asyncio.to_thread(studybot, "serve", env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert wrong not in proc.stderr + proc.stdout


async def test_daily_that_failed_to_send_is_told_and_can_be_asked_again(
    bot: App, fake: FakeBotAPI, core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.adapters.telegram.sending.BACKOFF_S", 0.01)
    fake.fail_next("sendMessage", error_code=502, count=3)  # every try of the question fails
    since = fake.mark()
    fake.send_message(USER, USER, "/daily")
    calls = await fake.wait_for_calls("sendMessage", 4, since=since)
    assert [c.error_code for c in calls[:3]] == [502, 502, 502]
    assert "Try /daily again" in str(calls[3].params["text"])
    rows = await core.db.fetchall("SELECT status FROM daily_deliveries")
    assert [r["status"] for r in rows] == ["retry"]
    assert "Daily question" in await say(fake, "/daily")
    await until(core, "SELECT 1 FROM daily_deliveries WHERE status = 'sent'")
    # Asked again the same day, it is the same question (answered once), not a new one.
    assert "Daily question" in await say(fake, "/daily")
    prompts = await core.db.fetchall("SELECT DISTINCT question_id FROM prompts")
    assert len(prompts) == 1


async def test_daily_refused_by_schedule_is_sent_when_asked(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    await say(fake, "/subscribe 07:00")
    clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
    fake.fail_next(
        "sendMessage", error_code=400, description="Bad Request: not enough rights to send text"
    )
    assert (await core.daily_schedule.deliver(1)).status == "refused"
    assert "Daily question" in await say(fake, "/daily")
    assert (await core.daily_schedule.deliver(1)).status == "already"


async def test_rate_limit_setting_decides_the_limiter(
    fake: FakeBotAPI, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    for value, limited in (("on", True), ("off", False)):
        async with open_core(make_settings(STUDYBOT_RATE_LIMIT=value), clock=clock) as core:
            app = build_application(core, TOKEN, fake.base_url, RunService(None, frozenset()))
            assert isinstance(app.bot.rate_limiter, FloodLimiter) is limited
            async with running(core, fake):
                assert "PyTorch" in await say(fake, "/start")

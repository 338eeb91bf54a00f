"""💡 Hint, ▶ Run it and ⚠ Report a problem: Telegram over the fake Bot API, and the console."""

from __future__ import annotations

import io
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import yaml

from bot.adapters.console import Console
from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import CONTENT_DIR, Settings
from bot.exercises.loader import load_exercises
from tests.conftest import FIXTURE_BANK, clean_env, studybot
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram import GROUP, TOKEN, USER, App, running, say

HINT_EN = "Count from one, not from zero."
HINT_ZH = "从一数起，不是从零。"


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    """The fixture bank with hints on fixture-q3 (the only question of topic nn)."""
    folder = tmp_path / "bank"
    shutil.copytree(FIXTURE_BANK, folder)
    path = folder / "questions" / "fixture-q3.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["en"]["hint"] = HINT_EN
    data["zh"]["hint"] = HINT_ZH
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.fixture
def hinted(make_settings: Callable[..., Settings], bank: Path) -> Settings:
    return make_settings(STUDYBOT_ADMIN_IDS=str(USER), STUDYBOT_CONTENT_DIR=str(bank))


@pytest.fixture
async def core(hinted: Settings, clock: FixedClock) -> AsyncIterator[Core]:
    async with open_core(hinted, clock=clock) as c:
        yield c


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api


@pytest.fixture
async def bot(core: Core, fake: FakeBotAPI) -> AsyncIterator[App]:
    async with running(core, fake) as app:
        yield app


async def test_hint_button_only_where_a_hint_exists_and_pops_up(bot: App, fake: FakeBotAPI) -> None:
    await say(fake, "/question tensors")
    plain = fake.last_message(USER)
    assert not [d for d in plain.callback_data if d.startswith("h:")]
    await say(fake, "/question nn")
    question = fake.last_message(USER)
    assert {"text": "💡 Hint", "callback_data": question.callback_data[-2]} in question.buttons
    query = fake.press_button(USER, USER, question.message_id, text="💡 Hint")
    answer = await fake.wait_for_callback_answer(query)
    assert answer.params["text"] == f"💡 {HINT_EN}"
    assert answer.params["show_alert"] is True
    # A hint is not an answer: the options are still there to press.
    assert fake.last_message(USER).callback_data == question.callback_data


async def test_hint_in_chinese_in_a_group(bot: App, fake: FakeBotAPI) -> None:
    await say(fake, "/question nn", chat=GROUP, user=USER, lang="zh-hans")
    question = fake.last_message(GROUP)
    query = fake.press_button(GROUP, USER + 5, question.message_id, text="💡 提示")
    answer = await fake.wait_for_callback_answer(query)
    assert answer.params["text"] == f"💡 {HINT_ZH}"


async def test_run_and_report_buttons_under_the_reference_answer(
    bot: App, fake: FakeBotAPI
) -> None:
    await say(fake, "/question nn")
    question = fake.last_message(USER)
    since = fake.mark()
    fake.press_button(USER, USER, question.message_id, text="💡 Show answer")
    await fake.wait_for_call("sendMessage", since=since)
    reference = fake.last_message(USER)
    labels = [b["text"] for b in reference.buttons]
    assert labels[-2:] == ["▶ Run it", "⚠ Report a problem"]
    assert all(len(d.encode()) <= 64 for d in reference.callback_data)
    # This bot has no runner: the press is answered and the reason given, nothing crashes.
    since = fake.mark()
    query = fake.press_button(USER, USER, reference.message_id, text="▶ Run it")
    await fake.wait_for_callback_answer(query)
    reply = await fake.wait_for_call("sendMessage", chat_id=USER, since=since)
    assert "not available" in str(reply.params["text"])


async def test_report_is_asked_for_stored_and_shown_to_operators(
    bot: App, fake: FakeBotAPI, core: Core, hinted: Settings, tmp_path: Path
) -> None:
    await say(fake, "/question nn")
    question = fake.last_message(USER)
    since = fake.mark()
    fake.press_button(USER, USER, question.message_id, text="💡 Show answer")
    await fake.wait_for_call("sendMessage", since=since)
    reference = fake.last_message(USER)
    since = fake.mark()
    query = fake.press_button(USER, USER, reference.message_id, text="⚠ Report a problem")
    await fake.wait_for_callback_answer(query)
    asked = await fake.wait_for_call("sendMessage", chat_id=USER, since=since)
    assert "fixture-q3" in str(asked.params["text"])
    assert asked.params["reply_markup"]["force_reply"] is True
    ask_id = int(asked.result["message_id"])
    # A reply to another message is not a report.
    fake.send_message(USER, USER, "not a report", reply_to_message=question.message_id)
    assert "Users:" in await say(fake, "/admin stats")
    assert (await core.reports.open_reports()).count == 0
    since = fake.mark()
    fake.send_message(USER, USER, "Option C is right too", reply_to_message=ask_id)
    thanks = await fake.wait_for_call("sendMessage", chat_id=USER, since=since)
    assert "Thank you! Your report on “fixture-q3”" in str(thanks.params["text"])
    found = await core.reports.open_reports()
    assert found.count == 1
    report = found.newest[0]
    assert (report.question_id, report.text, report.user_platform) == (
        "fixture-q3",
        "Option C is right too",
        "telegram",
    )
    stats = await say(fake, "/admin stats")
    assert "Open problem reports: 1" in stats
    assert "<code>fixture-q3</code>" in stats and "Option C is right too" in stats
    # The operators' command line lists it, and closes it.
    env = clean_env(
        STUDYBOT_DATABASE=str(hinted.database), STUDYBOT_CONTENT_DIR=str(hinted.content_dir)
    )
    listed = studybot("content", "reports", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "1 open report(s)" in listed.stdout
    assert "fixture-q3" in listed.stdout and "Option C is right too" in listed.stdout
    closed = studybot("content", "reports", "--close", str(report.id), env=env, cwd=tmp_path)
    assert closed.returncode == 0, closed.stderr
    assert (await core.reports.open_reports()).count == 0
    assert studybot("content", "reports", "--close", "99", env=env, cwd=tmp_path).returncode == 1


async def test_console_hint_report_and_answer_run_without_a_runner(core: Core) -> None:
    out = io.StringIO()
    c = Console(core, stdin=io.StringIO(""), stdout=out, user="tester")
    await c.handle("/hint")
    await c.handle("/question nn")
    await c.handle("/hint")
    await c.handle("/report")
    await c.handle("/report  The explanation counts from zero ")
    await c.handle("/answer run")
    await c.handle("/question tensors")
    await c.handle("/hint")
    text = out.getvalue()
    assert "No question yet" in text
    assert f"💡 {HINT_EN}" in text
    assert "Say what is wrong" in text
    assert "Thank you! Your report on “fixture-q3”" in text
    assert "/run is not available" in text
    assert "This question has no hint." in text
    found = await core.reports.open_reports()
    assert [(r.question_id, r.text, r.user_platform) for r in found.newest] == [
        ("fixture-q3", "The explanation counts from zero", "console")
    ]


async def test_report_in_a_group_mentions_the_reporter_and_takes_only_their_reply(
    bot: App, fake: FakeBotAPI, core: Core
) -> None:
    await say(fake, "/question nn", chat=GROUP, user=USER)
    question = fake.last_message(GROUP)
    query = fake.press_button(GROUP, USER, question.message_id, question.callback_data[0])
    await fake.wait_for_callback_answer(query)
    since = fake.mark()
    fake.press_button(GROUP, USER, question.message_id, text="💡 Show answer")
    await fake.wait_for_call("sendMessage", chat_id=GROUP, since=since)
    reference = fake.last_message(GROUP)
    since = fake.mark()
    fake.press_button(GROUP, USER, reference.message_id, text="⚠ Report a problem")
    asked = await fake.wait_for_call("sendMessage", chat_id=GROUP, since=since)
    assert f"tg://user?id={USER}" in str(asked.params["text"])
    assert asked.params["reply_markup"]["selective"] is True
    ask_id = int(asked.result["message_id"])
    fake.send_message(GROUP, USER + 7, "hijack", reply_to_message=ask_id, chat_type="supergroup")
    since = fake.mark()
    fake.send_message(GROUP, USER, "The quiz stem is ambiguous", reply_to_message=ask_id)
    thanks = await fake.wait_for_call("sendMessage", chat_id=GROUP, since=since)
    assert "Thank you" in str(thanks.params["text"])
    found = await core.reports.open_reports()
    assert [r.text for r in found.newest] == ["The quiz stem is ambiguous"]


async def test_a_report_reply_after_a_restart_is_still_filed(
    hinted: Settings, clock: FixedClock, fake: FakeBotAPI
) -> None:
    async with open_core(hinted, clock=clock) as core, running(core, fake):
        await say(fake, "/question nn")
        question = fake.last_message(USER)
        since = fake.mark()
        fake.press_button(USER, USER, question.message_id, text="💡 Show answer")
        await fake.wait_for_call("sendMessage", since=since)
        reference = fake.last_message(USER)
        since = fake.mark()
        fake.press_button(USER, USER, reference.message_id, text="⚠ Report a problem")
        asked = await fake.wait_for_call("sendMessage", chat_id=USER, since=since)
    async with open_core(hinted, clock=clock) as core, running(core, fake):
        since = fake.mark()
        fake.send_message(USER, USER, "Option C too", reply_to_message=asked.result["message_id"])
        thanks = await fake.wait_for_call("sendMessage", chat_id=USER, since=since)
        assert "fixture-q3" in str(thanks.params["text"])
        assert [r.text for r in (await core.reports.open_reports()).newest] == ["Option C too"]


async def test_console_report_after_an_exercise_is_about_the_exercise(
    hinted: Settings, clock: FixedClock
) -> None:
    exercises = load_exercises(CONTENT_DIR)
    async with open_core(hinted, clock=clock, exercises=exercises) as core:
        out = io.StringIO()
        c = Console(core, stdin=io.StringIO(""), stdout=out, user="tester")
        await c.handle("/question nn")
        await c.handle("/exercise softmax")
        await c.handle("/report The tests accept a wrong shape")
        await c.handle("/question nn")
        await c.handle("/report The stem is ambiguous")
        text = out.getvalue()
        found = await core.reports.open_reports()
    softmax = exercises.get("softmax")
    assert softmax is not None
    assert f"Your report on “{softmax.title.get('en')}”" in text
    assert "Your report on “fixture-q3”" in text
    assert sorted((r.question_id, r.text) for r in found.newest) == [
        ("exercise:softmax", "The tests accept a wrong shape"),
        ("fixture-q3", "The stem is ambiguous"),
    ]

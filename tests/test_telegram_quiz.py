"""Group quizzes end to end: the real PTB Application against the fake Bot API.

The bot's clock is injected and the fake dates its messages by the same clock, so answer
times are exact; a poll's deadline is reached by moving the clock and firing due timers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.adapters.telegram.flood import FloodLimiter
from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.services.quiz_votes import EARLY_CLOSE_GRACE
from tests.fakebotapi import Call, FakeBotAPI
from tests.test_telegram import TOKEN, running

App = Application[Any, Any, Any, Any, Any, Any]

GROUP = -100777
ALICE, BOB, CAROL = 501, 502, 503
FIXTURES = Path(__file__).parent / "fixtures" / "bank"

CODE_QUESTION = """\
id: fixture-q4
topic: deployment
difficulty: easy
tags: [fixture]
source: original
zh:
  question: 测试问题 4？
  answer: |
    **答案** 2
  quiz:
    question: "下面的代码输出什么？\\nprint(1 + 1)"
    options: ["1", "2", "11", "报错"]
    correct: 1
    explanation: 1 + 1 等于 2。
en:
  question: Fixture question 4?
  answer: |
    **Answer** 2
  quiz:
    question: "What does this code print?\\nprint(1 + 1)"
    options: ["1", "2", "11", "error"]
    correct: 1
    explanation: 1 + 1 is 2.
"""


@pytest.fixture
def quiz_settings(make_settings: Callable[..., Settings], tmp_path: Path) -> Settings:
    """Settings on the fixture bank plus one question whose quiz asks about code."""
    bank = tmp_path / "bank"
    shutil.copytree(FIXTURES, bank)
    (bank / "questions" / "fixture-q4.yaml").write_text(CODE_QUESTION, encoding="utf-8")
    return make_settings(STUDYBOT_CONTENT_DIR=str(bank), STUDYBOT_QUIZ_SECONDS="30")


@pytest.fixture
async def fake(clock: FixedClock) -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN, clock=lambda: clock.now().timestamp()) as api:
        for user, name in ((ALICE, "Alice"), (BOB, "Bob <b>"), (CAROL, "Carol")):
            api.set_user(user, first_name=name, language_code="en")
        yield api


@pytest.fixture
async def core(quiz_settings: Settings, clock: FixedClock) -> AsyncIterator[Core]:
    async with open_core(quiz_settings, clock=clock) as c:
        yield c


@pytest.fixture
async def bot(core: Core, fake: FakeBotAPI) -> AsyncIterator[App]:
    async with running(core, fake) as app:
        yield app


def say(fake: FakeBotAPI, text: str, user: int = ALICE, chat: int = GROUP) -> int:
    """Send a message as a member of the group; return the mark before it."""
    since = fake.mark()
    kind = "supergroup" if chat < 0 else "private"
    fake.send_message(chat, user, text, chat_type=kind, chat_title="Study group")
    return since


async def reply_to(fake: FakeBotAPI, text: str, user: int = ALICE, chat: int = GROUP) -> str:
    since = say(fake, text, user, chat)
    call = await fake.wait_for_call("sendMessage", chat_id=chat, since=since)
    return str(call.params["text"])


async def next_poll(fake: FakeBotAPI, since: int, chat: int = GROUP) -> Call:
    return await fake.wait_for_call("sendPoll", chat_id=chat, since=since)


def poll_id(call: Call) -> str:
    return str(call.result["poll"]["id"])


def correct(call: Call) -> int:
    ids = call.params["correct_option_ids"]
    return int((json.loads(ids) if isinstance(ids, str) else ids)[0])


def wrong(call: Call) -> int:
    return (correct(call) + 1) % 4


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until the bot has processed an update (the poll answers send nothing back)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def answers(core: Core) -> int:
    row = await core.db.fetchone("SELECT COUNT(*) FROM quiz_answers")
    return int(row[0]) if row else 0


async def vote(
    core: Core, fake: FakeBotAPI, poll: Call, user: int, option: int, after: float = 0
) -> None:
    """Move the clock `after` seconds, vote, and wait until the vote is stored."""
    clock = core.clock
    assert isinstance(clock, FixedClock)
    clock.set(clock.now() + timedelta(seconds=after))
    before = await answers(core)
    fake.answer_poll(poll_id(poll), user, [option])

    async def stored() -> bool:
        return await answers(core) > before

    await until(stored, f"the vote of {user}")


def raw_vote(fake: FakeBotAPI, poll: Call, user: int, options: list[int]) -> None:
    """Queue a poll_answer as Telegram would send it, whatever the poll's state in the fake."""
    fake.inject_update(
        {
            "poll_answer": {
                "poll_id": poll_id(poll),
                "user": fake.set_user(user),
                "option_ids": options,
                "option_persistent_ids": [str(o) for o in options],
            }
        }
    )


async def next_poll_scheduled(core: Core) -> None:
    """Wait until an early close has set the timer of the next poll (it follows 3 s later)."""

    async def scheduled() -> bool:
        row = await core.db.fetchone(
            "SELECT id FROM quiz_sessions WHERE status = 'running' AND next_at IS NOT NULL"
        )
        return row is not None and core.timers.when(f"quiz:{row['id']}") is not None

    await until(scheduled, "the next poll's timer")


async def closing_soon(core: Core, polls: int = 1) -> None:
    """Wait until everybody's answers started the grace of `polls` group polls.

    Their deadlines moved up, and each session's timer waits for the new one.
    """

    async def moved() -> bool:
        rows = await core.db.fetchall(
            "SELECT p.deadline, p.sent_at, s.open_seconds, s.id FROM quiz_polls p"
            " JOIN quiz_sessions s ON s.id = p.session_id WHERE p.status = 'open'"
        )
        graced = 0
        for deadline, sent_at, seconds, session in rows:
            full = datetime.fromisoformat(sent_at) + timedelta(seconds=seconds)
            end = datetime.fromisoformat(deadline)
            graced += end < full and core.timers.when(f"quiz:{session}") == end
        return graced >= polls

    await until(moved, f"the grace of {polls} answered poll(s)")


async def advance(core: Core, seconds: float) -> None:
    """Move the clock and fire the timers that became due."""
    clock = core.clock
    assert isinstance(clock, FixedClock)
    clock.set(clock.now() + timedelta(seconds=seconds))
    await core.timers.run_due()


async def test_quiz_3_in_a_group_scores_two_members_with_ranks_and_times(
    bot: App, fake: FakeBotAPI, core: Core
) -> None:
    since = say(fake, "/quiz 3")
    intro = await fake.wait_for_call("sendMessage", chat_id=GROUP, since=since)
    assert "Quiz: 3 questions" in str(intro.params["text"])
    first = await next_poll(fake, since)
    assert first.params["type"] == "quiz"
    assert first.params["is_anonymous"] in (False, "false", "False")
    assert int(first.params["open_period"]) == 30
    assert str(first.params["question"]).startswith("[1/3] ")
    assert first.params["explanation"]

    # A group's first poll runs its full period, however many have answered.
    await vote(core, fake, first, ALICE, correct(first), after=4)
    await vote(core, fake, first, BOB, wrong(first), after=6)
    assert not fake.calls("stopPoll")
    mark = fake.mark()
    await advance(core, 21)  # 31 s after it was sent: past the deadline
    await fake.wait_for_call("stopPoll", chat_id=GROUP, since=mark)
    second = await next_poll(fake, mark)
    assert str(second.params["question"]).startswith("[2/3] ")

    # Both players answered: the poll stays open EARLY_CLOSE_GRACE more for a member who has
    # not played yet, and Carol's vote in it counts; then it closes and the next follows.
    await vote(core, fake, second, BOB, correct(second), after=2)
    mark = fake.mark()
    await vote(core, fake, second, ALICE, correct(second), after=3)
    await closing_soon(core)
    await vote(core, fake, second, CAROL, correct(second), after=4)  # 9 s: a latecomer
    assert not [c for c in fake.calls("stopPoll") if c.seq >= mark]
    await advance(core, EARLY_CLOSE_GRACE.total_seconds() - 4)  # the grace ends
    await fake.wait_for_call("stopPoll", chat_id=GROUP, since=mark)
    third = await next_poll(fake, mark)

    await vote(core, fake, third, ALICE, correct(third), after=1)
    await vote(core, fake, third, BOB, correct(third), after=1)
    mark = fake.mark()
    await vote(core, fake, third, CAROL, wrong(third), after=1)
    await closing_soon(core)
    await advance(core, EARLY_CLOSE_GRACE.total_seconds())
    board = await fake.wait_for_call("sendMessage", chat_id=GROUP, since=mark)
    text = str(board.params["text"])
    lines = text.splitlines()
    assert "Quiz over: 3 questions" in lines[0]
    # Alice: 3/3 in (4 + 5 + 1) / 3 s; Bob: 2/3 in (10 + 2 + 2) / 3 s; names escaped; Carol
    # joined at the second question: 1/3 in (9 + 3) / 2 s.
    assert lines[1] == "🥇 Alice — 3/3 · 3.3 s"
    assert lines[2] == "🥈 Bob &lt;b&gt; — 2/3 · 4.7 s"
    assert lines[3] == "🥉 Carol — 1/3 · 6.0 s"
    # Every answer counted as an attempt of its user, with a streak in the user's zone.
    rows = await core.db.fetchall("SELECT source, COUNT(*) AS n FROM attempts GROUP BY source")
    assert {r["source"]: r["n"] for r in rows} == {"quiz": 8}
    since = say(fake, "/stats", BOB, BOB)
    picture = await fake.wait_for_call("sendPhoto", chat_id=BOB, since=since)
    assert "Accuracy: 67% (2/3)" in str(picture.params["caption"])
    assert "Streak: 1 day" in await reply_to(fake, "/streak", BOB, BOB)


async def test_late_retracted_and_second_answers_change_nothing(
    bot: App, fake: FakeBotAPI, core: Core
) -> None:
    since = say(fake, "/quiz 2")
    first = await next_poll(fake, since)
    await vote(core, fake, first, ALICE, wrong(first), after=2)
    # A second poll_answer from the same user (a duplicate update) is ignored.
    raw_vote(fake, first, ALICE, [correct(first)])
    # A retracted vote (no options) counts for nothing.
    raw_vote(fake, first, BOB, [])
    await fake.wait_for_updates_consumed()
    mark = fake.mark()
    await advance(core, 30)
    second = await next_poll(fake, mark)
    # A vote on the first poll arriving after its close does not count either.
    raw_vote(fake, first, BOB, [correct(first)])
    await fake.wait_for_updates_consumed()
    mark = fake.mark()
    # Alice, the only player, answered: after the grace the last poll closes, the board follows.
    await vote(core, fake, second, ALICE, correct(second), after=1)
    await closing_soon(core)
    await advance(core, EARLY_CLOSE_GRACE.total_seconds())
    board = await fake.wait_for_call("sendMessage", chat_id=GROUP, since=mark)
    lines = str(board.params["text"]).splitlines()
    assert lines[1:] == ["🥇 Alice — 1/2 · 1.5 s"]
    rows = await core.db.fetchall("SELECT user_id, correct FROM quiz_answers ORDER BY id")
    assert [(r["user_id"], r["correct"]) for r in rows] == [(1, 0), (1, 1)]
    assert len(await core.db.fetchall("SELECT * FROM attempts")) == 2


async def test_stopquiz_refused_for_others_and_admin_ends_with_partial_board(
    bot: App, fake: FakeBotAPI, core: Core
) -> None:
    since = say(fake, "/quiz 3")
    first = await next_poll(fake, since)
    await vote(core, fake, first, BOB, correct(first), after=5)
    refused = await reply_to(fake, "/stopquiz", CAROL)
    assert "Only whoever started the quiz or a group admin" in refused
    # A second /quiz says one is running, in reply to the current poll.
    since = say(fake, "/quiz", BOB)
    busy = await fake.wait_for_call("sendMessage", chat_id=GROUP, since=since)
    assert "already running" in str(busy.params["text"])
    raw = busy.params["reply_parameters"]
    replied = json.loads(raw) if isinstance(raw, str) else raw
    assert replied["message_id"] == first.result["message_id"]
    fake.set_chat_member_status(GROUP, CAROL, "administrator")
    since = say(fake, "/stopquiz", CAROL)
    await fake.wait_for_call("stopPoll", chat_id=GROUP, since=since)
    board = await fake.wait_for_call("sendMessage", chat_id=GROUP, since=since)
    lines = str(board.params["text"]).splitlines()
    assert lines[0] == "<b>⏹ Quiz stopped after 1 question.</b>"
    assert lines[1] == "🥇 Bob &lt;b&gt; — 1/1 · 5.0 s"
    assert "No quiz is running" in await reply_to(fake, "/stopquiz", CAROL)
    assert await core.quiz.running(await chat_of(core, GROUP)) is None


async def chat_of(core: Core, external: int) -> Any:
    chat = await core.repos.chats.by_external("telegram", str(external))
    assert chat is not None
    return chat


async def test_bad_quiz_arguments_get_the_usage(bot: App, fake: FakeBotAPI) -> None:
    for text in ("/quiz 0", "/quiz 21", "/quiz 3 4", "/quiz 2 ?!", "/leaderboard year"):
        reply = await reply_to(fake, text)
        assert reply.startswith("Usage: /quiz") or reply.startswith("Usage: /leaderboard"), text
    for text in ("/quiz 5 astrology", "/quiz 2 nonsense", "/quiz nonsense 2"):
        reply = await reply_to(fake, text)
        word = text.split()[1] if not text.split()[1].isdigit() else text.split()[2]
        assert reply.startswith(f"Unknown topic “{word}”. See /topics"), (text, reply)
    assert not fake.calls("sendPoll")


async def test_restart_mid_session_finishes_with_correct_board_and_no_poll_twice(
    fake: FakeBotAPI, quiz_settings: Settings, clock: FixedClock
) -> None:
    async with open_core(quiz_settings, clock=clock) as core, running(core, fake):
        since = say(fake, "/quiz 3")
        first = await next_poll(fake, since)
        await vote(core, fake, first, ALICE, correct(first), after=2)
        await vote(core, fake, first, BOB, correct(first), after=2)
        mark = fake.mark()
        await advance(core, 27)
        second = await next_poll(fake, mark)
        await vote(core, fake, second, ALICE, correct(second), after=10)
    # Down while the second poll is open: it keeps its deadline when the bot comes back.
    async with open_core(quiz_settings, clock=clock) as core, running(core, fake):
        await vote(core, fake, second, BOB, wrong(second), after=5)
        mark = fake.mark()
        await closing_soon(core)
        await advance(core, EARLY_CLOSE_GRACE.total_seconds())
        third = await next_poll(fake, mark)
    # Down again, and the third poll closes while the bot is down: the session just ends.
    clock.set(clock.now() + timedelta(seconds=60))
    mark = fake.mark()
    async with open_core(quiz_settings, clock=clock) as core, running(core, fake):
        board = await fake.wait_for_call("sendMessage", chat_id=GROUP, since=mark)
        lines = str(board.params["text"]).splitlines()
        assert lines[0] == "<b>🏁 Quiz over: 3 questions.</b>"
        assert lines[1] == "🥇 Alice — 2/3 · 6.0 s"
        assert lines[2] == "🥈 Bob &lt;b&gt; — 1/3 · 9.5 s"
    polls = [c for c in fake.calls("sendPoll") if c.ok]
    assert len(polls) == 3
    assert len({poll_id(p) for p in polls}) == 3
    assert poll_id(third) == poll_id(polls[2])
    assert len({str(p.params["question"]) for p in polls}) == 3  # distinct questions


async def test_code_question_shows_the_code_before_its_poll(bot: App, fake: FakeBotAPI) -> None:
    since = say(fake, "/quiz 1 deployment")
    poll = await next_poll(fake, since)
    code = [c for c in fake.calls("sendMessage", chat_id=GROUP) if c.seq > since][-1]
    assert "<pre><code" in str(code.params["text"])
    assert "print(1 + 1)" in str(code.params["text"])
    assert code.seq < poll.seq
    assert str(poll.params["question"]) == "[1/1] What does this code print?"


async def test_two_groups_at_once_and_leaderboard_after_two_sessions_and_a_daily(
    bot: App, fake: FakeBotAPI, core: Core
) -> None:
    other = GROUP - 1
    since_a = say(fake, "/quiz 1", ALICE, GROUP)
    since_b = say(fake, "/quiz 1", CAROL, other)
    poll_a = await next_poll(fake, since_a, GROUP)
    poll_b = await next_poll(fake, since_b, other)
    await vote(core, fake, poll_a, ALICE, correct(poll_a), after=1)
    await vote(core, fake, poll_a, BOB, correct(poll_a), after=1)
    await vote(core, fake, poll_b, CAROL, wrong(poll_b), after=1)
    mark = fake.mark()
    await advance(core, 30)
    board_a = await fake.wait_for_call("sendMessage", chat_id=GROUP, since=mark)
    board_b = await fake.wait_for_call("sendMessage", chat_id=other, since=mark)
    assert "Alice — 1/1" in str(board_a.params["text"])
    assert "Carol — 0/1" in str(board_b.params["text"])
    # A second session in the first group, and a daily question answered by Bob.
    since = say(fake, "/quiz 1", BOB, GROUP)
    poll = await next_poll(fake, since, GROUP)
    await vote(core, fake, poll, BOB, correct(poll), after=2)
    mark = fake.mark()
    await advance(core, 30)
    await fake.wait_for_call("sendMessage", chat_id=GROUP, since=mark)
    since = say(fake, "/daily", BOB, GROUP)
    daily = await fake.wait_for_call("sendMessage", chat_id=GROUP, since=since)
    message_id = daily.result["message_id"]
    prompt_id = int(
        str(daily.result["reply_markup"]["inline_keyboard"][0][0]["callback_data"]).split(":")[1]
    )
    found = await core.study.prompt(prompt_id)
    assert found is not None
    right = found[1].text("en").quiz.correct
    query = fake.press_button(GROUP, BOB, message_id, f"a:{prompt_id}:{right}")
    await fake.wait_for_callback_answer(query)
    board = await reply_to(fake, "/leaderboard", CAROL, GROUP)
    lines = board.splitlines()
    assert "Leaderboard this week" in lines[0]
    # Bob: two quiz answers and the daily question, all right; Alice: one quiz answer.
    assert lines[1] == "🥇 Bob &lt;b&gt; — 3 correct of 3"
    assert lines[2] == "🥈 Alice — 1 correct of 1"
    assert "Carol" not in board  # she played in the other group only
    # Leaving the boards hides Bob; his own totals stay.
    assert "left the leaderboards" in await reply_to(fake, "/leaderboard off", BOB, GROUP)
    board = await reply_to(fake, "/leaderboard all", CAROL, GROUP)
    assert "Bob" not in board and "🥇 Alice" in board
    totals = await reply_to(fake, "/leaderboard", BOB, BOB)
    assert "Answered: 3" in totals
    assert "In quizzes: 2/2 correct" in totals


async def test_twenty_groups_quizzing_at_once_get_no_429(fake: FakeBotAPI, core: Core) -> None:
    fake.flood_control = True
    groups = [GROUP - i for i in range(20)]
    async with running(core, fake):
        marks = {g: say(fake, "/quiz 2", ALICE, g) for g in groups}
        firsts = {g: await next_poll(fake, marks[g], g) for g in groups}
        for g in groups:
            await vote(core, fake, firsts[g], ALICE, correct(firsts[g]), after=0)
        mark = fake.mark()
        await advance(core, 30)
        seconds = {g: await next_poll(fake, mark, g) for g in groups}
        for g in groups:
            await vote(core, fake, seconds[g], ALICE, correct(seconds[g]))
        await closing_soon(core, len(groups))
        await advance(core, EARLY_CLOSE_GRACE.total_seconds())
        for g in groups:
            board = await fake.wait_for_call(
                "sendMessage",
                lambda c: "Quiz over" in str(c.params["text"]),
                chat_id=g,
                since=mark,
                timeout=30,
            )
            assert "Alice — 2/2" in str(board.params["text"])
    assert fake.flood_errors == 0
    for g in groups:
        sends = fake.sends_to(g)
        assert all(b - a < 60 for a, b in itertools.pairwise(sends))
        assert len(sends) <= 20


async def test_flood_limiter_keeps_a_group_under_its_window(fake: FakeBotAPI) -> None:
    """A group's 20-per-minute rule, with the minute shrunk to 2 s on both sides."""
    fake.flood_control = True
    fake.group_limit = (20, 2.0)
    limiter = FloodLimiter(group=20, group_period=2.0)
    await limiter.initialize()
    from telegram import Bot

    async with Bot(TOKEN, base_url=fake.base_url) as plain:
        from telegram.ext import ExtBot

        bot: ExtBot[Any] = ExtBot(TOKEN, base_url=fake.base_url, rate_limiter=limiter)
        async with bot:
            await asyncio.gather(*(bot.send_message(GROUP, f"m{i}") for i in range(45)))
        assert fake.flood_errors == 0
        # Without the window the same burst is refused.
        results = await asyncio.gather(
            *(plain.send_message(GROUP - 5, f"m{i}") for i in range(25)), return_exceptions=True
        )
        assert fake.flood_errors == 5
        assert sum(isinstance(r, Exception) for r in results) == 5
    sends = fake.sends_to(GROUP)
    assert len(sends) == 45
    for i in range(20, len(sends)):
        assert sends[i] - sends[i - 20] >= 2.0 - 0.01


async def test_poll_that_closed_while_the_bot_was_down_is_followed_by_the_next(
    fake: FakeBotAPI, quiz_settings: Settings, clock: FixedClock
) -> None:
    async with open_core(quiz_settings, clock=clock) as core, running(core, fake):
        since = say(fake, "/quiz 2")
        first = await next_poll(fake, since)
        await vote(core, fake, first, ALICE, correct(first), after=3)
    clock.set(clock.now() + timedelta(minutes=5))
    mark = fake.mark()
    async with open_core(quiz_settings, clock=clock) as core, running(core, fake):
        await fake.wait_for_call("stopPoll", chat_id=GROUP, since=mark)
        second = await next_poll(fake, mark)
        assert str(second.params["question"]).startswith("[2/2] ")
        await vote(core, fake, second, ALICE, correct(second), after=2)
        await closing_soon(core)
        await advance(core, EARLY_CLOSE_GRACE.total_seconds())
        board = await fake.wait_for_call(
            "sendMessage", lambda c: "Quiz over" in str(c.params["text"]), since=mark
        )
        assert "🥇 Alice — 2/2 · 2.5 s" in str(board.params["text"])
    assert len([c for c in fake.calls("sendPoll") if c.ok]) == 2


async def test_quiz_in_a_private_chat_gives_a_personal_result(
    bot: App, fake: FakeBotAPI, core: Core
) -> None:
    since = say(fake, "/quiz 2", ALICE, ALICE)
    first = await next_poll(fake, since, ALICE)
    mark = fake.mark()
    await vote(core, fake, first, ALICE, wrong(first), after=5)
    # The only player answered: the poll closes at once, the next comes 3 s later.
    await fake.wait_for_call("stopPoll", chat_id=ALICE, since=mark)
    await next_poll_scheduled(core)
    await advance(core, 3)
    second = await next_poll(fake, mark, ALICE)
    await vote(core, fake, second, ALICE, correct(second), after=1)
    board = await fake.wait_for_call(
        "sendMessage", lambda c: "Quiz over" in str(c.params["text"]), chat_id=ALICE, since=mark
    )
    assert "Your result: 1/2 correct · mean answer time 3.0 s" in str(board.params["text"])

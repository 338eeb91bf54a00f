"""Study and daily services on a real database with an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.errors import UserInputError
from bot.services.sending import ChatGone, SendFailed, SendRefused, SendUncertain
from bot.services.study import Context, Shown
from bot.storage.records import Chat


async def private(core: Core, uid: str = "u1", code: str | None = "en") -> Context:
    return await core.study.enter(
        platform="test",
        user_id=uid,
        user_name="Ann",
        language_code=code,
        chat_id=uid,
        chat_type="private",
    )


async def test_language_from_language_code(core: Core) -> None:
    assert (await private(core, "a", "zh-hans")).lang == "zh"
    assert (await private(core, "b", "de")).lang == "en"
    assert (await private(core, "c", None)).lang == "en"


async def test_an_update_from_someone_known_writes_nothing(core: Core) -> None:
    # Every update resolves its user and chat; a write there would queue behind the daily
    # fan-out's writes (one lock) and delay the answer to a button.
    first = await private(core, "w1")
    before = core.db.writes
    again = await private(core, "w1")
    assert core.db.writes == before
    assert (again.user, again.chat) == (first.user, first.chat)
    renamed = await core.study.enter(
        platform="test",
        user_id="w1",
        user_name="Ann B",
        language_code="en",
        chat_id="w1",
        chat_type="private",
    )
    assert core.db.writes == before + 1  # one write for the new name, none for the chat
    assert renamed.user.name == "Ann B"


async def test_first_sight_writes_the_language_with_the_user(core: Core) -> None:
    before = core.db.writes
    ctx = await private(core, "w2", "zh-hans")
    assert ctx.user.language == "zh"
    assert core.db.writes == before + 2  # the user (with language) and the chat


async def test_no_repeats_until_pool_exhausted_and_deterministic(core: Core) -> None:
    ctx = await private(core)
    seen = [(await core.study.show(ctx, "question")).question.id for _ in range(3)]
    assert sorted(seen) == ["fixture-q1", "fixture-q2", "fixture-q3"]
    fourth = (await core.study.show(ctx, "question")).question.id
    assert fourth in seen


async def test_picks_are_deterministic_given_the_history(
    make_settings: Callable[..., Settings], clock: FixedClock, tmp_path: Path
) -> None:
    sequences = []
    for name in ("a", "b"):
        settings = make_settings(STUDYBOT_DATABASE=str(tmp_path / f"{name}.db"))
        async with open_core(settings, clock=clock) as other:
            ctx = await private(other)
            sequences.append(
                [(await other.study.show(ctx, "question")).question.id for _ in range(6)]
            )
    assert sequences[0] == sequences[1]


async def test_topic_filter_and_unknown_topic(core: Core) -> None:
    ctx = await private(core)
    for _ in range(3):
        assert (await core.study.show(ctx, "question", "nn")).question.topic == "nn"
    with pytest.raises(UserInputError) as err:
        await core.study.show(ctx, "question", "nosuchtopic")
    assert err.value.key == "unknown_topic"
    with pytest.raises(UserInputError):
        await core.study.show(ctx, "question", "autograd")  # known topic, no questions


async def test_grading_records_and_refuses_second_answer(core: Core) -> None:
    ctx = await private(core)
    shown = await core.study.show(ctx, "question")
    right = shown.question.en.quiz.correct
    result = await core.study.answer(ctx, shown.prompt.id, right)
    assert result.status == "recorded" and result.correct and result.streak is not None
    again = await core.study.answer(ctx, shown.prompt.id, (right + 1) % 4)
    assert again.status == "already" and again.chosen == right
    assert (await core.study.answer(ctx, 99999, 0)).status == "stale"
    assert (await core.study.answer(ctx, shown.prompt.id, 7)).status == "stale"
    stats = await core.study.stats(ctx)
    assert (stats.answered, stats.correct, stats.days) == (1, 1, 1)


async def test_settings_validation(core: Core) -> None:
    ctx = await private(core)
    with pytest.raises(UserInputError, match="usage_subscribe"):
        await core.study.subscribe(ctx, "25:99")
    with pytest.raises(UserInputError, match="unknown_timezone") as unknown:
        await core.study.set_timezone(ctx, "Mars/Olympus")
    assert unknown.value.params == {"zone": "Mars/Olympus", "suggestions": []}
    with pytest.raises(UserInputError) as close:
        await core.study.set_timezone(ctx, "Europe/Berln")
    assert close.value.params["suggestions"][0] == "Europe/Berlin"  # type: ignore[index]
    assert (await core.study.set_timezone(ctx, "europe/berlin")).user_zone == "Europe/Berlin"
    with pytest.raises(UserInputError, match="usage_lang"):
        await core.study.set_language(ctx, "xx")
    chat = await core.study.subscribe(ctx, "7:05")
    assert chat.subscribed
    assert chat.daily_time == "07:05"


class Recorder:
    def __init__(self, fail: Exception | None = None) -> None:
        self.sent: list[Shown] = []
        self.fail = fail

    async def __call__(self, chat: Chat, shown: Shown) -> str:
        if self.fail is not None:
            raise self.fail
        self.sent.append(shown)
        return str(len(self.sent))


async def test_daily_exactly_once_per_local_day(core: Core, clock: FixedClock) -> None:
    ctx = await private(core)
    await core.study.set_timezone(ctx, "Asia/Shanghai")
    chat = await core.study.subscribe(ctx, "09:00")
    send = Recorder()
    clock.set(datetime(2026, 3, 10, 0, 30, tzinfo=UTC))  # 08:30 in Shanghai
    assert (await core.daily.deliver(chat.id, send)).status == "not_due"
    clock.set(datetime(2026, 3, 10, 1, 0, tzinfo=UTC))  # 09:00
    assert (await core.daily.deliver(chat.id, send)).status == "sent"
    assert (await core.daily.deliver(chat.id, send)).status == "already"
    assert not await core.daily.is_pending(chat)
    clock.set(datetime(2026, 3, 11, 1, 0, tzinfo=UTC))
    assert await core.daily.is_pending(chat)
    assert (await core.daily.deliver(chat.id, send)).status == "sent"
    assert len(send.sent) == 2 and send.sent[0].question.id != send.sent[1].question.id


async def test_daily_on_request_counts_as_todays(core: Core, clock: FixedClock) -> None:
    ctx = await private(core)
    chat = await core.study.subscribe(ctx, "09:00")
    clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
    send = Recorder()
    assert (await core.daily.today(ctx, send)).status == "sent"
    assert (await core.daily.today(ctx, send)).status == "repeated"  # same question again
    assert send.sent[0].question.id == send.sent[1].question.id
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    assert (await core.daily.deliver(chat.id, send)).status == "already"
    assert len(send.sent) == 2


async def test_gone_chat_is_unsubscribed_and_failed_send_retried(
    core: Core, clock: FixedClock
) -> None:
    ctx = await private(core)
    chat = await core.study.subscribe(ctx, "09:00")
    clock.set(datetime(2026, 3, 10, 10, 0, tzinfo=UTC))
    assert (await core.daily.deliver(chat.id, Recorder(SendFailed("net")))).status == "failed"
    assert await core.daily.is_pending(chat)
    assert (await core.daily.deliver(chat.id, Recorder())).status == "sent"
    clock.set(datetime(2026, 3, 11, 10, 0, tzinfo=UTC))
    assert (await core.daily.deliver(chat.id, Recorder(ChatGone("blocked")))).status == "gone"
    assert not (await core.repos.chats.get(chat.id)).subscribed  # type: ignore[union-attr]


async def test_subscribe_with_topic_filter_limits_daily(core: Core, clock: FixedClock) -> None:
    ctx = await private(core)
    chat = await core.study.subscribe_args(ctx, ["08:00", "nn"])
    assert (chat.daily_time, chat.topic_filter) == ("08:00", "nn")
    clock.set(datetime(2026, 3, 10, 8, 0, tzinfo=UTC))
    send = Recorder()
    await core.daily.deliver(chat.id, send)
    assert send.sent[0].question.topic == "nn"
    chat = await core.study.subscribe_args(ctx, ["all"])
    assert chat.topic_filter is None
    with pytest.raises(UserInputError, match="unknown_topic"):
        await core.study.subscribe_args(ctx, ["nosuchtopic"])


async def test_concurrent_requests_send_one_daily_question(core: Core, clock: FixedClock) -> None:
    ctx = await private(core)
    chat = await core.study.subscribe(ctx, "09:00")
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    send = Recorder()
    outcomes = await asyncio.gather(
        core.daily.deliver(chat.id, send),
        core.daily.today(ctx, send),
        core.daily.deliver(chat.id, send),
    )
    assert sorted(o.status for o in outcomes) == ["already", "repeated", "sent"]
    # The job and /daily both ran: the same prompt was shown at most twice, sent once as new.
    assert len({s.prompt.id for s in send.sent}) == 1


async def test_crash_while_sending_never_resends(core: Core, clock: FixedClock) -> None:
    ctx = await private(core)
    chat = await core.study.subscribe(ctx, "09:00")
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    # The process dies in the middle of sending: the claim stays "sending".
    assert await core.repos.deliveries.claim(chat.id, date(2026, 3, 10), "fixture-q1", clock.now())
    send = Recorder()
    assert (await core.daily.deliver(chat.id, send)).status == "already"
    assert not await core.daily.is_pending(chat)
    assert send.sent == []


async def test_uncertain_send_counts_as_sent_and_refused_gives_up(
    core: Core, clock: FixedClock
) -> None:
    ctx = await private(core)
    chat = await core.study.subscribe(ctx, "09:00")
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    assert (
        await core.daily.deliver(chat.id, Recorder(SendUncertain("timed out")))
    ).status == "sent"
    assert not await core.daily.is_pending(chat)
    clock.set(datetime(2026, 3, 11, 9, 0, tzinfo=UTC))
    refused = await core.daily.deliver(chat.id, Recorder(SendRefused("no rights")))
    assert refused.status == "refused"
    assert not await core.daily.is_pending(chat)
    assert (await core.repos.chats.get(chat.id)).subscribed  # type: ignore[union-attr]


async def test_crash_leftover_is_counted_and_sent_when_asked(core: Core, clock: FixedClock) -> None:
    ctx = await private(core)
    chat = await core.study.subscribe(ctx, "09:00")
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    assert await core.repos.deliveries.claim(chat.id, date(2026, 3, 10), "fixture-q1", clock.now())
    assert await core.daily.interrupted() == 1
    send = Recorder()
    assert (await core.daily.deliver(chat.id, send)).status == "already"  # never automatically
    assert (await core.daily.today(ctx, send)).status == "sent"  # but a member may ask
    assert len(send.sent) == 1
    assert await core.daily.interrupted() == 0

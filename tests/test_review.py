"""Cards on the FSRS schedule and personal review, on a real database with an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.errors import UserInputError
from bot.services.cards import LEECH_LAPSES, workload
from bot.services.study import Context, Shown


async def private(core: Core, uid: str = "u1") -> Context:
    return await core.study.enter(
        platform="test",
        user_id=uid,
        user_name="Ann",
        language_code="en",
        chat_id=uid,
        chat_type="private",
    )


async def answer(core: Core, ctx: Context, shown: Shown, right: bool) -> None:
    quiz = shown.question.text(shown.lang).quiz
    wrong = (quiz.correct + 1) % len(quiz.options)
    result = await core.study.answer(ctx, shown.prompt.id, quiz.correct if right else wrong)
    assert result.status == "recorded"


async def test_a_wrong_answer_comes_back_after_a_minute(core: Core, clock: FixedClock) -> None:
    ctx = await private(core)
    shown = await core.study.show(ctx, "question")
    await answer(core, ctx, shown, right=False)
    assert await core.review.next(ctx) is None
    clock.set(clock.now() + timedelta(seconds=59))
    assert await core.review.next(ctx) is None
    clock.set(clock.now() + timedelta(seconds=1))
    again = await core.review.next(ctx)
    assert again is not None
    assert again.question.id == shown.question.id
    assert again.prompt.kind == "review"


async def test_a_right_answer_comes_back_days_later(core: Core, clock: FixedClock) -> None:
    ctx = await private(core)
    shown = await core.study.show(ctx, "daily")
    await answer(core, ctx, shown, right=True)
    # Good on a new card: the next learning step (10 minutes), then days once it graduates.
    clock.set(clock.now() + timedelta(minutes=10))
    step = await core.review.next(ctx)
    assert step is not None
    await answer(core, ctx, step, right=True)
    summary = await core.review.summary(ctx)
    assert summary.next_due is not None
    assert summary.next_due - clock.now() >= timedelta(days=1)
    clock.set(summary.next_due - timedelta(minutes=1))
    assert await core.review.next(ctx) is None
    clock.set(summary.next_due)
    assert await core.review.next(ctx) is not None


async def test_quiz_and_question_answers_count_for_the_same_card(
    core: Core, clock: FixedClock
) -> None:
    ctx = await private(core)
    shown = await core.study.show(ctx, "question")
    await answer(core, ctx, shown, right=False)
    quiz = await core.study.show_question(ctx.chat, shown.question, "quiz", "en")
    await answer(core, ctx, quiz, right=False)
    summary = await core.review.summary(ctx)
    assert summary.cards == 1
    assert summary.due_today == 1


async def test_most_overdue_first_and_until_none_is_due(core: Core, clock: FixedClock) -> None:
    ctx = await private(core)
    first = await core.study.show(ctx, "question")
    await answer(core, ctx, first, right=False)
    clock.set(clock.now() + timedelta(seconds=30))
    second = await core.study.show(ctx, "question")
    await answer(core, ctx, second, right=False)
    clock.set(clock.now() + timedelta(minutes=5))
    served = []
    while (card := await core.review.next(ctx)) is not None:
        served.append(card.question.id)
        await answer(core, ctx, card, right=True)
    assert served == [first.question.id, second.question.id]
    summary = await core.review.summary(ctx)
    assert summary.due_today == 2  # both come back after the 10-minute step, still today
    assert summary.next_due is not None
    assert summary.next_due > clock.now()


async def test_nothing_learned_yet(core: Core) -> None:
    ctx = await private(core)
    assert await core.review.next(ctx) is None
    summary = await core.review.summary(ctx)
    assert (summary.cards, summary.due_today, summary.next_due) == (0, 0, None)


@pytest.mark.parametrize(
    ("grade", "soonest", "latest"),
    [
        ("again", timedelta(minutes=1), timedelta(minutes=1)),
        ("hard", timedelta(minutes=5), timedelta(minutes=6)),  # halfway between the steps
        ("good", timedelta(minutes=10), timedelta(minutes=10)),
        ("easy", timedelta(days=2), timedelta(days=60)),
    ],
)
async def test_self_rating_after_reading_the_answer(
    core: Core, clock: FixedClock, grade: str, soonest: timedelta, latest: timedelta
) -> None:
    ctx = await private(core)
    shown = await core.study.show(ctx, "question")
    assert await core.review.may_rate_self(ctx, shown.prompt.id)
    rated = await core.review.rate_self(ctx, shown.prompt.id, grade)
    assert rated.status == "rated"
    assert rated.card is not None
    assert soonest <= rated.card.card.due - clock.now() <= latest
    assert (await core.review.rate_self(ctx, shown.prompt.id, "easy")).status == "already"
    assert not await core.review.may_rate_self(ctx, shown.prompt.id)


async def test_no_self_rating_after_answering_or_for_another_chat(core: Core) -> None:
    ctx = await private(core)
    shown = await core.study.show(ctx, "question")
    other = await private(core, "u2")
    assert (await core.review.rate_self(other, shown.prompt.id, "good")).status == "stale"
    assert (await core.review.rate_self(ctx, shown.prompt.id, "great")).status == "stale"
    await answer(core, ctx, shown, right=True)
    assert (await core.review.rate_self(ctx, shown.prompt.id, "good")).status == "answered"


async def test_a_leech_leaves_the_queue(core: Core, clock: FixedClock) -> None:
    ctx = await private(core)
    shown = await core.study.show(ctx, "question")
    results = []
    for _ in range(LEECH_LAPSES):
        quiz = shown.question.text("en").quiz
        wrong = (quiz.correct + 1) % len(quiz.options)
        result = await core.study.answer(ctx, shown.prompt.id, wrong)
        results.append(result.card)
        clock.set(clock.now() + timedelta(minutes=15))
        card = await core.review.next(ctx)
        if card is not None:
            shown = card
    assert all(r is not None for r in results)
    became = [r.became_leech for r in results if r is not None]
    assert became == [False] * (LEECH_LAPSES - 1) + [True]
    assert await core.review.next(ctx) is None
    assert (await core.review.summary(ctx)).due_today == 0


async def test_retention_per_user(core: Core) -> None:
    ctx = await private(core)
    assert core.review.retention(ctx) == 0.9
    lower = await core.review.set_retention(ctx, "0.85")
    assert lower.retention == 0.85
    assert lower.workload < 1
    ctx = await private(core)
    assert core.review.retention(ctx) == 0.85
    higher = await core.review.set_retention(ctx, "95%")
    assert higher.retention == 0.95
    assert higher.workload > 1.5
    for bad in ("0.5", "0.99", "lots"):
        with pytest.raises(UserInputError):
            await core.review.set_retention(ctx, bad)
    await core.review.set_retention(ctx, "default")
    assert core.review.retention(await private(core)) == 0.9


async def test_retention_setting_and_its_effect_on_intervals(
    make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    async with open_core(make_settings(STUDYBOT_RETENTION="0.8"), clock=clock) as core:
        ctx = await private(core)
        assert core.review.retention(ctx) == 0.8
        shown = await core.study.show(ctx, "question")
        low = await core.review.rate_self(ctx, shown.prompt.id, "easy")
        await core.review.set_retention(ctx, "0.97")
        ctx = await private(core)
        shown = await core.study.show(ctx, "question")
        high = await core.review.rate_self(ctx, shown.prompt.id, "easy")
    assert low.card is not None
    assert high.card is not None
    assert high.card.card.due < low.card.card.due


def test_workload_grows_with_retention() -> None:
    assert workload(0.9, 0.9) == pytest.approx(1.0)
    assert workload(0.8, 0.9) < 1 < workload(0.95, 0.9)


async def test_cards_are_stored_in_utc(core: Core, clock: FixedClock) -> None:
    clock.set(datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    ctx = await private(core)
    shown = await core.study.show(ctx, "question")
    await answer(core, ctx, shown, right=False)
    summary = await core.review.summary(ctx)
    assert summary.next_due == datetime(2026, 3, 10, 23, 31, tzinfo=UTC)


async def daily(core: Core, ctx: Context) -> Shown:
    shown: list[Shown] = []

    async def send(_chat: object, s: Shown) -> str:
        shown.append(s)
        return "1"

    await core.daily.today(ctx, send)
    return shown[-1]


async def test_a_private_daily_question_is_a_due_card_first(core: Core, clock: FixedClock) -> None:
    ctx = await private(core)
    first = await daily(core, ctx)
    assert first.review_due == 0
    await answer(core, ctx, first, right=False)
    clock.set(clock.now() + timedelta(minutes=1))
    second = await core.study.show(ctx, "question")
    await answer(core, ctx, second, right=False)
    clock.set(clock.now() + timedelta(days=1))
    today = await daily(core, ctx)
    assert today.question.id == first.question.id  # the most overdue card
    assert today.prompt.kind == "daily"
    assert today.review_due == 1  # the other due card, offered under it
    again = await daily(core, ctx)  # shown again the same day: the same prompt
    assert again.prompt.id == today.prompt.id


async def test_a_private_daily_question_is_new_without_due_cards(
    core: Core, clock: FixedClock
) -> None:
    ctx = await private(core)
    first = await daily(core, ctx)
    await answer(core, ctx, first, right=True)
    clock.set(clock.now() + timedelta(days=1))
    today = await daily(core, ctx)
    # Good after the first step leaves the card due in 10 minutes, so it is due a day later.
    assert today.question.id == first.question.id
    await answer(core, ctx, today, right=True)
    clock.set(clock.now() + timedelta(days=1))
    assert (await core.review.summary(ctx)).next_due is not None
    newer = await daily(core, ctx)
    assert newer.question.id != first.question.id


async def test_reviews_offered_under_the_daily_are_capped(
    make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    async with open_core(make_settings(STUDYBOT_DAILY_REVIEWS="1"), clock=clock) as core:
        ctx = await private(core)
        for _ in range(3):
            await answer(core, ctx, await core.study.show(ctx, "question"), right=False)
        clock.set(clock.now() + timedelta(days=1))
        assert (await daily(core, ctx)).review_due == 1


async def test_a_group_keeps_the_shared_daily_question(core: Core, clock: FixedClock) -> None:
    ctx = await core.study.enter(
        platform="test",
        user_id="u1",
        user_name="Ann",
        language_code="en",
        chat_id="-100",
        chat_type="supergroup",
    )
    first = await daily(core, ctx)
    await answer(core, ctx, first, right=False)
    clock.set(clock.now() + timedelta(days=1))
    today = await daily(core, ctx)
    assert today.question.id != first.question.id
    assert today.review_due == 0

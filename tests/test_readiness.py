"""Interview readiness per topic from the review model, with the injected clock."""

from __future__ import annotations

import io
from datetime import timedelta

from bot.adapters import stats_render
from bot.adapters.console import Console
from bot.app import Core
from bot.clock import FixedClock
from bot.services.study import Context


async def private(core: Core) -> Context:
    return await core.study.enter(
        platform="test",
        user_id="r1",
        user_name="Ann",
        language_code="en",
        chat_id="r1",
        chat_type="private",
    )


async def answer(core: Core, ctx: Context, question_id: str, right: bool) -> None:
    question = core.bank.get(question_id)
    assert question is not None
    shown = await core.study.show_question(ctx.chat, question, "question", ctx.lang)
    quiz = question.text("en").quiz
    option = quiz.correct if right else (quiz.correct + 1) % len(quiz.options)
    assert (await core.study.answer(ctx, shown.prompt.id, option)).status == "recorded"


async def test_nothing_met_is_nothing_ready_and_the_first_topics_come_next(core: Core) -> None:
    ready = await core.readiness.readiness(await private(core))
    assert ready.empty and ready.overall == 0
    # Topics without questions are listed but never suggested.
    with_questions = [t.topic for t in ready.topics if t.questions]
    assert ready.study_next == tuple(with_questions[:2])
    assert [t.topic for t in ready.topics] == [t.id for t in core.bank.topics]


async def test_recall_counts_and_fades_and_unmet_questions_count_as_unknown(
    core: Core, clock: FixedClock
) -> None:
    ctx = await private(core)
    await answer(core, ctx, "fixture-q3", right=True)  # nn: its only question
    await answer(core, ctx, "fixture-q1", right=True)  # tensors: one of two
    ready = await core.readiness.readiness(ctx)
    by = {t.topic: t for t in ready.topics}
    assert by["nn"].met == 1 and by["nn"].coverage == 1.0
    assert by["tensors"].met == 1 and by["tensors"].coverage == 0.5
    # Just answered: recalled almost surely; the unmet tensors question counts as unknown.
    assert by["nn"].recall > 0.9
    assert abs(by["tensors"].score - by["tensors"].recall / 2) < 1e-9
    assert by["nn"].score > by["tensors"].score > 0
    assert ready.study_next == ("tensors", "nn")  # the least ready first (of the two with any)
    overall = ready.overall
    clock.set(clock.now() + timedelta(days=60))  # nothing reviewed for two months
    later = await core.readiness.readiness(ctx)
    faded = {t.topic: t for t in later.topics}
    assert faded["nn"].recall < by["nn"].recall
    assert later.overall < overall


async def test_a_wrong_answer_leaves_a_topic_less_ready_than_a_right_one(
    core: Core, clock: FixedClock
) -> None:
    ctx = await private(core)
    await answer(core, ctx, "fixture-q3", right=False)
    await answer(core, ctx, "fixture-q1", right=True)
    await answer(core, ctx, "fixture-q2", right=True)
    clock.set(clock.now() + timedelta(days=2))
    ready = await core.readiness.readiness(ctx)
    by = {t.topic: t for t in ready.topics}
    assert by["nn"].recall < by["tensors"].recall
    assert by["nn"].score < by["tensors"].score


async def test_ready_in_the_console_names_the_topics_to_study_next(
    core: Core, clock: FixedClock
) -> None:
    out = io.StringIO()
    c = Console(core, stdin=io.StringIO(""), stdout=out, user="tester")
    await c.handle("/ready")
    assert "Interview readiness: 0%" in out.getvalue()
    assert "answer a few questions first" in out.getvalue()
    ctx = await c.context()
    await answer(core, ctx, "fixture-q3", right=True)
    await c.handle("/ready")
    text = out.getvalue().split("Interview readiness")[-1]
    assert "Building models: " in text and "met 1/1" in text
    assert "Study next: Tensors, Building models" in text
    assert "/question tensors" in text
    await c.handle("/lang zh")
    await c.handle("/ready")
    assert "面试准备度" in out.getvalue().split("Interview readiness")[-1]


async def test_the_stats_picture_shows_readiness_and_its_caption_what_to_study(
    core: Core,
) -> None:
    ctx = await private(core)
    await answer(core, ctx, "fixture-q3", right=True)
    overview = await core.stats.overview(ctx)
    spec = stats_render.picture_spec(core.bank, "en", overview)
    by_topic = dict(zip(spec.labels.topics, spec.readiness, strict=True))
    assert by_topic["Building models"] > 90 and by_topic["Tensors"] == 0
    caption = stats_render.caption(core.bank, "en", overview).text
    assert "Study next: Tensors, Building models" in caption

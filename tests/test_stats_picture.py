"""/stats as a picture: the overview, the PNG from the worker process, the caption."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.adapters import stats_render
from bot.adapters.stats_picture import (
    HEIGHT,
    MAX_TOPIC_CHARS,
    WIDTH,
    Labels,
    PictureRenderer,
    PictureSpec,
    choose_font,
    render_png,
)
from bot.app import Core, open_core
from bot.clock import FixedClock, local_date
from bot.config import CONTENT_DIR, Settings
from bot.services.study import Context


async def private(core: Core, lang: str = "en") -> Context:
    return await core.study.enter(
        platform="test",
        user_id="u1",
        user_name="Ann",
        language_code=lang,
        chat_id="u1",
        chat_type="private",
    )


async def year_of_history(core: Core, clock: FixedClock, ctx: Context) -> None:
    """Answer on most days of the last year through the services, moving the clock."""
    rng = random.Random(7)  # noqa: S311 - reproducible test data
    end = clock.now()
    clock.set(end - timedelta(days=365))
    while clock.now() < end:
        if rng.random() < 0.8:
            for _ in range(rng.randint(1, 3)):
                shown = await core.study.show(ctx, "question")
                quiz = shown.question.text("en").quiz
                right = rng.random() < 0.7
                option = quiz.correct if right else (quiz.correct + 1) % len(quiz.options)
                await core.study.answer(ctx, shown.prompt.id, option)
        clock.set(clock.now() + timedelta(days=1))
    clock.set(end)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_empty_history_is_a_friendly_text(core: Core) -> None:
    overview = await core.stats.overview(await private(core))
    assert overview.empty
    assert "No answers yet" in stats_render.empty("en").text


async def test_a_year_of_history(core: Core, clock: FixedClock) -> None:
    ctx = await private(core)
    await year_of_history(core, clock, ctx)
    overview = await core.stats.overview(ctx)
    assert not overview.empty
    assert overview.first_day.weekday() == 0
    assert overview.today == local_date(clock.now(), "UTC")
    assert 0 <= (overview.today - overview.first_day).days < 84
    assert sum(overview.activity.values()) > 84  # only the last 12 weeks are counted
    assert overview.new + overview.learning + overview.review == len(core.bank.questions)
    assert len(overview.due_days) == 7
    caption = stats_render.caption(core.bank, "en", overview).text
    assert "Streak: 1 day" in caption or "Streak:" in caption
    assert "Accuracy:" in caption
    spec = stats_render.picture_spec(core.bank, "en", overview)
    assert len(spec.activity) == 84
    renderer = PictureRenderer()
    try:
        picture = await renderer.render(spec)
    finally:
        renderer.close()
    assert png_size(picture.png) == (WIDTH, HEIGHT)
    assert not picture.in_english


async def test_every_topic_has_its_row_and_its_whole_name(
    make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    settings = make_settings(STUDYBOT_CONTENT_DIR=str(CONTENT_DIR))
    async with open_core(settings, clock=clock) as core:
        ctx = await private(core)
        shown = await core.study.show(ctx, "question")
        await core.study.answer(ctx, shown.prompt.id, 0)
        overview = await core.stats.overview(ctx)
        spec = stats_render.picture_spec(core.bank, "en", overview)
        topics = core.bank.topics
    # All of them, in the bank's order: one answered topic is one row of sixteen, not the panel.
    assert spec.labels.topics == tuple(t.name("en") for t in topics)
    assert sum(1 for answered, _ in spec.accuracy if answered) == 1
    longest = max(len(t.name(lang)) for t in topics for lang in ("en", "zh"))
    assert longest <= MAX_TOPIC_CHARS  # so no name is cut on the picture


async def test_a_chinese_picture_drawn_in_english_says_so_in_its_caption(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.adapters import stats_picture

    ctx = await private(core, "zh")
    shown = await core.study.show(ctx, "question")
    await core.study.answer(ctx, shown.prompt.id, 0)
    overview = await core.stats.overview(ctx)
    spec = stats_render.picture_spec(core.bank, "zh", overview)
    monkeypatch.setattr(stats_picture, "cjk_family", lambda: None)
    picture = stats_picture.render_picture(spec)
    assert picture.in_english
    said = stats_render.caption(core.bank, "zh", overview, in_english=picture.in_english).text
    assert said.count("中文字体") == 1  # one line, in the user's language
    # With a CJK font found, the picture is in Chinese (not drawn here: none is installed).
    monkeypatch.setattr(stats_picture, "cjk_family", lambda: "Noto Sans CJK SC")
    monkeypatch.setattr(stats_picture, "render_png", lambda spec: b"png")
    assert not stats_picture.render_picture(spec).in_english


async def test_chinese_labels_fall_back_to_english_without_a_cjk_font(
    core: Core, clock: FixedClock
) -> None:
    ctx = await private(core, "zh")
    shown = await core.study.show(ctx, "question")
    await core.study.answer(ctx, shown.prompt.id, 0)
    spec = stats_render.picture_spec(core.bank, "zh", await core.stats.overview(ctx))
    assert spec.labels.title != spec.english.title
    labels, family = choose_font(spec, None)
    assert labels == spec.english
    assert family == ["DejaVu Sans"]
    labels, family = choose_font(spec, "Noto Sans CJK SC")
    assert labels == spec.labels
    assert family[0] == "Noto Sans CJK SC"


async def test_console_writes_the_picture_and_prints_the_caption(
    core: Core, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from bot.adapters.console import Console

    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    c = Console(core, stdin=io.StringIO(""), stdout=out, user="tester")
    await c.handle("/stats")
    assert "No answers yet" in out.getvalue()
    await c.handle("/question")
    await c.handle("A")
    try:
        await c.handle("/stats")
    finally:
        c.close()
    text = out.getvalue()
    assert "studybot-output/stats.png" in text
    assert text.count("Accuracy:") == 1 and "Answered:" not in text  # the totals once
    assert png_size((tmp_path / "studybot-output" / "stats.png").read_bytes()) == (WIDTH, HEIGHT)


async def test_console_files_never_overwrite_each_other_and_are_private(
    core: Core, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from bot.adapters.console import Console

    monkeypatch.chdir(tmp_path)
    c = Console(core, stdin=io.StringIO(""), stdout=io.StringIO(), user="tester")
    try:
        paths = [c.save_file("output.txt", f"run {i}".encode()) for i in range(3)]
        paths.append(c.save_file("../../etc/passwd", b"elsewhere?"))
    finally:
        c.close()
    assert paths == [
        "studybot-output/output.txt",
        "studybot-output/output-2.txt",
        "studybot-output/output-3.txt",
        "studybot-output/passwd",
    ]
    assert [(tmp_path / p).read_text() for p in paths[:3]] == ["run 0", "run 1", "run 2"]
    assert (tmp_path / "studybot-output").stat().st_mode & 0o777 == 0o700
    assert {(tmp_path / p).stat().st_mode & 0o777 for p in paths} == {0o600}


def _spec(title: str, states: tuple[int, int, int]) -> PictureSpec:
    days = ("today", "12/2", "12/3", "12/4", "12/5", "12/6", "12/7")
    weekdays = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    topics = ("Tensors", "Attention and Transformers", "Optimisation")
    labels = Labels(
        title, "Answers", weekdays, "fewer", "more", "Accuracy", topics, "Cards",
        ("new", "learning", "review"), "Due", days,
    )  # fmt: skip
    return PictureSpec(
        labels=labels,
        english=labels,
        needs_cjk=False,
        activity=tuple(i % 5 for i in range(84)),
        today_index=80,
        accuracy=((10, 7), (4, 1), (0, 0)),
        readiness=(64, 20, 0),
        states=states,
        due_days=(3, 0, 1, 0, 0, 2, 5),
    )


def test_a_kept_background_draws_the_same_picture_as_a_whole_render() -> None:
    """Words are drawn once per labels and kept; the numbers of each render go over them."""
    from bot.adapters import stats_picture

    first, second = _spec("Your study", (5, 1, 2)), _spec("Your study", (40, 0, 9))
    stats_picture._BACKGROUNDS.clear()
    whole = {spec: render_png(spec) for spec in (first, second)}  # second: over first's words
    stats_picture._BACKGROUNDS.clear()
    assert render_png(second) == whole[second]  # drawn whole
    assert render_png(first) == whole[first]  # over the words kept from `second`
    assert whole[first] != whole[second]
    other = _spec("Another title", (5, 1, 2))
    assert render_png(other) != whole[first]  # other words: their own background
    for n in range(stats_picture.KEPT_BACKGROUNDS + 2):
        render_png(_spec(f"Title {n}", (n, 0, 0)))
    assert len(stats_picture._BACKGROUNDS) == stats_picture.KEPT_BACKGROUNDS
    assert png_size(render_png(first)) == (WIDTH, HEIGHT)


def test_friend_streaks_are_drawn_with_the_data_not_kept_with_the_words() -> None:
    """The friends panel shows only for those with friends, whatever background is kept."""
    from dataclasses import replace

    from bot.adapters import stats_picture

    alone = _spec("Your study", (5, 1, 2))
    friends = replace(alone, friends=(("Bob", 6), ("Carol", 0)))
    stats_picture._BACKGROUNDS.clear()
    with_friends = render_png(friends)
    assert render_png(alone) != with_friends  # over the kept words: no panel for `alone`
    stats_picture._BACKGROUNDS.clear()
    assert render_png(alone) != with_friends
    assert render_png(friends) == with_friends  # over `alone`'s words: the same picture
    assert png_size(with_friends) == (WIDTH, HEIGHT)


async def test_the_overview_and_caption_carry_the_friend_streaks(core: Core) -> None:
    ann = await core.study.enter(
        platform="test",
        user_id="u1",
        user_name="Ann",
        language_code="en",
        chat_id="g1",
        chat_type="group",
    )
    bob = await core.study.enter(
        platform="test",
        user_id="u2",
        user_name="鲍勃",
        language_code="en",
        chat_id="g1",
        chat_type="group",
    )
    made = await core.buddies.invite(
        ann, user_id="u2", user_name="鲍勃", language_code="en", is_bot=False
    )
    await core.buddies.answer(bob, made.id, accept=True)
    for ctx in (ann, bob):
        shown = await core.study.show(ctx, "question")
        await core.study.answer(ctx, shown.prompt.id, 0)
    overview = await core.stats.overview(ann)
    assert [(f.friend.name, f.days) for f in overview.friends] == [("鲍勃", 1)]
    assert "👥 Friend streaks: 鲍勃 1" in stats_render.caption(core.bank, "en", overview).text
    spec = stats_render.picture_spec(core.bank, "en", overview)
    assert spec.friends == (("鲍勃", 1),)
    assert spec.needs_cjk  # a Chinese name needs the CJK font in an English picture too

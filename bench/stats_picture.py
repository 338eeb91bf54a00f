"""Time the /stats picture for a heavy user: a year of answers on the shipped bank.

Builds the history through the services on a temporary database (an injected clock moves day
by day), then times the overview query and the PNG rendering in the worker process: the first
render (spawning the worker and importing matplotlib), the median of the warm ones, and the
CPU time of one warm render (what a loaded machine's wall clock hides). Baseline, in the same
process: the CPU time of saving an empty figure of the same size as a PNG with matplotlib.
Usage (from the repository root): python bench/stats_picture.py [--per-day 8] [--renders 10]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.adapters import stats_picture, stats_render  # noqa: E402
from bot.adapters.stats_picture import (  # noqa: E402
    DPI,
    HEIGHT,
    WIDTH,
    PictureRenderer,
    PictureSpec,
    render_png,
)
from bot.app import open_core  # noqa: E402
from bot.clock import FixedClock  # noqa: E402
from bot.config import Settings  # noqa: E402


def cpu_ms(spec: PictureSpec, runs: int = 5, *, new_words: bool = False) -> float:
    """Render in this process; return the median CPU time of a render (less sensitive to load).

    `new_words`: forget the kept backgrounds first, so each render draws its words too (the
    first picture of the day in a language and set of topics).
    """
    render_png(spec)  # import and font cache first
    times = []
    for _ in range(runs):
        if new_words:
            stats_picture._BACKGROUNDS.clear()
        started = time.process_time()
        render_png(spec)
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def empty_figure_ms(runs: int = 5) -> float:
    """Return the median CPU time of saving an empty WIDTH x HEIGHT figure as a PNG."""
    from matplotlib.figure import Figure

    times = []
    for _ in range(runs + 1):
        started = time.process_time()
        fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
        fig.savefig(io.BytesIO(), format="png", pil_kwargs={"compress_level": 1})
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times[1:])


async def main(per_day: int, renders: int, lang: str) -> None:
    """Build the history, then time the overview and the renders."""
    rng = random.Random(13)  # noqa: S311 - reproducible bench data
    end = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    clock = FixedClock(end - timedelta(days=365))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate({"STUDYBOT_DATABASE": str(Path(tmp) / "bench.db")})
        async with open_core(settings, clock=clock) as core:
            ctx = await core.study.enter(
                platform="bench",
                user_id="heavy",
                user_name="Heavy",
                language_code=lang,
                chat_id="heavy",
                chat_type="private",
            )
            answers = 0
            while clock.now() < end:
                if rng.random() < 0.85:
                    for _ in range(rng.randint(1, per_day)):
                        shown = await core.study.show(ctx, "question")
                        quiz = shown.question.text(shown.lang).quiz
                        right = rng.random() < 0.7
                        wrong = (quiz.correct + 1) % len(quiz.options)
                        await core.study.answer(
                            ctx, shown.prompt.id, quiz.correct if right else wrong
                        )
                        answers += 1
                clock.set(clock.now() + timedelta(days=1))
            started = time.perf_counter()
            overview = await core.stats.overview(ctx)
            query_ms = (time.perf_counter() - started) * 1000
            spec = stats_render.picture_spec(core.bank, ctx.lang, overview)
            renderer = PictureRenderer()
            try:
                started = time.perf_counter()
                png = (await renderer.render(spec)).png
                cold_ms = (time.perf_counter() - started) * 1000
                warm = []
                for _ in range(renders):
                    started = time.perf_counter()
                    await renderer.render(spec)
                    warm.append((time.perf_counter() - started) * 1000)
            finally:
                renderer.close()
    cpu = cpu_ms(spec)
    cpu_new = cpu_ms(spec, new_words=True)
    empty = empty_figure_ms()
    print(f"history: {answers} answers over 365 days, {len(overview.totals.by_topic)} topics")
    print(f"overview query: {query_ms:.1f} ms")
    print(f"first render (spawn + import matplotlib): {cold_ms:.0f} ms")
    print(
        f"warm render: median {statistics.median(warm):.0f} ms, max {max(warm):.0f} ms "
        f"over {renders} (target <= 300 ms); PNG {len(png) // 1024} KiB"
    )
    print(
        f"render CPU time (in process, warm, median of 5): {cpu:.0f} ms; with its words drawn"
        f" too: {cpu_new:.0f} ms; baseline, an empty figure saved as PNG: {empty:.0f} ms"
        f" ({cpu / empty:.1f}x, {cpu_new / empty:.1f}x)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-day", type=int, default=8)
    parser.add_argument("--renders", type=int, default=10)
    parser.add_argument("--lang", choices=("en", "zh"), default="en")
    args = parser.parse_args()
    asyncio.run(main(args.per_day, args.renders, args.lang))

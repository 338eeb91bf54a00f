"""Draw the /stats picture in a worker process (matplotlib imports numpy; the bot must not).

`render_png` runs in a spawned process and imports matplotlib there, lazily, with the Agg
backend; the bot process only pickles a `PictureSpec` over and gets PNG bytes back.
"""

from __future__ import annotations

import asyncio
import functools
import io
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from bot.adapters.picture_fonts import cjk_family

WIDTH, HEIGHT, DPI = 1200, 800, 100

INK, MUTED, TRACK = "#24292f", "#57606a", "#eef1f4"
GREENS = ("#ebedf0", "#9be9a8", "#40c463", "#30a14e", "#216e39")  # none … most, as GitHub's
# The lower row's three panels: left edges, title line and the charts' vertical extent (px).
PANEL_LEFT = (30.0, 530.0, 850.0)
PANEL_TITLE_Y = 395.0
# Topic names up to this long are drawn whole beside their bars (about 185 px at 9 pt).
MAX_TOPIC_CHARS = 30
CHART_TOP, CHART_BOTTOM = 360.0, 110.0


@dataclass(frozen=True)
class Labels:
    """Every word on the picture, in one language."""

    title: str
    activity: str
    weekdays: tuple[str, ...]  # Monday first
    less: str
    more: str
    accuracy: str
    topics: tuple[str, ...]
    cards: str
    states: tuple[str, str, str]  # new, learning, review
    due: str
    days: tuple[str, ...]  # the next 7 days
    friends: str = "Friend streaks"


@dataclass(frozen=True)
class PictureSpec:
    """What to draw: plain numbers and labels (with English ones for want of a CJK font)."""

    labels: Labels
    english: Labels
    needs_cjk: bool
    activity: tuple[int, ...]  # answers per day for 12 weeks, Monday of the first week first
    today_index: int  # days after today are left blank
    accuracy: tuple[tuple[int, int], ...]  # (answered, correct) per topic, as in labels.topics
    readiness: tuple[int, ...]  # 0..100 per topic, as in labels.topics
    states: tuple[int, int, int]
    due_days: tuple[int, ...]
    friends: tuple[tuple[str, int], ...] = ()  # (name, days) of each friend streak


def choose_font(spec: PictureSpec, cjk: str | None) -> tuple[Labels, list[str]]:
    """Return the labels to draw and the font families: English where no CJK font is found."""
    if not spec.needs_cjk:
        return spec.labels, ["DejaVu Sans"]
    if cjk is None:
        return spec.english, ["DejaVu Sans"]  # never tofu boxes
    return spec.labels, [cjk, "DejaVu Sans"]


@dataclass(frozen=True)
class Picture:
    """A rendered picture, and whether it fell back to English for want of a CJK font."""

    png: bytes
    in_english: bool


def render_picture(spec: PictureSpec) -> Picture:
    """Draw the picture (in the worker) and say whether its words had to be English."""
    english = spec.needs_cjk and cjk_family() is None
    return Picture(render_png(spec), english)


def render_png(spec: PictureSpec) -> bytes:
    """Draw the picture and return it as PNG bytes of WIDTH × HEIGHT pixels."""
    import matplotlib

    canvas = _canvas()
    labels, family = choose_font(spec, cjk_family() if spec.needs_cjk else None)
    key = (labels, tuple(family), len(spec.activity))
    with matplotlib.rc_context(_style(family)):
        background = _BACKGROUNDS.pop(key, None)
        if background is None:
            # The words of a language, its topics and days: the same for every render that
            # day, so drawn once (about two thirds of the glyphs) and copied in after.
            _draw(canvas.figure, spec, labels, words=True)
            canvas.draw()
            background = canvas.copy_from_bbox(canvas.figure.bbox)
        _BACKGROUNDS[key] = background  # most recently used last
        while len(_BACKGROUNDS) > KEPT_BACKGROUNDS:
            del _BACKGROUNDS[next(iter(_BACKGROUNDS))]
        canvas.restore_region(background)
        fig = _draw(canvas.figure, spec, labels, words=False)
        renderer = canvas.get_renderer()
        for artist in (*fig.artists, *fig.texts):
            artist.draw(renderer)
    return _png(canvas)


# Backgrounds (the words drawn, no numbers) by labels, fonts and calendar length; 3.7 MiB each.
KEPT_BACKGROUNDS = 4
_BACKGROUNDS: dict[tuple[Labels, tuple[str, ...], int], Any] = {}


def _draw(fig: Any, spec: PictureSpec, labels: Labels, *, words: bool) -> Any:
    """Put on the cleared figure the words of the picture (`words`) or its boxes and numbers.

    One figure per worker, cleared and refilled: its renderer (and the text layouts that
    renderer caches) outlive a render, and no Axes, ticks or title layout are built at all.
    """
    fig.clear()
    page = _Page(fig, words=words)
    page.text(WIDTH / 2, 770, labels.title, size=16, ha="center", weight="bold")
    _heatmap(page, spec, labels)
    _accuracy(page, spec, labels)
    _cards(page, spec, labels)
    _due(page, spec, labels)
    _friends(page, spec, labels)
    page.finish()
    return fig


def warm_up() -> None:
    """Import matplotlib, make the canvas and load the fonts, before the first picture.

    Run as the worker process starts. Best effort: a failure here must not break the pool for
    good (an initializer that raises does); the first render meets it again and reports it.
    """
    try:
        import matplotlib

        canvas = _canvas()
        cjk = cjk_family()
        for family, sample in [("DejaVu Sans", "0 Warm"), *([(cjk, "暖")] if cjk else [])]:
            with matplotlib.rc_context(_style([family])):
                canvas.figure.text(0.5, 0.5, sample, weight="bold")
        canvas.draw()
        canvas.figure.clear()
    except Exception:  # noqa: S110 - reported by the render that follows
        pass


def _style(family: list[str]) -> Any:  # matplotlib types the keys as one Literal
    """Return the rc settings of a render: its fonts, and glyphs drawn without hinting.

    Hinting snaps each glyph to the pixel grid, a fifth of a render's time; at these sizes the
    anti-aliased glyphs read as well without it.
    """
    return {"font.family": family, "font.size": 11, "text.hinting": "no_hinting"}


@functools.cache
def _canvas() -> Any:
    """Return this process's one Agg canvas and figure (matplotlib imported on first use)."""
    import logging

    import matplotlib

    matplotlib.use("Agg")
    # A CJK font without a bold face makes matplotlib warn on every title; the regular face is
    # what we want, and the warning would land in the console user's terminal.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return FigureCanvasAgg(Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI))


def _png(canvas: Any) -> bytes:
    """Encode the drawn canvas as an RGB PNG with fast zlib (a little larger, much quicker)."""
    from PIL import Image

    image = Image.frombuffer("RGBA", (WIDTH, HEIGHT), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    # A palette would be smaller, but the fast octree one tints the white background.
    image.convert("RGB").save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


class _Page:
    """Place texts and boxes on the figure in pixels from the bottom left corner.

    A page draws one layer: the words (labels that stay the same from one render to the next)
    or the data (every box, in one collection drawn in one call, and every number). Panels
    without Axes skip matplotlib's tick and layout machinery, most of the cost of a render.
    """

    def __init__(self, fig: Any, *, words: bool) -> None:
        self.fig = fig
        self.words = words
        self.boxes: list[tuple[float, float, float, float]] = []
        self.colors: list[str] = []

    def box(self, x: float, y: float, width: float, height: float, color: str) -> None:
        """Queue a filled rectangle (data)."""
        self.boxes.append((x, y, width, height))
        self.colors.append(color)

    def text(self, x: float, y: float, text: str, *, data: bool = False, **style: Any) -> None:
        """Draw a word (or, with `data`, a number) anchored at (x, y), styled as a Text."""
        if data == self.words:
            return  # it belongs to the other layer
        style.setdefault("va", "center")
        style.setdefault("color", INK)
        self.fig.text(x / WIDTH, y / HEIGHT, text, **style)

    def finish(self) -> None:
        """Add the queued rectangles as one collection (the data layer only)."""
        from matplotlib.collections import PolyCollection

        if self.words:
            return
        polygons = [
            [
                (x / WIDTH, y / HEIGHT),
                ((x + w) / WIDTH, y / HEIGHT),
                ((x + w) / WIDTH, (y + h) / HEIGHT),
                (x / WIDTH, (y + h) / HEIGHT),
            ]
            for x, y, w, h in self.boxes
        ]
        self.fig.add_artist(
            PolyCollection(
                polygons,
                facecolors=self.colors,
                edgecolors="none",
                transform=self.fig.transFigure,
            )
        )


def _heatmap(page: _Page, spec: PictureSpec, labels: Labels) -> None:
    weeks = len(spec.activity) // 7
    cell, gap = 30, 4
    left = (WIDTH - weeks * (cell + gap) + gap) / 2
    top = 705
    page.text(left, top + 18, labels.activity, ha="left")
    top_count = max([*spec.activity, 1])
    for index, count in enumerate(spec.activity):
        if index > spec.today_index:
            continue  # days after today stay blank
        level = min(len(GREENS) - 1, len(GREENS) * count // top_count)
        x = left + (index // 7) * (cell + gap)
        y = top - (index % 7 + 1) * (cell + gap) + gap
        page.box(x, y, cell, cell, GREENS[level])
    for row, name in enumerate(labels.weekdays):
        y_row = top - row * (cell + gap) - cell / 2
        page.text(left - 8, y_row, name, ha="right", size=10, color=MUTED)
    # The scale, as GitHub shows it: fewer ■■■■■ more, under the calendar's right edge.
    bottom = top - 7 * (cell + gap) + gap - 22
    right = left + weeks * (cell + gap) - gap
    swatch = 14
    first = right - len(GREENS) * (swatch + 3) - 40
    page.text(first - 6, bottom, labels.less, ha="right", size=9, color=MUTED)
    for level, color in enumerate(GREENS):
        page.box(first + level * (swatch + 3), bottom - swatch / 2, swatch, swatch, color)
    page.text(
        first + len(GREENS) * (swatch + 3) + 3, bottom, labels.more, ha="left", size=9, color=MUTED
    )


def _accuracy(page: _Page, spec: PictureSpec, labels: Labels) -> None:
    page.text(PANEL_LEFT[0], PANEL_TITLE_Y, labels.accuracy, ha="left")
    rows = max(len(spec.accuracy), 1)
    pitch = min(22.0, (CHART_TOP - CHART_BOTTOM) / rows)
    size = max(6.0, min(10.0, pitch * 0.6))
    names_right, bar_left, full = 215.0, 222.0, 170.0
    for row, ((answered, correct), ready, topic) in enumerate(
        zip(spec.accuracy, spec.readiness, labels.topics, strict=True)
    ):
        y = CHART_TOP - (row + 0.5) * pitch
        # The names' column fits the bank's longest ("Attention and Transformers") whole; only
        # a name far longer than any topic's is cut, so it never runs off the left edge.
        name = topic if len(topic) <= MAX_TOPIC_CHARS else topic[: MAX_TOPIC_CHARS - 1] + "…"
        page.text(names_right, y, name, ha="right", size=size)
        page.box(bar_left, y - pitch * 0.35, full, pitch * 0.7, TRACK)
        page.box(bar_left, y - pitch * 0.35, full * ready / 100, pitch * 0.7, GREENS[2])
        page.text(
            bar_left + full + 6,
            y,
            f"{ready}% · {correct}/{answered}" if answered or ready else "–",
            data=True,
            ha="left",
            size=size,
            color=MUTED,
        )


def _bars(
    page: _Page,
    left: float,
    pitch: float,
    width: float,
    values: tuple[int, ...],
    colors: list[str],
    names: tuple[str, ...],
    rotate: bool,
) -> None:
    """Draw vertical bars on a baseline, each with its value above and its name below."""
    tall = CHART_TOP - CHART_BOTTOM - 20
    top_value = max([*values, 1])
    page.box(left - 8, CHART_BOTTOM - 1, len(values) * pitch + 16 - (pitch - width), 1, MUTED)
    for index, (value, color, name) in enumerate(zip(values, colors, names, strict=True)):
        x = left + index * pitch
        height = tall * value / top_value
        page.box(x, CHART_BOTTOM, width, height, color)
        page.text(
            x + width / 2, CHART_BOTTOM + height + 9, str(value), data=True, ha="center", size=9
        )
        if rotate:
            page.text(
                x + width / 2 + 4,
                CHART_BOTTOM - 8,
                name,
                ha="right",
                va="top",
                size=9,
                rotation=45,
                rotation_mode="anchor",
            )
        else:
            page.text(x + width / 2, CHART_BOTTOM - 14, name, ha="center", size=10)


def _cards(page: _Page, spec: PictureSpec, labels: Labels) -> None:
    page.text(PANEL_LEFT[1], PANEL_TITLE_Y, labels.cards, ha="left")
    colors = ["#c9d1d9", "#f2cc60", GREENS[2]]
    _bars(page, PANEL_LEFT[1] + 30, 85, 55, spec.states, colors, labels.states, rotate=False)


def _due(page: _Page, spec: PictureSpec, labels: Labels) -> None:
    # Its own panel: a handful of due cards would vanish next to hundreds of new ones.
    page.text(PANEL_LEFT[2], PANEL_TITLE_Y, labels.due, ha="left")
    colors = ["#58a6ff"] * len(spec.due_days)
    _bars(page, PANEL_LEFT[2] + 20, 40, 28, spec.due_days, colors, labels.days, rotate=True)


def _friends(page: _Page, spec: PictureSpec, labels: Labels) -> None:
    # Right of the calendar, only for those who have friends: drawn with the data, since the
    # words layer is kept per language and would otherwise show the title to everyone.
    if not spec.friends:
        return
    left, top = 830.0, 705.0
    page.text(left, top + 18, labels.friends, data=True, ha="left")
    for row, (name, days) in enumerate(spec.friends):
        y = top - 14 - row * 30
        level = min(len(GREENS) - 1, (days + 6) // 7)  # a shade darker for each week
        page.box(left, y - 11, 22, 22, GREENS[level])
        ink = "white" if level >= 3 else INK
        page.text(left + 11, y, str(days), data=True, ha="center", size=9, color=ink)
        page.text(left + 32, y, name[:MAX_TOPIC_CHARS], data=True, ha="left", size=10)


class PictureRenderer:
    """Render pictures in one spawned worker process, started on first use."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def render(self, spec: PictureSpec) -> Picture:
        """Return the picture of a spec, drawn off the event loop in the worker process."""
        if self._pool is None:
            # spawn, not fork: a forked child would share the bot's event loop and sockets.
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=warm_up,
            )
        return await asyncio.get_running_loop().run_in_executor(self._pool, render_picture, spec)

    def close(self) -> None:
        """Stop the worker process, if it was started."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

"""Draw the /stats picture in a worker process (matplotlib imports numpy; the bot must not).

`render_png` runs in a spawned process and imports matplotlib there, lazily, with the Agg
backend; the bot process only pickles a `PictureSpec` over and gets PNG bytes back.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, DPI = 1200, 800, 100

# Families that cover Chinese, most likely first; the image and the README install one.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
)


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


@dataclass(frozen=True)
class PictureSpec:
    """What to draw: plain numbers and labels (with English ones for want of a CJK font)."""

    labels: Labels
    english: Labels
    needs_cjk: bool
    activity: tuple[int, ...]  # answers per day for 12 weeks, Monday of the first week first
    today_index: int  # days after today are left blank
    accuracy: tuple[tuple[int, int], ...]  # (answered, correct) per topic, as in labels.topics
    states: tuple[int, int, int]
    due_days: tuple[int, ...]


def cjk_family() -> str | None:
    """Return an installed font family that covers Chinese, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FAMILIES if name in installed), None)


def choose_font(spec: PictureSpec, cjk: str | None) -> tuple[Labels, list[str]]:
    """Return the labels to draw and the font families: English where no CJK font is found."""
    if not spec.needs_cjk:
        return spec.labels, ["DejaVu Sans"]
    if cjk is None:
        return spec.english, ["DejaVu Sans"]  # never tofu boxes
    return spec.labels, [cjk, "DejaVu Sans"]


def render_png(spec: PictureSpec) -> bytes:
    """Draw the picture and return it as PNG bytes of WIDTH × HEIGHT pixels."""
    import logging

    import matplotlib

    matplotlib.use("Agg")
    # A CJK font without a bold face makes matplotlib warn on every title; the regular face is
    # what we want, and the warning would land in the console user's terminal.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    from matplotlib.figure import Figure

    labels, family = choose_font(spec, cjk_family() if spec.needs_cjk else None)
    with matplotlib.rc_context({"font.family": family, "font.size": 11}):
        fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
        fig.suptitle(labels.title, fontsize=16, fontweight="bold")
        grid = fig.add_gridspec(
            2,
            3,
            height_ratios=(1, 1.1),
            width_ratios=(1.4, 1, 1),
            hspace=0.45,
            wspace=0.45,
            left=0.16,
            right=0.97,
        )
        _heatmap(fig.add_subplot(grid[0, :]), spec, labels)
        _accuracy(fig.add_subplot(grid[1, 0]), spec, labels)
        _cards(fig.add_subplot(grid[1, 1]), spec, labels)
        _due(fig.add_subplot(grid[1, 2]), spec, labels)
        buffer = io.BytesIO()
        # Fast zlib: the file grows a little, the render is quicker.
        fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _heatmap(ax: Any, spec: PictureSpec, labels: Labels) -> None:
    from matplotlib.colors import ListedColormap

    weeks = len(spec.activity) // 7
    grid = [[float("nan")] * weeks for _ in range(7)]
    for index, count in enumerate(spec.activity):
        if index <= spec.today_index:
            grid[index % 7][index // 7] = count
    top = max([*spec.activity, 1])
    palette = ListedColormap(["#ebedf0", "#9be9a8", "#40c463", "#30a14e", "#216e39"])
    palette.set_bad("white")
    # One mesh with white edges draws the calendar's gaps; minor-tick grids cost far more.
    ax.pcolormesh(grid, cmap=palette, vmin=0, vmax=top, edgecolors="white", linewidth=2)
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.set_title(labels.activity, loc="left")
    ax.set_yticks([y + 0.5 for y in range(7)], labels.weekdays)
    ax.set_xticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel(f"{labels.less} → {labels.more}")


def _accuracy(ax: Any, spec: PictureSpec, labels: Labels) -> None:
    ax.set_title(labels.accuracy, loc="left")
    shares = [100 * c / a if a else 0 for a, c in spec.accuracy]
    rows = range(len(shares))
    ax.barh(rows, shares, color="#40c463")
    # Long topic names ("Attention and Transformers") would run off the left edge.
    ax.set_yticks(rows, [t if len(t) <= 18 else t[:17] + "…" for t in labels.topics])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    for row, (share, (answered, correct)) in enumerate(zip(shares, spec.accuracy, strict=True)):
        ax.text(min(share, 70) + 2, row, f"{correct}/{answered}", va="center", fontsize=9)


def _cards(ax: Any, spec: PictureSpec, labels: Labels) -> None:
    ax.set_title(labels.cards, loc="left")
    bars = ax.bar(range(3), spec.states, color=["#c9d1d9", "#f2cc60", "#40c463"])
    ax.bar_label(bars, fontsize=9)
    ax.set_xticks(range(3), labels.states)
    ax.set_ylim(0, max([*spec.states, 1]) * 1.15)


def _due(ax: Any, spec: PictureSpec, labels: Labels) -> None:
    from matplotlib.ticker import MaxNLocator

    # Its own panel: a handful of due cards would vanish next to hundreds of new ones.
    ax.set_title(labels.due, loc="left")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # cards come whole
    bars = ax.bar(range(len(spec.due_days)), spec.due_days, color="#58a6ff")
    ax.bar_label(bars, fontsize=9)
    ax.set_xticks(range(len(spec.due_days)), labels.days, rotation=45, ha="right")
    ax.set_ylim(0, max([*spec.due_days, 1]) * 1.2)


class PictureRenderer:
    """Render pictures in one spawned worker process, started on first use."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def render(self, spec: PictureSpec) -> bytes:
        """Return the PNG of a spec, drawn off the event loop in the worker process."""
        if self._pool is None:
            # spawn, not fork: a forked child would share the bot's event loop and sockets.
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
        return await asyncio.get_running_loop().run_in_executor(self._pool, render_png, spec)

    def close(self) -> None:
        """Stop the worker process, if it was started."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

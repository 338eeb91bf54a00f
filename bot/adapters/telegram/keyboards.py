"""Inline keyboards and their callback data (at most 64 bytes each)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.adapters import review_render
from bot.adapters.render import LETTERS
from bot.i18n import _
from bot.services.model import Lang

# a: answer an option, r: reveal the answer; h: hint, x: run the snippet, p: report a problem.
_DATA = re.compile(r"^(a|r|h|x|p):(\d{1,12})(?::(\d{1,2}))?$")
TOOLS_PATTERN = r"^(h|x|p):"
_TOOLS: dict[str, Literal["hint", "run", "report"]] = {"h": "hint", "x": "run", "p": "report"}


@dataclass(frozen=True)
class Callback:
    """A parsed button press on a prompt: answer, reveal, hint, run its snippet or report it."""

    action: Literal["answer", "reveal", "hint", "run", "report"]
    prompt_id: int
    option: int = -1


def parse(data: str | None) -> Callback | None:
    """Parse callback data we produced; None for anything else (stale or forged)."""
    match = _DATA.match(data or "")
    if not match:
        return None
    kind, prompt, option = match.groups()
    if kind == "a" and option is not None:
        return Callback("answer", int(prompt), int(option))
    if kind == "r" and option is None:
        return Callback("reveal", int(prompt))
    if kind in _TOOLS and option is None:
        return Callback(_TOOLS[kind], int(prompt))
    return None


def question_keyboard(
    prompt_id: int, options: int, lang: Lang, review_due: int = 0, hint: bool = False
) -> InlineKeyboardMarkup:
    """Return one button per option letter, "hint" if any, "show answer", and "Review n due"."""
    letters = [
        InlineKeyboardButton(LETTERS[i], callback_data=f"a:{prompt_id}:{i}") for i in range(options)
    ]
    rows = [letters[i : i + 5] for i in range(0, len(letters), 5)]
    last = [InlineKeyboardButton(_(lang, "💡 Show answer"), callback_data=f"r:{prompt_id}")]
    if hint:
        last.insert(0, InlineKeyboardButton(_(lang, "💡 Hint"), callback_data=f"h:{prompt_id}"))
    rows.append(last)
    if review_due > 0:
        label = review_render.review_due_button(lang, review_due)
        rows.append([InlineKeyboardButton(label, callback_data="v:go")])
    return InlineKeyboardMarkup(rows)


def reveal_keyboard(prompt_id: int, lang: Lang) -> InlineKeyboardMarkup:
    """Return only the "show answer" button (after a private chat's answer)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_(lang, "💡 Show answer"), callback_data=f"r:{prompt_id}")]]
    )


def answer_keyboard(
    prompt_id: int, lang: Lang, runnable: bool, rating: bool
) -> InlineKeyboardMarkup:
    """Return the buttons under a reference answer: run its snippet, report, rate oneself."""
    tools = [InlineKeyboardButton(_(lang, "⚠ Report a problem"), callback_data=f"p:{prompt_id}")]
    if runnable:
        tools.insert(0, InlineKeyboardButton(_(lang, "▶ Run it"), callback_data=f"x:{prompt_id}"))
    rows = [tools]
    if rating:
        rows.insert(0, list(self_rating_keyboard(prompt_id, lang).inline_keyboard[0]))
    return InlineKeyboardMarkup(rows)


# Personal review: answer a card (v:prompt:option:owner, ":c" when the daily question's capped
# batch served it), rate oneself after reading the answer (g:prompt:grade), or start the daily
# batch (v:go). The owner's Telegram id rides along so that a card shown in a group counts only
# for its owner.
_REVIEW_DATA = re.compile(r"^(?:v:(\d{1,12}):(\d{1,2}):(\d{1,20})(:c)?|g:(\d{1,12}):([0-3])|v:go)$")
REVIEW_PATTERN = r"^(v|g):"
GRADE_ORDER = ("again", "hard", "good", "easy")


@dataclass(frozen=True)
class ReviewCallback:
    """A parsed review button: answer a card, rate oneself, or start reviewing."""

    action: Literal["answer", "rate", "start"]
    prompt_id: int = 0
    option: int = -1
    owner: int = 0
    grade: str = ""
    capped: bool = False  # part of the daily question's batch (STUDYBOT_DAILY_REVIEWS)


def parse_review(data: str | None) -> ReviewCallback | None:
    """Parse review callback data we produced; None for anything else."""
    match = _REVIEW_DATA.match(data or "")
    if not match:
        return None
    prompt, option, owner, capped, rated, grade = match.groups()
    if prompt is not None:
        return ReviewCallback("answer", int(prompt), int(option), int(owner), capped=bool(capped))
    if rated is not None:
        return ReviewCallback("rate", int(rated), grade=GRADE_ORDER[int(grade)])
    return ReviewCallback("start")


def review_keyboard(
    prompt_id: int, options: int, owner: int, lang: Lang, capped: bool = False
) -> InlineKeyboardMarkup:
    """Return a review card's option letters (for its owner) and the "show answer" button."""
    tail = ":c" if capped else ""
    letters = [
        InlineKeyboardButton(LETTERS[i], callback_data=f"v:{prompt_id}:{i}:{owner}{tail}")
        for i in range(options)
    ]
    rows = [letters[i : i + 5] for i in range(0, len(letters), 5)]
    rows.append([InlineKeyboardButton(_(lang, "💡 Show answer"), callback_data=f"r:{prompt_id}")])
    return InlineKeyboardMarkup(rows)


def rating_keyboard(prompt_id: int, labels: list[str]) -> InlineKeyboardMarkup:
    """Return the Again / Hard / Good / Easy buttons for rating oneself."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(label, callback_data=f"g:{prompt_id}:{i}")
                for i, label in enumerate(labels)
            ]
        ]
    )


def start_review_keyboard(label: str) -> InlineKeyboardMarkup:
    """Return the one button that starts a review."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data="v:go")]])


def self_rating_keyboard(prompt_id: int, lang: Lang) -> InlineKeyboardMarkup:
    """Return the Again / Hard / Good / Easy buttons in the user's language."""
    return rating_keyboard(prompt_id, [review_render.grade_name(lang, g) for g in GRADE_ORDER])

"""Inline keyboards and their callback data (at most 64 bytes each)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.adapters.render import LETTERS
from bot.i18n import _
from bot.storage.records import Lang

_DATA = re.compile(r"^(a|r):(\d{1,12})(?::(\d{1,2}))?$")


@dataclass(frozen=True)
class Callback:
    """A parsed button press: answer option `option` of prompt `prompt_id`, or reveal it."""

    action: Literal["answer", "reveal"]
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
    return None


def question_keyboard(prompt_id: int, options: int, lang: Lang) -> InlineKeyboardMarkup:
    """Return one button per option letter and a "show answer" button."""
    letters = [
        InlineKeyboardButton(LETTERS[i], callback_data=f"a:{prompt_id}:{i}") for i in range(options)
    ]
    rows = [letters[i : i + 5] for i in range(0, len(letters), 5)]
    rows.append([InlineKeyboardButton(_(lang, "💡 Show answer"), callback_data=f"r:{prompt_id}")])
    return InlineKeyboardMarkup(rows)


def reveal_keyboard(prompt_id: int, lang: Lang) -> InlineKeyboardMarkup:
    """Return only the "show answer" button (after a private chat's answer)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_(lang, "💡 Show answer"), callback_data=f"r:{prompt_id}")]]
    )

"""Message catalogs: complete, and placeholders kept in every translation."""

from __future__ import annotations

import re
import string
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.adapters import render
from bot.i18n import LOCALES, _
from bot.services.streaks import StreakView

ROOT = Path(__file__).resolve().parents[1]


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def catalog(lang: str) -> dict[object, object]:
    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return {m.id: m.string for m in read_po(f, locale=lang) if m.id}


def test_every_message_in_code_is_translated_in_zh() -> None:
    found = {
        msg[2]
        for msg in extract_from_dir(
            str(ROOT / "bot"),
            keywords={"_": (2,), "ngettext": (2, 3), "N_": None},
            comment_tags=(),
        )
    }
    zh = catalog("zh")
    missing = [m for m in found if not zh.get(m)]
    assert not missing, f"untranslated (run tools/update_catalogs.py): {missing}"


def test_translations_keep_placeholders() -> None:
    for msgid, msgstr in catalog("zh").items():
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strs = msgstr if isinstance(msgstr, tuple) else (msgstr,)
        for s in strs:
            assert fields(str(s)) <= set().union(*(fields(str(i)) for i in ids)), msgid


def test_rendering_in_both_languages() -> None:
    assert _("zh", "Topics") == "主题"
    assert _("en", "Topics") == "Topics"
    assert render.streak_line("zh", StreakView(3, 3, 0, True, False)) == "🔥 已连续打卡 3 天"
    assert render.streak_line("en", StreakView(1, 1, 0, True, False)) == "🔥 Streak: 1 day"
    assert re.search(r"/daily — 今日一题", render.help_text("zh").text)


def test_a_freeze_has_one_name_in_chinese() -> None:
    zh = catalog("zh")
    freezes = [str(s) for i, s in zh.items() if "reeze" in str(i)]
    assert freezes and all("补签卡" in s for s in freezes), freezes
    assert not [s for s in zh.values() if "冻结" in str(s)]

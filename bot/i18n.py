"""gettext catalogs (zh, en) read from the .po files in bot/locales with Babel."""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.storage.records import Lang

LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"


@cache
def translations(lang: Lang) -> gettext.NullTranslations:
    """Return the compiled catalog of a language (English source strings are the msgids)."""
    path = LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def N_(message: str, /) -> str:
    """Mark a string for extraction without translating it yet (translated where shown)."""
    return message


def _(lang: Lang, message: str, /, **params: object) -> str:
    """Translate `message` into `lang` and fill in its {named} fields."""
    text = translations(lang).gettext(message)
    return text.format(**params) if params else text


def ngettext(lang: Lang, singular: str, plural: str, n: int, /, **params: object) -> str:
    """Translate a message with a count into `lang` and fill in {n} and other fields."""
    text = translations(lang).ngettext(singular, plural, n)
    return text.format(n=n, **params)

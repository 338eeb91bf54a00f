"""The console's own words where the shared ones speak of chat apps (replies, files, polls)."""

from __future__ import annotations

from bot.document import Document, doc
from bot.i18n import _
from bot.services.model import Lang


def usage(lang: Lang, key: str) -> Document | None:
    """Return the console's usage line for `key`; None where it is shared."""
    lines = {
        "usage_run": _(
            lang,
            "Usage: /run <code> on one line, or /run alone, then paste the code and end it "
            "with a line holding only a dot (.). Add cpu or gpu to choose the device: /run gpu",
        ),
        "usage_bench": _(
            lang,
            "Usage: /bench [cpu|gpu], then paste each snippet and end it with a line holding "
            "only a dot (.); a lone dot after the first or second starts the timing. One "
            "snippet is timed alone, two are compared, and with three the first is a setup.",
        ),
        "usage_report": _(lang, "Say what is wrong in a few words: /report <text>."),
        "usage_submit": _(
            lang,
            "Usage: /submit <code> on one line, or /submit alone, then paste the code and end "
            "it with a line holding only a dot (.). It grades your current /exercise.",
        ),
    }
    return doc(lines[key]) if key in lines else None


def how_to_submit(lang: Lang) -> str:
    """Say how to send code for the current exercise, in the console."""
    return _(
        lang,
        "Send your code with /submit, then paste it and end with a line holding only a dot (.). "
        "/hint gives a hint; /giveup shows the solution after one attempt.",
    )


def how_to_answer_quiz(lang: Lang) -> str:
    """Say how to answer a quiz's questions, in the console."""
    return _(lang, "Answer each question with its letter; the scoreboard comes at the end.")

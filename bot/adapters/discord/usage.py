"""Usage lines in Discord's option syntax ("/subscribe time:08:30"); other keys are shared."""

from __future__ import annotations

from bot.adapters import render
from bot.document import Document, doc
from bot.i18n import _
from bot.services.model import Lang
from bot.text import excerpt


def usage(lang: Lang, key: str, **params: object) -> Document | None:
    """Return the Discord usage line for `key`; None where it is shared."""
    # Over 60 lines on purpose: every Discord usage line in one table, next to the others.
    lines = {
        "usage_subscribe": _(
            lang,
            "Usage: /subscribe time:HH:MM topic:name, both optional, e.g. "
            "/subscribe time:08:30 topic:autograd (24-hour, local time).",
        ),
        "usage_timezone": _timezone(lang),
        "usage_lang": _(lang, "Usage: /lang language:zh or /lang language:en."),
        "usage_quiz": _(
            lang,
            "Usage: /quiz count:N topic:name, both optional: N questions from 1 to 20 "
            "(default 5), a topic from /topics or all, e.g. /quiz count:10 topic:autograd.",
        ),
        "usage_leaderboard": _(
            lang,
            "Usage: /leaderboard period:week, month or all (default week); period:off leaves "
            "the boards, period:on comes back.",
        ),
        "usage_review": _(
            lang,
            "Usage: /review serves your due cards; /review retention:0.85 sets how much you "
            "want to remember (0.80–0.97).",
        ),
        "usage_retention": _(
            lang,
            "Usage: /review retention:0.85, a number from 0.80 to 0.97. Higher means more "
            "reviews, lower means more forgetting.",
        ),
        "usage_remind": _(
            lang,
            "Usage: /remind time:HH:MM (24-hour, your local time), e.g. /remind time:20:30; "
            "/remind time:off stops reminders.",
        ),
        "usage_run": _(
            lang,
            "Usage: /run code:print(1) for one line, or /run alone for a box for longer code; "
            "device:gpu runs it on the GPU. The “Run code” message menu runs a message's code.",
        ),
        "usage_bench": _(
            lang,
            "Usage: /bench opens a box for snippet A, an optional snippet B to compare it "
            "with, and an optional setup run once for both; device:gpu times them on the GPU.",
        ),
        "usage_exercise": _(
            lang,
            "Usage: /exercise which:softmax or /exercise which:modules (an id or a topic; "
            "start typing for suggestions). Topics: {topics}. /exercises lists them all.",
            topics=str(params.get("topics", "")),
        ),
        "usage_submit": _(
            lang,
            "Usage: /submit code:… for one line, or /submit alone (or 📝 Submit under the "
            "exercise) for a box. It grades your current /exercise.",
        ),
    }
    if key == "unknown_timezone":
        shown = {k: excerpt(v) if isinstance(v, str) else v for k, v in params.items()}
        head = render.unknown_timezone(lang, shown).split("\n")[0]
        return doc(f"{head}\n{_timezone(lang)}")
    return doc(lines[key]) if key in lines else None


def _timezone(lang: Lang) -> str:
    return _(lang, "Usage: /timezone zone:Asia/Shanghai (an IANA name; type to see suggestions).")

"""Render the operators' /admin replies."""

from __future__ import annotations

from bot.content.loader import ContentBank
from bot.document import Document, Inline, bold, code, doc, lines
from bot.i18n import _
from bot.services.admin import AdminStats
from bot.services.model import Lang
from bot.text import excerpt

# A broken bank can have hundreds of problems; a message shows the first ones.
SHOWN_PROBLEMS = 20


def admin_usage(lang: Lang) -> Document:
    """Say how /admin is used."""
    return doc(_(lang, "Usage: /admin stats or /admin reload (operators, in a private chat)."))


def admin_refused(lang: Lang) -> Document:
    """Say that /admin is only for the operators, in a private chat."""
    return doc(_(lang, "/admin is for the bot's operators, in a private chat with the bot."))


def admin_stats(lang: Lang, stats: AdminStats) -> Document:
    """Render the bot's numbers."""
    rows: list[list[Inline]] = [[bold(_(lang, "studybot {version}", version=stats.version))]]
    rows += [
        [line]
        for line in [
            _(lang, "Users: {n}", n=stats.users),
            _(
                lang,
                "Chats: {n} ({subscribed} subscribed)",
                n=stats.chats,
                subscribed=stats.subscribed,
            ),
            _(lang, "Answers today (UTC): {n}", n=stats.answers_today),
            _(lang, "Runs today (UTC): {n}", n=stats.runs_today),
            _(lang, "Runs waiting or running: {n}", n=stats.runs_in_flight),
            _(lang, "Sandbox level: {level}", level=stats.sandbox_level),
            _(lang, "Questions in the bank: {n}", n=stats.questions),
            _(lang, "Open problem reports: {n}", n=stats.reports.count),
        ]
    ]
    rows += [
        [f"• #{r.id} ", code(r.question_id), f" · {r.user_name}: {excerpt(r.text, 80)}"]
        for r in stats.reports.newest
    ]
    if stats.reports.count:
        rows.append([_(lang, "All of them: studybot content reports")])
    return doc(lines(*rows))


def bank_reloaded(lang: Lang, bank: ContentBank) -> Document:
    """Say the new bank is in use."""
    return doc(_(lang, "Question bank reloaded: {n} questions.", n=len(bank.questions)))


def bank_refused(lang: Lang, problems: list[str]) -> Document:
    """List why a broken bank was refused; the old one stays."""
    head = _(
        lang,
        "The question bank has {n} problem(s); it was not loaded and the old one stays:",
        n=len(problems),
    )
    shown = "\n".join(f"• {p}" for p in problems[:SHOWN_PROBLEMS])
    more = len(problems) - SHOWN_PROBLEMS
    tail = "\n" + _(lang, "… and {n} more.", n=more) if more > 0 else ""
    return doc(f"{head}\n{shown}{tail}")

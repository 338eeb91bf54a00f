"""Render personal review, self-rating, retention and reminders, shared by every adapter."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.adapters import buddy_render
from bot.document import Document, doc
from bot.i18n import _, ngettext
from bot.services.model import Lang
from bot.services.reminders import Reminder
from bot.services.review import RetentionSet, ReviewSummary

GRADE_LABELS = {
    "again": "🔁",
    "hard": "😓",
    "good": "🙂",
    "easy": "😎",
}


def grade_name(lang: Lang, grade: str) -> str:
    """Return the label of a self-rating button."""
    names = {
        "again": _(lang, "Again"),
        "hard": _(lang, "Hard"),
        "good": _(lang, "Good"),
        "easy": _(lang, "Easy"),
    }
    return f"{GRADE_LABELS.get(grade, '')} {names.get(grade, grade)}".strip()


def when(lang: Lang, at: datetime, zone: str, now: datetime) -> str:
    """Render a due time in the user's zone: the time today, else the date and time."""
    local, today = at.astimezone(ZoneInfo(zone)), now.astimezone(ZoneInfo(zone))
    if local.date() == today.date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def summary(lang: Lang, s: ReviewSummary, zone: str, now: datetime) -> Document:
    """Say that nothing is due now, how many come later today and when the next one is."""
    if s.cards == 0:
        return nothing_learned(lang)
    lines = [_(lang, "✅ Nothing left to review right now.")]
    if s.due_today:
        lines.append(
            ngettext(
                lang,
                "{n} more card is due later today.",
                "{n} more cards are due later today.",
                s.due_today,
            )
        )
    if s.next_due is not None:
        lines.append(_(lang, "Next review: {when}.", when=when(lang, s.next_due, zone, now)))
    return doc("\n".join(lines))


def nothing_learned(lang: Lang) -> Document:
    """Say how to start when the user has no cards yet."""
    return doc(
        _(
            lang,
            "Nothing to review yet. Answer /daily or /question: every question you answer "
            "becomes a card that comes back just before you would forget it.",
        )
    )


def rated(lang: Lang, due: datetime, zone: str, now: datetime) -> str:
    """Confirm a self-rating with when the card comes back (short: a pop-up's words)."""
    return _(lang, "Noted. This card comes back at {when}.", when=when(lang, due, zone, now))


def leech(lang: Lang) -> Document:
    """Say a card failed too often and leaves the queue (its answer follows)."""
    return doc(
        _(
            lang,
            "🩹 You have missed this one many times, so it leaves your review queue. "
            "Read the answer and try the snippet:",
        )
    )


def retention_set(lang: Lang, r: RetentionSet) -> Document:
    """Confirm a new retention and say what it does to the workload."""
    head = _(
        lang,
        "Desired retention: {retention:.0%}. Cards are scheduled so that you still know "
        "about {retention:.0%} of them when they come back.",
        retention=r.retention,
    )
    if abs(r.workload - 1) < 0.005:
        tail = _(lang, "That is the default workload.")
    elif r.workload > 1:
        tail = _(
            lang,
            "Expect about {more:.0%} more reviews a day than at {base:.0%}.",
            more=r.workload - 1,
            base=r.baseline,
        )
    else:
        tail = _(
            lang,
            "Expect about {fewer:.0%} fewer reviews a day than at {base:.0%}, "
            "and to forget a little more.",
            fewer=1 - r.workload,
            base=r.baseline,
        )
    return doc(f"{head}\n{tail}")


def retention_now(lang: Lang, retention: float) -> Document:
    """Show the user's retention and how to change it."""
    return doc(
        _(
            lang,
            "Your desired retention is {retention:.0%}. Change it with /review retention 0.85 "
            "(0.80–0.97): higher means more reviews, lower means more forgetting.",
            retention=retention,
        )
    )


def review_due_button(lang: Lang, n: int) -> str:
    """Label the button that starts a review of n due cards."""
    return ngettext(lang, "🔁 Review {n} due", "🔁 Review {n} due", n)


def reminder(r: Reminder) -> Document:
    """Render the short reminder: the streaks at risk (own, then friends') and the cards due."""
    lines = []
    if r.streak:
        lines.append(
            ngettext(
                r.lang,
                "🔥 Your {n}-day streak ends today unless you answer a question.",
                "🔥 Your {n}-day streak ends today unless you answer a question.",
                r.streak,
            )
        )
    lines += buddy_render.reminder_lines(r.lang, r.friends)
    if r.due:
        lines.append(ngettext(r.lang, "{n} card is due.", "{n} cards are due.", r.due))
    return doc("\n".join(lines))


def start_button(lang: Lang) -> str:
    """Label the reminder's button."""
    return _(lang, "▶️ Start")


def remind_set(lang: Lang, at: str | None, zone: str) -> Document:
    """Confirm the reminder time, or that reminders are off."""
    if at is None:
        return doc(_(lang, "Reminders are off. /remind HH:MM turns them back on."))
    return doc(
        _(
            lang,
            "I will remind you at {at} ({zone}) on days you have not studied yet, "
            "when your streak or due cards need it.",
            at=at,
            zone=zone,
        )
    )


def daily_batch_done(lang: Lang, cap: int) -> Document:
    """Say that the daily question's batch of reviews is done; /review goes on."""
    return doc(
        ngettext(
            lang,
            "✅ That was today's batch: {n} review from the daily question. /review goes on.",
            "✅ That was today's batch: {n} reviews from the daily question. /review goes on.",
            cap,
        )
    )

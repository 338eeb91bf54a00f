"""Turn a StatsOverview into the /stats picture's spec and its caption."""

from __future__ import annotations

from datetime import timedelta

from bot.adapters import buddy_render, readiness_render
from bot.adapters.stats_picture import Labels, PictureSpec
from bot.content.loader import ContentBank
from bot.document import Document, doc
from bot.i18n import _, ngettext
from bot.services.model import Lang
from bot.services.stats import DUE_DAYS, StatsOverview


def topic_order(bank: ContentBank, overview: StatsOverview) -> list[str]:
    """Return every topic of the bank in its order, then any answered topic it no longer has.

    All of them, answered or not: the panel shows where one has not been yet as well, and is
    never a few bars at the top of an empty box.
    """
    ids = [t.id for t in bank.topics]
    return ids + [t for t in overview.totals.by_topic if t not in ids]


def labels(bank: ContentBank, lang: Lang, overview: StatsOverview) -> Labels:
    """Return the picture's words in one language."""
    weekdays = (
        _(lang, "Mon"),
        _(lang, "Tue"),
        _(lang, "Wed"),
        _(lang, "Thu"),
        _(lang, "Fri"),
        _(lang, "Sat"),
        _(lang, "Sun"),
    )
    topics = []
    for topic_id in topic_order(bank, overview):
        topic = bank.topic(topic_id)
        topics.append(topic.name(lang) if topic else topic_id)
    days = [overview.today + timedelta(days=i) for i in range(DUE_DAYS)]
    return Labels(
        title=_(lang, "Your study"),
        activity=_(lang, "Answers per day, last 12 weeks"),
        weekdays=weekdays,
        less=_(lang, "fewer"),
        more=_(lang, "more"),
        accuracy=_(lang, "Readiness by topic (%) · right/answered"),
        topics=tuple(topics),
        cards=_(lang, "Cards by state"),
        states=(_(lang, "new"), _(lang, "learning"), _(lang, "review")),
        due=_(lang, "Due in the next 7 days"),
        days=(_(lang, "today"), *(f"{d.month}/{d.day}" for d in days[1:])),
        friends=_(lang, "Friend streaks (days)"),
    )


def picture_spec(bank: ContentBank, lang: Lang, overview: StatsOverview) -> PictureSpec:
    """Return what the worker draws for a user's overview."""
    ready = {t.topic: t for t in overview.readiness.topics}
    span = 7 * 12
    activity = tuple(
        overview.activity.get(overview.first_day + timedelta(days=i), 0) for i in range(span)
    )
    return PictureSpec(
        labels=labels(bank, lang, overview),
        english=labels(bank, "en", overview),
        # A friend's Chinese name needs the CJK font in an English picture too.
        needs_cjk=lang == "zh"
        or any(ord(c) >= 0x2E80 for f in overview.friends for c in f.friend.name),
        activity=activity,
        today_index=(overview.today - overview.first_day).days,
        accuracy=tuple(
            overview.totals.by_topic.get(t, (0, 0)) for t in topic_order(bank, overview)
        ),
        readiness=tuple(
            round(100 * ready[t].score) if t in ready else 0 for t in topic_order(bank, overview)
        ),
        states=(overview.new, overview.learning, overview.review),
        due_days=overview.due_days,
        friends=tuple((f.friend.name, f.days) for f in overview.friends),
    )


def caption(
    bank: ContentBank, lang: Lang, overview: StatsOverview, *, in_english: bool = False
) -> Document:
    """Render the picture's caption: streaks, freezes, accuracy, due today."""
    streak, totals = overview.streak, overview.totals
    share = round(100 * totals.correct / totals.answered) if totals.answered else 0
    lines = [
        ngettext(lang, "🔥 Streak: {n} day", "🔥 Streak: {n} days", streak.current)
        + " · "
        + _(lang, "longest: {n}", n=streak.longest),
        _(lang, "❄️ Freezes banked: {n}", n=streak.freezes),
        _(
            lang,
            "✅ Accuracy: {share}% ({correct}/{answered})",
            share=share,
            correct=totals.correct,
            answered=totals.answered,
        ),
        ngettext(lang, "🔁 Due today: {n} card", "🔁 Due today: {n} cards", overview.due_today),
    ]
    friends = buddy_render.caption_line(lang, overview.friends)
    if friends:
        lines.append(friends)
    if totals.exercises_solved:
        solved = totals.exercises_solved
        lines.append(_(lang, "🧩 Exercises solved: {n}", n=solved))
    if overview.readiness.study_next:
        lines.append(readiness_render.study_next(bank, lang, overview.readiness))
    if in_english:
        # Drawn in English rather than as empty boxes: say why, in this reply.
        lines.append(_(lang, "(No Chinese font on this server, so the picture is in English.)"))
    return doc("\n".join(lines))


def empty(lang: Lang) -> Document:
    """Say there is nothing to draw yet, kindly."""
    return doc(
        _(
            lang,
            "No answers yet, so no picture yet. Try /daily: your calendar starts filling "
            "with your first answer.",
        )
    )

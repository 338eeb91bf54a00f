"""/ready: interview readiness by topic, and the two topics to study next."""

from __future__ import annotations

from bot.content.loader import ContentBank
from bot.document import Document, Inline, bold, code, doc, lines
from bot.i18n import _
from bot.services.model import Lang
from bot.services.readiness import Readiness


def _name(bank: ContentBank, lang: Lang, topic_id: str) -> str:
    topic = bank.topic(topic_id)
    return topic.name(lang) if topic else topic_id


def study_next(bank: ContentBank, lang: Lang, ready: Readiness) -> str:
    """Name the topics to study next, as plain words."""
    names = [_name(bank, lang, t) for t in ready.study_next]
    return _(lang, "📚 Study next: {topics}", topics=_(lang, ", ").join(names))


def readiness(bank: ContentBank, lang: Lang, ready: Readiness) -> Document:
    """Render readiness overall and by topic, then what to study next and how."""
    head = _(lang, "🎯 Interview readiness: {share}%", share=round(100 * ready.overall))
    if ready.empty:
        return doc(
            bold(head),
            _(lang, "It grows with what you remember: answer a few questions first (/daily)."),
        )
    rows: list[list[Inline]] = [[bold(head)]]
    for t in ready.topics:
        if not t.questions:
            continue
        line = _(
            lang,
            "{topic}: {score}% · recall {recall}% · met {met}/{questions}",
            topic=_name(bank, lang, t.topic),
            score=round(100 * t.score),
            recall=round(100 * t.recall),
            met=t.met,
            questions=t.questions,
        )
        if t.exercises:
            line += " · " + _(
                lang, "exercises {solved}/{total}", solved=t.solved, total=t.exercises
            )
        rows.append([line])
    nexts: list[Inline] = [study_next(bank, lang, ready)]
    for topic in ready.study_next:
        nexts += [" ", code(f"/question {topic}")]
    explain = _(
        lang,
        "Readiness: the share of a topic's questions you would get right now, by your review "
        "model (a question you never met counts as not known), with its exercises solved.",
    )
    return doc(lines(*rows), lines(nexts), explain)

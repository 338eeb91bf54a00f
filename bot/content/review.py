"""Review a loaded bank for what validation cannot see one file at a time: overlap and balance."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from itertools import combinations

from bot.content.loader import ContentBank
from bot.content.models import Question

# Tuned on the bank: distinct questions on one subject stay below these, rewordings do not.
PROMPT_SIMILARITY = 0.75
STEM_SIMILARITY = 0.85
_ASSERT = re.compile(r"^\s*assert\b", re.MULTILINE)
_BOOLEAN = re.compile(r"\b(True|False)\b")


def _similar(a: str, b: str, threshold: float) -> float | None:
    matcher = SequenceMatcher(None, a.lower(), b.lower(), autojunk=False)
    # The cheap upper bounds first: most pairs are rejected without the full comparison.
    if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
        return None
    ratio = matcher.ratio()
    return ratio if ratio >= threshold else None


def near_duplicates(questions: tuple[Question, ...]) -> list[str]:
    """List pairs whose English prompts or quiz stems read alike."""
    found = []
    for a, b in combinations(questions, 2):
        prompt = _similar(a.en.question, b.en.question, PROMPT_SIMILARITY)
        stem = _similar(a.en.quiz.question, b.en.quiz.question, STEM_SIMILARITY)
        if prompt is not None:
            found.append(f"near-duplicate: {a.id} and {b.id} (prompts {prompt:.0%} alike)")
        elif stem is not None:
            found.append(f"near-duplicate: {a.id} and {b.id} (quiz questions {stem:.0%} alike)")
    return found


def thin_topics(bank: ContentBank) -> list[str]:
    """List topics without an easy and a hard question."""
    found = []
    for topic in bank.topics:
        have = {q.difficulty for q in bank.in_topic(topic.id)}
        missing = [d for d in ("easy", "hard") if d not in have]
        if missing:
            found.append(f"difficulty spread: topic {topic.id} has no {' and no '.join(missing)}")
    return found


def unchecked_snippets(questions: tuple[Question, ...]) -> list[str]:
    """List snippets that only print: no assert and no printed boolean pinned by the output."""
    return [
        f"snippet without a check: {q.id} (add an assert or print a boolean)"
        for q in questions
        if q.snippet is not None
        and not _ASSERT.search(q.snippet.code)
        and not _BOOLEAN.search(q.snippet.expected)
    ]


def review(bank: ContentBank) -> list[str]:
    """Return every finding of the review, empty for a bank in house style."""
    # Ids that break the convention and missing hints are load errors (see loader.py).
    findings = near_duplicates(bank.questions)
    findings += thin_topics(bank)
    findings += unchecked_snippets(bank.questions)
    return findings

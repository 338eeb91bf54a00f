"""Render coding exercises, hints, verdicts and give-ups as Documents."""

from __future__ import annotations

from bot.adapters.render import MAX_MESSAGE_CHARS, difficulty_name
from bot.adapters.run_render import status_line
from bot.content.markup import to_document
from bot.document import CodeBlock, Document, Inline, Paragraph, Span, bold, code, doc, lines
from bot.errors import UserInputError
from bot.exercises.compare import CaseVerdict
from bot.exercises.grading import Verdict
from bot.exercises.models import Exercise
from bot.i18n import _, ngettext
from bot.services.exercises import ExerciseEntry, HintShown, ShownExercise, Submitted
from bot.services.model import Lang

_MARKS = {"new": "▫️", "tried": "✏️", "solved": "✅", "gave_up": "🏳"}
# A verdict lists at most this many failing cases (the count says how many more).
MAX_FAILED_SHOWN = 8
# What the learner's code printed is shown up to this many characters.
PRINTED_CHARS = 600


def topic_name(lang: Lang, topic: str) -> str:
    """Return the display name of an exercise topic."""
    names = {
        "tensors": _(lang, "tensors"),
        "modules": _(lang, "modules"),
        "autograd": _(lang, "autograd"),
        "training": _(lang, "training"),
        "data": _(lang, "data"),
        "performance": _(lang, "performance"),
        "distributed": _(lang, "distributed"),
        "compile": _(lang, "compile"),
    }
    return names.get(topic, topic)


def exercise(shown: ShownExercise, how: str | None = None) -> Document:
    """Render an exercise: title, statement, signature, starter code, what to do next.

    `how` replaces the line that says how to submit (a platform's own way).
    """
    x, lang = shown.exercise, shown.lang
    where = f" · {topic_name(lang, x.topic)} · {difficulty_name(lang, x.difficulty)} · "
    solved = None
    if shown.progress.solved_at is not None:
        solved = _(lang, "✅ You have solved this one already.")
    return (
        doc(lines([bold(f"🧩 {x.title.get(lang)}"), where, code(x.id)]))
        + to_document(x.statement.get(lang))
        + doc(
            code(x.signature),
            CodeBlock(x.starter.rstrip()),
            how
            or _(
                lang,
                "Send your code with /submit (inline, a ```python block, a reply or a .py file). "
                "/hint gives a hint; /giveup shows the solution after one attempt.",
            ),
            solved,
        )
    )


def overview(lang: Lang, entries: list[ExerciseEntry], titles: bool = True) -> Document:
    """Render /exercises: every exercise by topic with the user's state."""
    if not entries:
        return doc(_(lang, "No exercises on this bot yet."))
    solved = sum(1 for entry in entries if entry.state == "solved")
    head = _(lang, "Coding exercises: {solved}/{total} solved", solved=solved, total=len(entries))
    groups: list[list[list[Inline]]] = []  # per topic: its name, then a line an exercise
    topic = None
    for entry in entries:
        x = entry.exercise
        if x.topic != topic:
            topic = x.topic
            groups.append([[bold(topic_name(lang, topic))]])
        line: list[Inline] = [f"{_MARKS[entry.state]} ", code(x.id)]
        if titles:
            line.append(f" {x.title.get(lang)} · {difficulty_name(lang, x.difficulty)}")
        groups[-1].append(line)
    document = doc(
        bold(head),
        *(lines(*group) for group in groups),
        _(lang, "/exercise ID opens one; /exercise alone opens your next unsolved one."),
    )
    if titles and len(document.text) > MAX_MESSAGE_CHARS:  # a long list: ids and states only
        return overview(lang, entries, titles=False)
    return document


def hint(lang: Lang, shown: HintShown) -> Document:
    """Render the next hint of an exercise."""
    total = len(shown.exercise.hints)
    head = _(lang, "💡 Hint {n}/{total}", n=shown.number, total=total)
    text = to_document(shown.text)
    first = text.blocks[0] if text.blocks and isinstance(text.blocks[0], Paragraph) else None
    if first is not None:  # the head leads the hint's first paragraph, as one line
        text = Document((Paragraph((bold(head), Span(" "), *first.spans)), *text.blocks[1:]))
    else:
        text = doc(bold(head)) + text
    last = None
    if shown.last:
        last = _(lang, "That was the last hint. /giveup shows the solution.")
    return text + doc(last)


def case_reason(lang: Lang, c: CaseVerdict) -> str:
    """Say briefly why a case failed (never the expected values)."""
    where = f"{c.where}: " if c.where else ""
    reasons = {
        "error": _(lang, "raised {error}", error=c.detail),
        "missing": _(lang, "no result"),
        "type": _(
            lang,
            "{where}a {got} where a {expected} is expected",
            where=where,
            got=c.got,
            expected=c.expected,
        ),
        "length": _(
            lang,
            "{where}{got} items, expected {expected}",
            where=where,
            got=c.got,
            expected=c.expected,
        ),
        "shape": _(
            lang,
            "{where}shape {got}, expected {expected}",
            where=where,
            got=c.got,
            expected=c.expected,
        ),
        "dtype": _(
            lang,
            "{where}dtype {got}, expected {expected}",
            where=where,
            got=c.got,
            expected=c.expected,
        ),
        "value": _(lang, "{where}max abs error {error}", where=where, error=_number(c.max_error)),
        "nan": _(lang, "{where}NaN found", where=where),
        "reference": _(lang, "the reference failed here (our fault)"),
        "mutated": _(lang, "changed the input {name}, which it must leave as it was", name=c.where),
        "not_in_place": _(lang, "did not update the input {name} in place", name=c.where),
        "ops": _(
            lang,
            "ran {got} tensor operations, more than the {limit} allowed "
            "(a Python loop over the data?)",
            got=c.got,
            limit=c.expected,
        ),
        "unjudgeable": _(
            lang,
            "turns a tensor into a Python value (.item(), float(t), if t: …); this exercise "
            "is graded on the tensor operations your code runs, so keep to tensor operations",
        ),
    }
    return reasons.get(c.reason, c.reason)


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return "inf" if value == float("inf") else f"{value:.3g}"


# A long function: each way a submission can end has its own few lines, in one place.
def verdict(lang: Lang, submitted: Submitted, wall_limit_s: float) -> Document:
    """Render a verdict: solved or not, each case, grading time, and what a solve earned."""
    return ungraded(lang, submitted.verdict, wall_limit_s) or graded(lang, submitted)


def ungraded(lang: Lang, v: Verdict, wall_limit_s: float) -> Document | None:
    """Render why code was not graded case by case (forbidden, unreadable…), or None."""
    if v.status == "forbidden":
        return doc(
            _(
                lang,
                "🚫 Your code runs {names}, which this exercise does not allow (judged on the "
                "operations it ran, whatever the name it was called by). See the statement.",
                names=", ".join(v.forbidden),
            )
        )
    if v.status == "malformed":
        return doc(
            _(
                lang,
                "❌ Your code's result could not be read ({detail}). This counts as an attempt.",
                detail=v.detail,
            )
        )
    if v.status == "reference":
        return doc(_(lang, "⚠️ Grading failed on our side. Please try again in a moment."))
    if v.status == "job" and v.job is not None:
        return doc(status_line(lang, v.job, wall_limit_s))
    if v.status == "no_result":
        tail = (v.job.stderr.strip().splitlines() or [""])[-1] if v.job else ""
        text = _(lang, "❌ Your code ended before its results were written (exit or a crash?).")
        return doc(text, CodeBlock(tail[:300]) if tail else None)
    return None


def graded(lang: Lang, submitted: Submitted) -> Document:
    """Render a graded verdict: each case, the code's prints, time, and what a solve earned."""
    v = submitted.verdict
    total, passed = len(v.cases), v.passed
    if v.solved:
        head = ngettext(lang, "✅ Solved! {n} case passed", "✅ Solved! {n} cases passed", total)
    else:
        head = _(lang, "❌ Not yet: {passed}/{total} cases passed", passed=passed, total=total)
    rows: list[list[Inline]] = [[bold(head)]]
    failed = [c for c in v.cases if not c.passed]
    for c in v.cases:
        if c.passed:
            rows.append([f"✅ {c.name}"])
    reasons = {case_reason(lang, c) for c in failed}
    if len(failed) > 1 and len(reasons) == 1:
        # One cause (the code does not load, the signature does not match): said once.
        (reason,) = reasons
        rows.append([_(lang, "❌ All {n} failing cases: {reason}", n=len(failed), reason=reason)])
        failed = []
    for c in failed[:MAX_FAILED_SHOWN]:
        rows.append([f"❌ {c.name}: {case_reason(lang, c)}"])
    if len(failed) > MAX_FAILED_SHOWN:
        rows.append([_(lang, "… and {n} more failing", n=len(failed) - MAX_FAILED_SHOWN)])
    printed_doc = Document()
    printed = v.job.stdout.strip() if v.job is not None else ""
    if printed:  # the learner's own prints, to debug with
        shown = printed[:PRINTED_CHARS] + ("\n…" if len(printed) > PRINTED_CHARS else "")
        printed_doc = doc(_(lang, "Your code printed:"), CodeBlock(shown))
    foot: list[list[Inline]] = [[_(lang, "Graded in {seconds:.2f} s", seconds=v.seconds)]]
    if submitted.first_solve and submitted.streak is not None:
        foot.append(
            [
                ngettext(
                    lang,
                    "🎉 First solve: counts for today. 🔥 Streak: {n} day",
                    "🎉 First solve: counts for today. 🔥 Streak: {n} days",
                    submitted.streak.current,
                )
            ]
        )
    elif not v.solved:
        foot.append([_(lang, "Fix it and /submit again, or ask for a /hint.")])
    return doc(lines(*rows)) + printed_doc + doc(lines(*foot))


def gave_up(lang: Lang, x: Exercise) -> Document:
    """Render the reference solution and its explanation."""
    title = _(lang, "🏳 The reference solution of “{title}”", title=x.title.get(lang))
    return (
        doc(bold(title), CodeBlock(x.reference.rstrip()))
        + to_document(x.explanation.get(lang))
        + doc(_(lang, "/exercise opens the next one."))
    )


def problem(lang: Lang, err: UserInputError) -> Document | None:
    """Render an exercise command's input problem; None for keys that are not ours."""
    texts = {
        "no_exercises": _(lang, "No exercises on this bot yet."),
        "usage_exercise": _(
            lang,
            "Usage: /exercise [id|topic], e.g. /exercise softmax or /exercise modules. "
            "Topics: {topics}. /exercises lists them all.",
            topics=str(err.params.get("topics", "")),
        ),
        "no_exercises_in_topic": _(lang, "No exercises in that topic yet. See /exercises."),
        "exercises_done": _(lang, "🎉 You have done every exercise. /exercise ID opens one again."),
        "no_exercise": _(lang, "No exercise open. Start one with /exercise."),
        "usage_submit": _(
            lang,
            "Usage: /submit <code>, a ```python block, or reply /submit to a message or send "
            "a .py file with /submit as caption. It grades your current /exercise.",
        ),
        "giveup_needs_attempt": _(
            lang, "Try at least once with /submit before giving up. /hint may help."
        ),
    }
    return doc(texts[err.key]) if err.key in texts else None

"""Render coding exercises, hints, verdicts and give-ups as Telegram-flavoured HTML."""

from __future__ import annotations

from bot.adapters.render import difficulty_name, e
from bot.adapters.run_render import status_line
from bot.content.markup import to_html
from bot.errors import UserInputError
from bot.exercises.compare import CaseVerdict
from bot.exercises.models import Exercise
from bot.i18n import _, ngettext
from bot.services.exercises import ExerciseEntry, HintShown, ShownExercise, Submitted
from bot.services.model import Lang

_MARKS = {"new": "▫️", "tried": "✏️", "solved": "✅", "gave_up": "🏳"}
# Telegram's limit is 4096 characters a message; leave room for the tags.
MAX_MESSAGE_CHARS = 3800
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
    }
    return names.get(topic, topic)


def exercise(shown: ShownExercise, how: str | None = None) -> str:
    """Render an exercise: title, statement, signature, starter code, what to do next.

    `how` replaces the line that says how to submit (a platform's own way).
    """
    x, lang = shown.exercise, shown.lang
    header = (
        f"<b>🧩 {e(x.title.get(lang))}</b> · {e(topic_name(lang, x.topic))} · "
        f"{e(difficulty_name(lang, x.difficulty))} · <code>{e(x.id)}</code>"
    )
    parts = [
        header,
        to_html(x.statement.get(lang)),
        f"<code>{e(x.signature)}</code>",
        f"<pre>{e(x.starter.rstrip())}</pre>",
        e(
            how
            or _(
                lang,
                "Send your code with /submit (inline, a ```python block, a reply or a .py file). "
                "/hint gives a hint; /giveup shows the solution after one attempt.",
            )
        ),
    ]
    if shown.progress.solved_at is not None:
        parts.append(e(_(lang, "✅ You have solved this one already.")))
    return "\n\n".join(parts)


def overview(lang: Lang, entries: list[ExerciseEntry], titles: bool = True) -> str:
    """Render /exercises: every exercise by topic with the user's state."""
    if not entries:
        return e(_(lang, "No exercises on this bot yet."))
    solved = sum(1 for entry in entries if entry.state == "solved")
    head = _(lang, "Coding exercises: {solved}/{total} solved", solved=solved, total=len(entries))
    lines = [f"<b>{e(head)}</b>"]
    topic = None
    for entry in entries:
        x = entry.exercise
        if x.topic != topic:
            topic = x.topic
            lines.append(f"\n<b>{e(topic_name(lang, topic))}</b>")
        line = f"{_MARKS[entry.state]} <code>{e(x.id)}</code>"
        if titles:
            line += f" {e(x.title.get(lang))} · {e(difficulty_name(lang, x.difficulty))}"
        lines.append(line)
    lines.append("")
    lines.append(
        e(_(lang, "/exercise ID opens one; /exercise alone opens your next unsolved one."))
    )
    text = "\n".join(lines)
    if titles and len(text) > MAX_MESSAGE_CHARS:  # a long list: ids and states only
        return overview(lang, entries, titles=False)
    return text


def hint(lang: Lang, shown: HintShown) -> str:
    """Render the next hint of an exercise."""
    total = len(shown.exercise.hints)
    head = _(lang, "💡 Hint {n}/{total}", n=shown.number, total=total)
    text = f"<b>{e(head)}</b> {to_html(shown.text)}"
    if shown.last:
        text += "\n" + e(_(lang, "That was the last hint. /giveup shows the solution."))
    return text


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


def verdict(lang: Lang, submitted: Submitted, wall_limit_s: float) -> str:
    """Render a verdict: solved or not, each case, grading time, and what a solve earned."""
    v = submitted.verdict
    if v.status == "forbidden":
        return e(
            _(
                lang,
                "🚫 Your code runs {names}, which this exercise does not allow (judged on the "
                "operations it ran, whatever the name it was called by). See the statement.",
                names=", ".join(v.forbidden),
            )
        )
    if v.status == "malformed":
        return e(
            _(
                lang,
                "❌ Your code's result could not be read ({detail}). This counts as an attempt.",
                detail=v.detail,
            )
        )
    if v.status == "reference":
        return e(_(lang, "⚠️ Grading failed on our side. Please try again in a moment."))
    if v.status == "job" and v.job is not None:
        return e(status_line(lang, v.job, wall_limit_s))
    if v.status == "no_result":
        tail = (v.job.stderr.strip().splitlines() or [""])[-1] if v.job else ""
        text = _(lang, "❌ Your code ended before its results were written (exit or a crash?).")
        return e(text) + (f"\n<pre>{e(tail[:300])}</pre>" if tail else "")
    total, passed = len(v.cases), v.passed
    if v.solved:
        head = ngettext(lang, "✅ Solved! {n} case passed", "✅ Solved! {n} cases passed", total)
    else:
        head = _(lang, "❌ Not yet: {passed}/{total} cases passed", passed=passed, total=total)
    lines = [f"<b>{e(head)}</b>"]
    failed = [c for c in v.cases if not c.passed]
    for c in v.cases:
        if c.passed:
            lines.append(f"✅ {e(c.name)}")
    reasons = {case_reason(lang, c) for c in failed}
    if len(failed) > 1 and len(reasons) == 1:
        # One cause (the code does not load, the signature does not match): said once.
        (reason,) = reasons
        lines.append(e(_(lang, "❌ All {n} failing cases: {reason}", n=len(failed), reason=reason)))
        failed = []
    for c in failed[:MAX_FAILED_SHOWN]:
        lines.append(f"❌ {e(c.name)}: {e(case_reason(lang, c))}")
    if len(failed) > MAX_FAILED_SHOWN:
        lines.append(e(_(lang, "… and {n} more failing", n=len(failed) - MAX_FAILED_SHOWN)))
    printed = v.job.stdout.strip() if v.job is not None else ""
    if printed:  # the learner's own prints, to debug with
        shown = printed[:PRINTED_CHARS] + ("\n…" if len(printed) > PRINTED_CHARS else "")
        lines.append(e(_(lang, "Your code printed:")) + f"\n<pre>{e(shown)}</pre>")
    lines.append(e(_(lang, "Graded in {seconds:.2f} s", seconds=v.seconds)))
    if submitted.first_solve and submitted.streak is not None:
        lines.append(
            e(
                ngettext(
                    lang,
                    "🎉 First solve: counts for today. 🔥 Streak: {n} day",
                    "🎉 First solve: counts for today. 🔥 Streak: {n} days",
                    submitted.streak.current,
                )
            )
        )
    elif not v.solved:
        lines.append(e(_(lang, "Fix it and /submit again, or ask for a /hint.")))
    return "\n".join(lines)


def gave_up(lang: Lang, x: Exercise) -> str:
    """Render the reference solution and its explanation."""
    return "\n\n".join(
        [
            "<b>"
            + e(_(lang, "🏳 The reference solution of “{title}”", title=x.title.get(lang)))
            + "</b>",
            f"<pre>{e(x.reference.rstrip())}</pre>",
            to_html(x.explanation.get(lang)),
            e(_(lang, "/exercise opens the next one.")),
        ]
    )


def problem(lang: Lang, err: UserInputError) -> str | None:
    """Render an exercise command's input problem; None for keys that are not ours."""
    lines = {
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
    return e(lines[err.key]) if err.key in lines else None

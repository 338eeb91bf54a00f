"""Quiz and leaderboard results as Telegram-flavoured HTML (the console turns it into text)."""

from __future__ import annotations

from bot.adapters.render import LETTERS, e
from bot.content.loader import ContentBank
from bot.document import Document, bold, doc, lines
from bot.i18n import _, ngettext
from bot.services.boards import Leaderboard
from bot.services.model import Lang, QuizSession
from bot.services.quiz_platform import CloseReason, PollSpec, Scoreboard

MEDALS = ("🥇", "🥈", "🥉")


def seconds(lang: Lang, ms: int) -> str:
    """Render a duration in seconds with one decimal."""
    value = f"{ms / 1000:.1f}"
    return _(lang, "{seconds} s", seconds=value)


def rank_mark(rank: int) -> str:
    """Return a medal for the top three, else the rank number."""
    return MEDALS[rank - 1] if rank <= len(MEDALS) else f"{rank}."


def intro(bank: ContentBank, lang: Lang, session: QuizSession, how: str | None = None) -> str:
    """Render the announcement of a new quiz."""
    topic = bank.topic(session.topic) if session.topic else None
    what = ngettext(lang, "{n} question", "{n} questions", session.total)
    if topic is not None:
        what += " · " + e(topic.name(lang))
    return "\n".join(
        [
            "<b>" + _(lang, "🎯 Quiz: {what}", what=what) + "</b>",
            _(lang, "{seconds} s per question.", seconds=session.open_seconds)
            + " "
            + (how or _(lang, "Answer in the polls; the scoreboard comes at the end."))
            + " "
            + _(lang, "/stopquiz ends it early."),
        ]
    )


def code(poll: PollSpec) -> str:
    """Render the code a poll asks about, just before the poll."""
    head = _(poll.lang, "Question {n} of {total}:", n=poll.number + 1, total=poll.total)
    return f'<b>{e(head)}</b>\n<pre><code class="language-python">{e(poll.code or "")}</code></pre>'


def scoreboard(board: Scoreboard) -> Document:
    """Render the result of a session: ranks, names, score out of N and mean answer time."""
    lang = board.lang
    if board.stopped:
        head = ngettext(
            lang,
            "⏹ Quiz stopped after {n} question.",
            "⏹ Quiz stopped after {n} questions.",
            board.asked,
        )
    else:
        head = ngettext(
            lang, "🏁 Quiz over: {n} question.", "🏁 Quiz over: {n} questions.", board.asked
        )
    if not board.rows:
        return doc(lines([bold(head)], [_(lang, "Nobody answered this time.")]))
    if board.private:
        row = board.rows[0]
        mine = _(
            lang,
            "Your result: {correct}/{total} correct · mean answer time {time}",
            correct=row.correct,
            total=board.asked,
            time=seconds(lang, row.mean_ms),
        )
        return doc(lines([bold(head)], [mine]))
    ranks = [
        [
            f"{rank_mark(rank)} {row.name} — {row.correct}/{board.asked} · "
            + seconds(lang, row.mean_ms)
        ]
        for rank, row in enumerate(board.rows, start=1)
    ]
    return doc(lines([bold(head)], *ranks))


def leaderboard(lang: Lang, board: Leaderboard, zone: str) -> str:
    """Render /leaderboard: a group's top members, or a private chat's own totals."""
    period = {
        "week": _(lang, "this week"),
        "month": _(lang, "this month"),
        "all": _(lang, "all time"),
    }[board.period]
    since = ""
    if board.since is not None:
        since = " " + _(
            lang, "(since {date}, {zone})", date=board.since.date().isoformat(), zone=e(zone)
        )
    lines: list[str] = []
    if board.totals is not None:
        t = board.totals
        lines.append("<b>" + _(lang, "📊 Your answers {period}", period=period) + "</b>" + since)
        if t.answered == 0:
            lines.append(_(lang, "No answers yet in this period. Try /daily or /quiz."))
        else:
            lines += [
                _(
                    lang,
                    "Answered: {answered} · correct: {correct} ({share}%)",
                    answered=t.answered,
                    correct=t.correct,
                    share=round(100 * t.correct / t.answered),
                ),
                _(
                    lang,
                    "In quizzes: {correct}/{answered} correct",
                    correct=t.quiz_correct,
                    answered=t.quiz_answered,
                ),
                ngettext(lang, "Active on {n} day", "Active on {n} days", t.days)
                + " · "
                + ngettext(lang, "in {n} chat", "in {n} chats", t.chats),
            ]
    else:
        lines.append("<b>" + _(lang, "🏆 Leaderboard {period}", period=period) + "</b>" + since)
        if not board.rows:
            lines.append(_(lang, "Nobody on the board yet. Start one with /quiz."))
        for row in board.rows:
            lines.append(_leader_line(lang, row.rank, row.name, row.correct, row.answered))
        if board.me is not None:
            lines += [
                "…",
                _leader_line(
                    lang, board.me.rank, board.me.name, board.me.correct, board.me.answered
                ),
            ]
    if not board.on_boards:
        lines += ["", _(lang, "You are off the leaderboards: /leaderboard on brings you back.")]
    return "\n".join(lines)


def _leader_line(lang: Lang, rank: int, name: str, correct: int, answered: int) -> str:
    return f"{rank_mark(rank)} {e(name)} — " + _(
        lang, "{correct} correct of {answered}", correct=correct, answered=answered
    )


def boards_switched(lang: Lang, on: bool) -> str:
    """Confirm /leaderboard on or off."""
    if on:
        return _(lang, "You are back on the leaderboards.")
    return _(
        lang,
        "You left the leaderboards. Your answers still count for your own /stats and streak; "
        "/leaderboard on brings you back.",
    )


def poll_text(poll: PollSpec) -> str:
    """Render a quiz poll as text, for a platform without native polls (the console)."""
    lines = []
    if poll.code:
        lines.append(code(poll))
    lines.append(f"<b>{e(poll.question)}</b>")
    lines += [f"<b>{LETTERS[i]}.</b> {e(option)}" for i, option in enumerate(poll.options)]
    lines.append(
        _(
            poll.lang,
            "⏱ {seconds} s: answer with a letter (A–{last}) or number.",
            seconds=poll.open_seconds,
            last=LETTERS[len(poll.options) - 1],
        )
    )
    return "\n".join(lines)


def quiz_verdict(poll: PollSpec, chosen: int, counted: bool) -> str:
    """Render the verdict on a vote, with the explanation (what a quiz poll shows after one)."""
    lang = poll.lang
    if not counted:
        return _(lang, "Too late, or already answered: this vote does not count.")
    if chosen == poll.correct:
        head = _(lang, "✅ Correct! The answer is {letter}.", letter=LETTERS[poll.correct])
    else:
        head = _(
            lang,
            "❌ Not quite: you chose {choice}, the answer is {letter}.",
            choice=LETTERS[chosen],
            letter=LETTERS[poll.correct],
        )
    return f"{e(head)}\n{e(poll.explanation)}"


def closed_unanswered(poll: PollSpec, reason: CloseReason) -> str:
    """Render the end of a poll that was not answered here."""
    letter = LETTERS[poll.correct]
    if reason == "deadline":
        head = _(poll.lang, "⏰ Time's up. The answer is {letter}.", letter=letter)
    else:
        head = _(poll.lang, "The answer is {letter}.", letter=letter)
    return f"{e(head)}\n{e(poll.explanation)}"

"""Quiz and leaderboard results as Documents, shared by every adapter."""

from __future__ import annotations

from bot.adapters.render import LETTERS, option_line
from bot.content.loader import ContentBank
from bot.document import CodeBlock, Document, Inline, bold, doc, lines
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


def intro(bank: ContentBank, lang: Lang, session: QuizSession, how: str | None = None) -> Document:
    """Render the announcement of a new quiz."""
    topic = bank.topic(session.topic) if session.topic else None
    what = ngettext(lang, "{n} question", "{n} questions", session.total)
    if topic is not None:
        what += " · " + topic.name(lang)
    rule = (
        _(lang, "{seconds} s per question.", seconds=session.open_seconds)
        + " "
        + (how or _(lang, "Answer in the polls; the scoreboard comes at the end."))
        + " "
        + _(lang, "/stopquiz ends it early.")
    )
    return doc(lines([bold(_(lang, "🎯 Quiz: {what}", what=what))], [rule]))


def code(poll: PollSpec) -> Document:
    """Render the code a poll asks about, just before the poll."""
    head = _(poll.lang, "Question {n} of {total}:", n=poll.number + 1, total=poll.total)
    return doc(bold(head), CodeBlock(poll.code or "", "python"))


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


# A long function: the two boards (a group's, a private chat's) share their head and foot.
def leaderboard(lang: Lang, board: Leaderboard, zone: str) -> Document:
    """Render /leaderboard: a group's top members, or a private chat's own totals."""
    period = {
        "week": _(lang, "this week"),
        "month": _(lang, "this month"),
        "all": _(lang, "all time"),
    }[board.period]
    since = ""
    if board.since is not None:
        since = " " + _(
            lang, "(since {date}, {zone})", date=board.since.date().isoformat(), zone=zone
        )
    rows: list[list[Inline]] = []
    if board.totals is not None:
        t = board.totals
        rows.append([bold(_(lang, "📊 Your answers {period}", period=period)), since])
        if t.answered == 0:
            rows.append([_(lang, "No answers yet in this period. Try /daily or /quiz.")])
        else:
            rows += [
                [
                    _(
                        lang,
                        "Answered: {answered} · correct: {correct} ({share}%)",
                        answered=t.answered,
                        correct=t.correct,
                        share=round(100 * t.correct / t.answered),
                    )
                ],
                [
                    _(
                        lang,
                        "In quizzes: {correct}/{answered} correct",
                        correct=t.quiz_correct,
                        answered=t.quiz_answered,
                    )
                ],
                [
                    ngettext(lang, "Active on {n} day", "Active on {n} days", t.days)
                    + " · "
                    + ngettext(lang, "in {n} chat", "in {n} chats", t.chats)
                ],
            ]
    else:
        rows.append([bold(_(lang, "🏆 Leaderboard {period}", period=period)), since])
        if not board.rows:
            rows.append([_(lang, "Nobody on the board yet. Start one with /quiz.")])
        for row in board.rows:
            rows.append([_leader_line(lang, row.rank, row.name, row.correct, row.answered)])
        if board.me is not None:
            me = board.me
            rows += [["…"], [_leader_line(lang, me.rank, me.name, me.correct, me.answered)]]
    off = None
    if not board.on_boards:
        off = _(lang, "You are off the leaderboards: /leaderboard on brings you back.")
    return doc(lines(*rows), off)


def _leader_line(lang: Lang, rank: int, name: str, correct: int, answered: int) -> str:
    return f"{rank_mark(rank)} {name} — " + _(
        lang, "{correct} correct of {answered}", correct=correct, answered=answered
    )


def boards_switched(lang: Lang, on: bool) -> Document:
    """Confirm /leaderboard on or off."""
    if on:
        return doc(_(lang, "You are back on the leaderboards."))
    return doc(
        _(
            lang,
            "You left the leaderboards. Your answers still count for your own /stats and "
            "streak; /leaderboard on brings you back.",
        )
    )


def poll_text(poll: PollSpec) -> Document:
    """Render a quiz poll as text, for a platform without native polls (the console)."""
    rows: list[list[Inline]] = [[bold(poll.question)]]
    rows += [option_line(i, option) for i, option in enumerate(poll.options)]
    rows.append(
        [
            _(
                poll.lang,
                "⏱ {seconds} s: answer with a letter (A–{last}) or number.",
                seconds=poll.open_seconds,
                last=LETTERS[len(poll.options) - 1],
            )
        ]
    )
    return (code(poll) if poll.code else Document()) + doc(lines(*rows))


def quiz_verdict(poll: PollSpec, chosen: int, counted: bool) -> Document:
    """Render the verdict on a vote, with the explanation (what a quiz poll shows after one)."""
    lang = poll.lang
    if not counted:
        return doc(_(lang, "Too late, or already answered: this vote does not count."))
    if chosen == poll.correct:
        head = _(lang, "✅ Correct! The answer is {letter}.", letter=LETTERS[poll.correct])
    else:
        head = _(
            lang,
            "❌ Not quite: you chose {choice}, the answer is {letter}.",
            choice=LETTERS[chosen],
            letter=LETTERS[poll.correct],
        )
    return doc(f"{head}\n{poll.explanation}")


def closed_unanswered(poll: PollSpec, reason: CloseReason) -> Document:
    """Render the end of a poll that was not answered here."""
    letter = LETTERS[poll.correct]
    if reason == "deadline":
        head = _(poll.lang, "⏰ Time's up. The answer is {letter}.", letter=letter)
    else:
        head = _(poll.lang, "The answer is {letter}.", letter=letter)
    return doc(f"{head}\n{poll.explanation}")

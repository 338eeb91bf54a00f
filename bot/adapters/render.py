"""Turn service results into Documents, shared by every adapter (each writes its own markup)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.adapters import buddy_render
from bot.adapters.commands import Platform, menu
from bot.content.loader import ContentBank
from bot.content.markup import to_document
from bot.content.models import Question
from bot.document import CodeBlock, Document, Inline, bold, code, doc, lines, restyle
from bot.i18n import N_, _, ngettext
from bot.services.buddies import FriendStreak
from bot.services.model import Chat, Lang, UserStats
from bot.services.reports import Filed
from bot.services.streaks import StreakView
from bot.services.study import AnswerResult
from bot.text import excerpt

# What every adapter answers when the database file turns out damaged (logged once).
DATABASE_DAMAGED = N_(
    "The bot's database is damaged, so this cannot be done now. The operator has been told."
)

LETTERS = "ABCDEFGHIJ"
# Telegram's limit is 4096 characters a message; leave room for the tags and escapes.
MAX_MESSAGE_CHARS = 3800


def difficulty_name(lang: Lang, difficulty: str) -> str:
    """Return the display name of a difficulty."""
    names = {"easy": _(lang, "easy"), "medium": _(lang, "medium"), "hard": _(lang, "hard")}
    return names.get(difficulty, difficulty)


def welcome(lang: Lang, name: str, console: bool = False) -> Document:
    """Render the /start greeting."""
    intro = _(
        lang,
        "Hi {name}! I help you prepare for PyTorch interviews: one question a day, "
        "explanations, streaks, and a sandbox to run PyTorch code.",
        name=name,
    )
    return doc(intro) + help_text(lang, console)


def help_text(lang: Lang, console: bool = False) -> Document:
    """Render the list of commands (the console has its own)."""
    platform: Platform = "console" if console else "telegram"
    commands = [[f"/{name} — {description}"] for name, description in menu(platform, lang)]
    if console:
        tip = _(
            lang,
            "Answer a question by typing its letter (A–D) or number (1–4). A bare /run or "
            "/bench reads pasted code: end each snippet with a line holding only a dot (.).",
        )
    else:
        tip = _(lang, "Answer with the buttons under each question.")
    return doc(lines(*commands), tip)


def question(bank: ContentBank, q: Question, lang: Lang, kind: str) -> Document:
    """Render a question with its lettered options."""
    text = q.text(lang)
    topic = bank.topic(q.topic)
    label = {"daily": _(lang, "📅 Daily question"), "review": _(lang, "🔁 Review")}.get(
        kind, _(lang, "❓ Question")
    )
    where = topic.name(lang) if topic else q.topic
    header = lines([bold(label), f" · {where} · {difficulty_name(lang, q.difficulty)}"])
    options = lines(*(option_line(i, o) for i, o in enumerate(text.quiz.options)))
    open_question = Document()
    if text.question.strip() != text.quiz.question.strip():
        open_question = restyle(to_document(text.question), "italic")
    return doc(header) + open_question + doc(text.quiz.question, options)


def option_line(index: int, option: str) -> list[Inline]:
    """Return an option with its bold letter: "**A.** text"."""
    return [bold(f"{LETTERS[index]}."), f" {option}"]


def verdict(result: AnswerResult) -> Document:
    """Render right or wrong, the explanation and the streak after an answer."""
    assert result.question is not None  # noqa: S101 - only called for answered prompts
    head = verdict_short(result)
    if result.status == "already":
        return doc(head)
    streak = None
    if result.streak is not None and result.streak_grew:
        streak = streak_line(result.lang, result.streak)
    return doc(head, result.question.text(result.lang).quiz.explanation, streak)


def verdict_short(result: AnswerResult) -> str:
    """Render a verdict short enough for a callback answer (≤ 200 characters)."""
    assert result.question is not None  # noqa: S101
    lang = result.lang
    quiz = result.question.text(lang).quiz
    if result.status == "already":
        text = _(
            lang,
            "You already answered this one (you chose {choice}).",
            choice=LETTERS[result.chosen],
        )
    elif result.correct:
        text = _(lang, "✅ Correct! The answer is {letter}.", letter=LETTERS[quiz.correct])
    else:
        text = _(
            lang,
            "❌ Not quite: you chose {choice}, the answer is {letter}.",
            choice=LETTERS[result.chosen],
            letter=LETTERS[quiz.correct],
        )
    return text[:200]


def verdict_alert(result: AnswerResult) -> str:
    """Render the verdict and the explanation for a pop-up (Telegram allows 200 characters)."""
    assert result.question is not None  # noqa: S101
    quiz = result.question.text(result.lang).quiz
    if result.status != "recorded":
        return verdict_short(result)
    right = LETTERS[quiz.correct]
    head = f"✅ {right}" if result.correct else f"❌ {LETTERS[result.chosen]} → {right}"
    text = f"{head}\n{quiz.explanation}"
    return text if len(text) <= 200 else text[:199] + "…"


def reference_answer(q: Question, lang: Lang) -> Document:
    """Render the reference answer, the quiz's right option and the snippet."""
    text = q.text(lang)
    answer = (
        restyle(to_document(text.question), "bold")
        + to_document(text.answer)
        + doc(
            _(
                lang,
                "Quiz answer: {letter}. {option}",
                letter=LETTERS[text.quiz.correct],
                option=text.quiz.options[text.quiz.correct],
            )
        )
    )
    if q.snippet is None:
        return answer
    snippet = doc(
        _(lang, "Try it with /run:"),
        CodeBlock(q.snippet.code.rstrip(), "python"),
        _(lang, "Output:"),
        CodeBlock(q.snippet.expected.rstrip()),
    )
    whole = answer + snippet
    # Telegram's limit is 4096 characters; a very long answer loses its snippet first.
    return whole if len(whole.text) <= MAX_MESSAGE_CHARS else answer


def streak_line(lang: Lang, view: StreakView) -> str:
    """Render the one-line streak summary shown after answers."""
    return ngettext(lang, "🔥 Streak: {n} day", "🔥 Streak: {n} days", view.current)


def streak(lang: Lang, view: StreakView, friends: Sequence[FriendStreak] = ()) -> Document:
    """Render /streak: the user's own streak, then their friend streaks."""
    rows: list[list[Inline]] = [
        [bold(streak_line(lang, view))],
        [ngettext(lang, "Longest: {n} day", "Longest: {n} days", view.longest)],
        [
            _(
                lang,
                "Streak freezes: {n} of 2 (one for each full week; each covers a missed day)",
                n=view.freezes,
            )
        ],
    ]
    if view.answered_today:
        rows.append([_(lang, "Today is done. See you tomorrow!")])
    elif view.at_risk:
        rows.append([_(lang, "Answer a question today to keep your streak: /daily")])
    else:
        rows.append([_(lang, "Answer a question today to start a streak: /daily")])
    return doc(lines(*rows)) + buddy_render.streak_part(lang, friends)


def stats(bank: ContentBank, lang: Lang, s: UserStats) -> Document:
    """Render /stats."""
    if s.answered == 0 and s.exercises_solved == 0:
        return doc(_(lang, "No answers yet. Try /daily."))
    share = round(100 * s.correct / s.answered) if s.answered else 0
    head: list[list[Inline]] = [
        [bold(_(lang, "Your answers"))],
        [
            _(
                lang,
                "Answered: {answered} · correct: {correct} ({share}%)",
                answered=s.answered,
                correct=s.correct,
                share=share,
            )
        ],
        [ngettext(lang, "Active on {n} day", "Active on {n} days", s.days)],
    ]
    tail: list[list[Inline]] = [[line] for line in by_topic(bank, lang, s)]
    if s.exercises_solved:
        tail.append([_(lang, "🧩 Exercises solved: {n}", n=s.exercises_solved)])
    return doc(lines(*head), lines(*tail) if tail else None)


def by_topic(bank: ContentBank, lang: Lang, s: UserStats) -> list[str]:
    """Return one line per topic answered: correct/answered."""
    lines = []
    for topic in bank.topics:
        if topic.id in s.by_topic:
            answered, correct = s.by_topic[topic.id]
            lines.append(f"{topic.name(lang)}: {correct}/{answered}")
    return lines


def topics(bank: ContentBank, lang: Lang) -> Document:
    """Render /topics with counts."""
    rows: list[list[Inline]] = [[bold(_(lang, "Topics"))]]
    for topic_id, count in bank.counts_by_topic().items():
        topic = bank.topic(topic_id)
        if count and topic is not None:
            rows.append([code(topic_id), f" — {topic.name(lang)} ({count})"])
    return doc(lines(*rows), _(lang, "Ask for one with /question autograd"))


def subscribed(bank: ContentBank, lang: Lang, chat: Chat, zone: str, now: datetime) -> Document:
    """Render the confirmation of /subscribe."""
    local = now.astimezone(ZoneInfo(zone)).strftime("%H:%M")
    topic = bank.topic(chat.topic_filter) if chat.topic_filter else None
    only = ""
    if topic is not None:
        only = "\n" + _(
            lang,
            "Only questions on {topic} (/subscribe all for every topic).",
            topic=topic.name(lang),
        )
    return doc(
        _(
            lang,
            "Subscribed: the daily question comes every day at {time} ({zone}; it is {now} there "
            "now). Change the zone with /timezone.",
            time=chat.daily_time,
            zone=zone,
            now=local,
        )
        + only
    )


def daily_problem(lang: Lang, status: str) -> Document | None:
    """Say why /daily showed no question (None when it did)."""
    if status == "already":
        return doc(_(lang, "Today's question was already sent in this chat; see above."))
    if status == "failed":
        return doc(_(lang, "Telegram did not take the question just now. Try /daily again."))
    return None


def language_now(lang: Lang) -> Document:
    """Say which language is in use here, and how to change it."""
    # The same text in each catalog names its own language.
    return doc(_(lang, "Current language: English.") + "\n" + usage_line(lang, "usage_lang"))


def rate_prompt(lang: Lang) -> str:
    """Invite the user to rate their recall after reading an answer (an offer, not an error)."""
    return _(
        lang,
        "How well did you remember it? Rate it for your reviews: /rate again, hard, good or easy.",
    )


def held_for_quiz(lang: Lang) -> Document:
    """Say that code waits while a quiz question is open in the chat."""
    return doc(_(lang, "⏸ A quiz question is open here: your code runs when it closes."))


def report_filed(lang: Lang, filed: Filed) -> Document:
    """Thank the user for a report, naming the question or exercise it is about."""
    return doc(
        _(
            lang,
            "Thank you! Your report on “{item}” is stored for the bot's operators.",
            item=filed.title,
        )
    )


def usage(lang: Lang, key: str, **params: object) -> Document:
    """Render the usage line for a command given wrong arguments."""
    return doc(usage_line(lang, key, **params))


# A long function: one table of every usage line, so that each key's words sit together.
def usage_line(lang: Lang, key: str, **params: object) -> str:
    """Return the usage line for a command given wrong arguments, as plain words."""
    # Over 60 lines on purpose: every usage line in one table, found next to the others.
    # What the user typed comes back as a short excerpt at most, never a whole long text.
    params = {k: excerpt(v) if isinstance(v, str) else v for k, v in params.items()}
    lines = {
        "usage_subscribe": _(
            lang,
            "Usage: /subscribe [HH:MM] [topic], e.g. /subscribe 08:30 or "
            "/subscribe 08:30 autograd (24-hour, local time).",
        ),
        "usage_timezone": _(
            lang,
            "Usage: /timezone <IANA name>, e.g. /timezone Asia/Shanghai "
            "or /timezone Europe/Berlin.",
        ),
        "unknown_timezone": unknown_timezone(lang, params),
        "usage_lang": _(lang, "Usage: /lang zh or /lang en."),
        "admins_only": _(lang, "Only group admins can change this."),
        "unknown_topic": _(
            lang,
            "Unknown topic “{topic}”. See /topics for the list.",
            topic=str(params.get("topic", "")),
        ),
        "usage_quiz": _(
            lang,
            "Usage: /quiz [N] [topic]: N questions from 1 to 20 (default 5), a topic from "
            "/topics or all, e.g. /quiz 10 autograd.",
        ),
        "usage_leaderboard": _(
            lang,
            "Usage: /leaderboard [week|month|all] (default week); /leaderboard off leaves the "
            "boards, /leaderboard on comes back.",
        ),
        "quiz_running": _(
            lang,
            "A quiz is already running here (question {question} of {total}, above). "
            "/stopquiz ends it.",
            question=params.get("question", 1),
            total=params.get("total", 1),
        ),
        "usage_review": _(
            lang,
            "Usage: /review serves your due cards; /review retention 0.85 sets how much "
            "you want to remember (0.80–0.97).",
        ),
        "usage_retention": _(
            lang,
            "Usage: /review retention 0.85, a number from 0.80 to 0.97 (or default). "
            "Higher means more reviews, lower means more forgetting.",
        ),
        "usage_remind": _(
            lang,
            "Usage: /remind HH:MM (24-hour, your local time), e.g. /remind 20:30; "
            "/remind off stops reminders.",
        ),
        "usage_rate": _(lang, "Usage: /rate again, hard, good or easy, after /answer."),
        "usage_report": _(
            lang,
            "Say what is wrong in a few words: reply to my message, or /report <text> "
            "in the console.",
        ),
        "no_question": _(lang, "No question yet. Try /daily."),
        "stale_button": _(lang, "This question is no longer available."),
        "no_snippet": _(lang, "This question has no snippet to run."),
        "no_quiz": _(lang, "No quiz is running here. Start one with /quiz."),
        "quiz_stop_refused": _(lang, "Only whoever started the quiz or a group admin can stop it."),
        "usage_run": _(
            lang,
            "Usage: /run <code>, a ```python block, or reply /run to a message "
            "or send a .py file with /run as caption. Add cpu or gpu to choose "
            "the device: /run gpu …",
        ),
        "usage_bench": _(
            lang,
            "Usage: /bench [cpu|gpu] then ```python blocks: one is timed alone, two are "
            "compared (A, then B), and with three the first is a setup run once for both.",
        ),
    }
    return lines.get(key, _(lang, "Sorry, I did not understand that. See /help."))


def unknown_timezone(lang: Lang, params: dict[str, object]) -> str:
    """Say a time zone is unknown, suggest close ones, and show the usage (plain text)."""
    zone = str(params.get("zone", ""))
    suggestions = params.get("suggestions")
    names = [str(s) for s in suggestions] if isinstance(suggestions, list) else []
    head = _(lang, "Unknown time zone “{zone}”.", zone=zone)
    if names:
        head += " " + _(lang, "Did you mean {zones}?", zones=", ".join(names))
    usage_line = _(
        lang,
        "Usage: /timezone <IANA name>, e.g. /timezone Asia/Shanghai or /timezone Europe/Berlin.",
    )
    return f"{head}\n{usage_line}"

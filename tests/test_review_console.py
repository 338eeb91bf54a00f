"""Personal review in the console, in process with the injected clock."""

from __future__ import annotations

import io
from datetime import timedelta

from bot.adapters.console import Console
from bot.app import Core
from bot.clock import FixedClock


def letter(c: Console, right: bool) -> str:
    assert c.current is not None
    quiz = c.current.question.text(c.current.lang).quiz
    return "ABCD"[quiz.correct if right else (quiz.correct + 1) % len(quiz.options)]


async def test_console_review_serves_due_cards_until_none(core: Core, clock: FixedClock) -> None:
    out = io.StringIO()
    c = Console(core, stdin=io.StringIO(""), stdout=out, user="tester")
    await c.handle("/review")
    assert "Nothing to review yet" in out.getvalue()
    await c.handle("/question")
    await c.handle(letter(c, right=False))
    await c.handle("/review")
    assert "Next review: 12:01" in out.getvalue()
    clock.set(clock.now() + timedelta(minutes=1))
    await c.handle("/review")
    assert c.current is not None
    assert c.current.prompt.kind == "review"
    assert "🔁 Review" in out.getvalue()
    await c.handle(letter(c, right=True))
    assert out.getvalue().rstrip().splitlines()[-1].startswith("Next review:")


async def test_console_self_rating_and_retention(core: Core) -> None:
    out = io.StringIO()
    c = Console(core, stdin=io.StringIO(""), stdout=out, user="tester")
    await c.handle("/question")
    await c.handle("/answer")
    assert "How well did you remember it? Rate it for your reviews: /rate again" in out.getvalue()
    await c.handle("/rate good")
    assert "comes back at 12:10" in out.getvalue()
    await c.handle("/rate easy")
    assert "already rated" in out.getvalue()
    await c.handle("/rate brilliant")
    await c.handle("/review retention 0.95")
    assert "95%" in out.getvalue()
    assert "more reviews a day" in out.getvalue()
    await c.handle("/review retention 2")
    assert "Usage: /review retention" in out.getvalue()


async def test_console_remind(core: Core, clock: FixedClock) -> None:
    out = io.StringIO()
    c = Console(core, stdin=io.StringIO(""), stdout=out, user="tester")
    await c.handle("/question")
    await c.handle(letter(c, right=False))
    await c.handle("/remind 20:00")
    assert "remind you at 20:00 (UTC)" in out.getvalue()
    await c.handle("/remind 24:00")
    assert "Usage: /remind" in out.getvalue()
    clock.set(clock.now() + timedelta(days=1, hours=8))
    await core.timers.run_due()
    assert "1-day streak ends today" in out.getvalue()
    assert "1 card is due" in out.getvalue()
    await c.handle("/remind off")
    assert "Reminders are off" in out.getvalue()


async def test_the_chinese_rate_prompt_is_an_offer_not_a_usage_error(core: Core) -> None:
    out = io.StringIO()
    c = Console(core, stdin=io.StringIO(""), stdout=out, user="tester")
    await c.handle("/lang zh")
    await c.handle("/question")
    await c.handle("/answer")
    offer = out.getvalue().rstrip().splitlines()[-1]
    assert offer.startswith("记得怎么样？") and "/rate" in offer
    assert "用法" not in offer  # "Usage": what a wrong command gets, not an invitation
    await c.handle("/rate maybe")
    assert "用法" in out.getvalue().rstrip().splitlines()[-1]  # a wrong grade is a usage error

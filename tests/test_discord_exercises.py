"""Exercises on Discord end to end: fake Discord API → bot → real local runner → graded jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from bot.adapters.discord.run import DiscordPlatform
from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import CONTENT_DIR, Settings
from bot.exercises.loader import load_exercises
from bot.exercises.models import Exercise
from bot.runclient import LocalRunner, RunnerClient
from bot.services.runs import RunService
from tests.conftest import requires_root
from tests.discordbot import running
from tests.fakediscord import FakeDiscord, Interaction, Sent

pytestmark = [pytest.mark.asyncio(loop_scope="module"), requires_root]

ALICE = 111111111111111111
EXERCISES = load_exercises(CONTENT_DIR)
_SOFTMAX = EXERCISES.get("softmax")
assert _SOFTMAX is not None
SOFTMAX: Exercise = _SOFTMAX
CASES = SOFTMAX.cases.count("yield ")  # the cases a verdict on softmax counts
NO_MAX = next(w.code for w in SOFTMAX.wrong if w.name.startswith("no max subtraction"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runner(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunnerClient]:
    folder: Path = tmp_path_factory.mktemp("dc-exercise-runner")
    settings = Settings.model_validate(
        {
            "STUDYBOT_RUNNER_SOCKET": str(folder / "runner.sock"),
            "STUDYBOT_RUN_RATE_PER_MINUTE": 1000,
            "STUDYBOT_RUN_WALL_TIME": 5,
            "STUDYBOT_LOG_LEVEL": "WARNING",
        }
    )
    async with LocalRunner(settings) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as api:
        yield api


@pytest_asyncio.fixture(loop_scope="module")
async def core(
    make_settings: Callable[..., Settings], clock: FixedClock, fake: FakeDiscord
) -> AsyncIterator[Core]:
    settings = make_settings(
        DISCORD_BOT_TOKEN=fake.token,
        DISCORD_API_BASE_URL=fake.base_url,
        STUDYBOT_RUN_WALL_TIME=5,
    )
    async with open_core(settings, clock=clock, exercises=EXERCISES) as c:
        yield c


@pytest_asyncio.fixture(loop_scope="module")
async def bot(
    core: Core, fake: FakeDiscord, runner: RunnerClient
) -> AsyncIterator[DiscordPlatform]:
    async with running(core, fake, RunService(runner, frozenset(), wall_time_s=5)) as platform:
        yield platform


async def verdict(fake: FakeDiscord, interaction: Interaction) -> Sent:
    """Return the deferred response once it was edited with the verdict."""
    await fake.answered(interaction)
    assert interaction.callbacks[0]["type"] == 5  # deferred at once: Discord gives 3 s
    sent: Sent = await fake.reply(interaction, 30.0)
    return sent


async def test_show_fail_hint_and_solve_through_the_modal(
    bot: DiscordPlatform, fake: FakeDiscord, core: Core
) -> None:
    listed = await fake.reply(await fake.slash("exercises", user_id=ALICE))
    assert f"0/{len(EXERCISES)} solved" in listed.text and "`softmax`" in listed.text

    shown = await fake.reply(await fake.slash("exercise", user_id=ALICE, which="softmax"))
    assert "Numerically stable softmax" in shown.text
    assert "raise NotImplementedError" in shown.text
    assert [b["custom_id"] for b in shown.buttons] == ["ex:submit:softmax"]
    assert "/submit code:" in shown.text and ".py file" not in shown.text

    wrong = await verdict(fake, await fake.slash("submit", user_id=ALICE, code=NO_MAX))
    assert f"❌ Not yet: {CASES - 1}/{CASES} cases passed" in wrong.text
    assert "❌ large values: NaN found" in wrong.text
    assert "Graded in " in wrong.text

    hint = await fake.reply(await fake.slash("hint", user_id=ALICE))
    assert "💡 Hint 1/3" in hint.text

    # "Submit" under the exercise opens a modal prefilled with the last submission.
    opened = await fake.answered(await fake.click(shown, "ex:submit:softmax", user_id=ALICE))
    modal = opened.callbacks[0]
    assert modal["type"] == 9
    field = modal["data"]["components"][0]["components"][0]
    assert field["style"] == 2  # a paragraph
    assert field["value"].strip() == NO_MAX.strip()
    assert modal["data"]["custom_id"] == f"ex:modal:{ALICE}:softmax"  # one per user and exercise
    submitted = await fake.submit(
        modal["data"]["custom_id"], {field["custom_id"]: SOFTMAX.reference}, user_id=ALICE
    )
    solved = await verdict(fake, submitted)
    assert f"✅ Solved! {CASES} cases passed" in solved.text
    assert "First solve" in solved.text and "Streak: 1 day" in solved.text

    rows = await core.db.fetchall("SELECT source, question_id FROM attempts")
    assert [tuple(r) for r in rows] == [("exercise", "exercise:softmax")]
    assert "✅ `softmax`" in (await fake.reply(await fake.slash("exercises", user_id=ALICE))).text


async def test_submit_without_code_opens_the_starter_and_giveup_needs_an_attempt(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    nothing = await fake.reply(await fake.slash("submit", user_id=ALICE))
    assert nothing.ephemeral and "No exercise open" in nothing.text
    await fake.reply(await fake.slash("exercise", user_id=ALICE, which="softmax"))
    opened = await fake.answered(await fake.slash("submit", user_id=ALICE))
    field = opened.callbacks[0]["data"]["components"][0]["components"][0]
    assert field["value"] == SOFTMAX.starter[:4000]

    early = await fake.reply(await fake.slash("giveup", user_id=ALICE))
    assert "Try at least once with /submit" in early.text
    code = "import torch\ndef softmax(x, dim=-1):\n    1/0\n"
    broken = await verdict(fake, await fake.slash("submit", user_id=ALICE, code=code))
    assert "raised ZeroDivisionError: division by zero (line 3)" in broken.text
    gave_up = await fake.reply(await fake.slash("giveup", user_id=ALICE))
    assert "🏳 The reference solution" in gave_up.text
    assert SOFTMAX.reference.strip().splitlines()[-1].strip() in gave_up.text


async def test_exercise_ids_and_topics_autocomplete(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    typed = await fake.answered(await fake.autocomplete("exercise", "which", "soft", user_id=ALICE))
    assert typed.callbacks[0]["type"] == 8
    values = [c["value"] for c in typed.callbacks[0]["data"]["choices"]]
    assert "softmax" in values
    topics = await fake.answered(await fake.autocomplete("exercise", "which", "mod", user_id=ALICE))
    assert "modules" in [c["value"] for c in topics.callbacks[0]["data"]["choices"]]


async def test_exercises_are_personal_in_a_channel_and_bad_input_gets_discords_usage(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    shown = await fake.reply(
        await fake.slash("exercise", user_id=ALICE, guild=True, which="softmax")
    )
    assert shown.ephemeral and "Numerically stable softmax" in shown.text
    bad = await fake.reply(await fake.slash("exercise", user_id=ALICE, which="cooking"))
    assert bad.ephemeral and "Usage: /exercise which:softmax" in bad.text

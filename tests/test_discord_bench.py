"""/bench on Discord end to end: fake Discord API → bot → real local runner → timing harness."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.discord.run import DiscordPlatform
from bot.app import open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.runclient import LocalRunner, RunnerClient
from bot.services.runs import RunService
from tests.conftest import requires_root
from tests.discordbot import running
from tests.fakediscord import FakeDiscord, Interaction, Recorded

pytestmark = [pytest.mark.asyncio(loop_scope="module"), requires_root]

ALICE = 111111111111111111
BOB = 222222222222222222


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runner(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunnerClient]:
    folder: Path = tmp_path_factory.mktemp("dc-bench-runner")
    settings = Settings.model_validate(
        {
            "STUDYBOT_RUNNER_SOCKET": str(folder / "runner.sock"),
            "STUDYBOT_RUN_RATE_PER_MINUTE": 1000,
            "STUDYBOT_RUN_CPU_CONCURRENCY": 1,
            "STUDYBOT_RUN_WALL_TIME": 4,
        }
    )
    local = LocalRunner(settings)
    client = await local.__aenter__()
    yield client
    await local.__aexit__(None, None, None)


@pytest_asyncio.fixture(loop_scope="module")
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as api:
        yield api


@asynccontextmanager
async def start(
    make_settings: Callable[..., Settings],
    clock: FixedClock,
    fake: FakeDiscord,
    runs: RunService,
) -> AsyncIterator[DiscordPlatform]:
    """Run the Discord bot on its own core, with `runs` for /run and /bench."""
    settings = make_settings(DISCORD_BOT_TOKEN=fake.token, DISCORD_API_BASE_URL=fake.base_url)
    async with open_core(settings, clock=clock) as core, running(core, fake, runs) as platform:
        yield platform


@pytest_asyncio.fixture(loop_scope="module")
async def bot(
    make_settings: Callable[..., Settings],
    clock: FixedClock,
    fake: FakeDiscord,
    runner: RunnerClient,
) -> AsyncIterator[DiscordPlatform]:
    runs = RunService(runner, frozenset(), wall_time_s=4, bench_budget_s=0.4)
    async with start(make_settings, clock, fake, runs) as platform:
        yield platform


async def form(fake: FakeDiscord, user_id: int, **options: str) -> dict[str, Any]:
    """Open the /bench form and return it (the first response: a modal)."""
    opened = await fake.answered(await fake.slash("bench", user_id=user_id, **options))
    modal = opened.callbacks[0]
    assert modal["type"] == 9, modal
    data: dict[str, Any] = modal["data"]
    return data


async def answer(fake: FakeDiscord, interaction: Interaction) -> str:
    """Wait for the deferred answer's final edit (not a queue note) and return its text."""

    def final() -> Recorded | None:
        edits = [
            r
            for r in fake.requests
            if r.method == "PATCH" and interaction.token in r.path and r.json
        ]
        done = [r for r in edits if not str(r.json.get("content", "")).startswith("⏳")]
        return done[-1] if done else None

    await fake.answered(interaction)
    assert interaction.callbacks[0]["type"] == 5  # deferred at once: Discord gives 3 s
    found: Recorded = await fake.wait_for(final, 30.0)
    return str(found.json["content"])


async def test_the_form_has_setup_a_and_b_and_compares_them(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    data = await form(fake, ALICE, device="cpu")
    assert data["custom_id"] == f"bench:modal:{ALICE}"  # one per user
    fields = [row["components"][0] for row in data["components"]]
    assert [f["custom_id"] for f in fields] == ["setup", "a", "b"]
    assert [f["required"] for f in fields] == [False, True, False]
    submitted = await fake.submit(
        data["custom_id"],
        {"setup": "x = torch.randn(32, 32)", "a": "x + x", "b": "for _ in range(50): x + x"},
        user_id=ALICE,
    )
    text = await answer(fake, submitted)
    assert text.startswith("**⏱ Benchmark**"), text
    table = re.search(r"```\n(.*?)\n```", text, re.DOTALL)
    assert table is not None
    rows = [line.split()[0] for line in table.group(1).splitlines()[1:]]
    assert rows == ["A", "B"]
    assert re.search(r"B is [\d.]+× slower than A\.", text), text


async def test_one_snippet_alone_and_a_failing_one_named(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    data = await form(fake, ALICE)
    text = await answer(fake, await fake.submit(data["custom_id"], {"a": "1 + 1"}, user_id=ALICE))
    assert "snippet" in text and "than A" not in text
    data = await form(fake, ALICE)
    failing = {"a": "1 + 1", "b": "x = 1\n[][x]"}
    text = await answer(fake, await fake.submit(data["custom_id"], failing, user_id=ALICE))
    assert "❌ Snippet B failed: IndexError: list index out of range (line 2)" in text, text


async def test_blank_snippet_gets_the_usage_and_gpu_is_refused(
    bot: DiscordPlatform, fake: FakeDiscord
) -> None:
    data = await form(fake, ALICE)
    blank = await fake.submit(data["custom_id"], {"a": "   "}, user_id=ALICE)
    assert "Usage: /bench" in (await fake.reply(blank)).text
    data = await form(fake, ALICE, device="gpu")
    text = await answer(fake, await fake.submit(data["custom_id"], {"a": "1"}, user_id=ALICE))
    assert "No GPU on this runner. Use /bench cpu" in text


async def test_a_broken_result_is_an_error(bot: DiscordPlatform, fake: FakeDiscord) -> None:
    data = await form(fake, ALICE)
    junk = "open('_bench.json', 'w').write('[1, 2]')\nimport os\nos._exit(0)"
    text = await answer(fake, await fake.submit(data["custom_id"], {"a": junk}, user_id=ALICE))
    assert "could not be read" in text and "```" not in text


async def test_allowlist_refuses_before_the_form(
    make_settings: Callable[..., Settings],
    clock: FixedClock,
    fake: FakeDiscord,
    runner: RunnerClient,
) -> None:
    runs = RunService(runner, frozenset({("discord", ALICE)}), bench_budget_s=0.4)
    async with start(make_settings, clock, fake, runs):
        refused = await fake.reply(await fake.slash("bench", user_id=BOB))
        assert "limited to allowed users" in refused.text
        assert (await form(fake, ALICE))["custom_id"] == f"bench:modal:{ALICE}"

"""/run on Discord end to end: fake Discord API → bot → real local runner → sandboxed job."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from bot.adapters.discord.run import DiscordPlatform
from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.runclient import LocalRunner, RunnerClient
from bot.services.runs import RunService
from tests.conftest import requires_root
from tests.discordbot import running
from tests.fakediscord import MANAGE_GUILD, FakeDiscord, Interaction, Recorded

pytestmark = [pytest.mark.asyncio(loop_scope="module"), requires_root]

ALICE = 111111111111111111
BOB = 222222222222222222


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def local_runner(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunnerClient]:
    folder: Path = tmp_path_factory.mktemp("dc-runner")
    settings = Settings.model_validate(
        {
            "STUDYBOT_RUNNER_SOCKET": str(folder / "runner.sock"),
            "STUDYBOT_RUN_RATE_PER_MINUTE": 1000,
            "STUDYBOT_RUN_CPU_CONCURRENCY": 1,
            "STUDYBOT_RUN_WALL_TIME": 5,
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


@pytest_asyncio.fixture(loop_scope="module")
async def bot(
    make_settings: Callable[..., Settings],
    clock: FixedClock,
    fake: FakeDiscord,
    local_runner: RunnerClient,
) -> AsyncIterator[tuple[Core, DiscordPlatform]]:
    settings = make_settings(DISCORD_BOT_TOKEN=fake.token, DISCORD_API_BASE_URL=fake.base_url)
    async with (
        open_core(settings, clock=clock) as core,
        running(core, fake, RunService(local_runner, frozenset())) as platform,
    ):
        yield core, platform


async def result(fake: FakeDiscord, interaction: Interaction) -> Recorded:
    """Wait for the edit of the deferred response that carries the run's result."""

    def final() -> Recorded | None:
        edits = [
            r
            for r in fake.requests
            if r.method == "PATCH" and interaction.token in r.path and r.json
        ]
        done = [r for r in edits if str(r.json.get("content", "")).startswith("**")]
        return done[-1] if done else None

    await fake.answered(interaction)
    assert interaction.callbacks[0]["type"] == 5  # deferred at once: Discord gives 3 s
    found: Recorded = await fake.wait_for(final, 30.0)
    return found


async def test_run_with_the_code_option_shows_status_device_and_output(
    bot: tuple[Core, DiscordPlatform], fake: FakeDiscord
) -> None:
    code = "import torch\nprint(torch.ones(2, 2).sum().item())"
    edit = await result(fake, await fake.slash("run", user_id=ALICE, code=code))
    content = edit.json["content"]
    assert content.startswith("**✅ OK**")
    assert "cpu · " in content and " ms" in content
    assert "```\n4.0\n```" in content


async def test_run_errors_show_the_exit_code_and_traceback(
    bot: tuple[Core, DiscordPlatform], fake: FakeDiscord
) -> None:
    edit = await result(fake, await fake.slash("run", user_id=ALICE, code="x = '<b>'; 1/0"))
    assert "exit code 1" in edit.json["content"]
    assert "ZeroDivisionError" in edit.json["content"]


async def test_run_without_code_opens_a_modal_whose_code_runs(
    bot: tuple[Core, DiscordPlatform], fake: FakeDiscord
) -> None:
    opened = await fake.answered(await fake.slash("run", user_id=ALICE))
    modal = opened.callbacks[0]
    assert modal["type"] == 9
    field = modal["data"]["components"][0]["components"][0]
    assert field["style"] == 2  # a paragraph
    submitted = await fake.submit(
        modal["data"]["custom_id"],
        {field["custom_id"]: "for i in range(3):\n    print(i * i)"},
        user_id=ALICE,
    )
    edit = await result(fake, submitted)
    assert "```\n0\n1\n4\n```" in edit.json["content"]


async def test_run_code_menu_runs_the_fenced_code_of_a_message(
    bot: tuple[Core, DiscordPlatform], fake: FakeDiscord
) -> None:
    target = fake.user_message("look:\n```python\nprint(6 * 7)\n```", user_id=ALICE)
    edit = await result(fake, await fake.message_command("Run code", target, user_id=ALICE))
    assert "```\n42\n```" in edit.json["content"]


async def test_files_and_long_output_are_attached(
    bot: tuple[Core, DiscordPlatform], fake: FakeDiscord
) -> None:
    code = (
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "plt.plot([1, 3, 2])\nplt.savefig('loss.png')\n"
        "open('table.csv', 'w').write('a,b\\n1,2\\n')\n"
        "for i in range(2000): print(i)"
    )
    edit = await result(fake, await fake.slash("run", user_id=ALICE, code=code))
    assert len(edit.json["content"]) <= 2000
    files = dict(edit.files.values())
    assert files["output.txt"].decode().splitlines()[-1] == "1999"
    assert files["loss.png"].startswith(b"\x89PNG")
    assert files["table.csv"] == b"a,b\n1,2\n"


async def test_managers_switch_run_off_in_a_channel(
    bot: tuple[Core, DiscordPlatform], fake: FakeDiscord
) -> None:
    refused = await fake.reply(await fake.slash("run", user_id=ALICE, guild=True, code="off"))
    assert "Only group admins" in refused.text
    off = await fake.reply(
        await fake.slash("run", user_id=ALICE, guild=True, code="off", permissions=MANAGE_GUILD)
    )
    assert "now off" in off.text
    blocked = await fake.reply(await fake.slash("run", user_id=ALICE, guild=True, code="print(1)"))
    assert blocked.ephemeral and "switched off" in blocked.text


async def test_run_it_under_a_reference_answer_runs_the_snippet(
    bot: tuple[Core, DiscordPlatform], fake: FakeDiscord
) -> None:
    question = await fake.reply(await fake.slash("daily", user_id=ALICE))
    prompt_id = question.buttons[0]["custom_id"].split(":")[2]
    answer = await fake.reply(await fake.click(question, f"dq:r:{prompt_id}", user_id=ALICE))
    edit = await result(fake, await fake.click(answer, f"dq:x:{prompt_id}", user_id=ALICE))
    assert edit.json["content"].startswith("**✅ OK**")


async def test_a_stop_lets_a_running_job_answer_first(
    bot: tuple[Core, DiscordPlatform], fake: FakeDiscord
) -> None:
    core, platform = bot
    code = "import time; time.sleep(1); print('finished')"
    running_job = await fake.answered(await fake.slash("run", user_id=ALICE, code=code))
    await platform.stop()  # as on SIGTERM, while the job runs
    await core.stop_timers()
    await platform.close()
    edit = await result(fake, running_job)
    assert "finished" in edit.json["content"]
    assert platform.client.is_closed()


async def test_two_users_with_the_run_modal_open_each_run_their_own_code(
    bot: tuple[Core, DiscordPlatform], fake: FakeDiscord
) -> None:
    # discord.py keeps one open modal per custom id: a shared id would hand Alice's submit
    # to Bob's modal (and device), and leave Bob's submit with no modal at all.
    alice = await fake.answered(await fake.slash("run", user_id=ALICE, device="cpu"))
    bob = await fake.answered(await fake.slash("run", user_id=BOB, device="gpu"))
    forms = [alice.callbacks[0]["data"], bob.callbacks[0]["data"]]
    field = forms[0]["components"][0]["components"][0]["custom_id"]
    by_alice = await fake.submit(forms[0]["custom_id"], {field: "print('alice')"}, user_id=ALICE)
    by_bob = await fake.submit(forms[1]["custom_id"], {field: "print('bob')"}, user_id=BOB)
    mine, theirs = await result(fake, by_alice), await result(fake, by_bob)
    assert "```\nalice\n```" in mine.json["content"] and "cpu · " in mine.json["content"]
    assert "GPU" in theirs.json["content"] and "alice" not in theirs.json["content"]
    assert forms[0]["custom_id"] == f"run:modal:{ALICE}"

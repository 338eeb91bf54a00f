"""/bench end to end: Telegram (fake Bot API) → bot → real local runner → timing harness."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.runclient import LocalRunner, RunnerClient
from bot.services.runs import RunService
from tests.conftest import requires_root
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram import GROUP, TOKEN, USER, App, running

pytestmark = [pytest.mark.asyncio(loop_scope="module"), requires_root]

# Short budgets keep the suite quick; the harness shares it between the snippets.
BUDGET_S = 0.4
FENCE = "```"


def blocks(*codes: str) -> str:
    """Return the codes as fenced blocks, one after the other."""
    return "\n".join(f"{FENCE}python\n{code}\n{FENCE}" for code in codes)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runner(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunnerClient]:
    folder: Path = tmp_path_factory.mktemp("tg-bench-runner")
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
async def core(settings: Settings, clock: FixedClock) -> AsyncIterator[Core]:
    async with open_core(settings, clock=clock) as c:
        yield c


@pytest_asyncio.fixture(loop_scope="module")
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api


def service(runner: RunnerClient, allow: frozenset[tuple[str, int]] = frozenset()) -> RunService:
    return RunService(runner, allow, wall_time_s=4, bench_budget_s=BUDGET_S)


@pytest_asyncio.fixture(loop_scope="module")
async def bot(core: Core, fake: FakeBotAPI, runner: RunnerClient) -> AsyncIterator[App]:
    async with running(core, fake, service(runner)) as app:
        yield app


async def bench(fake: FakeBotAPI, text: str, *, chat: int = USER, user: int = USER) -> str:
    """Send a /bench and return the text of the answer (sent, or edited over a queue note)."""
    since = fake.mark()
    fake.send_message(chat, user, text, chat_type="private" if chat > 0 else "supergroup")
    call = await fake.wait_for_call("sendMessage", chat_id=chat, since=since, timeout=30)
    return str(call.params["text"])


def table_rows(text: str) -> dict[str, list[str]]:
    """Return the rows of the answer's table by their first cell."""
    body = re.search(r"<pre>(.*?)</pre>", text, re.DOTALL)
    assert body is not None, text
    return {line.split()[0]: line.split()[1:] for line in body.group(1).splitlines()[1:]}


async def test_two_snippets_are_compared_with_medians_and_a_ratio(
    bot: App, fake: FakeBotAPI
) -> None:
    text = await bench(fake, "/bench\n" + blocks("sum(range(10))", "sum(range(20000))"))
    assert text.startswith("<b>⏱ Benchmark</b>\ncpu · torch.utils.benchmark"), text
    assert re.search(r"median\s+IQR\s+runs", text)
    rows = table_rows(text)
    assert set(rows) == {"A", "B"}
    for row in rows.values():
        assert re.fullmatch(r"[\d.]+", row[0]) and row[1] in {"ns", "µs", "ms", "s"}
        assert int(row[-1].replace(",", "")) >= 1
    assert re.search(r"B is [\d.]+× slower than A\.", text), text


async def test_one_snippet_is_timed_alone(bot: App, fake: FakeBotAPI) -> None:
    text = await bench(fake, "/bench cpu " + blocks("torch.ones(8).sum()"))
    assert list(table_rows(text)) == ["snippet"]
    assert "than A" not in text and "same time" not in text


async def test_three_blocks_share_the_first_as_setup(bot: App, fake: FakeBotAPI) -> None:
    text = await bench(
        fake, "/bench\n" + blocks("x = torch.randn(32, 32)\nw = x.t()", "x @ w", "torch.mm(x, w)")
    )
    assert set(table_rows(text)) == {"A", "B"}
    assert "than A" in text or "same time" in text


async def test_a_failing_snippet_is_named_with_its_error_and_line(
    bot: App, fake: FakeBotAPI
) -> None:
    text = await bench(fake, "/bench\n" + blocks("x = 1", "y = x + 1", "z = 2\nx + undefined"))
    assert "❌ Snippet B failed: NameError: name 'undefined' is not defined (line 2)" in text
    text = await bench(fake, "/bench\n" + blocks("x = (", "x", "x"))
    assert "❌ The setup failed: SyntaxError: " in text and "(line 1)" in text
    assert "<setup>" not in text and text.count("line 1") == 1, text  # said once, plainly
    text = await bench(fake, "/bench\n" + blocks("1 / 0"))
    assert "❌ The snippet failed: ZeroDivisionError: division by zero (line 1)" in text


async def test_a_snippet_past_the_time_limit_is_named(bot: App, fake: FakeBotAPI) -> None:
    text = await bench(fake, "/bench\n" + blocks("pass", "import time\ntime.sleep(30)"))
    assert "⏱ Snippet B reached the time limit" in text, text


async def test_wrong_usage_gets_the_usage_line(bot: App, fake: FakeBotAPI) -> None:
    for text in (
        "/bench",
        "/bench gpu",
        "/bench print(1)",  # no fenced block
        "/bench " + blocks("1", "", "3"),  # an empty block
        "/bench " + blocks("1", "2", "3", "4"),  # more than three
    ):
        assert (await bench(fake, text)).startswith("Usage: /bench"), text


async def test_gpu_on_a_runner_without_one_is_refused_like_run(bot: App, fake: FakeBotAPI) -> None:
    assert "No GPU on this runner. Use /bench cpu" in await bench(fake, "/bench gpu " + blocks("1"))


async def test_a_forged_or_broken_result_is_an_error_never_a_table(
    bot: App, fake: FakeBotAPI
) -> None:
    junk = "open('_bench.json', 'w').write('junk')\nimport os\nos._exit(0)"
    forged = (
        "import json, os\njson.dump({'step': 'done', 'device': 'cpu', 'error': None, "
        "'timings': [{'role': 'A', 'median_s': -1.0, 'iqr_s': 0.0, 'runs': 5}]}, "
        "open('_bench.json', 'w'))\nos._exit(0)"
    )
    for code in (junk, forged, "import os\nos.unlink('_bench.json')\nos._exit(0)"):
        text = await bench(fake, "/bench " + blocks(code))
        assert "⚠️ The timings could not be read" in text, text
        assert "<pre>" not in text
    # What a snippet prints is never read: a fake report on stdout changes nothing.
    fake_json = '{"step": "done", "timings": [{"role": "A", "median_s": 999}]}'
    text = await bench(fake, "/bench " + blocks(f"print({fake_json!r})"))
    assert "999" not in text and list(table_rows(text)) == ["snippet"]


async def test_allowlist_restricts_bench(
    core: Core, fake: FakeBotAPI, runner: RunnerClient
) -> None:
    async with running(core, fake, service(runner, frozenset({("telegram", USER + 1)}))):
        assert "limited to allowed users" in await bench(fake, "/bench " + blocks("1"))
        text = await bench(fake, "/bench " + blocks("1"), chat=USER + 1, user=USER + 1)
        assert "⏱ Benchmark" in text


async def test_bench_in_a_chat_with_an_open_quiz_poll_waits_until_it_closes(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    since = fake.mark()
    fake.send_message(GROUP, USER, "/quiz 1", chat_type="supergroup")
    await fake.wait_for_call("sendPoll", chat_id=GROUP, since=since)
    since = fake.mark()
    fake.send_message(GROUP, USER, "/bench " + blocks("1 + 1"), chat_type="supergroup")
    note = await fake.wait_for_call("sendMessage", chat_id=GROUP, since=since)
    assert "runs when it closes" in str(note.params["text"])
    note_id = fake.last_message(GROUP).message_id
    await asyncio.sleep(1.0)  # a bench takes well under a second: nothing may come meanwhile
    assert len([c for c in fake.calls("sendMessage", chat_id=GROUP) if c.seq > since]) == 1
    assert not [c for c in fake.calls("editMessageText") if c.seq > since]
    clock.set(clock.now() + timedelta(seconds=31))
    await core.timers.run_due()
    # The table takes the note's place: one message in the chat, not a note left behind.
    answer = await fake.wait_for_call(
        "editMessageText",
        lambda c: "Benchmark" in str(c.params["text"]),
        chat_id=GROUP,
        since=since,
        timeout=30,
    )
    assert "snippet" in str(answer.params["text"])
    assert answer.params["message_id"] == note_id
    sent = [c for c in fake.calls("sendMessage", chat_id=GROUP) if c.seq > since]
    assert not [c for c in sent if "Benchmark" in str(c.params["text"])]

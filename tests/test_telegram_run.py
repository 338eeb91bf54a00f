"""/run end to end: Telegram (fake Bot API) → bot → real local runner → sandboxed job."""

from __future__ import annotations

import asyncio
import io
import os
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.adapters.console import Console
from bot.app import Core, open_core
from bot.clock import FixedClock
from bot.config import Settings
from bot.runclient import LocalRunner, RunnerClient
from bot.services.runs import RunService
from tests.conftest import requires_root
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram import GROUP, TOKEN, USER, App, running, say

pytestmark = [pytest.mark.asyncio(loop_scope="module"), requires_root]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def local_runner(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[LocalRunner, RunnerClient]]:
    folder: Path = tmp_path_factory.mktemp("tg-runner")
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
    yield local, client
    await local.__aexit__(None, None, None)


@pytest_asyncio.fixture(loop_scope="module")
async def core(settings: Settings, clock: FixedClock) -> AsyncIterator[Core]:
    async with open_core(settings, clock=clock) as c:
        yield c


@pytest_asyncio.fixture(loop_scope="module")
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api


@pytest_asyncio.fixture(loop_scope="module")
async def bot(
    core: Core, fake: FakeBotAPI, local_runner: tuple[LocalRunner, RunnerClient]
) -> AsyncIterator[App]:
    async with running(core, fake, RunService(local_runner[1], frozenset())) as app:
        yield app


async def test_run_text_replies_with_status_device_and_output(
    bot: App,
    fake: FakeBotAPI,
) -> None:
    text = await say(fake, "/run import torch\nprint(torch.ones(2, 2).sum().item())")
    assert text.startswith("<b>✅ OK</b>")
    assert "cpu · " in text
    assert "<pre>4.0</pre>" in text


async def test_quick_job_is_answered_with_one_message_and_nothing_before(
    bot: App, fake: FakeBotAPI
) -> None:
    since = fake.mark()
    assert "<pre>7</pre>" in await say(fake, "/run print(3 + 4)")
    await say(fake, "/help")  # a later update: anything the /run still did would show by now
    mine = [c for c in fake.calls(chat_id=USER) if c.seq >= since]
    assert [c.method for c in mine][:1] == ["sendMessage"]
    assert not [c for c in mine if c.method in {"sendChatAction", "editMessageText"}]


async def test_run_fenced_blocks_and_errors_escaped(
    bot: App,
    fake: FakeBotAPI,
) -> None:
    text = await say(fake, "/run\n```python\nx = '<tag>'\n```\n```\nprint(x); 1/0\n```")
    assert "exit code 1" in text
    assert "&lt;tag&gt;" in text
    assert "ZeroDivisionError" in text


async def test_run_code_from_replied_message_and_py_file(
    bot: App,
    fake: FakeBotAPI,
) -> None:
    code_msg = fake.send_message(USER, USER, "print(6 * 7)")
    since = fake.mark()
    fake.send_message(USER, USER, "/run", reply_to_message=code_msg)
    call = await fake.wait_for_call("sendMessage", since=since, timeout=30)
    assert "<pre>42</pre>" in str(call.params["text"])
    since = fake.mark()
    fake.send_document(
        USER, USER, b"print('from a file')\n", file_name="snippet.py", caption="/run"
    )
    call = await fake.wait_for_call("sendMessage", since=since, timeout=30)
    assert "<pre>from a file</pre>" in str(call.params["text"])


async def test_run_without_code_gets_usage(
    bot: App,
    fake: FakeBotAPI,
) -> None:
    assert "Usage: /run" in await say(fake, "/run")
    assert "Usage: /run" in await say(fake, "/run gpu")


async def test_files_and_plots_come_back(
    bot: App,
    fake: FakeBotAPI,
) -> None:
    code = (
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "plt.plot([1, 3, 2])\nplt.savefig('loss.png')\n"
        "open('table.csv', 'w').write('a,b\\n1,2\\n')\nprint('saved')"
    )
    since = fake.mark()
    fake.send_message(USER, USER, "/run " + code)
    photo = await fake.wait_for_call("sendPhoto", since=since, timeout=30)
    document = await fake.wait_for_call("sendDocument", since=since, timeout=30)
    assert photo.files["photo"].data.startswith(b"\x89PNG")
    assert document.files["document"].filename == "table.csv"
    assert document.files["document"].data == b"a,b\n1,2\n"


async def test_long_output_is_cut_and_attached(
    bot: App,
    fake: FakeBotAPI,
) -> None:
    since = fake.mark()
    fake.send_message(USER, USER, "/run for i in range(2000): print(i)")
    reply = await fake.wait_for_call("sendMessage", since=since, timeout=30)
    assert len(str(reply.params["text"])) < 4096
    doc = await fake.wait_for_call("sendDocument", since=since, timeout=30)
    assert doc.files["document"].filename == "output.txt"
    assert doc.files["document"].data.decode().splitlines()[-1] == "1999"


async def test_editing_run_message_reruns_and_edits_the_same_reply(
    bot: App,
    fake: FakeBotAPI,
) -> None:
    since = fake.mark()
    message_id = fake.send_message(USER, USER, "/run print('first')")
    reply = await fake.wait_for_call("sendMessage", since=since, timeout=30)
    reply_id = reply.result["message_id"]
    since = fake.mark()
    fake.edit_message(USER, message_id, "/run print('second')")
    edit = await fake.wait_for_call("editMessageText", since=since, timeout=30)
    assert edit.params["message_id"] == reply_id
    assert "<pre>second</pre>" in str(edit.params["text"])
    assert not [c for c in fake.calls("sendMessage") if c.seq >= since]


async def test_an_edited_run_waiting_in_the_queue_sends_no_note_and_edits_its_reply(
    bot: App,
    fake: FakeBotAPI,
) -> None:
    since = fake.mark()
    message_id = fake.send_message(USER, USER, "/run print('first')")
    reply = await fake.wait_for_call("sendMessage", chat_id=USER, since=since, timeout=30)
    since = fake.mark()
    # Another user's slow job holds the runner (one CPU job at a time here): the edit queues.
    fake.send_message(USER + 2, USER + 2, "/run import time; time.sleep(2); print('slow')")
    await fake.wait_for_call("sendChatAction", chat_id=USER + 2, since=since, timeout=30)
    fake.edit_message(USER, message_id, "/run print('second')")
    edit = await fake.wait_for_call("editMessageText", chat_id=USER, since=since, timeout=30)
    assert edit.params["message_id"] == reply.result["message_id"]
    assert "<pre>second</pre>" in str(edit.params["text"])
    # Its place in the queue had no message of its own to show in: none was sent.
    assert not [c for c in fake.calls("sendMessage", chat_id=USER) if c.seq >= since]


async def test_group_admin_switches_run_off_and_on(
    bot: App,
    fake: FakeBotAPI,
) -> None:
    assert "Only group admins" in await say(fake, "/run off", chat=GROUP, user=21)
    fake.set_chat_member_status(GROUP, 22, "creator")
    assert "now off" in await say(fake, "/run off", chat=GROUP, user=22)
    assert "switched off in this group" in await say(fake, "/run print(1)", chat=GROUP, user=21)
    assert "now on" in await say(fake, "/run on", chat=GROUP, user=22)
    assert "<pre>1</pre>" in await say(fake, "/run print(1)", chat=GROUP, user=21)


async def test_allowlist_restricts_run(
    core: Core, fake: FakeBotAPI, local_runner: tuple[LocalRunner, RunnerClient]
) -> None:
    async with running(
        core, fake, RunService(local_runner[1], frozenset({("telegram", USER + 1)}))
    ):
        assert "limited to allowed users" in await say(fake, "/run print(1)")
        assert "<pre>1</pre>" in await say(fake, "/run print(1)", chat=USER + 1, user=USER + 1)


async def test_other_commands_answered_while_a_job_runs_and_queue_shown(
    bot: App,
    fake: FakeBotAPI,
) -> None:
    since = fake.mark()
    fake.send_message(USER, USER, "/run import time; time.sleep(2); print('slow')")
    # "typing" shows once the job has been with the runner for half a second: it runs now.
    await fake.wait_for_call("sendChatAction", chat_id=USER, since=since)
    # Another user's job waits behind it (one CPU job at a time in this runner) and sees its
    # place in the queue; meanwhile other commands are answered at once.
    fake.send_message(USER + 2, USER + 2, "/run print('next')")
    help_text = await say(fake, "/help", chat=USER + 3, user=USER + 3)
    assert "/daily" in help_text
    assert not [c for c in fake.calls("sendMessage", chat_id=USER) if c.seq >= since], (
        "/help should be answered before the slow job ends"
    )
    queued = await fake.wait_for_call("sendMessage", chat_id=USER + 2, since=since, timeout=30)
    assert "In queue: position 1" in str(queued.params["text"])
    done = await fake.wait_for_call("editMessageText", chat_id=USER + 2, since=since, timeout=30)
    assert "<pre>next</pre>" in str(done.params["text"])


async def test_runner_crash_is_reported_and_runner_restarts(
    bot: App, fake: FakeBotAPI, local_runner: tuple[LocalRunner, RunnerClient]
) -> None:
    local, _ = local_runner
    pid = local.pid
    assert pid is not None
    since = fake.mark()
    fake.send_message(USER, USER, "/run import time; time.sleep(3)")
    await fake.wait_for_call("sendChatAction", chat_id=USER, since=since)  # the job is running
    os.kill(pid, signal.SIGKILL)
    reply = await fake.wait_for_call("sendMessage", chat_id=USER, since=since, timeout=30)
    assert "crashed" in str(reply.params["text"])
    for _ in range(100):  # the supervisor restarts it
        if local.pid not in (None, pid):
            break
        await asyncio.sleep(0.2)
    assert local.pid not in (None, pid)
    text = ""
    for _ in range(30):
        text = await say(fake, "/run print('back')")
        if "<pre>back</pre>" in text:
            break
        await asyncio.sleep(0.5)
    assert "<pre>back</pre>" in text


async def test_run_in_a_chat_with_an_open_quiz_poll_waits_until_it_closes(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    since = fake.mark()
    fake.send_message(GROUP, USER, "/quiz 1", chat_type="supergroup")
    await fake.wait_for_call("sendPoll", chat_id=GROUP, since=since)
    since = fake.mark()
    fake.send_message(GROUP, USER, "/run print(6 * 7)", chat_type="supergroup")
    note = await fake.wait_for_call("sendMessage", chat_id=GROUP, since=since)
    assert "runs when it closes" in str(note.params["text"])
    await asyncio.sleep(0.5)  # the runner answers in milliseconds: nothing may come meanwhile
    assert not [c for c in fake.calls("editMessageText") if c.seq > since]
    clock.set(clock.now() + timedelta(seconds=31))
    await core.timers.run_due()
    edit = await fake.wait_for_call("editMessageText", chat_id=GROUP, since=since)
    assert "42" in str(edit.params["text"])


async def test_run_it_button_runs_the_snippet_under_the_reference_answer(
    bot: App, fake: FakeBotAPI
) -> None:
    await say(fake, "/question nn")
    question = fake.last_message(USER)
    since = fake.mark()
    fake.press_button(USER, USER, question.message_id, text="💡 Show answer")
    await fake.wait_for_call("sendMessage", since=since)
    reference = fake.last_message(USER)
    since = fake.mark()
    query = fake.press_button(USER, USER, reference.message_id, text="▶ Run it")
    await fake.wait_for_callback_answer(query)
    reply = await fake.wait_for_call("sendMessage", chat_id=USER, since=since, timeout=30)
    text = str(reply.params["text"])
    assert text.startswith("<b>✅ OK</b>")
    assert "<pre>3</pre>" in text


async def test_console_answer_run_runs_the_current_snippet(
    core: Core, local_runner: tuple[LocalRunner, RunnerClient]
) -> None:
    out = io.StringIO()
    c = Console(
        core,
        stdin=io.StringIO(""),
        stdout=out,
        user="tester",
        runs=RunService(local_runner[1], frozenset()),
    )
    await c.handle("/answer run")
    await c.handle("/question nn")
    await c.handle("/answer run")
    text = out.getvalue()
    assert "No question yet" in text
    assert "✅ OK" in text
    assert text.rstrip().endswith("3") or "\n3\n" in text


async def test_run_it_in_a_chat_with_an_open_quiz_poll_waits_until_it_closes(
    bot: App, fake: FakeBotAPI, core: Core, clock: FixedClock
) -> None:
    await say(fake, "/question nn", chat=GROUP, user=USER)
    question = fake.last_message(GROUP)
    query = fake.press_button(GROUP, USER, question.message_id, question.callback_data[0])
    await fake.wait_for_callback_answer(query)
    since = fake.mark()
    fake.press_button(GROUP, USER, question.message_id, text="💡 Show answer")
    await fake.wait_for_call("sendMessage", chat_id=GROUP, since=since)
    reference = fake.last_message(GROUP)
    since = fake.mark()
    fake.send_message(GROUP, USER, "/quiz 1", chat_type="supergroup")
    await fake.wait_for_call("sendPoll", chat_id=GROUP, since=since)
    since = fake.mark()
    fake.press_button(GROUP, USER + 1, reference.message_id, text="▶ Run it")
    note = await fake.wait_for_call("sendMessage", chat_id=GROUP, since=since)
    assert "runs when it closes" in str(note.params["text"])
    await asyncio.sleep(0.5)  # the runner answers in milliseconds: nothing may come meanwhile
    assert not [c for c in fake.calls("editMessageText") if c.seq > since]
    clock.set(clock.now() + timedelta(seconds=31))
    await core.timers.run_due()
    edit = await fake.wait_for_call("editMessageText", chat_id=GROUP, since=since)
    assert "<pre>3</pre>" in str(edit.params["text"])

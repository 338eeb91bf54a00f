"""/run on the bot side: where the code comes from, and who may run it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from bot.adapters.run_render import INLINE_OUTPUT_CHARS, run_reply
from bot.adapters.telegram.markup import to_html
from bot.config import Settings
from bot.errors import UserInputError
from bot.runner.protocol import RunFile, RunResult
from bot.services.runs import RunService, parse_job
from bot.storage.records import Chat


def test_plain_code_after_command() -> None:
    job = parse_job("/run print(1)")
    assert (job.code, job.device) == ("print(1)", "auto")


def test_device_word_and_bot_mention() -> None:
    assert parse_job("/run@studybot_test_bot gpu print(1)").device == "gpu"
    assert parse_job("/run cpu\nprint(1)").code == "print(1)"
    assert parse_job("/run cuda x=1").device == "gpu"


def test_fenced_blocks_are_joined() -> None:
    text = "/run look:\n```python\na = 1\n```\nthen\n```\nprint(a)\n```"
    assert parse_job(text).code == "a = 1\nprint(a)"


def test_fallback_from_reply_or_file() -> None:
    assert parse_job("/run", "```py\nprint(2)\n```").code == "print(2)"
    assert parse_job("/run gpu", "print(3)").device == "gpu"


@pytest.mark.parametrize("text", ["/run", "/run   ", "/run gpu", "/run ``` ```"])
def test_no_code_is_a_usage_error(text: str) -> None:
    with pytest.raises(UserInputError, match="usage_run"):
        parse_job(text)


def test_code_too_long() -> None:
    with pytest.raises(UserInputError, match="run_too_long"):
        parse_job("/run " + "x" * (65 * 1024))
    service = RunService(None, frozenset(), max_code_bytes=1024)
    with pytest.raises(UserInputError, match="run_too_long"):
        service.parse("/run " + "x" * 1025)
    assert service.parse("/run " + "x" * 1000).code == "x" * 1000


def chat(run_enabled: bool = True, external_id: str = "-5", platform: str = "telegram") -> Chat:
    return Chat(
        1, platform, external_id, "group", "", None, None, "09:00", False, None, run_enabled
    )


def test_allowlist_and_group_switch(make_settings: Callable[..., Settings]) -> None:
    allow = make_settings(STUDYBOT_RUN_ALLOW="7, telegram:-5").run_allow
    service = RunService(runner=object(), allow=allow)  # type: ignore[arg-type]
    service.check_allowed(7, chat(external_id="9"))
    service.check_allowed(8, chat(external_id="-5"))  # the chat is allowed
    with pytest.raises(UserInputError, match="run_not_allowed"):
        service.check_allowed(8, chat(external_id="9"))
    with pytest.raises(UserInputError, match="run_disabled"):
        service.check_allowed(7, chat(run_enabled=False))
    with pytest.raises(UserInputError, match="run_unavailable"):
        RunService(None, frozenset()).check_allowed(7, chat())


def test_the_allowlist_is_qualified_by_platform(make_settings: Callable[..., Settings]) -> None:
    # A Discord snowflake and a Telegram id are different people even when the numbers match.
    allow = make_settings(STUDYBOT_RUN_ALLOW="7, discord:998877665544332211").run_allow
    assert allow == {("telegram", 7), ("discord", 998877665544332211)}
    service = RunService(runner=object(), allow=allow)  # type: ignore[arg-type]
    service.check_allowed(7, chat(external_id="9"))
    service.check_allowed(998877665544332211, chat(external_id="9", platform="discord"))
    with pytest.raises(UserInputError, match="run_not_allowed"):
        service.check_allowed(7, chat(external_id="9", platform="discord"))
    with pytest.raises(UserInputError, match="run_not_allowed"):
        service.check_allowed(998877665544332211, chat(external_id="9"))
    with pytest.raises(ValidationError, match="slack:5"):
        make_settings(STUDYBOT_RUN_ALLOW="slack:5")


def result(**kw: object) -> RunResult:
    base: dict[str, object] = {
        "status": "ok",
        "exit_code": 0,
        "signal": None,
        "device": "cpu",
        "duration_ms": 12.4,
        "stdout": "",
        "stderr": "",
        "output_truncated": False,
        "files": (),
    }
    base.update(kw)
    return RunResult(**base)  # type: ignore[arg-type]


def test_reply_escapes_output_and_shows_status() -> None:
    reply = run_reply("en", result(stdout="<b>&</b>\n"), 10)
    assert to_html(reply.text).startswith("<b>✅ OK</b>\ncpu · 12 ms")
    assert "<pre>&lt;b&gt;&amp;&lt;/b&gt;</pre>" in to_html(reply.text)
    error = run_reply("en", result(status="error", exit_code=1, stderr="Traceback"), 10)
    assert "exit code 1" in error.text.text
    assert "Time limit reached (10 s)" in run_reply("en", result(status="timeout"), 10).text.text
    assert "Out of memory" in run_reply("en", result(status="memory"), 10).text.text


def test_long_output_cut_inline_and_attached() -> None:
    out = "x" * (INLINE_OUTPUT_CHARS + 500)
    reply = run_reply("en", result(stdout=out, files=(RunFile("a.png", b"\x89PNG", True),)), 10)
    assert len(to_html(reply.text)) < 4096
    assert reply.files[0].name == "output.txt"
    assert reply.files[0].data == out.encode()
    assert reply.files[1].name == "a.png"
    cut = run_reply("en", result(stdout="abc", output_truncated=True), 10)
    assert "cut at the runner's limit" in cut.text.text
    assert cut.files[0].name == "output.txt"


def test_rejections_in_words() -> None:
    limited = result(status="rejected", reason="rate_limited", retry_after_s=31.2)
    assert "Try again in 31 s" in run_reply("en", limited, 10).text.text
    assert "运行太频繁" in run_reply("zh", limited, 10).text.text
    assert "No GPU" in run_reply("en", result(status="rejected", reason="no_gpu"), 10).text.text
    assert "crashed" in run_reply("en", result(status="crashed"), 10).text.text


def test_a_job_without_a_sandbox_is_not_called_a_crash() -> None:
    # The runner is fine; only this job's worker could not be set up (no restart to wait for).
    text = run_reply("en", RunResult.rejected("sandbox_unavailable"), 10).text.text
    assert text.startswith("⚠️ The sandbox could not be set up for this job")
    assert "crashed" not in text


def test_python3_fence_is_not_read_as_code() -> None:
    assert parse_job("/run\n```python3\nprint(1)\n```").code == "print(1)"

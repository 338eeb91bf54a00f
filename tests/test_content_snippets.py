"""Every snippet of the bank runs in the /run runner and prints exactly its expected output."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.config import CONTENT_DIR, Settings
from bot.content.loader import load_bank
from bot.content.models import Question
from bot.runclient import LocalRunner, RunnerClient
from bot.runner.protocol import RunRequest
from tests.conftest import requires_root

pytestmark = requires_root
BANK = load_bank(CONTENT_DIR)
WITH_SNIPPETS = [q for q in BANK.questions if q.snippet is not None]


# How the warnings module starts a message: "<run>:6: UserWarning: ..." (any Warning class).
WARNING = re.compile(r"\b[A-Z]\w*Warning: ")


def normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runner(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunnerClient]:
    folder: Path = tmp_path_factory.mktemp("snippet-runner")
    settings = Settings.model_validate(
        {
            "STUDYBOT_RUNNER_SOCKET": str(folder / "runner.sock"),
            # One user key per snippet below; the rate limit is not what this test is about.
            "STUDYBOT_RUN_RATE_PER_MINUTE": 1000,
        }
    )
    async with LocalRunner(settings) as client:
        yield client


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("question", WITH_SNIPPETS, ids=[q.id for q in WITH_SNIPPETS])
async def test_snippet_prints_expected_output(runner: RunnerClient, question: Question) -> None:
    assert question.snippet is not None
    if question.snippet.device == "gpu":
        pytest.skip("needs a GPU: run by bench/gpu_check.sh on a GPU machine")
    result = await runner.run(
        RunRequest(code=question.snippet.code, user_key=f"content:{question.id}", device="cpu")
    )
    assert result.status == "ok", f"{question.id}: {result.status} {result.reason}\n{result.stderr}"
    assert normalise(result.stdout) == normalise(question.snippet.expected), question.id
    assert undeclared_stderr(result.stderr, question.snippet.stderr) == [], question.id


def undeclared_stderr(stderr: str, declared: str) -> list[str]:
    """Return stderr's warnings that nothing declared covers, and declared lines never seen."""
    wanted = [line.strip() for line in declared.splitlines() if line.strip()]
    warnings = [line for line in stderr.splitlines() if WARNING.search(line)]
    missing = [w for w in wanted if w not in stderr]
    return missing + [line for line in warnings if not any(w in line for w in wanted)]


def test_undeclared_stderr_is_reported() -> None:
    warning = "<run>:3: UserWarning: Implicit dimension choice for softmax\n  F.softmax(x)\n"
    assert undeclared_stderr("", "") == []
    assert undeclared_stderr(warning, "Implicit dimension choice") == []
    assert undeclared_stderr(warning, "") == warning.splitlines()[:1]
    assert undeclared_stderr("USDT: profiler_start\n", "") == []
    assert undeclared_stderr("", "Implicit dimension") == ["Implicit dimension"]

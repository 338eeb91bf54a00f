"""/bench without a runner: block roles, the harness program, the report's rules and the table."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from bot.adapters.bench_render import (
    bench_reply,
    comparison,
    display_width,
    seconds,
    table,
    times,
)
from bot.config import Settings
from bot.errors import UserInputError
from bot.runner.protocol import RunFile, RunResult
from bot.services.bench import (
    INPUT_FILES,
    Bench,
    bench_job,
    bench_of_parts,
    harness_program,
    parse_bench,
    read_report,
)
from bot.services.bench_result import RESULT_FILE, Malformed, Timing, read_progress

F = "```"
LIMIT = 64 * 1024


def fenced(*codes: str) -> str:
    return "\n".join(f"{F}python\n{c}\n{F}" for c in codes)


# -- parsing ----------------------------------------------------------------------------------


def test_block_count_gives_the_roles() -> None:
    one = parse_bench("/bench " + fenced("a"), None, LIMIT)
    assert (one.roles, one.alone, one.device) == (("A",), True, "auto")
    two = parse_bench("/bench@studybot gpu\n" + fenced("a", "b"), None, LIMIT)
    assert (two.roles, two.a, two.b, two.device) == (("A", "B"), "a", "b", "gpu")
    three = parse_bench("/bench cpu " + fenced("s", "a", "b"), None, LIMIT)
    assert (three.roles, three.setup, three.device) == (("setup", "A", "B"), "s", "cpu")


def test_blocks_come_from_the_replied_message_when_the_command_has_none() -> None:
    bench = parse_bench("/bench gpu", "look: " + fenced("a", "b"), LIMIT)
    assert (bench.a, bench.b, bench.device) == ("a", "b", "gpu")


@pytest.mark.parametrize(
    "text",
    [
        "/bench",
        "/bench cpu",
        "/bench print(1)",
        "/bench " + fenced("a", "  "),
        "/bench " + fenced(*"abcd"),
    ],
)
def test_wrong_usage_raises_the_usage_key(text: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_bench(text, None, LIMIT)
    assert caught.value.key == "usage_bench"


def test_each_block_is_held_to_the_code_size_limit() -> None:
    with pytest.raises(UserInputError) as caught:
        parse_bench("/bench " + fenced("a", "x" * 2000), None, 1024)
    assert (caught.value.key, caught.value.params) == ("run_too_long", {"limit": 1})


def test_form_fields_leave_out_an_empty_b_or_setup() -> None:
    bench = bench_of_parts("a", "  ", "", "cpu", LIMIT)
    assert (bench.roles, bench.alone) == (("A",), True)
    with_setup = bench_of_parts("a", None, "s", "auto", LIMIT)
    assert with_setup.roles == ("setup", "A")
    with pytest.raises(UserInputError):
        bench_of_parts(" \n", "b", None, "auto", LIMIT)


def test_the_job_is_the_harness_with_the_snippets_as_input_files() -> None:
    bench = Bench(a="x + 1", b="x * 2", setup="x = 3", device="gpu")
    job = bench_job(bench, 1.5)
    assert job.device == "gpu"
    assert [f.name for f in job.files] == [INPUT_FILES[r] for r in ("setup", "A", "B")]
    assert [f.data for f in job.files] == [b"x = 3", b"x + 1", b"x * 2"]
    assert "P: dict = {'roles': ['setup', 'A', 'B'], 'budget_s': 1.5}" in job.code
    assert "x + 1" not in job.code  # the snippets travel as files, never inside the program
    compile(harness_program(bench, 1.0), "<harness>", "exec")


# -- the report's rules -----------------------------------------------------------------------


def report(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "step": "done",
        "device": "cpu",
        "error": None,
        "timings": [
            {"role": "A", "median_s": 1e-6, "iqr_s": 1e-8, "runs": 1000},
            {"role": "B", "median_s": 3.2e-6, "iqr_s": 2e-8, "runs": 500},
        ],
    }
    doc.update(changes)
    return doc


def read(doc: object, roles: tuple[Any, ...] = ("A", "B"), duration_s: float = 1.0) -> Any:
    return read_progress(json.dumps(doc).encode(), roles, duration_s)


def test_a_well_formed_report_is_read() -> None:
    progress = read(report())
    assert progress.done and progress.error is None
    assert progress.timings[1] == Timing("B", 3.2e-6, 2e-8, 500)


def timing(**changes: Any) -> dict[str, Any]:
    return {"role": "A", "median_s": 1e-6, "iqr_s": 1e-8, "runs": 10, **changes}


@pytest.mark.parametrize(
    "doc",
    [
        [],
        report(extra=1),
        report(step="C"),
        report(device="tpu"),
        report(timings=[timing(median_s=-1.0), timing(role="B")]),
        report(timings=[timing(median_s=0.0), timing(role="B")]),
        report(timings=[timing(median_s=1e9), timing(role="B")]),
        report(timings=[timing(median_s="1"), timing(role="B")]),
        report(timings=[timing(median_s=True), timing(role="B")]),
        report(timings=[timing(iqr_s=-1e-9), timing(role="B")]),
        report(timings=[timing(runs=0), timing(role="B")]),
        report(timings=[timing(runs=1.5), timing(role="B")]),
        report(timings=[timing(runs=10**13), timing(role="B")]),
        report(timings=[timing(role="B"), timing()]),  # out of order
        report(timings=[timing(), timing(role="B"), timing(role="B")]),
        report(timings=[timing(), timing(role="B", extra=1)]),
        report(timings=[timing()]),  # done without B
        report(timings=[timing(median_s=0.5, runs=100), timing(role="B")]),  # 50 s in a 1 s job
        report(
            step="B", timings=[timing()], error={"role": "A", "type": "E", "message": "", "line": 1}
        ),
        report(step="B", timings=[], error={"role": "B", "type": "<b>", "message": "", "line": 1}),
        report(
            step="B", timings=[], error={"role": "B", "type": "E", "message": "m" * 301, "line": 1}
        ),
        report(step="B", timings=[], error={"role": "B", "type": "E", "message": "", "line": 0}),
        report(step="B", timings=[], error={"role": "B", "type": "E", "message": ""}),
        report(step="done", timings=[], error={"role": "B", "type": "E", "message": "", "line": 1}),
    ],
)
def test_a_report_breaking_a_rule_is_refused(doc: object) -> None:
    with pytest.raises(Malformed):
        read(doc)


@pytest.mark.parametrize(
    "data",
    [b"junk", b"\xff\xfe", b"[" * 100_000, b"1" * 5000, b"{}" + b" " * 20_000, b'{"a": NaN}'],
)
def test_bytes_that_are_no_report_are_refused(data: bytes) -> None:
    with pytest.raises(Malformed):
        read_progress(data, ("A",), 1.0)


def test_a_stop_inside_a_snippet_and_its_error_are_read() -> None:
    stopped = read(report(step="B", timings=[timing()]))
    assert (stopped.done, stopped.step, len(stopped.timings)) == (False, "B", 1)
    error = {"role": "setup", "type": "SyntaxError", "message": "bad", "line": 3}
    failed = read(report(step="setup", timings=[], error=error), ("setup", "A", "B"))
    assert failed.error is not None and failed.error.line == 3


# -- rendering --------------------------------------------------------------------------------


def result(files: tuple[RunFile, ...], status: Any = "ok", reason: str = "") -> RunResult:
    return RunResult(status, 0, None, "cpu", 1000.0, "", "", False, files, reason)


def reply(doc: object, bench: Bench, status: Any = "ok") -> str:
    files = (RunFile(RESULT_FILE, json.dumps(doc).encode()),)
    return bench_reply("en", read_report(bench, result(files, status)), 10).text


def test_units_and_ratios_are_formatted_compactly() -> None:
    assert [seconds(v) for v in (2.5, 0.4123, 6.596e-6, 4.2e-8, 3e-11)] == [
        "2.50 s",
        "412 ms",
        "6.60 µs",
        "42.0 ns",
        "0.03 ns",
    ]
    assert [times(v) for v in (1.137, 3.21, 120.4)] == ["1.14×", "3.2×", "120×"]


def test_the_table_aligns_medians_iqrs_and_runs() -> None:
    bench = Bench(a="a", b="b")
    text = table("en", bench, (Timing("A", 1e-6, 1e-8, 1000), Timing("B", 3.2e-6, 2e-8, 500)))
    assert text.splitlines() == [
        "    median      IQR   runs",
        "A  1.00 µs  10.0 ns  1,000",
        "B  3.20 µs  20.0 ns    500",
    ]
    zh = table("zh", Bench(a="a"), (Timing("A", 1e-6, 1e-8, 1000),))
    assert len({display_width(line) for line in zh.splitlines()}) == 1  # aligned columns
    assert display_width("中位数 µs") == 9


def test_comparison_says_slower_faster_or_within_the_noise() -> None:
    a, b = Timing("A", 1e-6, 1e-8, 10), Timing("B", 3.2e-6, 1e-8, 10)
    assert comparison("en", a, b) == "B is 3.2× slower than A."
    assert comparison("en", b, a) == "B is 3.2× faster than A."
    noisy = Timing("B", 1.05e-6, 2e-7, 10)
    assert comparison("en", a, noisy).startswith("A and B take about the same time")


def test_replies_name_the_snippet_and_why() -> None:
    two, alone = Bench(a="a", b="b"), Bench(a="a")
    text = reply(report(), two)
    assert "⏱ Benchmark" in text and "B is 3.2× slower than A." in text
    error = {"role": "A", "type": "ZeroDivisionError", "message": "division by zero", "line": 2}
    failed = reply(report(step="A", timings=[], error=error), alone)
    assert failed == "❌ The snippet failed: ZeroDivisionError: division by zero (line 2)"
    stopped = reply(report(step="B", timings=[timing()]), two, status="timeout")
    assert stopped == "⏱ Snippet B reached the time limit (10 s): stopped."
    ended = reply(report(step="A", timings=[]), two)
    assert ended == "⚠️ Snippet A ended the program before it was timed."
    assert "could not be read" in reply(report(device="tpu"), two)
    no_file = bench_reply("en", read_report(two, result(())), 10).text
    assert "could not be read" in no_file
    gpu = bench_reply("en", read_report(two, result((), "rejected", "no_gpu")), 10).text
    assert gpu == "No GPU on this runner. Use /bench cpu …"


# -- the budget setting -----------------------------------------------------------------------


def test_the_budget_must_leave_the_harness_half_of_the_job() -> None:
    assert Settings.model_validate({}).bench_budget == 2.0
    assert Settings.model_validate({"STUDYBOT_RUN_WALL_TIME": 3}).bench_budget == 1.5
    assert Settings.model_validate({"STUDYBOT_BENCH_BUDGET_S": 5}).bench_budget == 5.0
    assert Settings.model_validate({"STUDYBOT_BENCH_BUDGET_S": " "}).bench_budget == 2.0
    for bad in ({"STUDYBOT_BENCH_BUDGET_S": 6}, {"STUDYBOT_BENCH_BUDGET_S": 0}):
        with pytest.raises(ValidationError, match="STUDYBOT_BENCH_BUDGET_S"):
            Settings.model_validate(bad)
    with pytest.raises(ValidationError, match="at most 2 s"):
        Settings.model_validate({"STUDYBOT_RUN_CPU_TIME": 4, "STUDYBOT_BENCH_BUDGET_S": 3})

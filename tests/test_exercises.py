"""Exercises: the loader's reports, the job programs, the documents' checks, the comparator."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.app import open_core
from bot.config import CONTENT_DIR, Settings
from bot.errors import ContentError
from bot.exercises.check import PlainRunner, program_runner
from bot.exercises.compare import compare_documents
from bot.exercises.documents import (
    Malformed,
    check_graph,
    check_value,
    job_document,
    result_file,
    trace_document,
)
from bot.exercises.grading import PUBLIC_SEED, Grader, run_reference
from bot.exercises.loader import load_exercises
from bot.exercises.models import Tolerance
from bot.exercises.programs import (
    execute_program,
    reference_program,
    trace_program,
    values_program,
)
from bot.runner.protocol import RunFile, RunResult
from tests.conftest import FIXTURE_BANK, clean_env, requires_root, studybot

BANK = load_exercises(CONTENT_DIR)
SOFTMAX = BANK.get("softmax")
TOL = Tolerance(rtol=1e-5, atol=1e-6)
TOL64 = Tolerance(rtol=1e-9, atol=1e-12)


def test_the_shipped_exercises_load_with_softmax_as_specified() -> None:
    softmax = BANK.get("softmax")
    assert softmax is not None
    assert softmax.signature == "softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor"
    assert {"aten._softmax", "aten._log_softmax"} <= set(softmax.forbidden)
    assert softmax.grading == "graph"
    for exercise in BANK.exercises:
        assert len(exercise.wrong) >= 2, exercise.id
        assert 2 <= len(exercise.hints) <= 3, exercise.id


def test_every_forbidden_operation_exists_in_this_torch() -> None:
    import torch

    for exercise in BANK.exercises:
        for name in exercise.forbidden:
            assert hasattr(torch.ops.aten, name.removeprefix("aten.")), (exercise.id, name)


def _broken(tmp_path: Path, change: dict[str, Any], name: str = "softmax") -> list[str]:
    folder = tmp_path / "exercises"
    folder.mkdir()
    data = yaml.safe_load((CONTENT_DIR / "exercises" / f"{name}.yaml").read_text("utf-8"))
    for key, value in change.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(ContentError) as caught:
        load_exercises(tmp_path)
    return caught.value.problems


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"hints": None}, "softmax.yaml: field hints: Field required"),
        ({"id": "soft-max"}, "softmax.yaml: field id: 'soft-max' must equal the file name"),
        ({"wrong": []}, "softmax.yaml: field wrong: Tuple should have at least 2 items"),
        ({"topic": "magic"}, "softmax.yaml: field topic: Input should be 'tensors'"),
        ({"cases": "def gen():\n    yield 1\n"}, "field cases: Value error, must define"),
        ({"reference": "def softmax(x:\n"}, "field reference: Value error, the code is not valid"),
        (
            {"forbidden": ["torch.softmax"]},
            "'torch.softmax' must be an ATen operation such as aten._softmax",
        ),
        ({"grading": "values"}, "forbidden operations and max_ops need grading: graph"),
        ({"grading": "exact"}, "field grading: Input should be 'graph' or 'values'"),
        ({"entry": "soft max"}, "field entry: Value error, 'soft max' is not a Python name"),
        ({"entry": "other"}, "starter must define 'other'"),
    ],
)
def test_a_broken_exercise_is_reported_with_file_and_field(
    tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    problems = _broken(tmp_path, change)
    assert any(expected in p for p in problems), problems
    assert all(str(tmp_path / "exercises" / "softmax.yaml") in p for p in problems)


def test_a_missing_exercises_folder_is_an_empty_bank(tmp_path: Path) -> None:
    assert len(load_exercises(tmp_path)) == 0


def test_invalid_yaml_is_one_problem_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "bad.yaml").write_text("id: bad\ntitle: {zh: a: b}\n", "utf-8")
    (tmp_path / "exercises" / "notes.txt").write_text("x", "utf-8")
    with pytest.raises(ContentError) as caught:
        load_exercises(tmp_path)
    assert len(caught.value.problems) == 2
    assert "bad.yaml: line 2 invalid YAML" in caught.value.problems[0]
    assert "notes.txt: not a .yaml file" in caught.value.problems[1]


SEEDS = list(range(64))


def test_only_the_reference_job_holds_the_case_program() -> None:
    assert SOFTMAX is not None
    code = "def softmax(x, dim=-1):\n    return x  # P: dict = {} @PARAMS@\n"
    programs = {
        "trace": trace_program(SOFTMAX, code, SEEDS),
        "values": values_program(SOFTMAX, code, SEEDS),
        "execute": execute_program(SEEDS),
    }
    for role, program in programs.items():
        compile(program, role, "exec")
        assert SOFTMAX.cases not in program and "large values" not in program, role
        assert SOFTMAX.reference not in program, role
    assert repr(code) in programs["trace"]  # the code's own text is left as it is
    assert code not in programs["execute"] and "submission" not in programs["execute"][-300:]
    reference = reference_program(SOFTMAX, 1234, SEEDS)
    assert SOFTMAX.cases in reference.replace("\\n", "\n") or repr(SOFTMAX.cases) in reference
    assert "'seed': 1234" in reference


def _tensor(values: list[Any], shape: list[int], dtype: str = "torch.float32") -> dict[str, Any]:
    return {"t": "tensor", "shape": shape, "dtype": dtype, "values": values}


def _doc(*cases: tuple[str, Any], load_error: str | None = None) -> dict[str, Any]:
    found: list[dict[str, Any]] = []
    for name, value in cases:
        if isinstance(value, str):
            found.append({"name": name, "error": value})
        else:
            found.append({"name": name, "value": value, "inputs": {"t": "dict", "items": {}}})
    return {"cases": found, "load_error": load_error}


def _job(doc: dict[str, Any]) -> dict[str, Any]:
    """Send a document through JSON and the grader's checks, as a job's result is."""
    stripped = [{k: v for k, v in c.items() if k != "name"} for c in doc["cases"]]
    data = json.dumps({"cases": stripped, "load_error": doc["load_error"]}).encode()
    return job_document(data, len(stripped))


def test_the_comparator_says_why_without_the_expected_values() -> None:
    ref = _doc(
        ("same", _tensor([0.25, 0.75], [2])),
        ("shape", _tensor([1.0, 2.0], [2])),
        ("dtype", _tensor([1.0], [1])),
        ("error", _tensor([1.0], [1])),
        ("nan", _tensor([1.0, 2.0], [2])),
        ("far", _tensor([10.5, 20.25], [2])),
        (
            "grad",
            {"t": "dict", "items": {"out": _tensor([1.0], [1]), "grad x": _tensor([3.0], [1])}},
        ),
        ("infinity", _tensor([math.inf], [1])),
        ("close", _tensor([1.0], [1])),
        ("float64", _tensor([1.0], [1], "torch.float64")),
    )
    got = _doc(
        ("same", _tensor([0.25 + 1e-7, 0.75], [2])),
        ("shape", _tensor([1.0, 2.0], [1, 2])),
        ("dtype", _tensor([1.0], [1], "torch.float64")),
        ("error", "ZeroDivisionError: division by zero (line 3)"),
        ("nan", _tensor([math.nan, 2.0], [2])),
        ("far", _tensor([10.0, 20.25], [2])),
        ("grad", {"t": "dict", "items": {"out": _tensor([1.0], [1]), "grad x": {"t": "none"}}}),
        ("infinity", _tensor([1e30], [1])),
        ("close", _tensor([1.0000001], [1])),
        # Right for float32, not for float64: computed in float32 and cast back.
        ("float64", _tensor([1.0000001], [1], "torch.float64")),
    )
    verdicts = {v.name: v for v in compare_documents(ref, _job(got), TOL, TOL64)}
    assert [n for n, v in verdicts.items() if v.passed] == ["same", "close"]
    assert (verdicts["shape"].reason, verdicts["shape"].got, verdicts["shape"].expected) == (
        "shape",
        "(1, 2)",
        "(2,)",
    )
    assert (verdicts["dtype"].got, verdicts["dtype"].expected) == ("float64", "float32")
    assert verdicts["error"].detail == "ZeroDivisionError: division by zero (line 3)"
    assert verdicts["nan"].reason == "nan"
    assert verdicts["far"].reason == "value"
    assert verdicts["far"].max_error == pytest.approx(0.5)
    assert (verdicts["grad"].where, verdicts["grad"].got) == ("grad x", "None")
    assert verdicts["infinity"].max_error == math.inf
    assert verdicts["float64"].reason == "value"
    for v in verdicts.values():
        assert "10.5" not in f"{v}" and "20.25" not in f"{v}"


def test_inputs_must_be_left_alone_or_changed_in_place_as_the_reference_does() -> None:
    x, p = _tensor([1.0, 2.0], [2]), _tensor([5.0], [1])
    ref = {
        "cases": [
            {
                "name": "step",
                "value": {"t": "none"},
                "inputs": {"t": "dict", "items": {"x": x, "params": {"t": "list", "items": [p]}}},
                "mutated": [1],  # params[0], in the order the inputs flatten
            }
        ],
        "load_error": None,
    }

    def after(x_after: dict[str, Any], p_after: dict[str, Any]) -> dict[str, Any]:
        items = {"x": x_after, "params": {"t": "list", "items": [p_after]}}
        case = {"value": {"t": "none"}, "inputs": {"t": "dict", "items": items}}
        return {"cases": [case], "load_error": None}

    same = compare_documents(ref, after(x, p), TOL)[0]
    assert same.passed
    touched = compare_documents(ref, after(_tensor([0.0, 2.0], [2]), p), TOL)[0]
    assert (touched.reason, touched.where) == ("mutated", "x")
    rebound = compare_documents(ref, after(x, _tensor([4.0], [1])), TOL)[0]
    assert (rebound.reason, rebound.where) == ("not_in_place", "params")


def test_a_load_error_fails_every_case_and_a_lying_object_is_not_a_tensor() -> None:
    ref = _doc(("a", _tensor([1.0], [1])), ("b", _tensor([2.0], [1])))
    failed = compare_documents(ref, _doc(load_error="SyntaxError: bad (line 1)"), TOL)
    assert [(v.passed, v.reason) for v in failed] == [(False, "error"), (False, "error")]
    liar = _doc(("a", {"t": "unsupported", "type": "Liar"}), ("b", _tensor([2.0], [1])))
    verdicts = compare_documents(ref, _job(liar), TOL)
    assert (verdicts[0].reason, verdicts[0].got) == ("type", "Liar")
    assert verdicts[1].passed


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"not json", "the result is not a JSON document"),
        (b'{"cases": 1}', "the result has no list of cases"),
        (b'{"cases": [1]}', "a case is not an object"),
        (b'{"cases": [{}, {}]}', "the result has 2 cases, not 1"),
        (b'{"cases": [{"value": {"t": "int", "value": 1' + b"0" * 400 + b"}}]}", "out of range"),
        (
            b'{"cases": [{"value": {"t": "int", "value": 1' + b"0" * 5000 + b"}}]}",
            "a number too long",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "the result is not a JSON document"),
        (
            b'{"cases": [{"value": {"t": "tensor", "shape": [3], "dtype": "torch.float32", '
            b'"values": [1.0]}}]}',
            "a tensor's values do not fill its shape",
        ),
        (
            b'{"cases": [{"value": {"t": "tensor", "shape": [1], "dtype": "torch.evil", '
            b'"values": [1]}}]}',
            "a tensor has a bad rank, dtype or values",
        ),
        (
            b'{"cases": [{"value": {"t": "tensor", "shape": [1], "dtype": "torch.int64", '
            b'"values": [0.5]}}]}',
            "holds a value out of range",
        ),
        (b'{"cases": [{"value": {"t": "magic"}}]}', "a value of an unknown kind"),
        (b'{"cases": [{"value": {"t": "none"}, "inputs": 3}]}', "not an encoded value"),
    ],
)
def test_a_malformed_result_is_refused_in_one_line(data: bytes, why: str) -> None:
    with pytest.raises(Malformed) as caught:
        job_document(data, 1)
    assert why in str(caught.value)
    assert "\n" not in str(caught.value)


def test_values_may_hold_nan_and_infinity_but_only_in_floats() -> None:
    check_value(_tensor([math.nan, math.inf, -1.5], [3]))
    check_value({"t": "list", "items": [{"t": "bool", "value": True}, {"t": "none"}]})
    with pytest.raises(Malformed):
        check_value(_tensor([math.nan], [1], "torch.int32"))
    deep: dict[str, Any] = {"t": "none"}
    for _ in range(20):
        deep = {"t": "list", "items": [deep]}
    with pytest.raises(Malformed, match="nested too deep"):
        check_value(deep)


def _result(*files: tuple[str, bytes]) -> RunResult:
    found = tuple(RunFile(name, data) for name, data in files)
    return RunResult("ok", 0, None, "cpu", 1.0, "", "", False, found)


def test_the_result_is_read_from_exactly_one_file_of_its_name() -> None:
    assert result_file(_result(("!0", b"x"), ("_grading.json", b"{}")), "_grading.json") == b"{}"
    with pytest.raises(Malformed, match="no result"):
        result_file(_result(("_grading.json.bak", b"{}")), "_grading.json")
    with pytest.raises(Malformed, match="more than one"):
        result_file(_result(("_grading.json", b"{}"), ("_grading.json", b"{}")), "_grading.json")


def _call(target: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"op": "call", "target": target, "args": list(args), "kwargs": kwargs}


def test_a_graph_is_checked_before_it_runs() -> None:
    good = {
        "nodes": [
            {"op": "input", "i": 0},
            _call("aten.amax.default", {"n": 0}, {"l": [-1]}, True),
            _call("aten.sub.Tensor", {"n": 0}, {"n": 1}),
            _call("aten.zeros.default", {"l": [2]}, dtype={"dtype": "float64"}),
            {"op": "item", "of": 1, "i": 0},
        ],
        "outputs": [{"n": 2}],
    }
    assert check_graph(good, inputs=1, max_ops=10) == (
        3,
        frozenset({"aten.amax", "aten.sub", "aten.zeros"}),
    )
    assert check_graph(good, inputs=1, max_ops=2)[0] == 3  # over the limit: counted, not run
    bad = {
        "a Python function": [_call("builtins.eval", "1")],
        "reading a file": [_call("aten.from_file.default", "/etc/passwd")],
        "another namespace": [_call("mylib.steal.default")],
        "a later value": [_call("aten.neg.default", {"n": 0})],
        "another device": [_call("aten.zeros.default", {"l": [1]}, device={"device": "cuda"})],
        "an unknown dtype": [_call("aten.zeros.default", {"l": [1]}, dtype={"dtype": "evil"})],
        "a missing input": [{"op": "input", "i": 3}],
        "an object": [_call("aten.neg.default", {"pickle": "..."})],
    }
    for name, nodes in bad.items():
        with pytest.raises(Malformed):
            check_graph({"nodes": nodes, "outputs": []}, inputs=1, max_ops=10)
        assert name


def test_a_trace_document_names_each_case_s_fate() -> None:
    graph = {"nodes": [{"op": "input", "i": 0}], "outputs": [{"n": 0}]}
    doc = {
        "cases": [
            {"graph": graph, "skeleton": {"t": "slot", "i": 0}},
            {"ops": 99},
            {"error": "data-dependent"},
        ],
        "load_error": None,
    }
    load_error, found = trace_document(json.dumps(doc).encode(), [1, 1, 1], max_ops=10)
    assert load_error is None
    assert [type(f).__name__ for f in found] == ["Traced", "TraceFailed", "TraceFailed"]
    doc["cases"] = [{"graph": graph, "skeleton": {"t": "slot", "i": 5}}]
    with pytest.raises(Malformed, match="refers to a missing output"):
        trace_document(json.dumps(doc).encode(), [1], max_ops=10)


def test_the_example_in_content_readme_is_a_valid_exercise(tmp_path: Path) -> None:
    readme = (CONTENT_DIR / "README.md").read_text(encoding="utf-8")
    example = readme.split("# Coding exercises", 1)[1].split("```yaml\n", 1)[1].split("```\n")[0]
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "softmax.yaml").write_text(example, encoding="utf-8")
    (loaded,) = load_exercises(tmp_path).exercises
    assert loaded.id == "softmax" and len(loaded.wrong) >= 2


@requires_root
def test_content_check_runs_one_exercise_and_reports_a_weak_one(tmp_path: Path) -> None:
    good = studybot("content", "check", "--exercise", "softmax", env=clean_env(), cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert SOFTMAX is not None
    expected = (
        f"exercise softmax: the reference passes {SOFTMAX.cases.count('yield ')} cases;"
        f" {len(SOFTMAX.wrong)} wrong solution(s) rejected"
    )
    assert expected in good.stdout
    folder = tmp_path / "bank" / "exercises"
    folder.mkdir(parents=True)
    data = yaml.safe_load((CONTENT_DIR / "exercises" / "softmax.yaml").read_text("utf-8"))
    data["wrong"].append({"name": "secretly right", "code": data["reference"]})
    (folder / "softmax.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    env = clean_env(STUDYBOT_CONTENT_DIR=str(tmp_path / "bank"))
    weak = studybot("content", "check", "--exercise", "softmax", env=env, cwd=tmp_path)
    assert weak.returncode == 1
    assert "not discriminating: wrong solution 'secretly right' passes every case" in weak.stdout
    unknown = studybot("content", "check", "--exercise", "nope", env=env, cwd=tmp_path)
    assert unknown.returncode == 1 and "no exercise nope" in unknown.stderr


async def test_the_plain_runner_grades_through_the_same_programs() -> None:
    # Where no sandbox runner can start (not root), content check runs programs this way.
    assert SOFTMAX is not None
    run = program_runner(PlainRunner(wall_time_s=120), "plain")
    reference = await run_reference(SOFTMAX, run, PUBLIC_SEED)
    assert [c["name"] for c in reference.document["cases"]][:2] == ["basic 4x5", "dim=0"]
    assert reference.inputs.startswith(b"PK")  # torch.save's zip format
    verdict = await Grader().grade(SOFTMAX, SOFTMAX.reference, run)
    assert verdict.solved and verdict.ops is not None and verdict.ops > 0


async def test_admin_reload_reloads_the_exercises_too(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    content = tmp_path / "content"
    shutil.copytree(FIXTURE_BANK, content)
    (content / "exercises").mkdir()
    shutil.copy(CONTENT_DIR / "exercises" / "softmax.yaml", content / "exercises")
    async with open_core(make_settings(STUDYBOT_CONTENT_DIR=str(content))) as core:
        assert [x.id for x in core.exercises.bank.exercises] == ["softmax"]
        shutil.copy(CONTENT_DIR / "exercises" / "layer-norm.yaml", content / "exercises")
        await core.admin.reload()
        assert sorted(x.id for x in core.exercises.bank.exercises) == ["layer-norm", "softmax"]
        (content / "exercises" / "layer-norm.yaml").write_text("id: [", "utf-8")
        with pytest.raises(ContentError):
            await core.admin.reload()
        assert len(core.exercises.bank.exercises) == 2  # a broken one changes nothing


async def test_the_cheats_pass_where_the_reference_is_within_reach(tmp_path: Path) -> None:
    # The cheats of tests/grading_cheats.py are not vacuous: unsandboxed (plain subprocesses,
    # the reference's text in a file they can reach), the ones that look for it pass.
    from tests.grading_cheats import CHEATS

    assert SOFTMAX is not None
    (tmp_path / "reference.py").write_text(SOFTMAX.reference, "utf-8")
    run = program_runner(PlainRunner(wall_time_s=300), "leak")
    verdict = await Grader().grade(SOFTMAX, CHEATS["reads files for the reference"], run)
    assert verdict.solved, verdict


def test_a_long_exercise_list_fits_a_telegram_message() -> None:
    from bot.adapters.exercise_render import overview
    from bot.adapters.telegram.markup import to_html
    from bot.services.exercises import ExerciseEntry

    assert SOFTMAX is not None
    few = to_html(overview("en", [ExerciseEntry(SOFTMAX, "solved", 1)]))
    assert "✅ <code>softmax</code> Numerically stable softmax · easy" in few
    many = to_html(overview("en", [ExerciseEntry(SOFTMAX, "new", 0)] * 100))
    assert len(many) < 4096 and "Numerically stable softmax" not in many
    assert many.count("▫️ <code>softmax</code>") == 100

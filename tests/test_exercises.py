"""Exercises: the loader's error reports, the static check, the harness text, the comparator."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.app import open_core
from bot.config import CONTENT_DIR, Settings
from bot.errors import ContentError
from bot.exercises.check import PlainRunner
from bot.exercises.compare import compare_documents, parse_document
from bot.exercises.forbidden import forbidden_used
from bot.exercises.grading import result_document
from bot.exercises.harness import RESULT_FILE, build_program
from bot.exercises.loader import load_exercises
from bot.exercises.models import Tolerance
from bot.runner.protocol import RunRequest
from tests.conftest import FIXTURE_BANK, clean_env, requires_root, studybot

BANK = load_exercises(CONTENT_DIR)
SOFTMAX = BANK.get("softmax")
SOFTMAX_FORBIDDEN = SOFTMAX.forbidden if SOFTMAX else ()
TOL = Tolerance(rtol=1e-5, atol=1e-6)


def test_the_shipped_exercises_load_with_softmax_as_specified() -> None:
    softmax = BANK.get("softmax")
    assert softmax is not None
    assert softmax.signature == "softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor"
    assert {"torch.softmax", "torch.nn.functional.softmax", "torch.Tensor.softmax"} <= set(
        softmax.forbidden
    )
    assert any("log_softmax" in name for name in softmax.forbidden)
    for exercise in BANK.exercises:
        assert len(exercise.wrong) >= 2, exercise.id
        assert 2 <= len(exercise.hints) <= 3, exercise.id


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
            {"reference": "import torch\ndef softmax(x, dim=-1):\n    return x.softmax(dim)\n"},
            "reference uses forbidden torch.Tensor.softmax",
        ),
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


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import torch\ny = torch.softmax(x, 0)", ["torch.softmax"]),
        ("import torch.nn.functional as F\nF.softmax(x, 0)", ["torch.nn.functional.softmax"]),
        (
            "from torch.nn import functional\nfunctional.log_softmax(x, 0)",
            ["torch.nn.functional.log_softmax"],
        ),
        ("from torch.nn.functional import softmax as s\ns(x)", ["torch.nn.functional.softmax"]),
        ("def f(x):\n    return (x * 2).softmax(-1)", ["torch.Tensor.softmax"]),
        ("import torch as t\nt.special.softmax(x, 0)", ["torch.special.softmax"]),
        ("import torch\ndef softmax(x, dim=-1):\n    return torch.exp(x)\nsoftmax(1)", []),
        ("def f(:\n", []),
    ],
)
def test_forbidden_names_are_found_through_aliases(source: str, found: list[str]) -> None:
    assert forbidden_used(source, SOFTMAX_FORBIDDEN) == found


def test_the_submission_program_holds_nothing_of_the_reference() -> None:
    softmax = BANK.get("softmax")
    assert softmax is not None
    submission = "def softmax(x, dim=-1):\n    return '@ENTRY@ @CODE@'\n"
    program = build_program(softmax, submission)
    assert softmax.reference not in program
    assert "amax" not in program  # the reference's method, in no harness line either
    assert repr(submission) in program  # markers inside the code are left as they are
    compile(program, "<program>", "exec")
    assert "torch.manual_seed(0)" in program


def _tensor(values: list[Any], shape: list[int], dtype: str = "torch.float32") -> dict[str, Any]:
    return {"t": "tensor", "shape": shape, "dtype": dtype, "values": values}


def _doc(*cases: tuple[str, Any], load_error: str | None = None) -> dict[str, Any]:
    found = []
    for name, value in cases:
        if isinstance(value, str):
            found.append({"name": name, "error": value})
        else:
            found.append({"name": name, "value": value})
    return {"cases": found, "load_error": load_error, "unresolved": []}


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
    )
    # Through JSON and back, as the jobs send them (NaN and inf survive).
    got = parse_document(json.dumps(got).encode()) or {}
    verdicts = {v.name: v for v in compare_documents(ref, got, TOL)}
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
    for v in verdicts.values():
        assert "10.5" not in f"{v}" and "20.25" not in f"{v}"


def test_a_load_error_fails_every_case_and_a_lying_object_is_not_a_tensor() -> None:
    ref = _doc(("a", _tensor([1.0], [1])), ("b", _tensor([2.0], [1])))
    failed = compare_documents(ref, _doc(load_error="SyntaxError: bad (line 1)"), TOL)
    assert [(v.passed, v.reason) for v in failed] == [(False, "error"), (False, "error")]
    liar = _doc(("a", {"t": "unsupported", "type": "Liar"}), ("b", _tensor([2.0], [1])))
    verdicts = compare_documents(ref, liar, TOL)
    assert (verdicts[0].reason, verdicts[0].got) == ("type", "Liar")
    assert verdicts[1].passed
    assert parse_document(b"not json") is None
    assert parse_document(b'{"cases": [1]}') is None


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
    assert "exercise softmax: the reference passes 8 cases; 4 wrong solution(s) rejected" in (
        good.stdout
    )
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


async def test_the_plain_runner_returns_the_grading_document() -> None:
    # Where no sandbox runner can start (not root), content check runs programs this way.
    assert SOFTMAX is not None
    runner = PlainRunner(wall_time_s=120)
    result = await runner.run(
        RunRequest(code=build_program(SOFTMAX, SOFTMAX.reference), user_key="content-check")
    )
    document = result_document(result)
    assert result.status == "ok" and document is not None, result.stderr
    assert [c["name"] for c in document["cases"]][:2] == ["basic 4x5", "dim=0"]
    assert all("value" in c for c in document["cases"])


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


def _graded(program: str, cwd: Path) -> dict[str, Any]:
    """Run a grading program unsandboxed in `cwd` and return its document."""
    subprocess.run([sys.executable, "-c", program], cwd=cwd, check=True, timeout=300)
    document = parse_document((cwd / RESULT_FILE).read_bytes())
    assert document is not None
    return document


def test_the_cheats_pass_where_the_reference_is_within_reach(tmp_path: Path) -> None:
    # The cheats of test_exercises_grading.py are not vacuous: given the reference, they pass.
    from tests.test_exercises_grading import _LINE, CHEATS

    assert SOFTMAX is not None
    (tmp_path / "ref").mkdir()
    reference = _graded(build_program(SOFTMAX, SOFTMAX.reference), tmp_path / "ref")
    (tmp_path / "leak").mkdir()
    (tmp_path / "leak" / "reference.py").write_text(SOFTMAX.reference, "utf-8")
    files = CHEATS["reads files for the reference"]
    reading = _graded(build_program(SOFTMAX, files), tmp_path / "leak")
    heap = CHEATS["walks frames and the heap for the reference"] + f"\n# {_LINE}\n"
    (tmp_path / "heap").mkdir()
    walking = _graded(build_program(SOFTMAX, heap), tmp_path / "heap")
    for found in (reading, walking):
        assert all(v.passed for v in compare_documents(reference, found, SOFTMAX.tolerance))


def test_a_long_exercise_list_fits_a_telegram_message() -> None:
    from bot.adapters.exercise_render import overview
    from bot.services.exercises import ExerciseEntry

    assert SOFTMAX is not None
    few = overview("en", [ExerciseEntry(SOFTMAX, "solved", 1)])
    assert "✅ <code>softmax</code> Numerically stable softmax · easy" in few
    many = overview("en", [ExerciseEntry(SOFTMAX, "new", 0)] * 100)
    assert len(many) < 4096 and "Numerically stable softmax" not in many
    assert many.count("▫️ <code>softmax</code>") == 100

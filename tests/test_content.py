"""The question bank: the loader's error reports, and the real bank."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.config import CONTENT_DIR
from bot.content.loader import load_bank
from bot.content.models import LANGS
from bot.content.review import review
from bot.errors import ContentError
from bot.services.study import AnswerResult
from tests.conftest import clean_env, studybot

FIXTURE_BANK = Path(__file__).parent / "fixtures" / "bank"


def copy_bank(tmp_path: Path) -> Path:
    root = tmp_path / "bank"
    shutil.copytree(FIXTURE_BANK, root)
    return root


def edit(path: Path, change: dict[str, object]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for dotted, value in change.items():
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_every_problem_is_reported_with_file_and_field(tmp_path: Path) -> None:
    root = copy_bank(tmp_path)
    q1, q2, q3 = (root / "questions" / f"fixture-q{i}.yaml" for i in (1, 2, 3))
    edit(q1, {"en.quiz.correct": 9, "zh.quiz.question": "长" * 301})
    edit(q2, {"topic": "astrology", "difficulty": "trivial"})
    edit(q3, {"en": None})
    (root / "questions" / "broken.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_bank(root)
    text = "\n".join(err.value.problems)
    assert f"{q1}: field en.quiz: Value error, correct=9 but there are 4 options" in text
    assert f"{q1}: field zh.quiz.question:" in text
    assert f"{q2}: field difficulty:" in text
    assert f"{q3}: field en: Field required" in text
    assert "broken.yaml: line" in text and "invalid YAML" in text
    assert len(err.value.problems) >= 5


def test_unknown_topic_and_id_mismatch(tmp_path: Path) -> None:
    root = copy_bank(tmp_path)
    q1 = root / "questions" / "fixture-q1.yaml"
    edit(q1, {"topic": "astrology", "difficulty": "trivial"})
    shutil.copy(q1, root / "questions" / "fixture-q1.yml")
    q2 = root / "questions" / "fixture-q2.yaml"
    edit(q2, {"id": "other-id"})
    with pytest.raises(ContentError) as err:
        load_bank(root)
    assert any(
        "fixture-q1.yaml: field topic: unknown topic 'astrology'" in p for p in err.value.problems
    )
    assert any("fixture-q2.yaml: field id:" in p for p in err.value.problems)
    assert any("fixture-q1.yaml: field difficulty:" in p for p in err.value.problems)
    assert any(
        "fixture-q1.yml: field id: 'fixture-q1' is also used by" in p for p in err.value.problems
    )


def clean_bank(tmp_path: Path) -> Path:
    """Return a copy of the fixture bank that passes the review: one topic, easy and hard."""
    root = copy_bank(tmp_path)
    (root / "questions" / "fixture-q3.yaml").unlink()
    (root / "topics.yaml").write_text("tensors: {zh: 张量, en: Tensors}\n", encoding="utf-8")
    q2 = root / "questions" / "fixture-q2.yaml"
    edit(q2, {"difficulty": "hard", "en.question": "How do strides describe a view?"})
    edit(q2, {"en.quiz.question": "Which stride does a transposed 2x3 tensor have?"})
    for i in (1, 2):
        edit(root / "questions" / f"fixture-q{i}.yaml", {"snippet.code": f"assert {i} > 0\n"})
        edit(root / "questions" / f"fixture-q{i}.yaml", {"snippet.expected": ""})
    return root


def check(root: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return studybot("content", "check", env=clean_env(STUDYBOT_CONTENT_DIR=str(root)), cwd=tmp_path)


def test_content_check_command_exit_codes(tmp_path: Path) -> None:
    root = clean_bank(tmp_path)
    ok = check(root, tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "2 questions" in ok.stdout and "tensors 2" in ok.stdout
    edit(root / "questions" / "fixture-q1.yaml", {"en.quiz.options": ["only one"]})
    bad = check(root, tmp_path)
    assert bad.returncode == 1
    assert "fixture-q1.yaml: field en.quiz.options" in bad.stdout


def test_content_check_reports_the_review(tmp_path: Path) -> None:
    root = clean_bank(tmp_path)
    q1, q2 = (root / "questions" / f"fixture-q{i}.yaml" for i in (1, 2))
    edit(q2, {"en.question": "Fixture question 1, again?", "difficulty": "easy"})
    edit(q1, {"snippet.code": "print(1)\n", "snippet.expected": "1\n"})
    result = check(root, tmp_path)
    assert result.returncode == 1
    assert "near-duplicate: fixture-q1 and fixture-q2 (prompts" in result.stdout
    assert "difficulty spread: topic tensors has no hard" in result.stdout
    assert "snippet without a check: fixture-q1" in result.stdout
    assert "snippet without a check: fixture-q2" not in result.stdout


def test_new_ids_follow_the_house_style(tmp_path: Path) -> None:
    root = copy_bank(tmp_path)
    source = root / "questions" / "fixture-q1.yaml"
    for name in ("nn-misfiled", "tensors-new-question"):
        target = root / "questions" / f"{name}.yaml"
        shutil.copy(source, target)
        edit(target, {"id": name})
    hinted = root / "questions" / "tensors-new-question.yaml"
    edit(hinted, {"zh.hint": "想想步长。"})
    with pytest.raises(ContentError) as err:
        load_bank(root)
    problems = "\n".join(err.value.problems)
    assert "nn-misfiled.yaml: field id: 'nn-misfiled' must start with its topic's" in problems
    assert "nn-misfiled.yaml: field zh.hint: required" in problems
    assert "tensors-new-question.yaml: field en.hint: required" in problems
    assert "tensors-new-question.yaml: field zh.hint" not in problems
    assert "fixture-q1" not in problems  # listed in legacy-ids.txt
    edit(hinted, {"en.hint": "Think of strides."})
    (root / "questions" / "nn-misfiled.yaml").unlink()
    assert load_bank(root).get("tensors-new-question") is not None


def test_real_bank_loads_and_is_complete() -> None:
    bank = load_bank(CONTENT_DIR)
    assert len(bank.questions) >= 175
    assert bank.with_snippet / len(bank.questions) >= 0.9
    assert sorted(n for q in bank.questions if (n := q.seed_number)) == list(range(1, 9))
    for q in bank.questions:
        assert q.has_hint or q.id in bank.legacy, q.id
        for lang in LANGS:
            quiz = q.text(lang).quiz
            assert len(quiz.options) == 4, q.id
    # Every topic has an easy and a hard question; no overlap; every snippet checks itself.
    assert review(bank) == []
    assert all(bank.counts_by_topic().values())


def test_every_question_renders_within_telegram_limits() -> None:
    from bot.adapters import render
    from bot.adapters.telegram.markup import to_html

    bank = load_bank(CONTENT_DIR)
    for q in bank.questions:
        for lang in LANGS:
            assert len(to_html(render.question(bank, q, lang, "daily"))) <= 4096, q.id
            assert len(to_html(render.reference_answer(q, lang))) <= 4096, q.id
            for chosen in range(len(q.text(lang).quiz.options)):
                result = AnswerResult(
                    status="recorded",
                    question=q,
                    lang=lang,
                    chosen=chosen,
                    correct=chosen == q.text(lang).quiz.correct,
                )
                alert = render.verdict_alert(result)
                assert len(alert) <= 200, q.id
                assert alert.endswith(q.text(lang).quiz.explanation), (q.id, "explanation cut")

"""The question bank: the loader's error reports, and the real bank."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.config import CONTENT_DIR
from bot.content.loader import load_bank
from bot.content.models import LANGS
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


def test_content_check_command_exit_codes(tmp_path: Path) -> None:
    root = copy_bank(tmp_path)
    ok = studybot("content", "check", env=clean_env(STUDYBOT_CONTENT_DIR=str(root)), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "3 questions" in ok.stdout and "tensors 2" in ok.stdout
    edit(root / "questions" / "fixture-q1.yaml", {"en.quiz.options": ["only one"]})
    bad = studybot("content", "check", env=clean_env(STUDYBOT_CONTENT_DIR=str(root)), cwd=tmp_path)
    assert bad.returncode == 1
    assert "fixture-q1.yaml: field en.quiz.options" in bad.stdout


def test_real_bank_loads_and_is_complete() -> None:
    bank = load_bank(CONTENT_DIR)
    assert len(bank.questions) >= 60
    assert bank.with_snippet / len(bank.questions) >= 0.8
    assert sorted(n for q in bank.questions if (n := q.seed_number)) == list(range(1, 9))
    for q in bank.questions:
        for lang in LANGS:
            quiz = q.text(lang).quiz
            assert len(quiz.options) == 4, q.id
    # Every topic has questions, and every difficulty is used.
    assert all(bank.counts_by_topic().values())
    assert all(bank.counts_by_difficulty().values())


def test_every_question_renders_within_telegram_limits() -> None:
    from bot.adapters import render

    bank = load_bank(CONTENT_DIR)
    for q in bank.questions:
        for lang in LANGS:
            assert len(render.question(bank, q, lang, "daily")) <= 4096, q.id
            assert len(render.reference_answer(q, lang)) <= 4096, q.id
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

"""Load and validate the question bank, collecting every problem with its file and field."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.content.models import DIFFICULTIES, LANGS, Difficulty, Lang, Question, Topic
from bot.errors import ContentError

TOPICS_FILE = "topics.yaml"
QUESTIONS_DIR = "questions"
# Ids published before the house style (attempts refer to them, so they never change): they may
# carry another prefix than their topic's and may lack a hint. Every other id follows the rules.
LEGACY_FILE = "legacy-ids.txt"


@dataclass(frozen=True)
class ContentBank:
    """The validated bank: questions in a stable order (by id) and topics in file order."""

    questions: tuple[Question, ...]
    topics: tuple[Topic, ...]
    legacy: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {q.id: q for q in self.questions})

    def get(self, question_id: str) -> Question | None:
        """Return the question with this id, or None."""
        by_id: dict[str, Question] = self._by_id  # type: ignore[attr-defined]
        return by_id.get(question_id)

    def topic(self, topic_id: str) -> Topic | None:
        """Return the topic with this id, or None."""
        return next((t for t in self.topics if t.id == topic_id), None)

    def in_topic(self, topic_id: str | None) -> tuple[Question, ...]:
        """Return the questions of one topic, or all of them for None."""
        if topic_id is None:
            return self.questions
        return tuple(q for q in self.questions if q.topic == topic_id)

    def counts_by_topic(self) -> dict[str, int]:
        """Return the number of questions per topic id, in topic order, empty topics included."""
        counts = Counter(q.topic for q in self.questions)
        return {t.id: counts.get(t.id, 0) for t in self.topics}

    def counts_by_difficulty(self) -> dict[Difficulty, int]:
        """Return the number of questions per difficulty."""
        counts = Counter(q.difficulty for q in self.questions)
        return {d: counts.get(d, 0) for d in DIFFICULTIES}

    def counts_by_language(self) -> dict[Lang, int]:
        """Return the number of questions available in each language."""
        return {lang: sum(1 for q in self.questions if q.text(lang).question) for lang in LANGS}

    @property
    def with_snippet(self) -> int:
        """Return how many questions carry a runnable snippet."""
        return sum(1 for q in self.questions if q.snippet is not None)


def _field_path(loc: Iterable[int | str]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + part)
    return "".join(parts) or "(top level)"


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        problems.append(f"{path}: not UTF-8 text ({e.reason})")
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problems.append(f"{path}:{where} invalid YAML: {getattr(e, 'problem', e)}")
    except OSError as e:
        problems.append(f"{path}: cannot read ({e.strerror})")
    return None


def _load_topics(root: Path, problems: list[str]) -> tuple[Topic, ...]:
    path = root / TOPICS_FILE
    data = _read_yaml(path, problems)
    if data is None:
        if path.exists() and not problems:
            problems.append(f"{path}: empty file")
        elif not path.exists():
            problems.append(f"{path}: missing")
        return ()
    if not isinstance(data, Mapping):
        problems.append(f"{path}: expected a mapping of topic id to names")
        return ()
    topics = []
    for topic_id, names in data.items():
        try:
            topics.append(Topic.model_validate({"id": str(topic_id), **(names or {})}))
        except (ValidationError, TypeError) as e:
            problems.append(f"{path}: field {topic_id}: {e}")
    return tuple(topics)


def _load_legacy(root: Path, problems: list[str]) -> frozenset[str]:
    path = root / LEGACY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return frozenset()
    except (OSError, UnicodeDecodeError) as e:
        problems.append(f"{path}: cannot read ({e})")
        return frozenset()
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(line for line in lines if line)


def house_style_problems(question: Question, legacy: frozenset[str]) -> list[str]:
    """List the house rules a question breaks: its topic's id prefix and a hint in each language."""
    if question.id in legacy:
        return []
    problems = []
    if not question.id.startswith(f"{question.topic}-"):
        problems.append(
            f"field id: {question.id!r} must start with its topic's prefix '{question.topic}-'"
        )
    problems.extend(
        f"field {lang}.hint: required (only first-edition questions may lack it)"
        for lang in LANGS
        if not question.text(lang).hint
    )
    return problems


def _validate_question(
    path: Path, data: Any, topic_ids: set[str], legacy: frozenset[str], problems: list[str]
) -> Question | None:
    if not isinstance(data, Mapping):
        problems.append(f"{path}: expected a mapping with the question's fields")
        return None
    found = len(problems)
    # Checked on the raw data, so they are reported even when other fields are invalid too.
    raw_id, raw_topic = data.get("id"), data.get("topic")
    if isinstance(raw_id, str) and raw_id != path.stem:
        problems.append(f"{path}: field id: {raw_id!r} must equal the file name {path.stem!r}")
    if topic_ids and isinstance(raw_topic, str) and raw_topic not in topic_ids:
        problems.append(
            f"{path}: field topic: unknown topic {raw_topic!r} "
            f"(known: {', '.join(sorted(topic_ids))})"
        )
    try:
        question = Question.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            problems.append(f"{path}: field {_field_path(err['loc'])}: {err['msg']}")
        return None
    problems.extend(f"{path}: {problem}" for problem in house_style_problems(question, legacy))
    return question if len(problems) == found else None


def load_bank(root: Path) -> ContentBank:
    """Load every question under `root`, raising ContentError that lists all problems."""
    problems: list[str] = []
    topics = _load_topics(root, problems)
    topic_ids = {t.id for t in topics}
    legacy = _load_legacy(root, problems)
    qdir = root / QUESTIONS_DIR
    if not qdir.is_dir():
        problems.append(f"{qdir}: missing folder of question files")
        raise ContentError(problems)
    questions: list[Question] = []
    seen: dict[str, Path] = {}
    for path in sorted(qdir.iterdir()):
        if path.name.startswith("."):
            continue
        if path.suffix not in {".yaml", ".yml"}:
            problems.append(f"{path}: not a .yaml file")
            continue
        if path.stem in seen:
            problems.append(f"{path}: field id: {path.stem!r} is also used by {seen[path.stem]}")
            continue
        seen[path.stem] = path
        data = _read_yaml(path, problems)
        question = _validate_question(path, data, topic_ids, legacy, problems)
        if question is not None:
            questions.append(question)
    if not questions and not problems:
        problems.append(f"{qdir}: no questions")
    if problems:
        raise ContentError(problems)
    questions.sort(key=lambda q: q.id)
    return ContentBank(questions=tuple(questions), topics=topics, legacy=legacy)

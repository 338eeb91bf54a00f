"""Load and validate content/exercises/*.yaml, collecting every problem with file and field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.content.loader import _field_path, _read_yaml
from bot.errors import ContentError
from bot.exercises.models import EXERCISE_TOPICS, Exercise

EXERCISES_DIR = "exercises"


@dataclass(frozen=True)
class ExerciseBank:
    """The validated exercises, ordered by topic (in EXERCISE_TOPICS order), then file name."""

    exercises: tuple[Exercise, ...] = ()
    _by_id: dict[str, Exercise] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({x.id: x for x in self.exercises})

    def get(self, exercise_id: str) -> Exercise | None:
        """Return the exercise with this id, or None."""
        return self._by_id.get(exercise_id)

    def in_topic(self, topic: str) -> tuple[Exercise, ...]:
        """Return the exercises of one topic."""
        return tuple(x for x in self.exercises if x.topic == topic)

    def __len__(self) -> int:
        return len(self.exercises)


def _validate(path: Path, data: Any, problems: list[str]) -> Exercise | None:
    if not isinstance(data, Mapping):
        problems.append(f"{path}: expected a mapping with the exercise's fields")
        return None
    found = len(problems)
    raw_id = data.get("id")
    if isinstance(raw_id, str) and raw_id != path.stem:
        problems.append(f"{path}: field id: {raw_id!r} must equal the file name {path.stem!r}")
    try:
        exercise = Exercise.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            problems.append(f"{path}: field {_field_path(err['loc'])}: {err['msg']}")
        return None
    return exercise if len(problems) == found else None


def load_exercises(content_dir: Path) -> ExerciseBank:
    """Load every exercise under `content_dir`/exercises (none if the folder is missing).

    Raise ContentError listing every problem.
    """
    folder = content_dir / EXERCISES_DIR
    if not folder.is_dir():
        return ExerciseBank()
    problems: list[str] = []
    exercises: list[Exercise] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name == "README.md":
            continue
        if path.suffix not in {".yaml", ".yml"}:
            problems.append(f"{path}: not a .yaml file")
            continue
        before = len(problems)
        data = _read_yaml(path, problems)
        if len(problems) > before:
            continue
        exercise = _validate(path, data, problems)
        if exercise is not None:
            exercises.append(exercise)
    if problems:
        raise ContentError(problems)
    exercises.sort(key=lambda x: (EXERCISE_TOPICS.index(x.topic), x.id))
    return ExerciseBank(tuple(exercises))

"""Typed models of one question of the bank, validated at load time."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
Difficulty = Literal["easy", "medium", "hard"]
DIFFICULTIES: tuple[Difficulty, ...] = ("easy", "medium", "hard")

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,39}$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_.+-]{0,31}$")
_SOURCE = re.compile(r"^(seed-\d{1,2}|original)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quiz(_Strict):
    """A multiple-choice variant that fits a Telegram quiz poll."""

    question: str = Field(min_length=1, max_length=300)
    options: tuple[str, ...] = Field(min_length=2, max_length=10)
    correct: int = Field(ge=0)
    explanation: str = Field(min_length=1, max_length=200)

    @field_validator("options")
    @classmethod
    def _options(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for i, option in enumerate(v):
            if not option.strip():
                raise ValueError(f"option {i} is empty")
            if len(option) > 100:
                raise ValueError(f"option {i} has {len(option)} characters (at most 100)")
        if len(set(v)) != len(v):
            raise ValueError("options must be distinct")
        return v

    @field_validator("explanation")
    @classmethod
    def _explanation(cls, v: str) -> str:
        if v.count("\n") > 2:
            raise ValueError("at most 2 line breaks allowed (Telegram quiz explanation)")
        return v

    @property
    def stem(self) -> str:
        """Return the question's first line: the part a poll can show (polls have no code)."""
        return self.question.strip().split("\n", 1)[0].strip()

    @property
    def code(self) -> str | None:
        """Return the code under the first line ("What does this print?" questions), if any."""
        _first, sep, rest = self.question.strip().partition("\n")
        return rest.strip("\n") if sep and rest.strip() else None

    @model_validator(mode="after")
    def _correct_in_range(self) -> Quiz:
        if self.correct >= len(self.options):
            raise ValueError(f"correct={self.correct} but there are {len(self.options)} options")
        return self


class LocalizedQuestion(_Strict):
    """The text of a question in one language."""

    question: str = Field(min_length=1, max_length=1000)
    answer: str = Field(min_length=1, max_length=3000)
    quiz: Quiz
    # A nudge shown before answering; required for every question newer than the first edition.
    hint: str | None = Field(default=None, min_length=1, max_length=200)


class Snippet(_Strict):
    """A runnable example and the exact output it prints."""

    code: str = Field(min_length=1)
    expected: str
    # "gpu" snippets need CUDA: the CPU test suite skips them and a GPU machine runs them.
    device: Literal["cpu", "gpu"] = "cpu"
    # Text that must appear on stderr (a warning the snippet demonstrates); otherwise none may.
    stderr: str = ""

    @field_validator("code")
    @classmethod
    def _short(cls, v: str) -> str:
        lines = v.rstrip("\n").count("\n") + 1
        if lines > 25:
            raise ValueError(f"snippet has {lines} lines (at most 25)")
        return v


class Question(_Strict):
    """One question of the bank, in both languages."""

    id: str
    topic: str
    difficulty: Difficulty
    tags: tuple[str, ...] = Field(min_length=1, max_length=8)
    source: str
    zh: LocalizedQuestion
    en: LocalizedQuestion
    snippet: Snippet | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not ID_PATTERN.match(v):
            raise ValueError(
                "use 3–40 lowercase letters, digits and '-', starting with a letter or digit"
            )
        return v

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for tag in v:
            if not _TAG.match(tag):
                raise ValueError(f"tag {tag!r} must be lowercase, without spaces")
        return v

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        if not _SOURCE.match(v):
            raise ValueError("expected 'seed-N' or 'original'")
        return v

    @property
    def has_hint(self) -> bool:
        """Return whether both languages carry a hint."""
        return all(self.text(lang).hint for lang in LANGS)

    def text(self, lang: Lang) -> LocalizedQuestion:
        """Return the question's text in `lang`."""
        return self.zh if lang == "zh" else self.en

    @property
    def seed_number(self) -> int | None:
        """Return N for questions taken from seed question N."""
        return int(self.source.split("-")[1]) if self.source.startswith("seed-") else None


class Topic(_Strict):
    """A topic of the bank with its display names."""

    id: str
    zh: str
    en: str

    def name(self, lang: Lang) -> str:
        """Return the display name in `lang`."""
        return self.zh if lang == "zh" else self.en

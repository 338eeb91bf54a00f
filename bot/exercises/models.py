"""Typed models of one coding exercise (content/exercises/<id>.yaml), validated at load time."""

from __future__ import annotations

import ast
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.content.models import Difficulty, Lang

ExerciseTopic = Literal[
    "tensors", "modules", "autograd", "training", "data", "performance", "distributed", "compile"
]
EXERCISE_TOPICS: tuple[ExerciseTopic, ...] = (
    "tensors",
    "modules",
    "autograd",
    "training",
    "data",
    "performance",
    "distributed",
    "compile",
)
EXERCISE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
_ATEN = re.compile(r"^aten\.[a-z_][a-z0-9_]*$")
Grading = Literal["graph", "values"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(_Strict):
    """One text in both languages."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: Lang) -> str:
        """Return the text in `lang`."""
        return self.zh if lang == "zh" else self.en


class Tolerance(_Strict):
    """How close a value must be: |a - b| <= atol + rtol * |b| (b: the reference's)."""

    rtol: float = Field(default=1e-5, ge=0, le=1)
    atol: float = Field(default=1e-6, ge=0, le=1)


class WrongSolution(_Strict):
    """A known-wrong solution that the cases must reject."""

    name: str = Field(min_length=1, max_length=120)
    code: str = Field(min_length=1)

    @field_validator("code")
    @classmethod
    def _parses(cls, v: str) -> str:
        return _parse(v, "code")


def _parse(source: str, what: str) -> str:
    try:
        ast.parse(source)
    except SyntaxError as e:
        raise ValueError(f"{what} is not valid Python (line {e.lineno}: {e.msg})") from None
    return source


def _defines(source: str, name: str) -> bool:
    """Tell whether a module's top level binds `name` (def, class, assignment or import)."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                return True
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        elif isinstance(node, ast.Import | ast.ImportFrom) and any(
            (a.asname or a.name.split(".")[0]) == name for a in node.names
        ):
            return True
    return False


class Exercise(_Strict):
    """One coding exercise: what to implement, how to generate cases, the reference."""

    id: str
    topic: ExerciseTopic
    difficulty: Difficulty
    title: Localized
    statement: Localized
    signature: str = Field(min_length=1, max_length=300)
    entry: str
    starter: str = Field(min_length=1)
    hints: tuple[Localized, ...] = Field(min_length=2, max_length=3)
    explanation: Localized
    grading: Grading = "graph"
    forbidden: tuple[str, ...] = ()
    max_ops: int | None = Field(default=None, ge=1, le=100_000)
    tolerance: Tolerance = Tolerance()
    # float64 outputs: tight enough that computing in float32 and casting back fails.
    tolerance64: Tolerance = Tolerance(rtol=1e-9, atol=1e-12)
    cases: str = Field(min_length=1)
    check: str | None = None
    reference: str = Field(min_length=1)
    wrong: tuple[WrongSolution, ...] = Field(min_length=2)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not EXERCISE_ID.match(v):
            raise ValueError("use 2–40 lowercase letters, digits and '-'")
        return v

    @field_validator("title")
    @classmethod
    def _title(cls, v: Localized) -> Localized:
        if max(len(v.zh), len(v.en)) > 80 or "\n" in v.zh + v.en:
            raise ValueError("a title is one line of at most 80 characters")
        return v

    @field_validator("entry")
    @classmethod
    def _entry(cls, v: str) -> str:
        if not v.isidentifier():
            raise ValueError(f"{v!r} is not a Python name")
        return v

    @field_validator("forbidden")
    @classmethod
    def _forbidden(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if not _ATEN.match(name):
                raise ValueError(f"{name!r} must be an ATen operation such as aten._softmax")
        return v

    @field_validator("starter", "reference")
    @classmethod
    def _code(cls, v: str) -> str:
        return _parse(v, "the code")

    @field_validator("cases")
    @classmethod
    def _cases(cls, v: str) -> str:
        if not _defines(_parse(v, "cases"), "cases"):
            raise ValueError("must define a generator function cases()")
        return v

    @field_validator("check")
    @classmethod
    def _check(cls, v: str | None) -> str | None:
        if v is not None and not _defines(_parse(v, "check"), "check"):
            raise ValueError("must define check(entry, kwargs)")
        return v

    @model_validator(mode="after")
    def _entry_defined(self) -> Exercise:
        for field, source in (("starter", self.starter), ("reference", self.reference)):
            if not _defines(source, self.entry):
                raise ValueError(f"{field} must define {self.entry!r} (the entry)")
        if self.grading == "values" and (self.forbidden or self.max_ops):
            raise ValueError("forbidden operations and max_ops need grading: graph")
        if len({w.name for w in self.wrong}) != len(self.wrong):
            raise ValueError("wrong solutions need distinct names")
        return self

    def hint(self, index: int, lang: Lang) -> str:
        """Return hint `index` (0-based) in `lang`."""
        return self.hints[index].get(lang)

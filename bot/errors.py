"""The small error hierarchy of the bot: library errors are wrapped where they enter."""

from __future__ import annotations


class StudyBotError(Exception):
    """Base class of every error the bot raises on purpose."""


class ConfigError(StudyBotError):
    """Settings are invalid; the message names the variable."""


class ContentError(StudyBotError):
    """The question bank is broken; `problems` lists every file and field at fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            f"{len(problems)} problem(s) in the question bank:\n" + "\n".join(problems)
        )
        self.problems = problems


class UserInputError(StudyBotError):
    """A user sent something we cannot use; the message key says what to answer."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class DatabaseDamaged(StudyBotError):
    """The database file is damaged: start-up stops, and commands meeting it say so."""

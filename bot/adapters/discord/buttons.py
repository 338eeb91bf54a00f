"""Buttons that carry their state in the custom id, so they keep working after a restart."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self, cast

import discord
from discord.ui import Button, DynamicItem

if TYPE_CHECKING:
    from bot.adapters.discord.client import StudyClient

Action = Literal["answer", "reveal", "hint", "run", "report"]
_ACTIONS: dict[str, Action] = {
    "a": "answer",
    "r": "reveal",
    "h": "hint",
    "x": "run",
    "p": "report",
}
_LETTERS = {action: letter for letter, action in _ACTIONS.items()}


@dataclass(frozen=True)
class Press:
    """A press of a question button: "dq:a:<prompt>:<option>" answers, "dq:r:<prompt>" reveals."""

    action: Action
    prompt_id: int
    option: int = -1

    @property
    def custom_id(self) -> str:
        """Return the custom id that carries this press."""
        tail = f":{self.option}" if self.action == "answer" else ""
        return f"dq:{_LETTERS[self.action]}:{self.prompt_id}{tail}"


def client_of(interaction: discord.Interaction[Any]) -> StudyClient:
    """Return the bot's client (every dynamic item is registered by it alone)."""
    return cast("StudyClient", interaction.client)


class QuestionButton(
    DynamicItem[Button[Any]], template=r"dq:(?P<kind>[arhxp]):(?P<prompt>\d{1,12})(?::(?P<opt>\d))?"
):
    """An option, "Hint", "Show answer", "Run it" or "Report a problem" under a question."""

    def __init__(
        self,
        press: Press,
        *,
        label: str = "",
        style: discord.ButtonStyle | None = None,
        row: int | None = None,
    ) -> None:
        style = style or discord.ButtonStyle.secondary
        super().__init__(Button(label=label, style=style, custom_id=press.custom_id, row=row))
        self.press = press

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> QuestionButton:
        """Rebuild the press from the id (an answer without an option is no press at all)."""
        action = _ACTIONS[match["kind"]]
        option = int(match["opt"]) if match["opt"] is not None else -1
        if (action == "answer") != (option >= 0):
            action, option = "answer", -1  # forged: answered as "no longer available"
        return cls(Press(action, int(match["prompt"]), option))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the press to the study handlers."""
        client = client_of(interaction)
        await client.tree.guard(interaction, lambda: client.study.button(interaction, self.press))


class _IdButton(DynamicItem[Button[Any]], template=r"(?!)"):
    """A button whose handler reads everything from its custom id (a base: its template matches
    no id, and it is never registered)."""

    default_style = discord.ButtonStyle.primary

    def __init__(
        self,
        custom_id: str,
        *,
        label: str = "",
        style: discord.ButtonStyle | None = None,
        disabled: bool = False,
        row: int | None = None,
    ) -> None:
        button: Button[Any] = Button(
            label=label,
            style=style or self.default_style,
            custom_id=custom_id,
            disabled=disabled,
            row=row,
        )
        super().__init__(button)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        """Rebuild the button from its id."""
        return cls(match.string)

    @property
    def match(self) -> re.Match[str]:
        """Return the id's match of the template (discord.py matched it to get here)."""
        match = self.template.fullmatch(self.custom_id)
        assert match is not None  # noqa: S101 - discord.py matched it
        return match


class ReviewButton(
    _IdButton,
    template=r"rv:(?:(?P<prompt>\d{1,12}):(?P<opt>\d)(?P<capped>:c)?|(?P<word>go|daily))",
):
    """A review card's option, the reminder's "Start", or "Review n due" under a daily."""

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the press to the review handlers."""
        client, match = client_of(interaction), self.match
        await client.tree.guard(interaction, lambda: client.review.button(interaction, match))


class QuizButton(_IdButton, template=r"qz:(?P<ref>\d{1,12}-\d{1,3}):(?P<opt>\d)"):
    """An option of a quiz question: "qz:<session>-<position>:<option>"."""

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the vote to the quiz handlers."""
        client, match = client_of(interaction), self.match
        ref, option = match["ref"], int(match["opt"])
        await client.tree.guard(interaction, lambda: client.quiz.button(interaction, ref, option))


class SubmitButton(DynamicItem[Button[Any]], template=r"ex:submit(?::(?P<exercise>[\w.-]{1,80}))?"):
    """ "Submit" under a shown exercise: "ex:submit:<exercise>" opens its modal."""

    def __init__(self, exercise_id: str | None, *, label: str = "") -> None:
        custom_id = f"ex:submit:{exercise_id}" if exercise_id else "ex:submit"
        style = discord.ButtonStyle.primary
        super().__init__(Button(label=label, style=style, custom_id=custom_id))
        self.exercise_id = exercise_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> SubmitButton:
        """Rebuild the button from its id (before 2026-12 it carried no exercise)."""
        return cls(match["exercise"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Open the modal for the exercise."""
        client = client_of(interaction)
        handler = client.exercises.button
        await client.tree.guard(interaction, lambda: handler(interaction, self.exercise_id))


class BuddyButton(
    _IdButton,
    template=r"bd:(?:(?P<invite>\d{1,12}):(?P<verb>[ad])|e:(?P<owner>\d{1,12}):(?P<friend>\d{1,12}))",
):
    """An invitation's Accept or Decline ("bd:<invitation>:a|d"), or a /buddy list's
    "End with …" ("bd:e:<owner>:<friend>", the bot's user ids, so a press can be checked)."""

    default_style = discord.ButtonStyle.secondary

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the press to the buddy handlers."""
        client, match = client_of(interaction), self.match
        await client.tree.guard(interaction, lambda: client.buddies.button(interaction, match))


DYNAMIC_ITEMS = (QuestionButton, ReviewButton, QuizButton, SubmitButton, BuddyButton)


class StudyModal(discord.ui.Modal):
    """A form whose submit goes through the tree's gate and error path."""

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        """Take the submit unless the bot is stopping."""
        return await client_of(interaction).tree.interaction_check(interaction)

    async def on_error(  # type: ignore[override]  # a modal's has no item
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        """Answer through the one error path."""
        await client_of(interaction).tree.failed(interaction, error)

"""The platform contract: what every chat platform implements, and the registry of those attached.

Services send through this one protocol: the daily fan-out a prompt, quizzes a poll, its
closing and a scoreboard, reminders a notice. Each adapter (Telegram, Discord, the console, a
test's in-memory platform) implements it once and says what it can do in `Limits`; the rules
about people (who may do what, when a question goes out, when code waits for a quiz) stay in
the services. A send raises one of `bot.services.sending`'s errors when it fails.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.document import Document
from bot.services.quiz_platform import CloseReason, PollSpec, Scoreboard, SentPoll
from bot.services.study import Shown
from bot.storage.records import Chat, Lang, User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FriendAtRisk:
    """A friend streak that ends today unless the reminded user, or the friend, answers."""

    name: str
    days: int
    answered: bool  # the friend has answered on the reminded user's date
    needs_me: bool = True  # the reminded user's answer is still missing
    needs_friend: bool = False  # the friend's answer is still missing


@dataclass(frozen=True)
class Reminder:
    """What a reminder tells: the streak at risk, the friend streaks at risk, the cards due."""

    user: User
    lang: Lang
    streak: int
    due: int
    friends: tuple[FriendAtRisk, ...] = ()


# What a platform is asked to show as text: a service's result, which the adapter renders with
# the shared renderers into a document and then into its own markup, or a document as is.
Notice = Scoreboard | Reminder | Document


@dataclass(frozen=True)
class Limits:
    """What a platform can show: its limits as data, so services need no platform's numbers."""

    poll_question_chars: int  # a quiz poll's question; longer ones are cut by the service
    poll_option_chars: int
    text_chars: int  # one message
    private_replies: bool  # can answer one member of a group alone (Discord's ephemeral)


class Platform(Protocol):
    """One chat platform as the services see it."""

    name: str  # "telegram", "discord", "console": the `platform` of its chats and users
    limits: Limits

    async def send_prompt(self, chat: Chat, shown: Shown) -> str:
        """Send a question with its answer buttons; return the platform's message ref."""
        ...

    async def send_poll(self, chat: Chat, poll: PollSpec) -> SentPoll:
        """Show a quiz poll (and its code, if any, just before it)."""
        ...

    async def stop_poll(
        self, chat: Chat, poll: PollSpec, message_ref: str, reason: CloseReason
    ) -> None:
        """Close a poll: at its deadline, once all answered, or on /stopquiz (may be closed)."""
        ...

    async def send_text(self, to: Chat | User, notice: Notice) -> str:
        """Send a notice to a chat, or privately to a user; return the message ref."""
        ...

    async def send_photo(self, to: Chat | User, png: bytes, caption: Document) -> str:
        """Send a picture with a caption; return the message ref."""
        ...

    async def send_file(self, to: Chat | User, name: str, data: bytes, caption: Document) -> str:
        """Send a file with a caption; return the message ref."""
        ...


# What a service does when a platform attaches (rebuild its timers) or detaches (drop them).
Hook = Callable[[str], Awaitable[None]]


class Platforms:
    """The platforms attached to this process: the one registry every service sends through."""

    def __init__(self) -> None:
        self._attached: dict[str, Platform] = {}
        self._on_attach: list[Hook] = []

    def on_attach(self, hook: Hook) -> None:
        """Run `hook(name)` whenever a platform attaches (after it is registered)."""
        self._on_attach.append(hook)

    def add(self, platform: Platform) -> None:
        """Send through `platform` from now on, without rebuilding its timers yet."""
        self._attached[platform.name] = platform

    async def attach(self, platform: Platform) -> None:
        """Send through `platform` from now on; rebuild its chats' timers from the database.

        Each adapter calls it once it is connected: the daily timers (overdue ones caught up),
        running quiz sessions and reminders of its chats are picked up here, for every platform
        the same way.
        """
        self._attached[platform.name] = platform
        for hook in self._on_attach:
            await hook(platform.name)

    def detach(self, name: str) -> None:
        """Stop sending through a platform (its timers find no platform and end)."""
        self._attached.pop(name, None)

    def get(self, name: str) -> Platform | None:
        """Return the attached platform of this name, or None."""
        return self._attached.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._attached

    @property
    def names(self) -> list[str]:
        """Return the names of the attached platforms."""
        return list(self._attached)

"""The records the services hand to adapters: the types of the services' own API.

Adapters read chats, users and quiz sessions as the services return them and import them from
here, never from storage: what storage keeps is its own business.
"""

from __future__ import annotations

from bot.content.models import Lang, Question
from bot.storage.records import Chat, Invitation, Prompt, QuizSession, User, UserStats

__all__ = [
    "Chat",
    "Invitation",
    "Lang",
    "Prompt",
    "Question",
    "QuizSession",
    "User",
    "UserStats",
]

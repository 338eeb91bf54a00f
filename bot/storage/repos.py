"""Repositories: all SQL of the bot, returning frozen records, one object per concern."""

from __future__ import annotations

from bot.storage.boards import BoardRepo
from bot.storage.buddies import BuddyRepo
from bot.storage.cards import CardRepo, ReminderRepo
from bot.storage.database import Database
from bot.storage.deliveries import DeliveryRepo, StreakRepo
from bot.storage.exercises import ExerciseRepo
from bot.storage.people import ChatRepo, UserRepo
from bot.storage.prompts import AttemptRepo, PromptRepo
from bot.storage.quizzes import QuizRepo
from bot.storage.reports import ReportRepo

__all__ = [
    "AttemptRepo",
    "BuddyRepo",
    "ChatRepo",
    "DeliveryRepo",
    "PromptRepo",
    "Repos",
    "StreakRepo",
    "UserRepo",
]


class Repos:
    """All repositories over one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.users = UserRepo(db)
        self.chats = ChatRepo(db)
        self.prompts = PromptRepo(db)
        self.attempts = AttemptRepo(db)
        self.deliveries = DeliveryRepo(db)
        self.streaks = StreakRepo(db)
        self.quizzes = QuizRepo(db)
        self.boards = BoardRepo(db)
        self.cards = CardRepo(db)
        self.reminders = ReminderRepo(db)
        self.reports = ReportRepo(db)
        self.exercises = ExerciseRepo(db)
        self.buddies = BuddyRepo(db)

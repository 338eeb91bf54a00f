"""Reminders that protect a streak: at most one a day, only when the day's study is missing.

A reminder is needed when the user has not answered today and their own streak, a friend
streak that their answer today would keep (bot/services/buddies.py), or due cards ask for it.

Each user's next reminder is a one-shot timer keyed by the user; it is rebuilt from the
database at start-up (an overdue one fires at once) and rescheduled after each firing. The
day's claim row makes the reminder at-most-once across restarts, like the daily question.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import parse_hhmm
from bot.errors import UserInputError
from bot.services import streaks
from bot.services.buddies import BuddyService
from bot.services.cards import CardService
from bot.services.platform import FriendAtRisk, Platforms, Reminder
from bot.services.sending import ChatGone, SendFailed, SendRefused, SendUncertain
from bot.services.study import Context
from bot.services.timers import Timers
from bot.storage.records import User
from bot.storage.repos import Repos

log = logging.getLogger(__name__)

__all__ = ["Reminder", "ReminderService"]

Outcome = Literal["sent", "studied", "not_needed", "already", "off", "failed"]


def _key(user_id: int) -> str:
    return f"remind:{user_id}"


class ReminderService:
    """Schedule each user's reminder and send it only when their streak needs it."""

    def __init__(
        self,
        repos: Repos,
        cards: CardService,
        clock: Clock,
        timers: Timers,
        default_zone: str,
        platforms: Platforms,
        buddies: BuddyService,
    ) -> None:
        self.buddies = buddies
        self.repos = repos
        self.cards = cards
        self.clock = clock
        self.timers = timers
        self.default_zone = default_zone
        self.platforms = platforms

    def zone(self, user: User) -> str:
        """Return the zone the user's reminder time is in."""
        return user.timezone or self.default_zone

    async def set(self, ctx: Context, value: str) -> User:
        """Set the user's reminder to local HH:MM, or turn it off with "off"."""
        word = value.strip().lower()
        if word == "off":
            await self.repos.users.set_remind_at(ctx.user.id, None)
            self.timers.cancel(_key(ctx.user.id))
        else:
            try:
                at = parse_hhmm(word).strftime("%H:%M")
            except ValueError:
                raise UserInputError("usage_remind") from None
            await self.repos.users.set_remind_at(ctx.user.id, at)
        user = await self.repos.users.get(ctx.user.id) or ctx.user
        await self.schedule(user)
        return user

    async def resume(self, platform: str) -> None:
        """Schedule every reminder of a platform's users (at start-up)."""
        for user in await self.repos.users.with_reminders(platform):
            await self.schedule(user)

    async def schedule(self, user: User, *, fired: bool = False) -> None:
        """Set the user's timer to their next reminder time (today's if it is still owed)."""
        if user.remind_at is None:
            self.timers.cancel(_key(user.id))
            return
        today = self.clock.now().astimezone(ZoneInfo(self.zone(user))).date()
        at = self._at(user, today)
        if at <= self.clock.now() and (fired or await self.repos.reminders.claimed(user.id, today)):
            at = self._at(user, today + timedelta(days=1))
        self.timers.at(_key(user.id), at, lambda: self._fire(user.id))

    def next_at(self, user: User) -> datetime | None:
        """Return when the user's next reminder is due, if one is scheduled."""
        return self.timers.when(_key(user.id))

    def _at(self, user: User, day: date) -> datetime:
        assert user.remind_at is not None  # noqa: S101 - only scheduled when set
        zone = ZoneInfo(self.zone(user))
        return datetime.combine(day, parse_hhmm(user.remind_at), tzinfo=zone)

    async def _fire(self, user_id: int) -> None:
        user = await self.repos.users.get(user_id)
        if user is None:
            return
        try:
            outcome = await self.remind(user)
            log.debug("reminder for user %s: %s", user_id, outcome)
        finally:
            fresh = await self.repos.users.get(user_id)
            if fresh is not None:
                await self.schedule(fresh, fired=True)

    async def remind(self, user: User) -> Outcome:
        """Send the user's reminder of today if it is due, needed and not yet sent."""
        if user.remind_at is None:
            return "off"
        now = self.clock.now()
        zone = self.zone(user)
        today = now.astimezone(ZoneInfo(zone)).date()
        if now < self._at(user, today):
            return "not_needed"
        sender = self.platforms.get(user.platform)
        if sender is None or not await self.repos.reminders.claim(user.id, today, now):
            return "already"
        # A friend streak that needs this user's answer today, or the friend's, is reason
        # enough, even where the user's own streak gives none: the reminder names the friend
        # whose answer is still missing.
        friends = tuple(
            FriendAtRisk(f.friend.name, f.days, f.friend_answered, f.needs_me, f.needs_friend)
            for f in await self.buddies.at_risk(user)
        )
        # Claimed even when not needed: the day's question is settled at the reminder time.
        if await self.repos.attempts.answered_on(user.id, today):
            waiting = tuple(f for f in friends if f.needs_friend)
            if not waiting:
                await self.repos.reminders.finish(user.id, today, "skipped")
                return "studied"
            notice = Reminder(user, user.language or "en", 0, 0, waiting)
        else:
            streak = streaks.view_at(await self.repos.streaks.get(user.id), now, zone)
            due = await self.cards.count_due(user, now)
            if streak.current < 1 and due == 0 and not friends:
                await self.repos.reminders.finish(user.id, today, "skipped")
                return "not_needed"
            notice = Reminder(user, user.language or "en", streak.current, due, friends)
        try:
            await sender.send_text(user, notice)
        except ChatGone:
            log.info("user %s cannot be reached; turning their reminder off", user.id)
            await self.repos.users.set_remind_at(user.id, None)
            await self.repos.reminders.finish(user.id, today, "failed")
            return "failed"
        except (SendRefused, SendFailed) as e:
            # At most one a day: a failed reminder is not retried.
            log.warning("reminder for user %s not sent: %s", user.id, e)
            await self.repos.reminders.finish(user.id, today, "failed")
            return "failed"
        except SendUncertain:
            pass
        await self.repos.reminders.finish(user.id, today, "sent")
        return "sent"

"""Friend streaks (/buddy): two members of a chat keep a streak together.

The rule for two time zones: each answer is dated in its answerer's own zone (the date the
answer keeps, as for the personal streak). A date D counts for two friends when each of them
answered on D in their own zone, on or after the day they became friends. Their streak is the
run of consecutive such dates ending on the pair's "today" or the day before, where the pair's
today is the earlier of their two local dates: a streak is not shown broken before both
friends' day is over.

Invitations are posted in a chat both people are in (on Telegram the replied-to message proves
the invitee is there, on Discord the member option of a server channel); only the invitee's
press answers one, and it lapses after INVITE_HOURS. Either friend ends a friendship at any
time; the other is not messaged (their /buddy list simply no longer shows it).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from bot.clock import Clock, local_date
from bot.errors import UserInputError
from bot.services.context import Context
from bot.services.study import StudyService
from bot.storage.records import Invitation, User
from bot.storage.repos import Repos

INVITE_HOURS = 48
MAX_FRIENDS = 5
# How many past days a reminder's judgement looks at: zones at most 26 hours apart put two
# friends at most two dates apart.
RECENT_DAYS = 4


@dataclass(frozen=True)
class FriendStreak:
    """A friend streak as one of the two sees it now."""

    friend: User
    days: int  # the pair's streak: 0 when broken or not started
    mine_done: bool  # I answered on my local today
    friend_done: bool  # the friend answered on their local today
    needs_me: bool  # alive, and lost unless I answer today: the reminder names it
    friend_answered: bool  # the friend answered on my local today's date
    # Alive, and lost unless the friend answers on their today: my reminder names them, so
    # that I can give them a nudge (once I have answered myself, too).
    needs_friend: bool = False


@dataclass(frozen=True)
class InviteAnswer:
    """What became of an invitation when its invitee pressed a button."""

    invitation: Invitation
    outcome: Literal["accepted", "declined", "expired"]


def pair_days(common: Sequence[date], today: date) -> int:
    """Return the run of consecutive dates in `common` (latest first) ending today or yesterday.

    `today` is the pair's: the earlier of the two friends' local dates.
    """
    if not common or common[0] < today - timedelta(days=1):
        return 0
    run = 1
    for newer, older in itertools.pairwise(common):
        if newer - older != timedelta(days=1):
            break
        run += 1
    return run


def needs_answer(
    days: int,
    last_common: date | None,
    my_today: date,
    my_days: set[date],
    friend_today: date,
    friend_days: set[date],
) -> bool:
    """Tell whether a pair streak is alive and lost unless I answer on my local today.

    Every date between the last common one and my today must be done by me (those are over
    for me) and done or still open for the friend; then my today must be one the friend has
    answered on or can still answer on. Otherwise my answer today cannot save it.
    """
    if days == 0 or last_common is None or my_today in my_days:
        return False
    day = last_common + timedelta(days=1)
    while day < my_today:
        if day not in my_days or (day not in friend_days and day < friend_today):
            return False
        day += timedelta(days=1)
    return my_today in friend_days or my_today >= friend_today


class BuddyService:
    """Invite, accept, list and end friend streaks; judge them for /streak and reminders."""

    def __init__(self, repos: Repos, study: StudyService, clock: Clock, default_zone: str) -> None:
        self.repos = repos
        self.study = study
        self.clock = clock
        self.default_zone = default_zone

    def zone(self, user: User) -> str:
        """Return the zone a user's answers are dated in outside a chat (as reminders use)."""
        return user.timezone or self.default_zone

    # -- invitations --------------------------------------------------------------------
    async def invite(
        self,
        ctx: Context,
        *,
        user_id: str,
        user_name: str,
        language_code: str | None,
        is_bot: bool,
    ) -> Invitation:
        """Invite a member of this chat (the platform proved they are in it) to a friend streak."""
        if not ctx.chat.is_group:
            raise UserInputError("buddy_needs_group")
        if is_bot:
            raise UserInputError("buddy_bot")
        if user_id == ctx.user.external_id:
            raise UserInputError("buddy_self")
        invitee = (
            await self.study.enter_in_chat(
                platform=ctx.chat.platform,
                user_id=user_id,
                user_name=user_name,
                language_code=language_code,
                chat=ctx.chat,
            )
        ).user
        now = self.clock.now()
        buddies = self.repos.buddies
        if await buddies.are_friends(ctx.user.id, invitee.id):
            raise UserInputError("buddy_already", name=invitee.name)
        if await buddies.pending_between(ctx.user.id, invitee.id, now) is not None:
            raise UserInputError("buddy_pending", name=invitee.name)
        if await buddies.count(ctx.user.id) >= MAX_FRIENDS:
            raise UserInputError("buddy_limit_you", limit=MAX_FRIENDS)
        if await buddies.count(invitee.id) >= MAX_FRIENDS:
            raise UserInputError("buddy_limit", name=invitee.name, limit=MAX_FRIENDS)
        expires = now + timedelta(hours=INVITE_HOURS)
        return await buddies.invite(ctx.chat.id, ctx.user.id, invitee.id, now, expires)

    async def attach_message(self, invite_id: int, message_ref: str) -> None:
        """Remember which platform message shows an invitation."""
        await self.repos.buddies.set_message_ref(invite_id, message_ref)

    async def answer(self, ctx: Context, invite_id: int | None, accept: bool) -> InviteAnswer:
        """Accept or decline an invitation pressed in this chat; only the invitee's press counts.

        Buttons carry the invitation's id in data anyone can forge: an id of another chat, or
        of none, is "no longer open"; someone else's press changes nothing.
        """
        found = await self.repos.buddies.invitation(invite_id) if invite_id is not None else None
        if found is None or found.chat_id != ctx.chat.id:
            raise UserInputError("buddy_invite_gone")
        if found.invitee.id != ctx.user.id:
            raise UserInputError("buddy_not_yours", name=found.invitee.name)
        if found.status != "pending":
            raise UserInputError("buddy_invite_gone")
        now = self.clock.now()
        if now >= found.expires_at:
            await self.repos.buddies.close(found.id, "expired")
            return InviteAnswer(found, "expired")
        if not accept:
            if not await self.repos.buddies.close(found.id, "declined"):
                raise UserInputError("buddy_invite_gone")
            return InviteAnswer(found, "declined")
        since = min(
            local_date(now, self.zone(found.inviter)), local_date(now, self.zone(found.invitee))
        )
        verdict = await self.repos.buddies.accept(found, since, now, MAX_FRIENDS)
        if verdict == "gone":
            raise UserInputError("buddy_invite_gone")
        if verdict == "friends":
            raise UserInputError("buddy_already", name=found.inviter.name)
        if verdict == "invitee_full":
            raise UserInputError("buddy_limit_you", limit=MAX_FRIENDS)
        if verdict == "inviter_full":
            raise UserInputError("buddy_limit", name=found.inviter.name, limit=MAX_FRIENDS)
        return InviteAnswer(found, "accepted")

    # -- friends ------------------------------------------------------------------------
    async def friends(self, ctx: Context) -> list[FriendStreak]:
        """Return the user's friend streaks as they stand now."""
        return await self.streaks_of(ctx.user)

    async def streaks_of(self, user: User) -> list[FriendStreak]:
        """Return a user's friend streaks as they stand now, oldest friendship first."""
        friendships = await self.repos.buddies.friends(user.id)
        if not friendships:
            return []
        now = self.clock.now()
        my_today = local_date(now, self.zone(user))
        horizon = my_today - timedelta(days=RECENT_DAYS)
        my_days = await self.repos.buddies.days_since(user.id, horizon)
        found = []
        for friendship in friendships:
            friend = friendship.friend
            friend_today = local_date(now, self.zone(friend))
            friend_days = await self.repos.buddies.days_since(friend.id, horizon)
            common = await self.repos.buddies.common_days(user.id, friend.id, friendship.since)
            days = pair_days(common, min(my_today, friend_today))
            last = common[0] if common else None
            found.append(
                FriendStreak(
                    friend=friend,
                    days=days,
                    mine_done=my_today in my_days,
                    friend_done=friend_today in friend_days,
                    needs_me=needs_answer(days, last, my_today, my_days, friend_today, friend_days),
                    friend_answered=my_today in friend_days,
                    needs_friend=needs_answer(
                        days, last, friend_today, friend_days, my_today, my_days
                    ),
                )
            )
        return found

    async def at_risk(self, user: User) -> list[FriendStreak]:
        """Return the friend streaks lost unless this user, or the friend, answers today."""
        return [f for f in await self.streaks_of(user) if f.needs_me or f.needs_friend]

    async def end(self, ctx: Context, friend_id: int) -> User:
        """End the user's friendship with a friend (by the bot's user id); return the friend."""
        for friendship in await self.repos.buddies.friends(ctx.user.id):
            if friendship.friend.id == friend_id:
                await self.repos.buddies.end(ctx.user.id, friend_id)
                return friendship.friend
        friend = await self.repos.users.get(friend_id)
        raise UserInputError("buddy_not_friend", name=friend.name if friend else "?")

    async def end_pressed(self, ctx: Context, owner_id: int, friend_id: int) -> User:
        """End a friendship from a button of a /buddy list: only the list's owner may."""
        if owner_id != ctx.user.id:
            raise UserInputError("buddy_not_your_list")
        return await self.end(ctx, friend_id)

    async def end_member(self, ctx: Context, external_id: str) -> User:
        """End the friendship with a member named by their platform id (a reply, an option)."""
        friend = await self.repos.users.by_external(ctx.user.platform, external_id)
        if friend is None:
            raise UserInputError("buddy_not_friend", name=external_id)
        return await self.end(ctx, friend.id)

    async def end_named(self, ctx: Context, name: str) -> User:
        """End the friendship with the friend of this name ("@name" or "name", any case)."""
        wanted = name.strip().removeprefix("@").casefold()
        if not wanted:
            raise UserInputError("usage_buddy")
        friends = [f.friend for f in await self.repos.buddies.friends(ctx.user.id)]
        exact = [f for f in friends if f.name.casefold() == wanted]
        squeezed = wanted.replace(" ", "")
        loose = [f for f in friends if f.name.casefold().replace(" ", "").startswith(squeezed)]
        matches = exact or loose
        if len(matches) != 1:
            raise UserInputError("buddy_not_friend", name=name.strip())
        return await self.end(ctx, matches[0].id)

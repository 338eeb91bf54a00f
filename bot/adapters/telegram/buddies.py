"""Friend streaks on Telegram: /buddy as a reply invites, alone lists, with end ends one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram import User as TgUser
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.adapters import buddy_render
from bot.adapters.telegram.handlers import Handlers, command
from bot.adapters.telegram.markup import html_of
from bot.errors import UserInputError
from bot.services.buddies import FriendStreak
from bot.services.model import Lang
from bot.services.study import Context

Ctx = ContextTypes.DEFAULT_TYPE

# b:<invitation>:a accepts, b:<invitation>:d declines; b:e:<owner>:<friend> ends a friend
# streak from the owner's /buddy list (the bot's user ids, so a press can be checked).
_DATA = re.compile(r"^b:(?:(\d{1,12}):([ad])|e:(\d{1,12}):(\d{1,12}))$")
BUDDY_PATTERN = r"^b:"


@dataclass(frozen=True)
class BuddyPress:
    """A parsed press of an invitation's or a /buddy list's button."""

    action: Literal["accept", "decline", "end"]
    invite_id: int = 0
    owner_id: int = 0
    friend_id: int = 0


def parse_buddy(data: str | None) -> BuddyPress | None:
    """Parse buddy callback data we produced; None for anything else."""
    match = _DATA.match(data or "")
    if not match:
        return None
    invite, verb, owner, friend = match.groups()
    if invite is not None:
        return BuddyPress("accept" if verb == "a" else "decline", invite_id=int(invite))
    return BuddyPress("end", owner_id=int(owner), friend_id=int(friend))


def invite_keyboard(invite_id: int, lang: Lang) -> InlineKeyboardMarkup:
    """Return the invitation's Accept and Decline buttons."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    buddy_render.accept_label(lang), callback_data=f"b:{invite_id}:a"
                ),
                InlineKeyboardButton(
                    buddy_render.decline_label(lang), callback_data=f"b:{invite_id}:d"
                ),
            ]
        ]
    )


def list_keyboard(
    owner_id: int, found: Sequence[FriendStreak], lang: Lang
) -> InlineKeyboardMarkup | None:
    """Return one "End with …" button per friend of a /buddy list (None without friends)."""
    if not found:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    buddy_render.end_label(lang, f.friend.name),
                    callback_data=f"b:e:{owner_id}:{f.friend.id}",
                )
            ]
            for f in found
        ]
    )


def _name(user: TgUser) -> str:
    return user.full_name or user.username or str(user.id)


def replied_user(message: Message | None) -> TgUser | None:
    """Return the author of the message a command replies to (a forum topic's start is none)."""
    replied = message.reply_to_message if message is not None else None
    if replied is None or replied.forum_topic_created is not None:
        return None
    return replied.from_user


class BuddyHandlers:
    """/buddy and the buttons of invitations and /buddy lists."""

    def __init__(self, base: Handlers) -> None:
        self.base = base
        self.core = base.core

    @command
    async def buddy(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Invite the replied-to member, end a friend streak, or list the sender's friends."""
        args = self.base.args(context)
        message = update.effective_message
        target = replied_user(message)
        buddies = self.core.buddies
        if args and args[0].lower() == "end":
            if len(args) > 1:
                friend = await buddies.end_named(ctx, " ".join(args[1:]))
            elif target is not None:
                friend = await buddies.end_member(ctx, str(target.id))
            else:
                raise UserInputError("usage_buddy")
            await self.base.reply(update, buddy_render.ended(ctx.lang, friend.name))
            return
        if args:
            raise UserInputError("usage_buddy")
        if target is None:
            await self._list(update, ctx)
            return
        invite = await buddies.invite(
            ctx,
            user_id=str(target.id),
            user_name=_name(target),
            language_code=target.language_code,
            is_bot=target.is_bot,
        )
        assert message is not None  # noqa: S101 - a reply came with it
        sent = await message.reply_html(
            html_of(buddy_render.invitation(ctx.lang, invite)),
            reply_markup=invite_keyboard(invite.id, ctx.lang),
        )
        await buddies.attach_message(invite.id, str(sent.message_id))

    async def _list(self, update: Update, ctx: Context) -> None:
        found = await self.core.buddies.friends(ctx)
        message = update.effective_message
        if message is None:
            return
        await message.reply_html(
            html_of(buddy_render.friends(ctx.lang, found, "telegram")),
            reply_markup=list_keyboard(ctx.user.id, found, ctx.lang),
        )

    async def button(self, update: Update, context: Ctx) -> None:
        """Accept or decline an invitation, or end a friend streak from a list."""
        query = update.callback_query
        if query is None:
            return
        ctx = await self.base.context_of(update)
        press = parse_buddy(query.data)
        if ctx is None or press is None:
            lang: Lang = ctx.lang if ctx is not None else "en"
            problem = buddy_render.problem(lang, UserInputError("buddy_invite_gone"), "telegram")
            await query.answer(problem.text if problem else None, show_alert=True)
            return
        message = query.message if isinstance(query.message, Message) else None
        try:
            if press.action == "end":
                friend = await self.core.buddies.end_pressed(ctx, press.owner_id, press.friend_id)
            else:
                answer = await self.core.buddies.answer(
                    ctx, press.invite_id, press.action == "accept"
                )
        except UserInputError as err:
            # The same treatment as a question's stale or foreign press: a short alert to the
            # presser alone, nothing changed.
            await query.answer(self.base.problem(ctx, err).text, show_alert=True)
            return
        if press.action == "end":
            await query.answer(buddy_render.ended(ctx.lang, friend.name).text)
            found = await self.core.buddies.friends(ctx)
            text = html_of(buddy_render.friends(ctx.lang, found, "telegram"))
            markup = list_keyboard(ctx.user.id, found, ctx.lang)
        else:
            await query.answer()
            text, markup = html_of(buddy_render.answered(ctx.lang, answer)), None
        if message is None:
            await context.bot.send_message(ctx.chat.external_id, text, parse_mode="HTML")
            return
        try:
            await message.edit_text(text, parse_mode="HTML", reply_markup=markup)
        except BadRequest as e:
            if "message is not modified" not in e.message.lower():
                raise

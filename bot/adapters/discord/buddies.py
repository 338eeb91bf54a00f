"""Friend streaks on Discord: /buddy friend:@member invites, alone lists, action:end ends one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import discord

from bot.adapters import buddy_render
from bot.adapters.discord.base import Base, respond
from bot.adapters.discord.buttons import BuddyButton
from bot.adapters.discord.markdown import markdown_of
from bot.errors import UserInputError
from bot.services.buddies import FriendStreak
from bot.services.model import Lang
from bot.services.study import Context

MAX_BUTTONS_PER_ROW = 5


def invite_view(invite_id: int, lang: Lang) -> discord.ui.View:
    """Return the invitation's Accept and Decline buttons."""
    view = discord.ui.View(timeout=None)
    view.add_item(
        BuddyButton(
            f"bd:{invite_id}:a",
            label=buddy_render.accept_label(lang),
            style=discord.ButtonStyle.success,
        )
    )
    view.add_item(BuddyButton(f"bd:{invite_id}:d", label=buddy_render.decline_label(lang)))
    return view


def list_view(owner_id: int, found: Sequence[FriendStreak], lang: Lang) -> discord.ui.View:
    """Return one "End with …" button per friend of a /buddy list."""
    view = discord.ui.View(timeout=None)
    for i, f in enumerate(found):
        view.add_item(
            BuddyButton(
                f"bd:e:{owner_id}:{f.friend.id}",
                label=buddy_render.end_label(lang, f.friend.name),
                style=discord.ButtonStyle.danger,
                row=i // MAX_BUTTONS_PER_ROW,
            )
        )
    return view


class BuddyHandlers:
    """/buddy and the buttons of invitations and /buddy lists."""

    def __init__(self, base: Base) -> None:
        self.base = base
        self.core = base.core

    async def buddy(
        self,
        interaction: discord.Interaction[Any],
        ctx: Context,
        friend: discord.Member | discord.User | None,
        action: str | None,
    ) -> None:
        """Invite a member of this channel, end a friend streak, or list the user's friends."""
        buddies = self.core.buddies
        if friend is None:
            if action:
                raise UserInputError("usage_buddy")
            found = await buddies.friends(ctx)
            text = markdown_of(buddy_render.friends(ctx.lang, found, "discord"))
            view = list_view(ctx.user.id, found, ctx.lang) if found else None
            await respond(interaction, text, view=view, ephemeral=self.base.personal(ctx))
            return
        if action == "end":
            ended = await buddies.end_member(ctx, str(friend.id))
            await self.base.reply(
                interaction,
                buddy_render.ended(ctx.lang, ended.name),
                ephemeral=self.base.personal(ctx),
            )
            return
        # The option resolves to a member of this server: they can read the channel.
        invite = await buddies.invite(
            ctx,
            user_id=str(friend.id),
            user_name=friend.display_name or friend.name,
            language_code=None,
            is_bot=friend.bot,
        )
        text = markdown_of(buddy_render.invitation(ctx.lang, invite))
        ref = await respond(interaction, text, view=invite_view(invite.id, ctx.lang))
        await buddies.attach_message(invite.id, ref)

    async def button(self, interaction: discord.Interaction[Any], match: re.Match[str]) -> None:
        """Accept or decline an invitation, or end a friend streak from a list.

        A refused press (someone else's, a forged or closed invitation) raises UserInputError:
        the tree's error path tells the presser alone and nothing changes.
        """
        ctx = await self.base.enter(interaction)
        buddies = self.core.buddies
        if match["owner"] is not None:
            friend = await buddies.end_pressed(ctx, int(match["owner"]), int(match["friend"]))
            found = await buddies.friends(ctx)
            await interaction.edit_original_response(
                content=markdown_of(buddy_render.friends(ctx.lang, found, "discord")),
                view=list_view(ctx.user.id, found, ctx.lang) if found else None,
            )
            await self.base.reply(
                interaction, buddy_render.ended(ctx.lang, friend.name), ephemeral=True
            )
            return
        answer = await buddies.answer(ctx, int(match["invite"]), match["verb"] == "a")
        await interaction.edit_original_response(
            content=markdown_of(buddy_render.answered(ctx.lang, answer)), view=None
        )

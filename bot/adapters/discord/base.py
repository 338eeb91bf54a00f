"""What every Discord handler shares: the context, rights, deferrals and replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final

import discord

from bot.adapters import buddy_render, exercise_render, render, review_render
from bot.adapters.discord.markdown import cut, markdown_of
from bot.adapters.discord.usage import usage as discord_usage
from bot.adapters.run_render import run_problem
from bot.app import Core
from bot.document import Document
from bot.errors import UserInputError
from bot.services.model import Chat, Lang
from bot.services.runs import RunService
from bot.services.study import AnswerResult, Context, language_from_code

log = logging.getLogger(__name__)

PLATFORM: Final = "discord"
MAX_CONTENT = 2000
MAX_DESCRIPTION = 4096
COLOUR = discord.Colour(0xEE4C2C)  # PyTorch orange


def locale_lang(interaction: discord.Interaction[Any]) -> Lang:
    """Return the language of the interaction's user (zh-CN and zh-TW are Chinese)."""
    return language_from_code(str(interaction.locale))


def embed(message: Document | str, title: str | None = None) -> discord.Embed:
    """Return an embed showing a document (or plain words) as Markdown."""
    return discord.Embed(
        title=cut(title, 256) if title else None,
        description=cut(markdown_of(message), MAX_DESCRIPTION),
        colour=COLOUR,
    )


class Inflight:
    """The interactions being handled now, so that a stop lets them finish."""

    def __init__(self) -> None:
        self.accepting = True
        self.tasks: set[asyncio.Task[Any]] = set()

    async def drain(self, timeout_s: float) -> int:
        """Stop taking interactions and wait for the running ones; return how many were cut."""
        self.accepting = False
        running = {t for t in self.tasks if t is not asyncio.current_task()}
        if not running:
            return 0
        _done, pending = await asyncio.wait(running, timeout=timeout_s)
        return len(pending)


class Base:
    """What every Discord handler shares: the core, the runner and the reply helpers."""

    def __init__(self, core: Core, runs: RunService) -> None:
        self.core = core
        self.runs = runs

    async def enter(
        self,
        interaction: discord.Interaction[Any],
        *,
        ephemeral: bool = False,
        defer: bool = True,
        thinking: bool | None = None,
    ) -> Context:
        """Acknowledge the interaction first (unless `defer` is off), then resolve the context."""
        # The database may be busy (a daily fan-out): Discord drops an interaction that is not
        # acknowledged within 3 s, so the deferral goes before any database work.
        if defer:
            await acknowledge(interaction, ephemeral=ephemeral, thinking=thinking)
        ctx = await self.context_of(interaction)
        interaction.extras["lang"] = ctx.lang  # the error path answers in it
        return ctx

    async def context_of(self, interaction: discord.Interaction[Any]) -> Context:
        """Register the user and the channel (a DM is private, a server channel a group)."""
        user = interaction.user
        in_dm = not in_group(interaction)
        # A DM is keyed by the user's id, as a Telegram private chat is: the services find the
        # owner of a private chat by it. Posting there opens the DM channel (`channel_of`).
        channel_id = user.id if in_dm else (interaction.channel_id or user.id)
        title = ""
        if interaction.guild is not None and interaction.channel is not None:
            title = f"{interaction.guild.name} #{getattr(interaction.channel, 'name', '')}"
        ctx = await self.core.study.enter(
            platform=PLATFORM,
            user_id=str(user.id),
            user_name=user.display_name or user.name,
            language_code=str(interaction.locale),
            chat_id=str(channel_id),
            chat_type="private" if in_dm else "group",
            chat_title=title,
        )
        # The Discord client's language, until /lang chose one for the DM or the channel.
        return replace(ctx, lang=ctx.chat.language or locale_lang(interaction))

    async def is_admin(self, interaction: discord.Interaction[Any], ctx: Context) -> bool:
        """DMs, members with Manage Server or Administrator here, and the bot's operators."""

        async def chat_admin() -> bool:
            # The interaction carries the member's permissions in this channel: no request.
            permissions = interaction.permissions
            return bool(permissions.manage_guild or permissions.administrator)

        return await self.core.access.may_manage(ctx, chat_admin)

    async def require_admin(self, interaction: discord.Interaction[Any], ctx: Context) -> None:
        """Raise UserInputError("admins_only") unless the user may change the channel's settings."""
        if not await self.is_admin(interaction, ctx):
            raise UserInputError("admins_only")

    async def reply(
        self,
        interaction: discord.Interaction[Any],
        message: Document | str,
        *,
        ephemeral: bool = False,
        embeds: Sequence[discord.Embed] = (),
    ) -> None:
        """Answer the interaction (or follow up / edit a deferral) with a document as Markdown."""
        text = markdown_of(message)
        content = cut(text, MAX_CONTENT) if text else None
        await respond(interaction, content, embeds=embeds, ephemeral=ephemeral)

    async def send_leech(
        self, interaction: discord.Interaction[Any], ctx: Context, result: AnswerResult
    ) -> None:
        """Show a card that just became a leech with its reference answer and snippet."""
        if result.card is None or not result.card.became_leech or result.question is None:
            return
        text = review_render.leech(result.lang)
        answer = render.reference_answer(result.question, result.lang)
        await interaction.followup.send(embed=embed(text + answer), ephemeral=self.personal(ctx))

    def personal(self, ctx: Context) -> bool:
        """Tell whether a personal answer should be ephemeral (in server channels)."""
        return ctx.chat.is_group

    async def problem(
        self, interaction: discord.Interaction[Any], lang: Lang, err: UserInputError
    ) -> None:
        """Tell the user what was wrong with their input (only they see it)."""
        text = self.problem_text(lang, err)
        try:
            await self.reply(interaction, text, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not answer interaction %s", interaction.id, exc_info=True)

    def problem_text(self, lang: Lang, err: UserInputError) -> Document:
        """Render a usage line in Discord's option syntax (or why /run may not go ahead)."""
        if isinstance(err, RunRefused):
            return err.text
        return (
            discord_usage(lang, err.key, **err.params)
            or buddy_render.problem(lang, err, PLATFORM)
            or exercise_render.problem(lang, err)
            or run_problem(lang, err)  # why /run cannot go ahead, else the usage line
        )


class RunRefused(UserInputError):
    """/run may not go ahead here; the text says why."""

    def __init__(self, text: Document) -> None:
        super().__init__("run_refused")
        self.text = text


async def acknowledge(
    interaction: discord.Interaction[Any], *, ephemeral: bool = False, thinking: bool | None = None
) -> None:
    """Defer an unanswered interaction: silently for a button, "thinking" for the others."""
    if interaction.response.is_done():
        return
    if thinking is None:
        thinking = interaction.type is not discord.InteractionType.component
    if not thinking:
        await interaction.response.defer()
    else:
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        interaction.extras["ephemeral"] = ephemeral


async def respond(
    interaction: discord.Interaction[Any],
    content: str | None = None,
    *,
    embeds: Sequence[discord.Embed] = (),
    view: discord.ui.View | None = None,
    ephemeral: bool = False,
) -> str:
    """Answer, edit the deferral or follow up, whichever fits now; return the message id."""
    extra: dict[str, Any] = {"view": view} if view is not None else {}
    response = interaction.response
    if not response.is_done():
        sent = await response.send_message(
            content, embeds=list(embeds), ephemeral=ephemeral, **extra
        )
        return str(sent.message_id or interaction.id)
    if response.type is discord.InteractionResponseType.deferred_channel_message:
        if not ephemeral or interaction.extras.get("ephemeral", False):
            message = await interaction.edit_original_response(
                content=content, embeds=list(embeds), **extra
            )
            return str(message.id)
        # A public "thinking…" cannot turn private, and a first followup would only edit it.
        await interaction.delete_original_response()
    followup = await interaction.followup.send(
        content or discord.utils.MISSING,
        embeds=list(embeds),
        ephemeral=ephemeral,
        wait=True,
        **extra,
    )
    return str(followup.id)


def in_group(interaction: discord.Interaction[Any]) -> bool:
    """Tell whether an interaction comes from a server or group channel (not a DM)."""
    return not (interaction.guild_id is None and _is_dm(interaction))


async def channel_of(client: discord.Client, chat: Chat) -> discord.abc.Messageable:
    """Return where to post in a chat: the server channel, or the DM with the user."""
    if chat.type == "private":
        return await client.create_dm(discord.Object(int(chat.external_id)))
    return client.get_partial_messageable(int(chat.external_id))


def _is_dm(interaction: discord.Interaction[Any]) -> bool:
    channel = interaction.channel
    return channel is None or isinstance(channel, discord.DMChannel)

"""Telegram handlers: parse the update, call one service, render the result."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar

from telegram import CallbackQuery, Message, Update
from telegram import User as TgUser
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.adapters import buddy_render, exercise_render, render, review_render
from bot.adapters.run_render import run_problem
from bot.adapters.telegram.delivery import PLATFORM, TelegramDailySender
from bot.adapters.telegram.keyboards import answer_keyboard, parse, reveal_keyboard
from bot.adapters.telegram.markup import html_of, to_html
from bot.app import Core
from bot.document import Document
from bot.errors import DatabaseDamaged, UserInputError
from bot.i18n import _
from bot.services.daily import Sender
from bot.services.model import Prompt, Question
from bot.services.study import Context, language_from_code
from bot.text import excerpt

log = logging.getLogger(__name__)

Ctx = ContextTypes.DEFAULT_TYPE

ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


class _HasBase(Protocol):
    base: Handlers


S = TypeVar("S", bound="_HasBase")


def command(
    handler: Callable[[S, Update, Ctx, Context], Awaitable[None]],
) -> Callable[[S, Update, Ctx], Coroutine[Any, Any, None]]:
    """Resolve the update's context first and answer UserInputError with its usage line.

    The one error path of command handlers: they raise UserInputError (with its parameters;
    `require_admin` raises one too) and hold no try/except.
    """

    @functools.wraps(handler)
    async def wrapper(self: S, update: Update, context: Ctx) -> None:
        ctx = await self.base.context_of(update)
        if ctx is None:
            return
        try:
            await handler(self, update, context, ctx)
        except UserInputError as err:
            await self.base.reply(update, self.base.problem(ctx, err))

    return wrapper


def _name(user: TgUser) -> str:
    return user.full_name or user.username or str(user.id)


class Handlers:
    """Every handler of the bot, sharing the core and the question sender."""

    def __init__(self, core: Core, sender: TelegramDailySender) -> None:
        self.core = core
        self.sender = sender
        self.base = self  # so that @command serves these handlers and the feature classes'

    # -- helpers ------------------------------------------------------------------------
    async def context_of(self, update: Update) -> Context | None:
        """Register the sender and chat of an update and return their context."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return None
        return await self.core.study.enter(
            platform=PLATFORM,
            user_id=str(user.id),
            user_name=_name(user),
            language_code=user.language_code,
            chat_id=str(chat.id),
            chat_type=chat.type,
            chat_title=chat.title or "",
        )

    async def reply(self, update: Update, message: Document | str) -> Message | None:
        """Reply in the chat of the update with a document (or plain words), as HTML."""
        to = update.effective_message
        if to is None:
            return None
        return await to.reply_html(html_of(message), disable_web_page_preview=True)

    async def is_admin(self, update: Update, context: Ctx, ctx: Context) -> bool:
        """Return True in private chats, for group admins, and for the bot's operators."""

        async def chat_admin() -> bool:
            chat, user = update.effective_chat, update.effective_user
            if chat is None or user is None:
                return False
            message = update.effective_message
            if message is not None and message.sender_chat is not None:
                # An anonymous admin writes as the group itself; a linked channel does not.
                return message.sender_chat.id == chat.id
            try:
                member = await context.bot.get_chat_member(chat.id, user.id)
            except TelegramError:
                log.warning("getChatMember failed for chat %s", chat.id, exc_info=True)
                return False
            return member.status in ADMIN_STATUSES

        return await self.core.access.may_manage(ctx, chat_admin)

    def problem(self, ctx: Context, err: UserInputError) -> Document:
        """Render what was wrong with the user's input (or why /run cannot go ahead)."""
        return (
            buddy_render.problem(ctx.lang, err, "telegram")
            or exercise_render.problem(ctx.lang, err)
            or run_problem(ctx.lang, err)
        )

    async def require_admin(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Raise UserInputError("admins_only") unless the sender may change the chat's settings."""
        if not await self.is_admin(update, context, ctx):
            raise UserInputError("admins_only")

    def sender_in_reply(self, update: Update) -> Sender:
        """Return the daily sender, replying to the update's message (one sender for all)."""
        message = update.effective_message
        reply_to = message.message_id if message is not None else None
        return lambda chat, shown: self.sender.send(chat, shown, reply_to)

    @staticmethod
    def args(context: Ctx) -> list[str]:
        """Return the command's arguments."""
        return list(context.args or [])

    # -- commands -----------------------------------------------------------------------
    @command
    async def start(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Greet the user in their language."""
        await self.reply(update, render.welcome(ctx.lang, ctx.user.name))

    @command
    async def help(self, update: Update, context: Ctx, ctx: Context) -> None:
        """List the commands."""
        await self.reply(update, render.help_text(ctx.lang))

    @command
    async def daily(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Show today's question now; say so when it cannot be shown."""
        outcome = await self.core.daily_schedule.today(ctx, self.sender_in_reply(update))
        text = render.daily_problem(ctx.lang, outcome.status)
        if text is None:
            return
        try:
            await self.reply(update, text)
        except TelegramError:
            log.warning("could not tell chat %s about its daily question", ctx.chat.id)

    @command
    async def question(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Show a question, optionally from one topic."""
        args = self.args(context)
        if len(args) > 1:
            raise UserInputError("unknown_topic", topic=" ".join(args))
        shown = await self.core.study.show(ctx, "question", args[0] if args else None)
        ref = await self.sender_in_reply(update)(ctx.chat, shown)
        await self.core.study.attach_message(shown.prompt.id, ref)

    @command
    async def topics(self, update: Update, context: Ctx, ctx: Context) -> None:
        """List topics with counts."""
        await self.reply(update, render.topics(self.core.bank, ctx.lang))

    @command
    async def streak(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Show the sender's streak."""
        view = await self.core.study.streak(ctx)
        await self.reply(
            update, render.streak(ctx.lang, view, await self.core.buddies.friends(ctx))
        )

    @command
    async def stats(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Show the sender's totals."""
        stats = await self.core.study.stats(ctx)
        await self.reply(update, render.stats(self.core.bank, ctx.lang, stats))

    @command
    async def subscribe(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Subscribe the chat to the daily question, optionally at HH:MM and on one topic."""
        args = self.args(context)
        if len(args) > 2:
            raise UserInputError("usage_subscribe")
        await self.require_admin(update, context, ctx)
        chat = await self.core.study.subscribe_args(ctx, args)
        zone = self.core.daily.zone(chat)
        await self.reply(
            update, render.subscribed(self.core.bank, ctx.lang, chat, zone, self.core.clock.now())
        )

    @command
    async def unsubscribe(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Stop the chat's daily question."""
        await self.require_admin(update, context, ctx)
        await self.core.study.unsubscribe(ctx)
        await self.reply(
            update, _(ctx.lang, "Unsubscribed. /subscribe brings the daily question back.")
        )

    @command
    async def timezone(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Show or set the time zone (the user's in private chats, the group's in groups)."""
        args = self.args(context)
        if len(args) != 1:
            zone = ctx.chat_zone if ctx.chat.is_group else ctx.user_zone
            await self.reply(
                update,
                _(ctx.lang, "Time zone: {zone}", zone=zone)
                + "\n"
                + render.usage_line(ctx.lang, "usage_timezone"),
            )
            return
        await self.require_admin(update, context, ctx)
        ctx = await self.core.study.set_timezone(ctx, args[0])
        zone = ctx.chat_zone if ctx.chat.is_group else ctx.user_zone
        await self.reply(update, _(ctx.lang, "Time zone set to {zone}.", zone=zone))

    @command
    async def lang(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Show or set the language (the user's in private chats, the group's in groups)."""
        args = self.args(context)
        if not args:
            await self.reply(update, render.language_now(ctx.lang))
            return
        if len(args) != 1:
            raise UserInputError("usage_lang")
        await self.require_admin(update, context, ctx)
        ctx = await self.core.study.set_language(ctx, args[0])
        await self.reply(update, _(ctx.lang, "I will speak English from now on."))

    async def unknown(self, update: Update, context: Ctx) -> None:
        """Hint at /help for commands we do not know (ignoring those meant for other bots)."""
        message = update.effective_message
        if message is None or not message.text:
            return
        command = message.text.split()[0]
        target = command.partition("@")[2]
        if target and target.lower() != (context.bot.username or "").lower():
            return
        ctx = await self.context_of(update)
        if ctx is not None:
            await self.reply(
                update,
                _(
                    ctx.lang,
                    "Unknown command {command}. See /help.",
                    command=excerpt(command.partition("@")[0]),
                ),
            )

    # -- buttons ------------------------------------------------------------------------
    async def button(self, update: Update, context: Ctx) -> None:
        """Grade an option or reveal the answer; answer every callback query."""
        query = update.callback_query
        if query is None:
            return
        ctx = await self.context_of(update)
        parsed = parse(query.data)
        if ctx is None or parsed is None:
            await query.answer(_("en", "This question is no longer available."))
            return
        try:
            prompt, question = await self.core.study.pressed(ctx, parsed.prompt_id)
        except UserInputError:
            await query.answer(_(ctx.lang, "This question is no longer available."))
            return
        if parsed.action == "reveal":
            await self._reveal(query, context, ctx, prompt, question)
            return
        result = await self.core.study.answer(ctx, parsed.prompt_id, parsed.option)
        if result.status == "stale" or result.question is None:
            await query.answer(_(ctx.lang, "This question is no longer available."))
            return
        if ctx.chat.is_group or result.status == "already":
            # The question stays for the others; the verdict goes to this user alone.
            await query.answer(
                render.verdict_alert(result),
                show_alert=True,
            )
            return
        await query.answer(render.verdict_short(result))
        message = query.message if isinstance(query.message, Message) else None
        body = render.question(self.core.bank, question, prompt.language, prompt.kind)
        text = to_html(body + render.verdict(result))
        try:
            if message is not None:
                await message.edit_text(
                    text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=reveal_keyboard(prompt.id, prompt.language),
                )
            else:
                await context.bot.send_message(
                    ctx.chat.external_id, to_html(render.verdict(result)), parse_mode=ParseMode.HTML
                )
        except BadRequest as e:
            if "message is not modified" not in e.message.lower():
                raise
        if result.card is not None and result.card.became_leech:
            await context.bot.send_message(
                ctx.chat.external_id,
                to_html(
                    review_render.leech(result.lang)
                    + render.reference_answer(question, result.lang)
                ),
                parse_mode=ParseMode.HTML,
            )

    async def _reveal(
        self, query: CallbackQuery, context: Ctx, ctx: Context, prompt: Prompt, question: Question
    ) -> None:
        """Post the reference answer, as the services' reveal rule says."""
        verdict = await self.core.study.reveal(ctx, prompt.id, privately=False)
        if verdict == "answer_first":
            text = _(ctx.lang, "Answer first; then you can see the reference answer.")
            await query.answer(text, show_alert=True)
            return
        if verdict == "already_posted":
            await query.answer(_(ctx.lang, "The reference answer is already posted above."))
            return
        await query.answer()
        message = query.message if isinstance(query.message, Message) else None
        text = to_html(render.reference_answer(question, prompt.language))
        # Read without answering: the user rates their own recall for their card.
        rate = not ctx.chat.is_group and await self.core.review.may_rate_self(ctx, prompt.id)
        markup = answer_keyboard(prompt.id, ctx.lang, question.snippet is not None, rate)
        if message is not None:
            await message.reply_html(text, reply_markup=markup)
        else:
            await context.bot.send_message(
                ctx.chat.external_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )

    # -- errors -------------------------------------------------------------------------
    async def error(self, update: object, context: Ctx) -> None:
        """Log an unexpected exception once with the update's context; apologise briefly."""
        where = ""
        if isinstance(update, Update):
            chat = update.effective_chat
            user = update.effective_user
            kind = next(
                (
                    name
                    for name in ("message", "edited_message", "callback_query", "poll_answer")
                    if getattr(update, name, None) is not None
                ),
                "other",
            )
            where = (
                f"update {update.update_id} ({kind}) chat={chat.id if chat else None} "
                f"user={user.id if user else None}"
            )
        damaged = isinstance(context.error, DatabaseDamaged)
        if not damaged:  # damage is logged once, where it was met
            log.error("unhandled error handling %s", where or "a job", exc_info=context.error)
        if not isinstance(update, Update):
            return
        user = update.effective_user
        lang = language_from_code(user.language_code if user else None)
        apology = (
            _(
                lang,
                render.DATABASE_DAMAGED,
            )
            if damaged
            else _(lang, "Sorry, something went wrong on my side. Please try again.")
        )
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(apology)
            elif update.effective_message is not None:
                await update.effective_message.reply_text(apology)
        except TelegramError:
            log.warning("could not send the apology", exc_info=True)

"""Personal review on Telegram: /review, its answer buttons, and self-rating after reading."""

from __future__ import annotations

import logging

from telegram import Bot, CallbackQuery, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from bot.adapters import render, review_render
from bot.adapters.telegram.delivery import PLATFORM
from bot.adapters.telegram.handlers import Handlers, command
from bot.adapters.telegram.keyboards import (
    answer_keyboard,
    parse_review,
    question_keyboard,
    review_keyboard,
)
from bot.adapters.telegram.markup import mention as mention_of
from bot.adapters.telegram.markup import to_html
from bot.document import Document, doc
from bot.errors import UserInputError
from bot.i18n import _
from bot.services.study import AnswerResult, Context

log = logging.getLogger(__name__)

Ctx = ContextTypes.DEFAULT_TYPE


class ReviewHandlers:
    """/review and the buttons of review cards and self-rating."""

    def __init__(self, base: Handlers, bot: Bot) -> None:
        self.base = base
        self.core = base.core
        self.bot = bot

    @command
    async def review(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Serve the user's due cards, or show or set their desired retention."""
        args = self.base.args(context)
        if args and args[0].lower() == "retention":
            if len(args) == 1:
                retention = self.core.review.retention(ctx)
                await self.base.reply(update, review_render.retention_now(ctx.lang, retention))
                return
            if len(args) != 2:
                raise UserInputError("usage_retention")
            changed = await self.core.review.set_retention(ctx, args[1])
            await self.base.reply(update, review_render.retention_set(ctx.lang, changed))
            return
        if args:
            raise UserInputError("usage_review")
        user = update.effective_user
        if user is None:
            return
        if not ctx.chat.is_group:
            await self.serve(ctx, user.id)
            return
        # In a group the cards go to the user privately; a user who never started the bot
        # (so it may not write to them) reviews in the group, mentioned by name.
        mine = await self.core.study.enter(
            platform=PLATFORM,
            user_id=str(user.id),
            user_name=ctx.user.name,
            language_code=user.language_code,
            chat_id=str(user.id),
            chat_type="private",
        )
        try:
            await self.serve(mine, user.id)
        except (Forbidden, BadRequest) as e:
            log.info("review for user %s goes to the group: %s", user.id, e)
            await self.serve(ctx, user.id, mention=True)
            return
        await self.base.reply(update, _(ctx.lang, "I sent your review to you privately."))

    async def serve(
        self, ctx: Context, owner: int, *, mention: bool = False, capped: bool = False
    ) -> None:
        """Send the user's most overdue card to the context's chat, or say where they stand.

        `capped`: the batch started under the daily question, which stops after
        STUDYBOT_DAILY_REVIEWS reviews that day (/review itself goes on until none is due).
        """
        bot = self.bot
        who = doc(mention_of(ctx.user.name, ctx.user.external_id)) if mention else Document()
        chat_id = int(ctx.chat.external_id)
        cap = self.core.settings.daily_reviews
        if capped and await self.core.review.reviewed_today(ctx) >= cap:
            text = review_render.daily_batch_done(ctx.lang, cap)
            await bot.send_message(chat_id, to_html(who + text), parse_mode=ParseMode.HTML)
            return
        shown = await self.core.review.next(ctx)
        if shown is None:
            summary = await self.core.review.summary(ctx)
            text = review_render.summary(ctx.lang, summary, ctx.user_zone, self.core.clock.now())
            await bot.send_message(chat_id, to_html(who + text), parse_mode=ParseMode.HTML)
            return
        options = len(shown.question.text(shown.lang).quiz.options)
        sent = await bot.send_message(
            chat_id,
            to_html(who + render.question(self.core.bank, shown.question, shown.lang, "review")),
            parse_mode=ParseMode.HTML,
            reply_markup=review_keyboard(shown.prompt.id, options, owner, shown.lang, capped),
        )
        await self.core.study.attach_message(shown.prompt.id, str(sent.message_id))

    async def send_new(self, ctx: Context) -> None:
        """Send a new question to the context's chat."""
        shown = await self.core.study.show(ctx, "question")
        options = len(shown.question.text(shown.lang).quiz.options)
        sent = await self.bot.send_message(
            int(ctx.chat.external_id),
            to_html(render.question(self.core.bank, shown.question, shown.lang, "question")),
            parse_mode=ParseMode.HTML,
            reply_markup=question_keyboard(
                shown.prompt.id,
                options,
                shown.lang,
                hint=shown.question.text(shown.lang).hint is not None,
            ),
        )
        await self.core.study.attach_message(shown.prompt.id, str(sent.message_id))

    async def button(self, update: Update, context: Ctx) -> None:
        """Answer a review card, rate oneself, or start reviewing; answer every query."""
        query = update.callback_query
        if query is None:
            return
        ctx = await self.base.context_of(update)
        parsed = parse_review(query.data)
        if ctx is None or parsed is None or query.from_user is None:
            await query.answer()
            return
        if parsed.action == "start":
            await query.answer()
            if await self.core.review.due_now(ctx):
                await self.serve(ctx, query.from_user.id, mention=ctx.chat.is_group, capped=True)
            else:  # nothing due: a new question keeps the streak
                await self.send_new(ctx)
        elif parsed.action == "rate":
            await self._rate(query, ctx, parsed.prompt_id, parsed.grade)
        elif parsed.owner != query.from_user.id:
            await query.answer(
                _(ctx.lang, "This card belongs to someone else: /review shows yours.")
            )
        else:
            await self._answer(query, ctx, parsed.prompt_id, parsed.option, parsed.capped)

    async def _answer(
        self, query: CallbackQuery, ctx: Context, prompt_id: int, option: int, capped: bool
    ) -> None:
        result = await self.core.study.answer(ctx, prompt_id, option)
        if result.status == "stale" or result.question is None:
            await query.answer(_(ctx.lang, "This question is no longer available."))
            return
        if result.status == "already":
            await query.answer(render.verdict_short(result))
            return
        await query.answer(render.verdict_short(result))
        message = query.message if isinstance(query.message, Message) else None
        if message is not None:
            body = render.question(self.core.bank, result.question, result.lang, "review")
            try:
                await message.edit_text(
                    to_html(body + render.verdict(result)), parse_mode=ParseMode.HTML
                )
            except BadRequest as e:
                if "message is not modified" not in e.message.lower():
                    raise
        await self.send_leech(ctx, result)
        await self.serve(ctx, query.from_user.id, mention=ctx.chat.is_group, capped=capped)

    async def send_leech(self, ctx: Context, result: AnswerResult) -> None:
        """Show a card that just became a leech with its reference answer and snippet."""
        if result.card is None or not result.card.became_leech or result.question is None:
            return
        text = review_render.leech(result.lang)
        answer = render.reference_answer(result.question, result.lang)
        await self.bot.send_message(
            int(ctx.chat.external_id), to_html(text + answer), parse_mode=ParseMode.HTML
        )

    async def _rate(self, query: CallbackQuery, ctx: Context, prompt_id: int, grade: str) -> None:
        rating = await self.core.review.rate_self(ctx, prompt_id, grade)
        if rating.status == "stale":
            await query.answer(_(ctx.lang, "This question is no longer available."))
            return
        if rating.status == "answered":
            await query.answer(_(ctx.lang, "You answered this one: your answer counts."))
            return
        if rating.status == "already":
            await query.answer(_(ctx.lang, "You already rated this one."))
            return
        if rating.card is None:
            return
        now = self.core.clock.now()
        await query.answer(review_render.rated(ctx.lang, rating.card.card.due, ctx.user_zone, now))
        message = query.message if isinstance(query.message, Message) else None
        found = await self.core.study.prompt(prompt_id)
        if message is not None:
            # The rating buttons go; running the snippet and reporting a problem stay.
            runnable = found is not None and found[1].snippet is not None
            try:
                await message.edit_reply_markup(
                    reply_markup=answer_keyboard(prompt_id, ctx.lang, runnable, rating=False)
                )
            except BadRequest as e:
                if "message is not modified" not in e.message.lower():
                    raise
        if found is not None and found[0].kind == "review":
            await self.serve(ctx, query.from_user.id, mention=ctx.chat.is_group)

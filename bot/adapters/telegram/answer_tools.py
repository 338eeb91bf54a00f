"""The buttons around a question: 💡 Hint before answering, ▶ Run it and ⚠ Report after."""

from __future__ import annotations

import logging

from telegram import ForceReply, Update
from telegram.constants import ParseMode

from bot.adapters import render
from bot.adapters.telegram.handlers import Ctx, Handlers
from bot.adapters.telegram.keyboards import parse
from bot.adapters.telegram.markup import mention, to_html
from bot.adapters.telegram.run_handlers import RunHandlers
from bot.document import doc, para
from bot.errors import UserInputError
from bot.i18n import _

log = logging.getLogger(__name__)


class AnswerTools:
    """Answer the hint, run and report buttons, and take the replies that carry a report."""

    def __init__(self, base: Handlers, runs: RunHandlers) -> None:
        self.base = base
        self.runs = runs

    async def button(self, update: Update, context: Ctx) -> None:
        """Show the hint, run the snippet, or ask what is wrong; answer every press."""
        query = update.callback_query
        if query is None:
            return
        ctx = await self.base.context_of(update)
        parsed = parse(query.data)
        if ctx is None or parsed is None:
            await query.answer(_("en", "This question is no longer available."))
            return
        try:
            prompt, question = await self.base.core.study.pressed(ctx, parsed.prompt_id)
        except UserInputError:
            await query.answer(_(ctx.lang, "This question is no longer available."))
            return
        if parsed.action == "hint":
            hint = question.text(prompt.language).hint
            text = f"💡 {hint}" if hint else _(ctx.lang, "This question has no hint.")
            # A pop-up for the presser alone: in a group the hint spoils nothing for the others.
            await query.answer(text if len(text) <= 200 else text[:199] + "…", show_alert=True)
        elif parsed.action == "run":
            await self.runs.run_snippet(query, ctx, question)
        else:
            await query.answer()
            text = _(
                ctx.lang,
                "What is wrong with “{question}”? Reply to this message in a few words.",
                question=question.id,
            )
            asking = doc(text)
            if ctx.chat.is_group:
                # A selective ForceReply opens the reply box only for those the text mentions.
                asking = doc(para(mention(ctx.user.name, ctx.user.external_id), " ", text))
            # Kept in the database: a reply after a restart still files the report.
            async with self.base.core.reports.asking(ctx):
                asked = await context.bot.send_message(
                    ctx.chat.external_id,
                    to_html(asking),
                    parse_mode=ParseMode.HTML,
                    reply_markup=ForceReply(
                        selective=True, input_field_placeholder=_(ctx.lang, "What is wrong?")
                    ),
                )
                await self.base.core.reports.ask(ctx, prompt.id, str(asked.message_id))

    async def report_reply(self, update: Update, context: Ctx) -> None:
        """Store the reply to a "what is wrong?" message as a report; ignore other replies."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or message.reply_to_message is None:
            return
        ctx = await self.base.context_of(update)
        if ctx is None:
            return
        try:
            filed = await self.base.core.reports.answer(
                ctx, str(message.reply_to_message.message_id), message.text or ""
            )
        except UserInputError as err:
            await self.base.reply(update, self.base.problem(ctx, err))
            return
        if filed is not None:
            await self.base.reply(update, render.report_filed(ctx.lang, filed))

"""/stats on Telegram: a picture of the user's study with a short caption."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.adapters import readiness_render, stats_render
from bot.adapters.stats_picture import PictureRenderer
from bot.adapters.telegram.handlers import Handlers, command
from bot.adapters.telegram.markup import to_html
from bot.services.study import Context

Ctx = ContextTypes.DEFAULT_TYPE


class StatsHandlers:
    """/stats as a PNG drawn in the picture worker, or a friendly line with no history."""

    def __init__(self, base: Handlers, pictures: PictureRenderer) -> None:
        self.base = base
        self.core = base.core
        self.pictures = pictures

    @command
    async def ready(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Show interview readiness by topic and the two topics to study next."""
        ready = await self.core.readiness.readiness(ctx)
        await self.base.reply(update, readiness_render.readiness(self.core.bank, ctx.lang, ready))

    @command
    async def stats(self, update: Update, context: Ctx, ctx: Context) -> None:
        """Send the user's statistics picture."""
        overview = await self.core.stats.overview(ctx)
        message = update.effective_message
        if overview.empty or message is None:
            await self.base.reply(update, stats_render.empty(ctx.lang))
            return
        spec = stats_render.picture_spec(self.core.bank, ctx.lang, overview)
        picture = await self.pictures.render(spec)
        await message.reply_photo(
            photo=picture.png,
            caption=to_html(
                stats_render.caption(
                    self.core.bank, ctx.lang, overview, in_english=picture.in_english
                )
            ),
            parse_mode=ParseMode.HTML,
        )

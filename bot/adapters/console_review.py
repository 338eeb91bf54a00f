"""Review and statistics in the console: due cards, self-rating and the stats picture."""

from __future__ import annotations

from bot.adapters import readiness_render, render, review_render, stats_render
from bot.adapters.console_base import ConsoleBase
from bot.adapters.stats_picture import PictureRenderer
from bot.errors import UserInputError
from bot.i18n import _
from bot.services.cards import GRADES
from bot.services.study import Context


class ConsoleReview(ConsoleBase):
    """/review, /rate and /stats."""

    async def ready(self, ctx: Context) -> None:
        """Print interview readiness by topic and what to study next."""
        ready = await self.core.readiness.readiness(ctx)
        self.say(readiness_render.readiness(self.core.bank, ctx.lang, ready))

    async def stats(self, ctx: Context) -> None:
        """Write the statistics picture to a file, print its path and the caption."""
        overview = await self.core.stats.overview(ctx)
        if overview.empty:
            self.say(stats_render.empty(ctx.lang))
            return
        if self.pictures is None:
            self.pictures = PictureRenderer()
        spec = stats_render.picture_spec(self.core.bank, ctx.lang, overview)
        picture = await self.pictures.render(spec)
        path = self.save_file("stats.png", picture.png)
        self.say(_(ctx.lang, "Your statistics picture: {path}", path=path))
        # The caption has the totals; the topics are what the picture shows in bars.
        self.say(
            stats_render.caption(self.core.bank, ctx.lang, overview, in_english=picture.in_english)
        )
        topics = render.by_topic(self.core.bank, ctx.lang, overview.totals)
        if topics:
            self.say("\n".join(topics))

    async def review(self, ctx: Context, arg: str) -> None:
        """Serve the next due card, or show or set the desired retention."""
        words = arg.split()
        if not words:
            await self.next_card(ctx)
        elif words[0].lower() != "retention" or len(words) > 2:
            raise UserInputError("usage_review")
        elif len(words) == 1:
            self.say(review_render.retention_now(ctx.lang, self.core.review.retention(ctx)))
        else:
            changed = await self.core.review.set_retention(ctx, words[1])
            self.say(review_render.retention_set(ctx.lang, changed))

    async def next_card(self, ctx: Context) -> None:
        """Show the most overdue card, or where the reviews stand when none is due."""
        shown = await self.core.review.next(ctx)
        if shown is not None:
            await self.show(shown)
            return
        summary = await self.core.review.summary(ctx)
        self.say(review_render.summary(ctx.lang, summary, ctx.user_zone, self.core.clock.now()))

    async def rate(self, ctx: Context, arg: str) -> None:
        """Rate one's recall of the current question after reading its answer."""
        grade = arg.strip().lower()
        if self.current is None or grade not in GRADES:
            raise UserInputError("usage_rate")
        rating = await self.core.review.rate_self(ctx, self.current.prompt.id, grade)
        if rating.status == "answered":
            self.say(_(ctx.lang, "You answered this one: your answer counts."))
        elif rating.status == "already":
            self.say(_(ctx.lang, "You already rated this one."))
        elif rating.card is not None:
            now = self.core.clock.now()
            self.say(review_render.rated(ctx.lang, rating.card.card.due, ctx.user_zone, now))
            if self.current.prompt.kind == "review":
                await self.next_card(ctx)
        else:
            self.say(_(ctx.lang, "This question is no longer available."))

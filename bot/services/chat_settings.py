"""A chat's settings: language, time zone, daily subscription, topic and /run switch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.clock import Clock
from bot.config import check_timezone, parse_hhmm
from bot.errors import UserInputError
from bot.services.context import Context
from bot.services.zones import canonical_zone, suggest_zones
from bot.storage.records import Chat, User
from bot.storage.repos import Repos


class ChatSettings:
    """The settings half of `StudyService` (bot.services.study)."""

    repos: Repos
    clock: Clock
    schedule_hooks: list[Callable[[Chat], Awaitable[object]]]

    def context(self, user: User, chat: Chat) -> Context:
        """Build the context of a known user and chat."""
        raise NotImplementedError

    def topic_or_error(self, topic: str | None) -> str | None:
        """Return a known topic, or raise UserInputError."""
        raise NotImplementedError

    async def set_language(self, ctx: Context, value: str) -> Context:
        """Set the language of the user (private chat) or of the group."""
        lang = value.strip().lower()
        if lang not in ("zh", "en"):
            raise UserInputError("usage_lang")
        if ctx.chat.is_group:
            chat = await self.repos.chats.update(ctx.chat.id, language=lang)
            return self.context(ctx.user, chat)
        await self.repos.users.set_language(ctx.user.id, lang)  # type: ignore[arg-type]
        chat = await self.repos.chats.update(ctx.chat.id, language=lang)
        user = await self.repos.users.get(ctx.user.id) or ctx.user
        return self.context(user, chat)

    async def set_timezone(self, ctx: Context, value: str) -> Context:
        """Set the zone of the user and their private chat, or of the group."""
        zone = canonical_zone(value)  # "asia/shanghai" means Asia/Shanghai
        if zone is None:
            try:
                zone = check_timezone(value.strip())
            except ValueError:
                suggestions = suggest_zones(value, now=self.clock.now())
                raise UserInputError(
                    "unknown_timezone", zone=value.strip(), suggestions=suggestions
                ) from None
        chat = await self.repos.chats.update(ctx.chat.id, timezone=zone)
        user = ctx.user
        if not ctx.chat.is_group:
            await self.repos.users.set_timezone(ctx.user.id, zone)
            user = await self.repos.users.get(ctx.user.id) or user
        await self._schedule_changed(chat)
        return self.context(user, chat)

    async def subscribe(self, ctx: Context, at: str | None) -> Chat:
        """Subscribe the chat to the daily question at local HH:MM (default: its current time)."""
        fields: dict[str, object] = {"subscribed": True}
        if at is not None:
            try:
                fields["daily_time"] = parse_hhmm(at).strftime("%H:%M")
            except ValueError:
                raise UserInputError("usage_subscribe") from None
        if ctx.chat.language is None:
            fields["language"] = ctx.lang
        chat = await self.repos.chats.update(ctx.chat.id, **fields)
        await self._schedule_changed(chat)
        return chat

    async def subscribe_args(self, ctx: Context, args: list[str]) -> Chat:
        """Subscribe from command words: an optional HH:MM and an optional topic (or "all")."""
        at: str | None = None
        topic: str | None = None
        for word in args:
            if ":" in word:
                at = word
            elif word.lower() == "all":
                topic = "all"
            else:
                topic = self.topic_or_error(word)
        # The topic first: a question owed at once (the time already passed today) keeps to it.
        if topic is not None:
            await self.set_topic_filter(ctx, None if topic == "all" else topic)
        return await self.subscribe(ctx, at)

    async def unsubscribe(self, ctx: Context) -> Chat:
        """Stop the chat's daily question."""
        chat = await self.repos.chats.update(ctx.chat.id, subscribed=False)
        await self._schedule_changed(chat)
        return chat

    async def _schedule_changed(self, chat: Chat) -> None:
        # The daily schedule follows every change of a chat's time, zone or subscription,
        # whichever platform made it (DailySchedule registers itself here).
        for hook in self.schedule_hooks:
            await hook(chat)

    async def set_topic_filter(self, ctx: Context, topic: str | None) -> Chat:
        """Limit the chat's daily questions to one topic, or lift the limit with None."""
        return await self.repos.chats.update(ctx.chat.id, topic_filter=self.topic_or_error(topic))

    async def set_run_enabled(self, ctx: Context, on: bool) -> Chat:
        """Turn /run on or off in the chat."""
        return await self.repos.chats.update(ctx.chat.id, run_enabled=on)

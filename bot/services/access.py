"""Who may do what: the bot's operators, and who may change a chat's settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.errors import UserInputError
from bot.services.study import Context


class AccessService:
    """Decide operator and admin rights the same way on every platform."""

    def __init__(self, operators: frozenset[tuple[str, int]]) -> None:
        self.operators = operators  # STUDYBOT_ADMIN_IDS, qualified by platform

    def is_operator(self, ctx: Context) -> bool:
        """Tell whether the user is one of the bot's operators, on this platform."""
        try:
            number = int(ctx.user.external_id)
        except ValueError:
            return False  # the console's user is a name: the operator has the database anyway
        return (ctx.user.platform, number) in self.operators

    async def may_manage(self, ctx: Context, chat_admin: Callable[[], Awaitable[bool]]) -> bool:
        """Tell whether the user may change the chat's settings (schedule, language, quizzes).

        Anyone in a private chat; in a group the bot's operators and whoever the platform says
        administers the chat (`chat_admin`, asked only when needed: it may cost a request).
        """
        if not ctx.chat.is_group or self.is_operator(ctx):
            return True
        return await chat_admin()

    async def require_manage(self, ctx: Context, chat_admin: Callable[[], Awaitable[bool]]) -> None:
        """Raise UserInputError("admins_only") unless the user may change the chat's settings."""
        if not await self.may_manage(ctx, chat_admin):
            raise UserInputError("admins_only")

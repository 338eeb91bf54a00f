"""The Telegram side of `studybot serve`: the Application on the shared core."""

from __future__ import annotations

import logging

from telegram.error import InvalidToken, NetworkError

from bot.adapters.serve import PlatformFailed
from bot.adapters.telegram.app import (
    build_application,
    close_application,
    start_application,
    stop_updates,
)
from bot.adapters.telegram.observe import telegram_checks
from bot.adapters.telegram.polling import api_host, cause
from bot.adapters.telegram.webhook import Webhook
from bot.app import Core
from bot.metrics.bot import BotMetrics
from bot.metrics.health import Check
from bot.services.runs import RunService

log = logging.getLogger(__name__)

PLATFORM = "telegram"


class TelegramPlatform:
    """The Telegram bot on a core: long polling or a webhook."""

    name = PLATFORM
    failure: str | None = None  # PTB's errors end `serve` by themselves

    def __init__(self, core: Core, runs: RunService, metrics: BotMetrics) -> None:
        settings = core.settings
        assert settings.telegram_bot_token is not None  # noqa: S101 - checked by serve_main
        self.settings = settings
        self.webhook = Webhook.from_settings(settings)
        self.application = build_application(
            core,
            settings.telegram_bot_token.get_secret_value(),
            settings.telegram_api_base_url,
            runs,
            metrics=metrics,
        )

    def checks(self) -> dict[str, Check]:
        """Return the health checks of the adapter."""
        app = self.application
        return telegram_checks(app.bot_data["api_seen"], polling=self.webhook is None)

    async def start(self) -> None:
        """Start polling (or the webhook) after publishing the menus and the daily jobs."""
        webhook = self.webhook
        try:
            await start_application(self.application, webhook=webhook)
        except InvalidToken:
            # PTB's message repeats the token: say it in our own words.
            raise PlatformFailed("invalid TELEGRAM_BOT_TOKEN: the Bot API rejected it") from None
        except NetworkError as e:
            # At start-up (publishing the menus, say): name the address and the cause.
            raise PlatformFailed(
                f"lost the Bot API at {api_host(self.settings.telegram_api_base_url)} "
                f"(TELEGRAM_API_BASE_URL): {cause(e)}",
                exit_code=1,
            ) from None
        if webhook is None:
            log.info("telegram started; polling %s", api_host(self.settings.telegram_api_base_url))
        else:
            log.info(
                "telegram started; updates on %s:%d%s", webhook.host, webhook.port, webhook.path
            )

    async def stop(self) -> None:
        """Stop taking updates and let running handlers (a /run within its limit) end."""
        await stop_updates(self.application)

    async def close(self) -> None:
        """Close the Bot API client (after every timer stopped)."""
        await close_application(self.application)

"""Webhook mode: where Telegram posts updates, where the bot listens, and the shared secret."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.config import Settings
from bot.runner.settings import parse_listen


@dataclass(frozen=True)
class Webhook:
    """The public URL, the local address and path served, and the secret token."""

    url: str
    host: str
    port: int
    path: str
    secret: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Webhook | None:
        """Return the webhook the settings ask for, or None for long polling."""
        if not settings.webhook_url or settings.webhook_secret is None:
            return None
        host, port = parse_listen(settings.webhook_listen)
        path = urlsplit(settings.webhook_url).path or "/"
        secret = settings.webhook_secret.get_secret_value()
        return cls(settings.webhook_url, host, port, path, secret)

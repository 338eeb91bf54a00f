"""Configure logging once, with every known secret redacted from every record."""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

_TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The chat and user of the update being handled (set per update task), for JSON log lines.
LOG_IDS: contextvars.ContextVar[dict[str, int]] = contextvars.ContextVar("studybot_log_ids")


def bind_ids(**ids: int | None) -> None:
    """Attach chat/user ids to every log record of the current task (None: unknown)."""
    LOG_IDS.set({k: v for k, v in ids.items() if v is not None})


class RedactSecrets(logging.Filter):
    """Replace secrets (and anything shaped like a bot token) in log records."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return _TOKEN_SHAPE.sub("[REDACTED]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the formatted message in place; never drop a record."""
        message = record.getMessage()
        cleaned = self._clean(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, and chat/user ids where known."""

    def format(self, record: logging.LogRecord) -> str:
        """Render a record (already redacted by RedactSecrets) as one JSON line."""
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        line.update(LOG_IDS.get({}))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def setup_logging(level: str, secrets: Iterable[str] = (), fmt: str = "text") -> None:
    """Log to stderr at `level`, as text or JSON lines; keep httpx's per-request lines quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

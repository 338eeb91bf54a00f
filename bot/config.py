"""Settings read once from the environment and `.env`."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot._data import shipped
from bot.runner.protocol import MIN_RUNNER_TOKEN, beyond_loopback, parse_runner_address
from bot.runner.settings import parse_listen
from bot.text import excerpt

# The bank shipped with the package: content/ in a checkout, package data in a wheel.
CONTENT_DIR = shipped("content")

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# What @BotFather hands out: the bot's numeric id, a colon, then letters, digits, - and _.
_TOKEN_SHAPE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]+$")
# What Telegram accepts as a webhook's secret_token.
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

SandboxLevel = Literal["none", "basic", "strong"]
# /bench times its snippets for at most this share of a job's wall and CPU time (import,
# setup, checked runs and calibration need the rest), and by default for at most 2 s.
BENCH_BUDGET_SHARE = 0.5
DEFAULT_BENCH_BUDGET_S = 2.0


def parse_hhmm(value: str) -> time:
    """Parse a 24-hour HH:MM string, raising ValueError with a readable message."""
    match = _HHMM.match(value.strip())
    if not match:
        raise ValueError("expected a time as HH:MM (00:00–23:59)")
    return time(int(match.group(1)), int(match.group(2)))


def parse_uid_range(value: str) -> tuple[int, int]:
    """Parse "FIRST-LAST" (uids, 0 < FIRST <= LAST)."""
    first, sep, last = value.partition("-")
    try:
        low, high = int(first), int(last)
    except ValueError:
        low = high = -1
    if not sep or not 0 < low <= high < 2**31 - 1:
        raise ValueError("expected FIRST-LAST, two uids with 0 < FIRST <= LAST")
    return low, high


def check_timezone(value: str) -> str:
    """Return the IANA zone name if it exists, else raise ValueError."""
    # ZoneInfo("Europe") finds a folder, not a zone, and raises IsADirectoryError (an OSError).
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as e:
        raise ValueError("unknown IANA time zone (e.g. UTC, Asia/Shanghai, Europe/Berlin)") from e
    return value


def check_token_shape(token: str) -> None:
    """Raise ValueError unless `token` looks like a bot token (it is never echoed)."""
    if not _TOKEN_SHAPE.match(token):
        raise ValueError(
            "not shaped like a bot token (digits, a colon, then letters, digits, - or _, "
            "as @BotFather gives it)"
        )


def settings_errors(error: ValidationError) -> list[str]:
    """Return one line per invalid variable: its name, what is wrong and (briefly) its value."""
    lines = []
    for err in error.errors():
        name = str(err["loc"][0]) if err["loc"] else "settings"
        field = Settings.model_fields.get(name)
        name = (field.alias if field else None) or name  # a default checked: the field name
        message = str(err["msg"]).removeprefix("Value error, ")
        value = err.get("input")
        shown = ""
        secret = any(word in name.upper() for word in ("TOKEN", "SECRET"))
        if not secret and isinstance(value, str | int | float):
            shown = f" (got {excerpt(str(value))!r})"
        line = f"invalid {name}: {message}{shown}"
        if line not in lines:  # STUDYBOT_ADMIN_IDS feeds two fields
            lines.append(line)
    return lines


def qualified_ids(value: str) -> frozenset[tuple[str, int]]:
    """Parse "123, telegram:-100123, discord:456" into (platform, id) pairs (plain: Telegram)."""
    ids = set()
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        platform, sep, number = part.rpartition(":")
        platform = platform.lower() if sep else "telegram"
        digits = number[1:] if number.startswith("-") else number
        if platform not in {"telegram", "discord"} or not digits.isdigit():
            raise ValueError(
                f"{part!r}: expected comma-separated ids: Telegram ids (123 or telegram:123, "
                "a group -100123) and Discord ids (discord:123)"
            )
        ids.add((platform, int(number)))
    return frozenset(ids)


class Settings(BaseSettings):
    """Every setting of the bot, the runner and the sandbox; see .env.example."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Telegram
    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot", alias="TELEGRAM_API_BASE_URL"
    )

    # Discord: the bot token of the application, and the REST API (discord.py's Route.BASE,
    # taken exactly as given; the gateway URL comes from its GET /gateway/bot).
    discord_bot_token: SecretStr | None = Field(default=None, alias="DISCORD_BOT_TOKEN")
    discord_api_base_url: str = Field(
        default="https://discord.com/api/v10", alias="DISCORD_API_BASE_URL"
    )

    # Webhook mode (instead of long polling): the public HTTPS URL Telegram posts updates to,
    # the address the bot listens on for them (behind a proxy that terminates TLS), and the
    # secret Telegram sends with each update, required with a webhook.
    webhook_url: str | None = Field(default=None, alias="STUDYBOT_WEBHOOK_URL")
    webhook_listen: str = Field(default="127.0.0.1:8080", alias="STUDYBOT_WEBHOOK_LISTEN")
    webhook_secret: SecretStr | None = Field(
        default=None, alias="STUDYBOT_WEBHOOK_SECRET", validate_default=True
    )

    # Bot
    database: Path = Field(default=Path("data/studybot.db"), alias="STUDYBOT_DATABASE")
    timezone: str = Field(default="UTC", alias="STUDYBOT_TIMEZONE")
    daily_time: str = Field(default="09:00", alias="STUDYBOT_DAILY_TIME")
    # Operators: Telegram ids (plain or "telegram:ID") and Discord ids ("discord:ID"), both
    # read from the one variable.
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(), alias="STUDYBOT_ADMIN_IDS"
    )
    discord_admin_ids: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(), alias="STUDYBOT_ADMIN_IDS"
    )
    content_dir: Path = Field(default=CONTENT_DIR, alias="STUDYBOT_CONTENT_DIR")
    log_level: str = Field(default="INFO", alias="STUDYBOT_LOG_LEVEL")
    # "json": one JSON object per line (time, level, logger, event, chat/user ids).
    log_format: Literal["text", "json"] = Field(default="text", alias="STUDYBOT_LOG_FORMAT")
    # /healthz and /metrics of the bot ("" turns them off) and of `studybot runner` (off unless
    # set).
    metrics_listen: str | None = Field(default="127.0.0.1:9464", alias="STUDYBOT_METRICS_LISTEN")
    runner_metrics_listen: str | None = Field(default=None, alias="STUDYBOT_RUNNER_METRICS_LISTEN")
    quiz_seconds: int = Field(default=30, ge=5, le=600, alias="STUDYBOT_QUIZ_SECONDS")
    # Spaced repetition: the share of cards a user should still know when they fall due.
    retention: float = Field(default=0.9, ge=0.8, le=0.97, alias="STUDYBOT_RETENTION")
    # Reviews offered ("Review n due") under a private chat's daily question.
    daily_reviews: int = Field(default=10, ge=0, le=100, alias="STUDYBOT_DAILY_REVIEWS")
    # off: no flood windows in the bot (a self-hosted Bot API, or paid broadcasts); a 429 is
    # still obeyed with its retry_after.
    rate_limit: Literal["on", "off"] = Field(default="on", alias="STUDYBOT_RATE_LIMIT")

    # /run: where the runner is, and who may use it
    runner_url: str | None = Field(default=None, alias="STUDYBOT_RUNNER_URL")
    # Who may use /run: user or chat ids qualified by platform, as STUDYBOT_ADMIN_IDS.
    run_allow: Annotated[frozenset[tuple[str, int]], NoDecode] = Field(
        default=frozenset(), alias="STUDYBOT_RUN_ALLOW"
    )

    # Runner and sandbox limits
    runner_socket: Path = Field(default=Path("data/runner.sock"), alias="STUDYBOT_RUNNER_SOCKET")
    # Where `studybot runner` listens instead of runner_socket: "tcp://HOST:PORT" or "unix:/path".
    runner_listen: str | None = Field(default=None, alias="STUDYBOT_RUNNER_LISTEN")
    # The secret every request to the runner carries; required for TCP beyond loopback.
    runner_token: SecretStr | None = Field(
        default=None, alias="STUDYBOT_RUNNER_TOKEN", validate_default=True
    )
    sandbox_level: Literal["auto", "strong", "basic"] = Field(
        default="auto", alias="STUDYBOT_SANDBOX_LEVEL"
    )
    sandbox_min_level: SandboxLevel = Field(default="basic", alias="STUDYBOT_SANDBOX_MIN_LEVEL")
    run_wall_time_s: float = Field(default=10.0, gt=0, le=300, alias="STUDYBOT_RUN_WALL_TIME")
    run_cpu_time_s: int = Field(default=10, gt=0, le=600, alias="STUDYBOT_RUN_CPU_TIME")
    run_memory_mb: int = Field(default=1024, ge=64, alias="STUDYBOT_RUN_MEMORY_MB")
    run_max_processes: int = Field(default=64, ge=1, alias="STUDYBOT_RUN_MAX_PROCESSES")
    run_max_file_mb: int = Field(default=16, ge=1, alias="STUDYBOT_RUN_MAX_FILE_MB")
    run_scratch_mb: int = Field(default=64, ge=1, alias="STUDYBOT_RUN_SCRATCH_MB")
    run_max_open_files: int = Field(default=256, ge=16, alias="STUDYBOT_RUN_MAX_OPEN_FILES")
    run_output_kb: int = Field(default=64, ge=1, alias="STUDYBOT_RUN_OUTPUT_KB")
    run_pool_size: int = Field(default=2, ge=1, le=32, alias="STUDYBOT_RUN_POOL_SIZE")
    run_cpu_concurrency: int = Field(default=2, ge=1, alias="STUDYBOT_RUN_CPU_CONCURRENCY")
    run_gpu_concurrency: int = Field(default=1, ge=1, alias="STUDYBOT_RUN_GPU_CONCURRENCY")
    run_gpu_memory_fraction: float = Field(
        default=0.5, gt=0, le=1, alias="STUDYBOT_RUN_GPU_MEMORY_FRACTION"
    )
    run_rate_per_minute: int = Field(default=5, ge=1, alias="STUDYBOT_RUN_RATE_PER_MINUTE")
    run_max_code_kb: int = Field(default=64, ge=1, le=1024, alias="STUDYBOT_RUN_MAX_CODE_KB")
    # Each pre-forked worker gets its own uid and gid from this range ("FIRST-LAST").
    run_uid_range: str = Field(default="60000-60999", alias="STUDYBOT_RUN_UID_RANGE")
    # Tests only: believe the kernel's Landlock ABI is at most this (0 = no Landlock), so the
    # behaviour of older kernels can be checked on a newer one.
    run_landlock_abi_max: int | None = Field(
        default=None, ge=0, alias="STUDYBOT_RUN_LANDLOCK_ABI_MAX"
    )
    # /bench: seconds of timing one job may spend, shared by its snippets (unset: half of the
    # job's wall and CPU time, at most 2 s). The rest of the job's time is the harness's.
    bench_budget_s: float | None = Field(
        default=None, gt=0, le=150, alias="STUDYBOT_BENCH_BUDGET_S"
    )

    @field_validator("bench_budget_s", mode="before")
    @classmethod
    def _unset_if_empty(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v  # as .env.example leaves it

    @field_validator("bench_budget_s")
    @classmethod
    def _bench_budget(cls, v: float | None, info: ValidationInfo) -> float | None:
        wall, cpu = info.data.get("run_wall_time_s"), info.data.get("run_cpu_time_s")
        if v is None or wall is None or cpu is None:
            return v  # unset, or the limits it is checked against are invalid themselves
        most = min(wall, cpu) * BENCH_BUDGET_SHARE
        if v > most:
            raise ValueError(
                f"must leave the harness half of a job's time: at most {most:g} s with "
                f"STUDYBOT_RUN_WALL_TIME={wall:g} and STUDYBOT_RUN_CPU_TIME={cpu}"
            )
        return v

    @property
    def bench_budget(self) -> float:
        """Return /bench's timing budget: the setting, or what the job limits leave for it."""
        if self.bench_budget_s is not None:
            return self.bench_budget_s
        return min(
            DEFAULT_BENCH_BUDGET_S,
            min(self.run_wall_time_s, self.run_cpu_time_s) * BENCH_BUDGET_SHARE,
        )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return check_timezone(v)

    @field_validator("daily_time")
    @classmethod
    def _daily(cls, v: str) -> str:
        parse_hhmm(v)
        return v

    @field_validator("run_uid_range")
    @classmethod
    def _uid_range(cls, v: str) -> str:
        parse_uid_range(v)
        return v

    @property
    def uid_range(self) -> tuple[int, int]:
        """Return STUDYBOT_RUN_UID_RANGE as (first, last)."""
        return parse_uid_range(self.run_uid_range)

    @property
    def operators(self) -> frozenset[tuple[str, int]]:
        """Return STUDYBOT_ADMIN_IDS as (platform, user id) pairs."""
        return frozenset({("telegram", i) for i in self.admin_ids}) | frozenset(
            {("discord", i) for i in self.discord_admin_ids}
        )

    @field_validator("admin_ids", "discord_admin_ids", "run_allow", mode="before")
    @classmethod
    def _ids(cls, v: object, info: ValidationInfo) -> object:
        if info.field_name == "run_allow" and not isinstance(v, str):
            # Set in code: plain ids are Telegram's, as in the variable.
            return frozenset(("telegram", p) if isinstance(p, int) else p for p in v)  # type: ignore[attr-defined]
        if not isinstance(v, str):
            return v
        ids = qualified_ids(v)
        if info.field_name == "run_allow":
            return ids
        # STUDYBOT_ADMIN_IDS feeds two fields: each keeps the ids of its own platform.
        wanted = "discord" if info.field_name == "discord_admin_ids" else "telegram"
        return frozenset(number for platform, number in ids if platform == wanted)

    @field_validator("telegram_api_base_url", "discord_api_base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return v

    @field_validator("runner_listen", "runner_url")
    @classmethod
    def _runner_address(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None or not v.strip():
            return None  # empty in .env means unset
        # STUDYBOT_RUNNER_URL may list several runners, comma-separated (bot.runfleet).
        parts = v.split(",") if info.field_name == "runner_url" else [v]
        for part in parts:
            parse_runner_address(part.strip())
        return ",".join(p.strip() for p in parts if p.strip())

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None  # empty: long polling
        if not v.strip().startswith(("https://", "http://")):
            raise ValueError("expected the public https:// URL Telegram posts updates to")
        return v.strip()

    @field_validator("webhook_listen")
    @classmethod
    def _webhook_listen(cls, v: str) -> str:
        parse_listen(v)
        return v.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, v: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        secret = v.get_secret_value() if v else ""
        if not secret:
            if info.data.get("webhook_url"):
                raise ValueError("required with STUDYBOT_WEBHOOK_URL (1–256 of A-Z a-z 0-9 _ -)")
            return None
        if not _WEBHOOK_SECRET.match(secret):
            raise ValueError("expected 1–256 characters of A-Z, a-z, 0-9, _ and -")
        return v

    @field_validator("metrics_listen", "runner_metrics_listen")
    @classmethod
    def _listen(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None  # empty: off
        parse_listen(v)
        return v.strip()

    @field_validator("runner_token")
    @classmethod
    def _runner_token(cls, v: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        token = v.get_secret_value().strip() if v else ""
        if token and len(token) < MIN_RUNNER_TOKEN:
            raise ValueError(f"too short: use at least {MIN_RUNNER_TOKEN} characters")
        for name in ("runner_listen", "runner_url"):
            given = str(info.data.get(name) or "")
            if not token and any(beyond_loopback(part) for part in given.split(",") if part):
                alias = cls.model_fields[name].alias
                raise ValueError(
                    f"required when {alias} is TCP beyond loopback "
                    "(the runner API must not be open to the network); "
                    "e.g. `openssl rand -hex 32`"
                )
        return SecretStr(token) if token else None

    @field_validator("rate_limit", mode="before")
    @classmethod
    def _on_off(cls, v: object) -> object:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
        return v.upper()

    @property
    def daily_time_value(self) -> time:
        """Return the default daily time as a time object."""
        return parse_hhmm(self.daily_time)

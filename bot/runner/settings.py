"""The runner's own settings: its environment only, never .env, never the bot's secrets.

The runner is a separate program (it imports nothing of the bot), so it declares the variables
it reads here. The bot's `Settings` declares the same names, to pass them on to a local runner;
the variable names and their defaults must agree (tests/test_runner_settings.py checks it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.runner.protocol import MIN_RUNNER_TOKEN, beyond_loopback, parse_runner_address

SandboxLevel = Literal["none", "basic", "strong"]

# The bot's secrets: the runner never holds them, even when they are in its environment.
BOT_SECRETS = ("TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN", "STUDYBOT_WEBHOOK_SECRET")

EXCERPT_CHARS = 40


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


def parse_listen(value: str) -> tuple[str, int]:
    """Split "HOST:PORT" (or "[::1]:PORT") into a host and a port; raise ValueError."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:9464 or 0.0.0.0:9464")
    host = host.removeprefix("[").removesuffix("]")
    return host or "0.0.0.0", int(port)  # noqa: S104 - an empty host means every address


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Return `text` on one line, cut to `limit` characters with an ellipsis when longer."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def settings_errors(error: ValidationError, model: type[BaseModel]) -> list[str]:
    """Return one line per invalid variable: its name, what is wrong and (briefly) its value."""
    lines = []
    for err in error.errors():
        name = str(err["loc"][0]) if err["loc"] else "settings"
        field = model.model_fields.get(name)
        name = (field.alias if field else None) or name  # a default checked: the field name
        message = str(err["msg"]).removeprefix("Value error, ")
        value = err.get("input")
        shown = ""
        secret = any(word in name.upper() for word in ("TOKEN", "SECRET"))
        if not secret and isinstance(value, str | int | float):
            shown = f" (got {excerpt(str(value))!r})"
        line = f"invalid {name}: {message}{shown}"
        if line not in lines:
            lines.append(line)
    return lines


class RunnerConfig(Protocol):
    """What the runner reads of its settings: RunnerSettings, or the bot's Settings in tests."""

    log_level: str
    log_format: Literal["text", "json"]
    runner_metrics_listen: str | None
    runner_socket: Path
    runner_listen: str | None
    runner_token: SecretStr | None
    sandbox_level: Literal["auto", "strong", "basic"]
    sandbox_min_level: SandboxLevel
    run_wall_time_s: float
    run_cpu_time_s: int
    run_memory_mb: int
    run_max_processes: int
    run_max_file_mb: int
    run_scratch_mb: int
    run_max_open_files: int
    run_output_kb: int
    run_pool_size: int
    run_cpu_concurrency: int
    run_gpu_concurrency: int
    run_gpu_memory_fraction: float
    run_rate_per_minute: int
    run_max_code_kb: int
    run_uid_range: str
    run_landlock_abi_max: int | None

    @property
    def uid_range(self) -> tuple[int, int]:
        """Return STUDYBOT_RUN_UID_RANGE as (first, last)."""
        ...


class RunnerSettings(BaseSettings):
    """The runner's settings: its own environment only, never .env, never the bot's secrets."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    log_level: str = Field(default="INFO", alias="STUDYBOT_LOG_LEVEL")
    # "json": one JSON object per line (time, level, logger, event).
    log_format: Literal["text", "json"] = Field(default="text", alias="STUDYBOT_LOG_FORMAT")
    # /healthz and /metrics of `studybot runner` (off unless set).
    runner_metrics_listen: str | None = Field(default=None, alias="STUDYBOT_RUNNER_METRICS_LISTEN")

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

    def model_post_init(self, context: object) -> None:
        """Take the bot's secrets out of this process's environment: jobs never see them."""
        for name in BOT_SECRETS:
            for key in [k for k in os.environ if k.upper() == name]:
                del os.environ[key]

    @field_validator("run_uid_range")
    @classmethod
    def _uid_range(cls, v: str) -> str:
        parse_uid_range(v)
        return v

    @property
    def uid_range(self) -> tuple[int, int]:
        """Return STUDYBOT_RUN_UID_RANGE as (first, last)."""
        return parse_uid_range(self.run_uid_range)

    @field_validator("runner_metrics_listen")
    @classmethod
    def _listen(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None  # empty: off
        parse_listen(v)
        return v.strip()

    @field_validator("runner_listen")
    @classmethod
    def _runner_address(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None  # empty means unset
        parse_runner_address(v.strip())
        return v.strip()

    @field_validator("runner_token")
    @classmethod
    def _runner_token(cls, v: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        token = v.get_secret_value().strip() if v else ""
        if token and len(token) < MIN_RUNNER_TOKEN:
            raise ValueError(f"too short: use at least {MIN_RUNNER_TOKEN} characters")
        if not token and beyond_loopback(info.data.get("runner_listen")):
            raise ValueError(
                "required when STUDYBOT_RUNNER_LISTEN is TCP beyond loopback "
                "(the runner API must not be open to the network); "
                "e.g. `openssl rand -hex 32`"
            )
        return SecretStr(token) if token else None

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
        return v.upper()

"""Settings: defaults, validation, and the one-line error of the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings
from tests.conftest import clean_env, studybot


def test_defaults(make_settings: Callable[..., Settings]) -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.telegram_api_base_url == "https://api.telegram.org/bot"
    assert s.database == Path("data/studybot.db")
    assert (s.timezone, s.daily_time, s.admin_ids) == ("UTC", "09:00", frozenset())
    assert s.run_wall_time_s == 10.0


def test_admin_ids_parse(make_settings: Callable[..., Settings]) -> None:
    assert make_settings(STUDYBOT_ADMIN_IDS="1, 2,3").admin_ids == frozenset({1, 2, 3})
    with pytest.raises(ValidationError):
        make_settings(STUDYBOT_ADMIN_IDS="1,abc")


def test_admin_ids_hold_telegram_and_discord_operators(
    make_settings: Callable[..., Settings],
) -> None:
    s = make_settings(STUDYBOT_ADMIN_IDS="1, telegram:2,discord:998877665544332211")
    assert s.admin_ids == frozenset({1, 2})
    assert s.discord_admin_ids == frozenset({998877665544332211})
    with pytest.raises(ValidationError):
        make_settings(STUDYBOT_ADMIN_IDS="slack:5")


def test_discord_defaults_and_base_url(make_settings: Callable[..., Settings]) -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.discord_bot_token is None
    assert s.discord_api_base_url == "https://discord.com/api/v10"
    with pytest.raises(ValidationError):
        make_settings(DISCORD_API_BASE_URL="discord.com/api")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STUDYBOT_TIMEZONE", "Mars/Olympus"),
        ("STUDYBOT_TIMEZONE", "Europe"),
        ("STUDYBOT_DAILY_TIME", "25:99"),
        ("STUDYBOT_ADMIN_IDS", "me"),
        ("TELEGRAM_API_BASE_URL", "ftp://x"),
        ("DISCORD_API_BASE_URL", "ftp://x"),
    ],
)
def test_invalid_config_names_variable_and_exits_nonzero(
    tmp_path: Path, name: str, value: str
) -> None:
    proc = studybot("content", "check", env=clean_env(**{name: value}), cwd=tmp_path)
    assert proc.returncode == 2
    assert name in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_serve_without_token_is_one_clear_line(tmp_path: Path) -> None:
    env = clean_env(STUDYBOT_DATABASE=str(tmp_path / "db.sqlite"))
    proc = studybot("serve", env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in proc.stderr and "Traceback" not in proc.stderr


def test_unusable_database_path_is_one_clear_line(tmp_path: Path) -> None:
    env = clean_env(STUDYBOT_DATABASE="/proc/no/such/bot.db")
    proc = studybot("console", env=env, cwd=tmp_path, stdin="/quit\n")
    assert proc.returncode == 1
    assert "cannot open database /proc/no/such/bot.db" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_rate_limit_on_by_default_and_off_by_setting(
    make_settings: Callable[..., Settings],
) -> None:
    assert Settings(_env_file=None).rate_limit == "on"  # type: ignore[call-arg]
    assert make_settings(STUDYBOT_RATE_LIMIT="OFF").rate_limit == "off"
    with pytest.raises(ValidationError):
        make_settings(STUDYBOT_RATE_LIMIT="sometimes")

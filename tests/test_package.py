"""A regular (non-editable) wheel carries the migrations and the question bank as package data."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import clean_env

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "bot", "db", "content")


def test_wheel_ships_migrations_and_bank_and_runs_from_them(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    skip = shutil.ignore_patterns("__pycache__")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=skip)
        else:
            shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), "."],
        cwd=source,
        check=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("studybot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    sql = sorted(p.name for p in (ROOT / "db").glob("*.sql"))
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("bot/_data/db/")) == sorted(
        ["__init__.py", *sql]
    )
    questions = len(list((ROOT / "content" / "questions").glob("*.yaml")))
    assert len([n for n in names if n.startswith("bot/_data/content/questions/")]) == questions
    exercises = len(list((ROOT / "content" / "exercises").glob("*.yaml")))
    assert len([n for n in names if n.startswith("bot/_data/content/exercises/")]) == exercises
    assert "bot/locales/zh/LC_MESSAGES/messages.po" in names

    site = tmp_path / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, timeout=300
    )
    shutil.rmtree(source)  # nothing may come from a checkout
    env = clean_env(PYTHONPATH=str(site))
    run = tmp_path / "run"
    run.mkdir()

    def studybot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            env=env,
            cwd=run,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    bank = studybot("content", "check", "--no-run")
    assert bank.returncode == 0, bank.stderr
    assert bank.stdout.startswith(f"{questions} questions in {site / 'bot' / '_data' / 'content'}")
    assert f"{exercises} exercises: " in bank.stdout
    code = (
        "import asyncio\nfrom bot.storage.database import Database\n"
        "async def main():\n    async with Database('data/studybot.db') as db:\n"
        "        print(await db.version())\nasyncio.run(main())"
    )
    migrated = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=run, capture_output=True, text=True, timeout=60
    )
    assert migrated.stdout == f"{len(sql)}\n", migrated.stderr
    assert studybot("db", "check").returncode == 0

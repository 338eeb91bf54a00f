"""The shape of the code: imports go one way, and the bot process never imports torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"


def imports_of(folder: Path) -> dict[Path, set[str]]:
    found: dict[Path, set[str]] = {}
    for path in folder.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        found[path] = names
    return found


def test_services_storage_and_content_know_no_platform() -> None:
    for layer in ("services", "storage", "content"):
        for path, names in imports_of(BOT / layer).items():
            platforms = {"telegram", "discord"}
            bad = {n for n in names if n.split(".")[0] in platforms or "adapters" in n}
            assert not bad, f"{path} imports {bad}"


def test_storage_does_not_import_services() -> None:
    for path, names in imports_of(BOT / "storage").items():
        assert not {n for n in names if n.startswith("bot.services")}, path


def test_bot_process_never_imports_torch() -> None:
    code = (
        "import sys, bot.__main__, bot.app, bot.adapters.telegram.app, bot.adapters.console, "
        "bot.adapters.serve, bot.adapters.discord.run, bot.runclient, bot.services.runs\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'numpy'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


def test_adapters_call_services_never_storage() -> None:
    for path, names in imports_of(BOT / "adapters").items():
        assert not {n for n in names if n.startswith("bot.storage.")} - {"bot.storage.records"}, (
            path
        )
        tree = ast.parse(path.read_text(encoding="utf-8"))
        reached = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in {"repos", "db"}
        }
        assert not reached, f"{path} reaches past the services: {reached}"


def test_scheduling_lives_in_the_services() -> None:
    # One scheduler (bot.services.timers) for daily questions, reminders and quiz steps, so
    # every platform shares the rules; an adapter only brings a sender.
    for path, names in imports_of(BOT / "adapters").items():
        assert not {n for n in names if n.split(".")[0] == "apscheduler"}, path
        tree = ast.parse(path.read_text(encoding="utf-8"))
        reached = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr in {"run_daily", "run_once", "run_repeating", "run_monthly", "run_custom"}
        }
        assert not reached, f"{path} schedules on its own: {reached}"

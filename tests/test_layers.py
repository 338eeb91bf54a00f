"""The shape of the code: imports go one way, and the bot process never imports torch."""

from __future__ import annotations

import ast
import re
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
        # Not even the records: adapters read what the services return (bot.services.model).
        assert not {n for n in names if n.startswith("bot.storage")}, path
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


def module_name(path: Path) -> str:
    """Return the dotted name of a module under bot/ ("bot.runner.cli", "bot.services")."""
    parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def bot_imports(path: Path) -> set[str]:
    """Every bot module a file imports, at the top or inside a function, relative ones resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.add(module)
            # `from bot import x` or `from bot.runner import jail` may name modules too.
            found.update(
                f"{module}.{alias.name}"
                for alias in node.names
                if is_module(f"{module}.{alias.name}")
            )
    return {name for name in found if name == "bot" or name.startswith("bot.")}


def is_module(name: str) -> bool:
    """Tell whether a dotted name is a module or package under bot/."""
    parts = name.split(".")
    if parts[0] != "bot":
        return False
    where = BOT.joinpath(*parts[1:])
    return where.with_suffix(".py").exists() or (where / "__init__.py").exists()


def test_the_runner_imports_nothing_of_the_bot() -> None:
    # The runner is a separate program (STYLE 25): its own settings, logging and metrics.
    for path in (BOT / "runner").rglob("*.py"):
        outside = {
            name
            for name in bot_imports(path)
            if name not in {"bot", "bot.runner"} and not name.startswith("bot.runner.")
        }
        assert not outside, f"{path} imports {outside}"


def test_the_runners_parts_import_one_way() -> None:
    # STYLE 20: what protects a job (jail/), the workers (pool/) and the files back (io/) are
    # read each on its own: the jail knows no worker, and neither knows the service around them.
    parts = {"bot.runner.jail", "bot.runner.pool", "bot.runner.io"}
    graph: dict[str, set[str]] = {}
    for path in (BOT / "runner").rglob("*.py"):
        source = ".".join(module_name(path).split(".")[:3])
        targets = graph.setdefault(source, set())
        for name in bot_imports(path):
            target = ".".join(name.split(".")[:3])
            if name.startswith("bot.runner.") and target != source:
                targets.add(target)
    assert not find_cycle(graph), " -> ".join(find_cycle(graph))
    assert graph["bot.runner.io"] <= {"bot.runner.protocol"}
    assert graph["bot.runner.jail"] <= {"bot.runner.io"}
    assert graph["bot.runner.pool"] <= parts | {"bot.runner.protocol"}


def test_grading_imports_no_services_or_adapters() -> None:
    for path in (BOT / "exercises").rglob("*.py"):
        upward = {
            name
            for name in bot_imports(path)
            if name.split(".")[:2] in (["bot", "services"], ["bot", "adapters"])
        }
        assert not upward, f"{path} imports {upward}"


def package_graph() -> dict[str, set[str]]:
    """Map each of bot's top-level packages and modules to those it imports (itself left out)."""
    graph: dict[str, set[str]] = {}
    for path in BOT.rglob("*.py"):
        source = ".".join(module_name(path).split(".")[:2])
        targets = graph.setdefault(source, set())
        for name in bot_imports(path):
            target = ".".join(name.split(".")[:2])
            if target not in {"bot", source}:  # bare "bot" (its __init__) is no layer
                targets.add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """Return one cycle of the graph as a path (first node repeated at the end), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycle_between_the_bots_packages() -> None:
    # Function-local imports count: a cycle there is still two layers that need each other.
    graph = package_graph()
    assert "bot.runner" in graph and "bot.services" in graph
    cycle = find_cycle(graph)
    assert not cycle, " -> ".join(cycle)


LONG_FUNCTION_LINES = 60
LONG_MARK = "# Over 60 lines on purpose:"


def test_no_module_of_the_bot_is_over_400_lines() -> None:
    # A module over 400 lines is usually two concepts (STYLE.md): split it by concern.
    long = {
        str(path.relative_to(BOT)): n
        for path in BOT.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not long, long


def test_a_function_over_60_lines_says_why() -> None:
    unexplained, stale = [], []
    for path in BOT.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            assert node.end_lineno is not None
            where = f"{path.relative_to(BOT)}:{node.lineno} {node.name}"
            if node.end_lineno - node.lineno + 1 <= LONG_FUNCTION_LINES:
                # A function that got shorter must not keep saying why it is long.
                own = lines[node.lineno - 1 : node.end_lineno]
                if any(line.strip().startswith(LONG_MARK) for line in own):
                    stale.append(where)
                continue
            head = lines[node.lineno - 1 : node.lineno + 30]
            if not any(line.strip().startswith(LONG_MARK) for line in head):
                unexplained.append(where)
    assert not unexplained, unexplained
    assert not stale, stale


# The three functions that turn a Document into a platform's markup (STYLE 23); only they
# may write tags or escape.
EDGES = {
    BOT / "adapters" / "telegram" / "markup.py",
    BOT / "adapters" / "discord" / "markdown.py",
    BOT / "adapters" / "terminal.py",
}
# A bare "<code>" is also how usage lines name an argument (/run <code>); a real code tag
# shows by its closing "</code>".
HTML_TAG = re.compile(
    r"</(b|i|u|s|code|pre|a|blockquote)>|<(b|i|u|s|pre|blockquote)>|<(pre|code|a)\s"
)


def markup_found(path: Path) -> list[str]:
    """Return each HTML tag literal or escaping call of a module, as `line: what`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if HTML_TAG.search(node.value):
                found.append(f"{line}: tag in {node.value[:40]!r}")
        elif isinstance(node, ast.Import) and any(a.name == "html" for a in node.names):
            found.append(f"{line}: import html")
        elif isinstance(node, ast.ImportFrom) and node.module == "html":
            found.append(f"{line}: from html import")
        elif isinstance(node, ast.ImportFrom) and node.module == "bot.adapters.render":
            if any(a.name == "e" for a in node.names):
                found.append(f"{line}: imports render.e")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in {("html", "escape"), ("render", "e")}
        ):
            found.append(f"{line}: {node.value.id}.{node.attr}")
    return found


def test_markup_is_written_only_at_the_three_edges() -> None:
    # Renderers build Documents; HTML or Markdown written anywhere else would travel to a
    # platform that has to read it back (STYLE 16 and 23).
    assert all(edge.exists() for edge in EDGES)
    bad = {
        str(path.relative_to(BOT)): found
        for path in sorted((BOT / "adapters").rglob("*.py"))
        if path not in EDGES and (found := markup_found(path))
    }
    assert not bad, bad


def test_markup_found_sees_tags_and_escaping(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import html\nfrom bot.adapters import render\n"
        "a = f'<b>{html.escape(x)}</b>'\nb = '<pre>' + render.e(y)\n"
        "c = '<a href=\"tg://user?id=1\">x</a>'\nd = 'a < b and c > d'\n",
        encoding="utf-8",
    )
    found = " ".join(markup_found(sample))
    for what in ("import html", "html.escape", "render.e", "'<pre>'", "<a href", "'</b>'"):
        assert what in found, what
    assert "a < b" not in found and "Usage" not in found

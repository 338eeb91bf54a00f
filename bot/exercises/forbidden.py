"""Find disallowed APIs in a submission's source: the static half of blocking them.

The job also replaces each forbidden name with a function that raises (harness.py); neither
half is complete (getattr with a computed name defeats this one), so both are best effort.
"""

from __future__ import annotations

import ast


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """Return `a.b.c` for an attribute chain on a name, with import aliases resolved."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Map each name bound by an import to the dotted path it stands for."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    found[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                found[a.asname or a.name] = f"{node.module}.{a.name}"
    return found


def forbidden_used(source: str, forbidden: tuple[str, ...] | list[str]) -> list[str]:
    """Return the forbidden names `source` refers to, in the order of `forbidden`.

    `torch.nn.functional.softmax` is found as written, through `import ... as F` or
    `from torch.nn import functional`, and imported by name. A method such as
    `torch.Tensor.softmax` is found as any `.softmax` on a value that is not a module path
    (`x.softmax(-1)`), since the source does not say what `x` is.
    """
    if not forbidden:
        return []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # the job reports the syntax error with its line
    aliases = _aliases(tree)
    wanted = set(forbidden)
    methods = {name.rsplit(".", 1)[1] for name in forbidden if name.startswith("torch.Tensor.")}
    hits: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            hits.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Name) and aliases.get(node.id) in wanted:
            hits.add(aliases[node.id])
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node, aliases)
            if dotted in wanted:
                hits.add(dotted)
            elif node.attr in methods and (dotted is None or not dotted.startswith("torch.")):
                hits.add(f"torch.Tensor.{node.attr}")
    return [name for name in forbidden if name in hits]

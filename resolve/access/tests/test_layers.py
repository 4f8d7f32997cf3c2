"""Access sits above the access-log models and below audit's services: no import dodges a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """Each import in ``path``: its line, the module it names, and whether it is at module level."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found: list[tuple[int, str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module, id(node) in top))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, id(node) in top) for alias in node.names]
    return found


def test_access_imports_nothing_inside_a_function() -> None:
    late = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted((ROOT / "resolve" / "access").glob("*.py"))
        for line, module, at_top in _imports(path)
        if not at_top
    ]
    assert late == []


def test_the_access_log_models_sit_below_access() -> None:
    below = ROOT / "resolve" / "audit" / "models.py"
    assert [module for _, module, _ in _imports(below) if module.startswith("resolve.access")] == []

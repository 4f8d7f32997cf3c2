"""Fail when code queries children, challenges or case notes without going through resolve.access.

Every read of a ``Child``, ``Challenge`` or ``CaseNote`` goes through the chokepoint
(``children_visible_to``, ``challenges_visible_to``, ``case_notes_visible_to``, the ``*_get_for_user``
and ``*_get_for_change`` helpers), which scopes it to the person asking and logs the look. This scan
(Python's ``ast``, no dependency) reports each way past it outside ``ALLOWED``:

- ``Child.objects…``, ``Challenge._default_manager…``, ``CaseNote._base_manager…``, ``….objects.raw(…)``
  (also through an alias, ``from … import Child as Kid``, or a module, ``models.Child.objects``);
- ``get_object_or_404(Child, …)`` and ``get_list_or_404(…)``.

``Model.objects.create(…)`` and ``.bulk_create(…)`` are writes, which services may make. A queryset
reached from another model (``child.case_notes``, ``Action.objects.filter(challenge__…)``) and
``apps.get_model`` are out of its reach: review catches those.

    python scripts/check_chokepoint.py [--root DIR]

prints ``path:line: what`` for each and exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("resolve", "config")

# The guarded models, and what to use instead.
GUARDED: dict[str, str] = {
    "Child": "children_visible_to / child_get_for_user",
    "Challenge": "challenges_visible_to / challenge_get_for_user / challenge_get_for_change",
    "CaseNote": "case_notes_visible_to / case_note_get_for_user / case_note_get_for_change",
}
MANAGERS = frozenset({"objects", "_default_manager", "_base_manager"})
WRITES = frozenset({"create", "bulk_create"})
SHORTCUTS = frozenset({"get_object_or_404", "get_list_or_404", "aget_object_or_404", "aget_list_or_404"})

# Where a direct query is right, and why (paths relative to the root; fnmatch, so * spans folders).
ALLOWED: dict[str, str] = {
    "resolve/access/*": "the chokepoint itself",
    "*/selectors.py": "the read layer: selectors take the querysets the chokepoint scoped, or read "
    "for the system (deadlines, digests) rather than for a person",
    "*/models.py": "the models define their managers and relations",
    "*/migrations/*": "migrations work on historical models, for no person",
    "*/tests/*": "tests build and inspect their own data",
    "resolve/testing/*": "shared test fixtures",
    "*/demo.py": "builds the demo authority's data",
    "resolve/challenges/management/commands/load_demo.py": "builds demo data (asks whether any exists)",
    "resolve/audit/verify.py": "verifies the evidence: every chain, whoever may see it",
    "resolve/casesystem/retention.py": "disposal empties the text of a child's case notes (written once) "
    "through the base manager, after child_get_for_allocation has locked the child and logged the look",
}


@dataclass(frozen=True, order=True)
class Violation:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def allowed(relative: str) -> bool:
    return any(fnmatchcase(relative, pattern) for pattern in ALLOWED)


def _names(tree: ast.Module) -> tuple[dict[str, str], set[str]]:
    """Local names for the guarded models (``Kid`` -> ``Child``) and for modules that may hold them."""
    models = {name: name for name in GUARDED}
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in GUARDED:
                    models[alias.asname or alias.name] = alias.name
                elif alias.name == "models" or alias.name.endswith("_models"):
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.endswith(".models"):
                    modules.add(alias.asname or alias.name)
    return models, modules


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _model(node: ast.expr, models: dict[str, str], modules: set[str]) -> str | None:
    """The guarded model ``node`` names (``Child``, ``Kid``, ``models.Child``), if it names one."""
    if isinstance(node, ast.Name):
        return models.get(node.id)
    if isinstance(node, ast.Attribute) and node.attr in GUARDED and _dotted(node.value) in modules:
        return node.attr
    return None


def scan_source(source: str, relative: str) -> list[Violation]:
    tree = ast.parse(source, filename=relative)
    models, modules = _names(tree)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    found: list[Violation] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in MANAGERS:
            model = _model(node.value, models, modules)
            if model is None:
                continue
            method = parents.get(node)
            call = parents.get(method) if method else None
            is_write = (
                isinstance(method, ast.Attribute)
                and method.attr in WRITES
                and isinstance(call, ast.Call)
                and call.func is method
            )
            if not is_write:
                found.append(
                    Violation(relative, node.lineno, f"{model}.{node.attr} read; use {GUARDED[model]}")
                )
        elif isinstance(node, ast.Call) and node.args:
            function = _dotted(node.func) or ""
            model = _model(node.args[0], models, modules)
            if function.rsplit(".", 1)[-1] in SHORTCUTS and model is not None:
                found.append(
                    Violation(relative, node.lineno, f"{function}({model}, …) read; use {GUARDED[model]}")
                )
    return found


def scan(root: Path) -> list[Violation]:
    found: list[Violation] = []
    for folder in SCANNED:
        for path in sorted((root / folder).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if not allowed(relative):
                found += scan_source(path.read_text(encoding="utf-8"), relative)
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=ROOT, help="the project to scan (default: this one)")
    arguments = parser.parse_args(argv)
    found = scan(arguments.root)
    for violation in found:
        print(violation)
    if found:
        print(
            f"{len(found)} direct quer{'y' if len(found) == 1 else 'ies'} of children, challenges or case "
            "notes outside resolve/access: read them through the chokepoint, or add the file to ALLOWED "
            "in scripts/check_chokepoint.py with the reason.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The module-cycle check that `make check-imports` runs finds a cycle, and only a cycle."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import grimp

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_import_cycles.py"


def _load():
    spec = importlib.util.spec_from_file_location("check_import_cycles", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_finds_a_cycle_through_a_third_module_and_nothing_else():
    check = _load()
    graph = grimp.ImportGraph()
    for importer, imported in [
        ("app.services", "app.models"),
        ("app.models", "access.scoping"),
        ("access.scoping", "app.services"),  # the cycle, through three modules
        ("web.views", "app.services"),  # above everything: no cycle
        ("app.models", "core.errors"),
    ]:
        graph.add_import(importer=importer, imported=imported)
    modules = set(graph.modules)
    assert check._cycles(graph, modules) == [["access.scoping", "app.models", "app.services"]]
    graph.remove_import(importer="access.scoping", imported="app.services")
    assert check._cycles(graph, modules) == []

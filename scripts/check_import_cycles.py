"""Fail when two modules of resolve import each other, directly or through others.

import-linter's contracts (``.importlinter``) keep the layers in order between apps; an app's own
modules sit on different layers (a challenge's models are below the access chokepoint, its write
path above it), so the apps as wholes may depend on each other both ways. What must never happen is a
cycle between *modules*: Python then depends on import order, and code starts importing inside
functions to get round it. import-linter has no contract for that, so this walks the same import
graph (grimp, which import-linter is built on) and reports every strongly connected set of modules.
Tests and migrations are left out: they sit above everything they import.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Tarjan's strongly connected components of size > 1, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def imports(module: str) -> list[str]:
        return sorted(graph.find_modules_directly_imported_by(module) & modules)

    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(imports(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append(
                        (target, iter(sorted(graph.find_modules_directly_imported_by(target) & modules)))
                    )
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def main() -> int:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph("resolve")
    modules = {m for m in graph.modules if ".tests" not in m and ".migrations" not in m}
    cycles = _cycles(graph, modules)
    for cycle in cycles:
        print("Import cycle between: " + ", ".join(cycle))
    if cycles:
        print("Decide which module is lower and move what the lower one needs down (not into a function).")
        return 1
    print(f"No import cycles among {len(modules)} modules.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

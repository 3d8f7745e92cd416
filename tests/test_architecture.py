"""The import graph keeps its layering: stages import lower stages only.

Read from the ``import`` lines (ast) of every module of the package, the
same graph a newcomer would draw; each rule below is one the architecture
pass put in place (issue 16).
"""

from __future__ import annotations

import ast
import os
from typing import Dict, Set

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = {"tfface": os.path.join(ROOT, "tfface"), "tfface.export": os.path.join(ROOT, "export")}


def module_imports() -> Dict[str, Set[str]]:
    """Module name -> the modules it imports (at any depth of the file)."""
    graph: Dict[str, Set[str]] = {}
    for package, folder in PACKAGES.items():
        for directory, _, files in os.walk(folder):
            for name in files:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(directory, name)
                relative = os.path.relpath(path, folder)[:-3].replace(os.sep, ".")
                module = package if relative == "__init__" else \
                    f"{package}.{relative.removesuffix('.__init__')}"
                if package == "tfface" and module.startswith("tfface.export"):
                    continue
                with open(path, encoding="utf-8") as handle:
                    tree = ast.parse(handle.read())
                found = set()
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        found.update(alias.name for alias in node.names)
                    elif isinstance(node, ast.ImportFrom):
                        base = node.module or ""
                        if node.level:  # relative: resolve against this package
                            parent = module if name == "__init__.py" else module.rpartition(".")[0]
                            for _ in range(node.level - 1):
                                parent = parent.rpartition(".")[0]
                            base = f"{parent}.{base}" if base else parent
                        found.add(base)
                graph[module] = found
    return graph


GRAPH = module_imports()


def importers_of(target: str, within: str) -> Set[str]:
    return {m for m, deps in GRAPH.items()
            if (m == within or m.startswith(within + "."))
            and any(d == target or d.startswith(target + ".") for d in deps)}


def test_the_graph_is_read():
    assert "tfface.layers.renderer" in GRAPH["tfface.training.autoencoder"]
    assert "tfface.export.converters" in GRAPH["tfface.export.pipeline"]


@pytest.mark.parametrize("within, target", [
    ("tfface.faces", "tfface.layers"),          # alignment needs no renderer
    ("tfface.fitting", "tfface.training"),      # fitting uses FaceLoss, not the training model
    ("tfface.fitting", "tfface.faces"),         # the fit needs landmarks, not a landmarker
    ("tfface.arkit", "tfface.faces"),           # names only: no landmarker either
    ("tfface.config", "tfface.faces"),          # recipes validate before OpenCV loads
    ("tfface.morphable", "tfface.layers"),      # models are data
    ("tfface.layers", "tfface.faces"),
    ("tfface.layers", "tfface.fitting"),
    ("tfface.layers", "tfface.training"),
    ("tfface.losses", "tfface.layers"),
    ("tfface.pinhole", "tfface.layers"),
    ("tfface.export", "tfface.training"),
    ("tfface.training", "tfface.inference"),    # inference stages sit above training and
    ("tfface.fitting", "tfface.inference"),     # fitting; only the command line uses them
    ("tfface.faces", "tfface.inference"),
    ("tfface.export", "tfface.inference"),
])
def test_layering(within, target):
    assert not importers_of(target, within), f"{within} imports {target}"


def test_neither_package_nor_benchmarks_import_tests():
    folder = os.path.join(ROOT, "benchmarks")
    benchmark_imports = set()
    for name in (n for n in os.listdir(folder) if n.endswith(".py")):
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        benchmark_imports |= {(name, n.module or "") for n in ast.walk(tree)
                              if isinstance(n, ast.ImportFrom)}
        benchmark_imports |= {(name, a.name) for n in ast.walk(tree)
                              if isinstance(n, ast.Import) for a in n.names}
    assert ("render.py", "tfg_kernel") in benchmark_imports  # the walk sees imports
    assert not [(f, m) for f, m in benchmark_imports if m.split(".")[0] == "tests"]
    for module, deps in GRAPH.items():
        assert not any(d.split(".")[0] in ("tests", "benchmarks") for d in deps), module


def _cycles(graph: Dict[str, Set[str]]) -> list:
    """The import cycles of ``graph`` (strongly connected components of more
    than one module; Tarjan's algorithm), each a sorted list of modules."""
    modules = set(graph)

    def module_of(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    edges = {m: {module_of(d) for d in deps} - {"", m} for m, deps in graph.items()}
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: list = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert _cycles({"a": {"b"}, "b": {"c.x"}, "c.x": {"a"}, "d": {"a"}}) == [["a", "b", "c.x"]]
    assert _cycles(GRAPH) == []

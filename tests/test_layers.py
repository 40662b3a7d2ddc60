"""The house's layering, written once: which package of src/backdrop may import which.

Arrows run one way (README "How it works"): cli/serving -> api -> orders -> (accounts, uploads,
queue, storage, db) -> engines -> imaging -> ground. Imports inside functions count too, so a
cycle cannot hide behind one; `TYPE_CHECKING` imports do not, since they never run.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "backdrop"

# The ground: imported by everyone, importing (almost) nothing.
_GROUND = {"kinds", "errors", "common"}
_BASE = _GROUND | {"settings", "observability"}

# Package (or top-level module) -> what it may import besides itself and `backdrop` (the
# version). A new edge is a design decision: add it here, and to the README's picture.
ALLOWED: dict[str, set[str]] = {
    "kinds": set(),
    "errors": set(),
    "common": set(),
    "settings": {"kinds"},
    "observability": {"settings"},
    "imaging": _GROUND,
    "engines": _BASE | {"imaging"},
    "evaluation": _BASE | {"imaging", "engines"},
    "storage": _BASE,
    "db": _GROUND | {"settings"},
    "queue": _BASE,
    "accounts": _BASE | {"db"},
    "uploads": _BASE | {"db", "storage", "imaging"},
    "orders": _BASE | {"db", "storage", "queue", "accounts", "uploads", "engines", "imaging"},
    # engines: the catalogue of model ids the request schema lists (one list for all).
    "api": _BASE | {"orders", "accounts", "uploads", "storage", "imaging", "engines"},
    "serving": _BASE
    | {"api", "orders", "accounts", "uploads", "queue", "storage", "db", "engines"},
    # The SDK runs on machines without the server: only the ground that has no dependencies.
    "client": {"common"},
    "cli": _BASE
    | {
        "api",
        "serving",
        "orders",
        "accounts",
        "queue",
        "storage",
        "db",
        "engines",
        "evaluation",
        "imaging",
        "client",
    },
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "backdrop"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, source: str | None = None) -> set[str]:
    """The backdrop modules `path` imports at run time (a from-import of a name counts as its
    module; of a submodule, as that submodule)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                if _exists(candidate):
                    found.add(candidate)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text() if source is None else source))
    return {name for name in found if name == "backdrop" or name.startswith("backdrop.")}


def _exists(module: str) -> bool:
    relative = Path(*module.split(".")[1:])
    return (SRC / relative).with_suffix(".py").is_file() or (SRC / relative).is_dir()


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        graph[_module_name(path)] = {
            name for name in _imports(path) if _exists(name) or name == "backdrop"
        }
    return graph


def test_every_package_is_declared() -> None:
    packages = {_package(module) for module in _graph()} - {"backdrop"}
    assert packages <= set(ALLOWED), f"undeclared: {sorted(packages - set(ALLOWED))}"


def test_no_package_imports_a_layer_above_it() -> None:
    upward: dict[str, set[str]] = defaultdict(set)
    for module, targets in _graph().items():
        source = _package(module)
        for target in targets:
            into = _package(target)
            if into not in {source, "backdrop"} and into not in ALLOWED[source]:
                upward[f"{source} -> {into}"].add(f"{module} imports {target}")
    assert not upward, "\n".join(f"{edge}: {sorted(why)}" for edge, why in upward.items())


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph`, or None (iterative depth-first search)."""
    state: dict[str, int] = {}
    for root in graph:
        if state.get(root):
            continue
        stack = [(root, iter(sorted(graph[root])))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(child) == 1:
                return [*path[path.index(child) :], child]
            elif not state.get(child) and child in graph:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))
    return None


def test_no_import_cycle_between_modules() -> None:
    graph = _graph()
    # A package's __init__ importing its own modules is how packages expose names, not a cycle.
    edges = {
        module: {
            t for t in targets if t not in {module, "backdrop"} and not module.startswith(f"{t}.")
        }
        for module, targets in graph.items()
    }
    assert _cycle(edges) is None, " -> ".join(_cycle(edges) or [])


def test_no_import_cycle_between_packages() -> None:
    packages: dict[str, set[str]] = defaultdict(set)
    for module, targets in _graph().items():
        packages[_package(module)] |= {_package(t) for t in targets} - {_package(module)}
    packages = {name: deps - {"backdrop"} for name, deps in packages.items()}
    assert _cycle(packages) is None, " -> ".join(_cycle(packages) or [])


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from backdrop.orders.desk import OrderDesk\n", {"backdrop.orders.desk"}),
        (
            "from backdrop.engines import pipeline\n",
            {"backdrop.engines", "backdrop.engines.pipeline"},
        ),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import backdrop.api\n", set()),
        ("def f():\n    import backdrop.api.app\n", {"backdrop.api.app"}),
    ],
)
def test_the_check_sees_imports_as_python_runs_them(source: str, expected: set[str]) -> None:
    assert _imports(SRC / "kinds.py", source) == expected

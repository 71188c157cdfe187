"""The engine's modules import one way: no cycle, no import tucked inside a function, no web code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "engine"
MODULES = {p.stem: p for p in sorted(ENGINE.glob("*.py"))}  # "__init__" is the package itself
FORBIDDEN = ("app", "fastapi", "pydantic", "starlette", "json")


def _module_of(name: str) -> str | None:
    """The engine module a dotted name (relative to the package) refers to, or None if outside it."""
    return name if name in MODULES else None


def _imports(path: Path) -> list[tuple[ast.stmt, bool, str, list[str]]]:
    """Every import in a file: (node, inside a function, absolute module or "" for relative, engine targets)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    parts = alias.name.split(".")
                    targets = [_module_of(parts[1]) or "__init__"] if parts[0] == "engine" and len(parts) > 1 \
                        else ["__init__"] if parts[0] == "engine" else []
                    found.append((child, in_function, alias.name, targets))
            elif isinstance(child, ast.ImportFrom):
                if child.level == 0:
                    parts = (child.module or "").split(".")
                    if parts[0] != "engine":
                        found.append((child, in_function, child.module or "", []))
                        continue
                    base = parts[1:]
                elif child.level == 1:
                    base = (child.module or "").split(".") if child.module else []
                else:
                    raise AssertionError(f"{path.name}:{child.lineno}: imports from above the engine package")
                if base:  # from .registry import op -> registry
                    targets = [_module_of(base[0]) or "__init__"]
                else:  # from . import ops -> ops; from . import name -> the package's __init__
                    targets = [_module_of(a.name) or "__init__" for a in child.names]
                found.append((child, in_function, "", targets))
            visit(child, nested)

    visit(tree, False)
    return found


GRAPH = {name: sorted({t for _, _, _, targets in _imports(path) for t in targets} - {name})
         for name, path in MODULES.items()}


def _cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """One import cycle among the modules, as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in graph.get(m, []):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        path.pop()
        state[m] = 2
        return None

    for m in graph:
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_parser_sees_the_layers_it_checks():
    # the checks below are only as good as the graph: it must hold the edges we know exist
    assert "graph" in GRAPH["tensor"]
    assert "registry" in GRAPH["dispatch"]
    assert "ops" in GRAPH["functions"]
    assert "functions" in GRAPH["__init__"]
    assert GRAPH["graph"] == [] and GRAPH["errors"] == []


def test_the_cycle_finder_finds_a_cycle_through_several_modules():
    assert _cycle({"a": ["b"], "b": ["c"], "c": ["a"], "d": []}) == ["a", "b", "c", "a"]
    assert _cycle({"a": ["b"], "b": [], "c": ["a", "b"]}) is None


def test_no_import_cycle_among_engine_modules():
    # the package's __init__ imports every layer, so no module may import it back (from . import name)
    cycle = _cycle(GRAPH)
    assert cycle is None, "engine modules import each other in a circle: " + " -> ".join(cycle)


def test_nothing_in_the_engine_imports_inside_a_function():
    hidden = [f"{name}.py:{node.lineno}" for name, path in MODULES.items()
              for node, in_function, _, targets in _imports(path)
              if in_function and (targets or getattr(node, "level", 0))]
    assert hidden == [], f"imports inside functions (a cycle in disguise): {hidden}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_the_engine_imports_no_service_or_web_code(name):
    outside = {absolute.split(".")[0] for _, _, absolute, _ in _imports(MODULES[name]) if absolute}
    assert not outside & set(FORBIDDEN), f"engine/{name}.py imports {sorted(outside & set(FORBIDDEN))}"


def test_the_layers_stack_in_their_order():
    # bottom to top; each module may import only modules before it in this list
    order = ["errors", "graph", "tensor", "kwarg_types", "registry", "dispatch", "autograd", "ops", "functions",
             "derivatives"]
    for i, name in enumerate(order):
        above = set(GRAPH[name]) & set(order[i + 1:])
        assert not above, f"engine/{name}.py imports {sorted(above)}, which sit above it"

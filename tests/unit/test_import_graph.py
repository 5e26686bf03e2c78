"""No import circle inside `batchtasks/`, and the one-way doors between its rooms.

The graph is read from the source with `ast` (nothing is imported): an edge for every import of
a `batchtasks` module, including imports inside functions (a deferred import still ties the two
modules together), but not those under `if TYPE_CHECKING:` (types only, never executed).
`from package import name` is an edge to the submodule when `name` is one, else to the package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "batchtasks"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except the bodies of `if TYPE_CHECKING:` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _resolve(importer: str, is_package: bool, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imports_of(name: str) -> set[str]:
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(name, path.name == "__init__.py", node.module, node.level)
            submodules = [f"{target}.{alias.name}" for alias in node.names]
            targets = [sub for sub in submodules if sub in MODULES] or [target]
            if len(targets) < len(submodules):  # some names are attributes of the package
                targets.append(target)
        else:
            continue
        found.update(t for t in targets if t in MODULES and t != name)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path (first node repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


GRAPH = {name: imports_of(name) for name in MODULES}


def test_the_graph_is_read() -> None:
    # Known edges, so a parser that finds nothing cannot pass the cycle check.
    assert "batchtasks._private.wire" in GRAPH["batchtasks._private.pipeline"]
    assert "batchtasks._private.protocol" in GRAPH["batchtasks._private.tasks"]
    assert "batchtasks.cli._bulk" in GRAPH["batchtasks.cli._commands"]  # a deferred import
    assert len(GRAPH) > 50


def test_find_cycle_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


def test_no_import_circle_in_batchtasks() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_client_never_imports_the_emulator() -> None:
    client_side = [n for n in GRAPH if n.startswith(("batchtasks._private", "batchtasks.models"))]
    for name in client_side:
        assert not any(t.startswith("batchtasks.emulator") for t in GRAPH[name]), name


def test_emulator_never_imports_client_internals() -> None:
    for name in (n for n in GRAPH if n.startswith("batchtasks.emulator")):
        bad = [t for t in GRAPH[name] if t.startswith(("batchtasks._private", "batchtasks.models"))]
        assert not bad, (name, bad)

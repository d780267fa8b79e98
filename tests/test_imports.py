"""No module of either package imports one that imports it back, lazy imports inside functions included."""

import ast
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGES = ("nninv", "nninv_book")


def imports(path: Path, package: str) -> set[str]:
    """The modules of the project that ``path`` imports anywhere, as dotted names."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(f"{package}.{node.module}")
    return found


def graph() -> dict[str, set[str]]:
    modules = {f"{package}.{path.stem}": path for package in PACKAGES for path in (ROOT / "src" / package).glob("*.py")}
    modules = {name.removesuffix(".__init__"): path for name, path in modules.items()}
    return {name: {other for other in imports(path, name.split(".")[0]) if other in modules and other != name}
            for name, path in modules.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``edges`` as the list of modules it passes, or ``None``."""
    state: dict[str, str] = {}

    def visit(module, path):
        state[module] = "open"
        for other in sorted(edges[module]):
            if state.get(other) == "open":
                return path[path.index(other):] + [other]
            if other not in state and (found := visit(other, path + [other])):
                return found
        state[module] = "done"
        return None

    for module in sorted(edges):
        if module not in state and (found := visit(module, [module])):
            return found
    return None


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_one_that_imports_it_back(package):
    edges = {name: {other for other in targets if other.split(".")[0] == package and other != package}
             for name, targets in graph().items() if name.split(".")[0] == package and name != package}
    assert cycle(edges) is None, " -> ".join(cycle(edges))


def test_the_cycle_finder_finds_a_lazy_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None

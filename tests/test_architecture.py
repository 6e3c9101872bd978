"""The shape of the code: modules inside `incidents/` import each other without cycles (counting
imports deferred into functions, which hide a cycle rather than remove it), and at the top of
the module, so each module's dependencies can be read off its first lines."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "incidents"


def _modules():
    """{dotted name: path} of every module in the app, migrations aside."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _is_package(name):
    return MODULES.get(name, Path()).name == "__init__.py"


def _imported(name, node):
    """The app's modules that one import statement loads: the module named, each name it takes
    that is a submodule, and the packages above them (but not the importer's own packages,
    which are already loading when it runs)."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = name if _is_package(name) else name.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}".rstrip(".")
        targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
    found = set()
    for target in targets:
        while target:
            if target in MODULES and not name.startswith(f"{target}."):
                found.add(target)
            target = target.rpartition(".")[0]
    found.discard(name)
    return found


def _imports(name, tree):
    """Every import in the module, at its top or inside a function: an import deferred into a
    function still ties the two modules together."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found |= _imported(name, node)
    return found


def import_graph():
    return {name: _imports(name, ast.parse(path.read_text())) for name, path in MODULES.items()}


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_app_has_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_check_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_graph_reads_relative_and_package_imports():
    graph = import_graph()
    assert "incidents.importers.base" in graph["incidents.importers"]
    assert "incidents.models" in graph["incidents.services.review"]


def _local_imports():
    """(path, line) of imports inside functions that no comment explains."""
    unexplained = []
    for path in MODULES.values():
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for statement in ast.walk(node):
                if isinstance(statement, ast.Import | ast.ImportFrom):
                    here = lines[statement.lineno - 1]
                    above = lines[statement.lineno - 2].strip()
                    if "#" not in here and not above.startswith("#"):
                        unexplained.append(f"{path.relative_to(PACKAGE.parent)}:{statement.lineno}")
    return unexplained


def test_imports_inside_functions_say_why():
    assert _local_imports() == []


@pytest.mark.parametrize("module", ["incidents.permissions", "incidents.text"])
def test_the_bottom_layer_imports_nothing_of_the_app(module):
    """Models, services, views and templates all ask these; they ask nothing back."""
    assert import_graph()[module] == set()

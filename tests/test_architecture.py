"""The package's shape: no import cycle (outside ``TYPE_CHECKING``), and public names that
are unique across the package.

Imports are read from the source with ``ast``: module-level ones and the ones inside
functions (a lazy import is still a dependency), every module under
``src/maintainx_resilient``, ``testing/`` included. Importing ``a.b.c`` also runs the
packages ``a.b`` on the way, so that counts as importing them too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import maintainx_resilient

ROOT = Path(maintainx_resilient.__file__).parent
PACKAGE = ROOT.name


def _modules() -> dict[str, tuple[Path, bool]]:
    found: dict[str, tuple[Path, bool]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


def _imported(tree: ast.AST) -> Iterator[tuple[int, str | None, tuple[str, ...]]]:
    """``(level, module, names)`` of every import outside ``if TYPE_CHECKING:``."""

    def walk(node: ast.AST) -> Iterator[tuple[int, str | None, tuple[str, ...]]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    yield from walk(other)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield 0, alias.name, ()
            elif isinstance(child, ast.ImportFrom):
                yield child.level, child.module, tuple(a.name for a in child.names)
            yield from walk(child)

    yield from walk(tree)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (outside ``TYPE_CHECKING``)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}

    def known(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    for name, (path, is_package) in modules.items():
        here = name.split(".") if is_package else name.split(".")[:-1]
        for level, module, names in _imported(ast.parse(path.read_text("utf-8"))):
            if level:
                base = ".".join(here[: len(here) - level + 1] + ([module] if module else []))
            else:
                base = module or ""
            if base != PACKAGE and not base.startswith(PACKAGE + "."):
                continue
            targets = [f"{base}.{n}" for n in names if f"{base}.{n}" in modules] or [base]
            for target in targets:
                found = known(target)
                if found is None:
                    continue
                parts = found.split(".")
                # The packages on the way run first (the root package is everyone's parent).
                for depth in range(2, len(parts) + 1):
                    step = ".".join(parts[:depth])
                    if step in modules and step != name and not name.startswith(step + "."):
                        graph[name].add(step)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_package() -> None:
    """The graph covers every module, testing/ included, and finds known edges."""
    graph = import_graph()
    assert f"{PACKAGE}.testing._simulator" in graph
    assert f"{PACKAGE}._pipeline" in graph[f"{PACKAGE}._client"]
    # A lazy import inside a function is an edge; the package on the way is one too.
    assert f"{PACKAGE}.diagnostics._text" in graph[f"{PACKAGE}.diagnostics.render"]
    assert f"{PACKAGE}.telemetry" in graph[f"{PACKAGE}.policies.auth"]


def test_cycles_are_found() -> None:
    """The cycle finder is not vacuous."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycle_outside_type_checking() -> None:
    """No module depends on itself through others (annotations use TYPE_CHECKING)."""
    assert cycles(import_graph()) == []


#: Names several modules define on purpose: a runbook procedure module is ``RUNBOOK``,
#: ``TITLE`` and ``check``; a CLI command module is ``register`` (and ``run``); ``main`` is an
#: entry point's.
PROTOCOL_NAMES = frozenset({"RUNBOOK", "TITLE", "check", "register", "run", "main"})
#: Left for their owners: each resource family's ``Literal`` aliases of its list parameters
#: (``resources/`` is the client work's; renaming them is a change there).
LEFT_FOR_RESOURCES = frozenset({"Expand", "Sort", "Status", "Priority"})


_TYPE_VARS = ("TypeVar", "ParamSpec")


def public_definitions(exclude: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Public top-level name -> the modules that define it (classes, functions, constants,
    type aliases; not TypeVars, not ``_private`` names)."""
    defined: dict[str, list[str]] = {}
    for name, (path, _) in _modules().items():
        if any(f".{part}" in name for part in exclude):
            continue
        for node in ast.parse(path.read_text("utf-8")).body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                value = node.value
                if isinstance(value, ast.Call) and getattr(value.func, "id", "") in _TYPE_VARS:
                    continue
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            else:
                continue
            for found in names:
                if not found.startswith("_") and found != "logger":
                    defined.setdefault(found, []).append(name)
    return defined


def test_public_names_are_unique() -> None:
    """One name, one thing: no public name is defined by two modules (the simulator in
    ``testing/`` included)."""
    clashes = {
        name: modules
        for name, modules in public_definitions().items()
        if len(modules) > 1 and name not in PROTOCOL_NAMES | LEFT_FOR_RESOURCES
    }
    assert clashes == {}


#: The package's module-level memo caches, and why none can hold a key (the search for a
#: canary key in tests/test_secrets.py cannot see inside a ``functools`` cache).
KNOWN_CACHES = {
    f"{PACKAGE}.policies.breaker._segments": "keyed by a route template",
    f"{PACKAGE}.policies.breaker._based_scope": "keyed by a base URL without user:password@",
    f"{PACKAGE}._http.base_parts": "keyed by a base URL without user:password@",
    f"{PACKAGE}.policies.throttle._route_kind": "keyed by a route template",
    f"{PACKAGE}.resources._twins._defined_in": "keyed by a module object",
    f"{PACKAGE}.testing._router.default_router": "no arguments: the spec's route table",
    f"{PACKAGE}.testing._catalog.catalog": "no arguments: the spec's resource tables",
    f"{PACKAGE}.testing._validation._regex": "keyed by a pattern from the spec",
    f"{PACKAGE}.testing._spec.openapi": "no arguments: the shipped OpenAPI document",
}


def test_module_level_caches_are_known_and_hold_no_key() -> None:
    """A new ``functools.cache``/``lru_cache`` at module level must be reviewed (and listed
    here): keyed by anything derived from an API key or an ``Authorization`` value, it would
    keep that key for the life of the process."""
    cached: set[str] = set()
    for name, (path, _) in _modules().items():
        for node in ast.parse(path.read_text("utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for decorator in node.decorator_list:
                    target = decorator.func if isinstance(decorator, ast.Call) else decorator
                    if ast.unparse(target).split(".")[-1] in ("cache", "lru_cache"):
                        cached.add(f"{name}.{node.name}")
    assert cached == set(KNOWN_CACHES)


def test_the_client_module_stays_small() -> None:
    """Issue 13's bound: the client is settings, families, the pipeline and one ``send``;
    anything else belongs in a module of its own (the desk, the options, the pipeline)."""
    lines = (ROOT / "_client.py").read_text(encoding="utf-8").count("\n")
    assert lines < 300, f"_client.py has {lines} lines; move what is not the client out"

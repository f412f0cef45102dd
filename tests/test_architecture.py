"""The floors hold: no import cycles, rules below the model, decisions pure, facades thin.

Read from the source text (``ast``), so these checks see every import, including the ones inside
functions that a runtime import graph would only see when the function runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "qiandao": ROOT / "src" / "qiandao",
    "qiandao_adapters": ROOT / "adapters" / "qiandao_adapters",
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            if "migrations" in parts and parts[-1] != "migrations":
                continue  # Alembic scripts are run by Alembic, not imported by the library
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if _type_checking_only(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        else:
            yield from _import_nodes(node)


def _package_of(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def imports_of(module: str) -> set[str]:
    """The library modules ``module`` imports (``from a import b``: ``a.b`` if it is a module)."""
    return imports_of_source(MODULES[module].read_text(encoding="utf-8"), module)


def imports_of_source(source: str, module: str) -> set[str]:
    """The modules a source text imports, as :func:`imports_of` reads them."""
    tree = ast.parse(source)
    targets: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = _package_of(module).split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        targets.update(n for n in names if n in MODULES or n.split(".")[0] not in PACKAGES)
    return {t for t in targets if t != module}


GRAPH = {m: imports_of(m) for m in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_import_graph_is_read() -> None:
    # the checks below are only as good as the graph: it must see real edges
    assert "qiandao.events" in GRAPH["qiandao._core"]
    assert "qiandao.rules.lifecycle" in GRAPH["qiandao.workflow.guards"]
    assert "sqlalchemy" in GRAPH["qiandao_adapters.sql"] or any(
        "sqlalchemy" in GRAPH[m] for m in MODULES if m.startswith("qiandao_adapters.sql.")
    )


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_module_imports_a_module_that_imports_it() -> None:
    assert _cycles(GRAPH) == []


def test_the_domain_imports_no_adapter() -> None:
    for module, targets in GRAPH.items():
        if module.startswith("qiandao.") or module == "qiandao":
            bad = {
                t
                for t in targets
                if t.split(".")[0]
                in {
                    "qiandao_adapters",
                    "sqlalchemy",
                    "alembic",
                    "psycopg",
                    "pymysql",
                    "argon2",
                    "cryptography",
                }
            }
            assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("qiandao.rules.")))
def test_rules_know_nothing_of_the_model_or_events(module: str) -> None:
    assert not GRAPH[module] & {"qiandao.model", "qiandao.events"}, module


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("qiandao.calendar")))
def test_the_calendar_is_a_library_of_its_own(module: str) -> None:
    """The calendar needs only itself, the errors and labelled enums; file I/O only in reader."""
    own = {m for m in MODULES if m.startswith("qiandao.calendar")}
    library = {t for t in GRAPH[module] if t.split(".")[0] == "qiandao"}
    assert library <= own | {"qiandao.errors", "qiandao._enum"}, module
    io = {"pathlib", "importlib", "tomllib", "json", "gzip", "io", "shutil"} & GRAPH[module]
    assert module == "qiandao.calendar.reader" or not io, io


def test_the_converter_imports_neither_model_nor_events() -> None:
    assert not GRAPH["qiandao.converter"] & {"qiandao.model", "qiandao.events"}


WORKFLOW = sorted(m for m in MODULES if m.startswith("qiandao.workflow"))
_WALL_CLOCK = {"now", "today", "utcnow", "time", "time_ns", "monotonic", "perf_counter"}
_EFFECTS = {"uuid", "random", "secrets", "os", "pathlib", "io", "socket", "threading", "time"}


def _effect_calls(tree: ast.AST) -> list[str]:
    """Calls that read a clock or draw randomness, whatever object or alias they go through."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if isinstance(node.func, ast.Name):
            name = node.func.id
        if name in _WALL_CLOCK or name in {"uuid4", "urandom", "token_hex", "token_urlsafe"}:
            found.append(ast.unparse(node))
    return found


@pytest.mark.parametrize("module", WORKFLOW)
def test_decisions_are_pure(module: str) -> None:
    """A workflow module imports no store, clock, calendar data, adapter or service, draws no
    randomness and reads no clock: its ids, instant and calendar come in through the context.

    Value types that travel through ports (``qiandao.ports.notify.Notice``) are fine.
    """
    forbidden = {m for m in MODULES if m.startswith(("qiandao.testing", "qiandao_adapters"))}
    forbidden |= {m for m in MODULES if m.startswith("qiandao.calendar")}
    forbidden |= {"qiandao.ports.clock", "qiandao.ports.store", "qiandao.ports.security"}
    forbidden |= {"qiandao._core", "qiandao.service", *_EFFECTS}
    assert not GRAPH[module] & forbidden, f"{module} imports {GRAPH[module] & forbidden}"
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    assert _effect_calls(tree) == [], f"{module} reads a clock or draws randomness"


def test_the_purity_check_sees_through_aliases() -> None:
    code = "import datetime as dt\nimport uuid as u\ndt.datetime.now(); u.uuid4(); now()\n"
    assert len(_effect_calls(ast.parse(code))) == 3
    assert "uuid" in imports_of_source(code, "qiandao.workflow.x")


FACADES = sorted(m for m in MODULES if m.startswith("qiandao._") and m != "qiandao._enum")


def _nested_functions(tree: ast.AST) -> Iterator[str]:
    for outer in ast.walk(tree):
        if isinstance(outer, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(outer):
                if node is not outer and isinstance(
                    node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
                ):
                    name = getattr(node, "name", "<lambda>")
                    yield f"{outer.name}.{name} (line {node.lineno})"


WRAPPERS = {"qiandao._audit": ["audited.wrapper (line"]}
"""Nested functions that are no decision: the audit decorator's wrapper."""


@pytest.mark.parametrize("module", FACADES)
def test_the_service_holds_no_decision_closures(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    allowed = WRAPPERS.get(module, [])
    nested = [n for n in _nested_functions(tree) if not any(n.startswith(a) for a in allowed)]
    assert nested == []

"""The package's import graph: no cycles, and no arrow from a lower layer to a higher one.

The graph is read from the source with ``ast`` (nothing is imported), one node per module,
one edge per ``import``/``from ... import`` of an sgscript module, absolute or relative
(``from . import x`` names the submodule ``x`` when there is one, else the package).
Every edge has a kind:

- ``runtime``: executed when the module is imported (module level, class bodies, ``try``
  and plain ``if`` blocks);
- ``typing``: under ``if TYPE_CHECKING:``;
- ``deferred``: inside a function, run on first call.

Runtime edges must be acyclic with no exception: a runtime cycle means a half-initialised
module on some import order. Typing and deferred edges count too, for cycles and for
layers alike: an import moved into a function or behind ``TYPE_CHECKING`` hides a cycle
from the interpreter, not from a reader, who still cannot understand either module
without the other (the cycles this test was written against were all of that kind).

Work still under way is listed by edge in ``KNOWN_CYCLE_EDGES`` and ``KNOWN_UPWARD``,
each with the issue that removes it. A listed edge that no longer exists, or no longer
closes a cycle, fails the test: take it off the list, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sgscript"

#: The layers, lowest first: module-name prefix -> layer. The longest matching prefix wins.
LAYER_OF: dict[str, str] = {
    # the bounds on input and the value grammar: nothing else of sgscript, every layer may use them
    "sgscript.limits": "base",
    "sgscript._version": "base",
    "sgscript.grammar": "base",
    "sgscript.scsi": "scsi",
    "sgscript.sim": "sim",
    "sgscript.transport": "transport",
    "sgscript.reactor": "reactor",
    # the seed's Python API: a Channel drives a reactor's per-device queue
    "sgscript.channel": "channel",
    "sgscript.command": "channel",
    "sgscript.handler": "channel",
    "sgscript.scenario": "scenario",
    "sgscript.verify": "verify",
    # the run's result records: plain data the hook specs type their ``result`` parameters with
    "sgscript.runner.results": "results",
    # the plugin contract and the built-in plugins: above the layers they extend, below verify
    "sgscript.hookspecs": "hooks",
    "sgscript.builtin": "hooks",
    "sgscript": "top",  # runner, report, cli, pytest plugin, safety, the package's own API
}

#: What each layer may import besides itself; "top" may import everything.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "base": frozenset(),
    "scsi": frozenset(),  # pure bytes <-> values: nothing else of sgscript
    "sim": frozenset({"base", "scsi"}),
    "transport": frozenset({"base", "scsi", "sim"}),
    "reactor": frozenset({"base", "scsi", "transport"}),
    "channel": frozenset({"base", "scsi", "sim", "transport", "reactor"}),
    "scenario": frozenset({"base", "scsi"}),
    "results": frozenset({"base", "scenario"}),
    "hooks": frozenset(
        {"base", "scsi", "sim", "transport", "reactor", "channel", "scenario", "results"}
    ),
    # the plugin manager builds what the hooks contributed: the catalog, sim handlers, targets
    "verify": frozenset({"base", "scsi", "sim", "transport", "scenario", "hooks"}),
}

#: Edges that close a cycle today, each with the issue that removes it.
KNOWN_CYCLE_EDGES: dict[tuple[str, str], str] = {}

#: Edges that point upward today, each with the issue that removes it.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str  # runtime | typing | deferred
    line: int


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name -> (file, is a package ``__init__``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        out[".".join(parts)] = (path, is_package)
    return out


def _imports(body: list[ast.stmt], kind: str) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Import statements in ``body`` with their kind (see the module docstring)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, kind
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _imports(node.body, "deferred" if kind == "runtime" else kind)
        elif isinstance(node, ast.If):
            guarded = "TYPE_CHECKING" in ast.unparse(node.test)
            yield from _imports(node.body, "typing" if guarded else kind)
            yield from _imports(node.orelse, kind)
        else:  # class bodies, try/with/for/while/match: same kind as the enclosing block
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                block = getattr(node, field, None)
                if not block:
                    continue
                for inner in block:
                    if isinstance(inner, ast.ExceptHandler | ast.match_case):
                        yield from _imports(inner.body, kind)
                    else:
                        yield from _imports([inner], kind)


def _targets(
    node: ast.Import | ast.ImportFrom, source: str, is_package: bool, modules: set[str]
) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == "sgscript":
                yield alias.name
        return
    if node.level:
        package = source.split(".") if is_package else source.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    if base.split(".")[0] != "sgscript":
        return
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        yield sub if sub in modules else base


def _graph() -> tuple[dict[str, str], list[Edge]]:
    modules = _modules()
    edges = []
    for name, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for node, kind in _imports(tree.body, "runtime"):
            for target in _targets(node, name, is_package, set(modules)):
                if target != name:
                    assert target in modules, (
                        f"{name}:{node.lineno} imports {target}: no such module"
                    )
                    edges.append(Edge(name, target, kind, node.lineno))
    return {
        name: str(path.relative_to(PACKAGE.parent)) for name, (path, _) in modules.items()
    }, edges


def _cycles(nodes: list[str], edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    succ: dict[str, set[str]] = {n: set() for n in nodes}
    for e in edges:
        succ[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(succ[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(succ[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
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


def _reaches(edges: list[Edge], start: str, goal: str) -> bool:
    succ: dict[str, set[str]] = {}
    for e in edges:
        succ.setdefault(e.source, set()).add(e.target)
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        for nxt in succ.get(node, set()) - seen:
            seen.add(nxt)
            todo.append(nxt)
    return False


def _explain(cycles: list[list[str]], edges: list[Edge], files: dict[str, str]) -> str:
    lines = []
    for component in cycles:
        lines.append("cycle: " + ", ".join(component))
        members = set(component)
        for e in edges:
            if e.source in members and e.target in members:
                lines.append(f"  {files[e.source]}:{e.line} imports {e.target} ({e.kind})")
    return "\n".join(lines)


def _layer(module: str) -> str:
    prefixes = [p for p in LAYER_OF if module == p or module.startswith(p + ".")]
    return LAYER_OF[max(prefixes, key=len)]


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, str], list[Edge]]:
    return _graph()


def test_the_reader_sees_every_kind_of_import(graph: tuple[dict[str, str], list[Edge]]) -> None:
    """The walker finds relative, typing-only and function-local imports (or it proves nothing)."""
    _, edges = graph
    kinds = {(e.source, e.target): e.kind for e in edges}
    assert kinds[("sgscript.sim.lu", "sgscript.sim.core")] == "runtime"  # from .core import ...
    assert kinds[("sgscript.scsi.errors", "sgscript.scsi.sense")] == "typing"
    assert kinds[("sgscript.scsi.pages", "sgscript.scsi.sense")] == "deferred"
    # from . import x
    assert kinds[("sgscript.scsi.commands", "sgscript.scsi.commands.sbc")] == "runtime"
    assert ("sgscript", "sgscript.command") in kinds  # a package's own `from . import command`


def test_runtime_imports_have_no_cycle(graph: tuple[dict[str, str], list[Edge]]) -> None:
    files, edges = graph
    runtime = [e for e in edges if e.kind == "runtime"]
    cycles = _cycles(sorted(files), runtime)
    assert not cycles, _explain(cycles, runtime, files)


def test_no_cycle_through_any_import(graph: tuple[dict[str, str], list[Edge]]) -> None:
    """Typing and deferred imports count; only the listed edges of work under way are let off."""
    files, edges = graph
    kept = [e for e in edges if (e.source, e.target) not in KNOWN_CYCLE_EDGES]
    cycles = _cycles(sorted(files), kept)
    assert not cycles, _explain(cycles, kept, files)


@pytest.mark.parametrize("edge", sorted(KNOWN_CYCLE_EDGES), ids="->".join)
def test_a_known_cycle_is_still_there(
    edge: tuple[str, str], graph: tuple[dict[str, str], list[Edge]]
) -> None:
    """Each listed exception still exists and still closes a cycle; otherwise delete it."""
    _, edges = graph
    source, target = edge
    assert any((e.source, e.target) == edge for e in edges), (
        f"{source} no longer imports {target} ({KNOWN_CYCLE_EDGES[edge]}): "
        "take it off KNOWN_CYCLE_EDGES"
    )
    assert _reaches(edges, target, source), (
        f"{source} -> {target} no longer closes a cycle ({KNOWN_CYCLE_EDGES[edge]}): "
        "take it off KNOWN_CYCLE_EDGES"
    )


def test_every_module_has_a_layer() -> None:
    assert set(LAYER_OF.values()) - {"top"} == set(MAY_IMPORT)
    for module in _modules():
        assert _layer(module) in {*MAY_IMPORT, "top"}, module


def test_no_arrow_points_upward(graph: tuple[dict[str, str], list[Edge]]) -> None:
    """A layer imports itself and the layers below it that it may use, whatever the import kind."""
    files, edges = graph
    upward = []
    for e in edges:
        low, high = _layer(e.source), _layer(e.target)
        if low == "top" or low == high or high in MAY_IMPORT[low]:
            continue
        if (e.source, e.target) not in KNOWN_UPWARD:
            upward.append(
                f"{files[e.source]}:{e.line} ({low}) imports {e.target} ({high}, {e.kind})"
            )
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("edge", sorted(KNOWN_UPWARD), ids="->".join)
def test_a_known_upward_arrow_is_still_there(
    edge: tuple[str, str], graph: tuple[dict[str, str], list[Edge]]
) -> None:
    """Each listed exception still exists and still points upward; otherwise delete it."""
    _, edges = graph
    source, target = edge
    assert any((e.source, e.target) == edge for e in edges), (
        f"{source} no longer imports {target} ({KNOWN_UPWARD[edge]}): take it off KNOWN_UPWARD"
    )
    low, high = _layer(source), _layer(target)
    assert low != "top" and low != high and high not in MAY_IMPORT[low], (
        f"{source} -> {target} is no longer upward: take it off KNOWN_UPWARD"
    )

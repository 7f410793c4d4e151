"""``-k EXPR``: which steps of a scenario run, by name, and the steps they need.

``compile_selection`` reads the expression; ``keep_dependencies`` adds to a
selection the earlier steps that ``save:`` what a selected step reads (without
them it would stop on "undefined variable").
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ...limits import (
    MAX_SELECT_DEPTH,
    MAX_SELECT_LENGTH,
)
from ...scsi.errors import UsageError
from ..expr import ExprError, condition
from ..model import Expectation, Step
from .steps import PlannedStep
from .values import _names

__all__ = ["Pulled", "compile_selection", "keep_dependencies", "step_reads"]


_TOKEN = re.compile(r"\s*(?:(\()|(\))|'([^']*)'|\"([^\"]*)\"|([^\s()]+))")


def compile_selection(expr: str) -> Callable[[Iterable[str]], bool]:
    """``-k`` as pytest reads it, plus phrases; the result tells whether a set of names
    is selected.

    A word matches when it is a case-insensitive substring of any of the names.
    Words next to each other with no operator between them are one phrase, matched
    with single spaces between them (``-k "logical unit"`` is ``-k "'logical unit'"``:
    a step's name is rarely one word); ``and``, ``or``, ``not`` and parentheses
    combine words and phrases, and quotes make an operator word part of a name
    (``-k "'and'"``).  Runs of spaces count as one, in names and phrases alike.
    A malformed expression is a ``UsageError`` naming the column; so is one
    longer than ``MAX_SELECT_LENGTH`` or nested (parentheses, ``not``) deeper
    than ``MAX_SELECT_DEPTH``.
    """
    if len(expr) > MAX_SELECT_LENGTH:
        raise UsageError(f"-k: expression longer than {MAX_SELECT_LENGTH} characters")
    tokens: list[tuple[str, str, int]] = []  # (kind, text, column)
    pos = 0
    text = expr.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        col = m.start() + len(m.group(0)) - len(m.group(0).lstrip()) + 1
        if m.group(1):
            tokens.append(("(", "(", col))
        elif m.group(2):
            tokens.append((")", ")", col))
        else:
            word = next(g for g in m.group(3, 4, 5) if g is not None)
            quoted = m.group(5) is None
            kind = word if not quoted and word in ("and", "or", "not") else "word"
            tokens.append((kind, " ".join(word.lower().split()), col))
        pos = m.end()
    if pos < len(text) and text[pos:].strip():
        raise UsageError(f"-k {expr!r}: unterminated quote at column {pos + 1}")
    if not tokens:
        return lambda names: True
    i = 0
    depth = 0

    def fail(what: str) -> UsageError:
        where = f"column {tokens[i][2]}" if i < len(tokens) else "the end"
        return UsageError(f"-k {expr!r}: expected {what} at {where}")

    def parse_or() -> Callable[[list[str]], bool]:
        nonlocal i
        left = parse_and()
        while i < len(tokens) and tokens[i][0] == "or":
            i += 1
            right = parse_and()
            left = (lambda a, b: lambda n: a(n) or b(n))(left, right)
        return left

    def parse_and() -> Callable[[list[str]], bool]:
        nonlocal i
        left = parse_not()
        while i < len(tokens) and tokens[i][0] == "and":
            i += 1
            right = parse_not()
            left = (lambda a, b: lambda n: a(n) and b(n))(left, right)
        return left

    def parse_not() -> Callable[[list[str]], bool]:
        nonlocal i, depth
        if i >= len(tokens):
            raise fail("a name, 'not' or '('")
        kind, _, col = tokens[i]
        if kind in ("not", "(") and depth >= MAX_SELECT_DEPTH:
            raise UsageError(
                f"-k: nested more than {MAX_SELECT_DEPTH} deep (parentheses and 'not') at column {col}"
            )
        if kind == "not":
            i += 1
            depth += 1
            inner = parse_not()
            depth -= 1
            return lambda n: not inner(n)
        if kind == "(":
            i += 1
            depth += 1
            inner = parse_or()
            depth -= 1
            if i >= len(tokens) or tokens[i][0] != ")":
                raise fail("')'")
            i += 1
            return inner
        if kind == "word":  # adjacent words: one phrase
            words = []
            while i < len(tokens) and tokens[i][0] == "word":
                words.append(tokens[i][1])
                i += 1
            phrase = " ".join(w for w in words if w)
            return lambda n: any(phrase in name for name in n)
        raise fail("a name, 'not' or '('")

    matcher = parse_or()
    if i < len(tokens):
        raise fail("'and', 'or' or the end")
    return lambda names: matcher([" ".join(n.lower().split()) for n in names])


# ----------------------------------------------------------------- what a step needs

#: Step attributes that hold no expression (or hold steps, checked on their own).
_NOT_READ = frozenset(
    {
        "kind",
        "name",
        "device",
        "command",
        "save",
        "timeout",
        "optional",
        "on_failure",
        "reset",
        "sleep",
        "branches",
        "body",
        "cleanup",
        "duration",
        "loop",
        "check",
        "when",
        "requires",
        "id",
        "refs",
        "mark",
        "path",
    }
)


def _condition_names(text: str, answer: frozenset[str] = frozenset()) -> set[str]:
    try:
        return set(condition(text).names) - answer
    except ExprError:  # the loader reported it
        return set()


def _value_names(value: Any) -> set[str]:
    """The variables a model value reads: its ``${...}``, through mappings, lists and the
    model's dataclasses (data sources, expectations, counts), ``check:`` conditions bare."""
    if isinstance(value, str):
        return _names(value)
    if isinstance(value, Expectation):
        if value.kind == "check" and isinstance(value.value, str):
            from ..load.values import ANSWER_NAMES

            return _condition_names(value.value, ANSWER_NAMES)
        return _value_names(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {n for f in dataclasses.fields(value) for n in _value_names(getattr(value, f.name))}
    if isinstance(value, Mapping):
        return {n for v in value.values() for n in _value_names(v)}
    if isinstance(value, list | tuple):
        return {n for v in value for n in _value_names(v)}
    return set()


def step_reads(step: Step) -> frozenset[str]:
    """The variables one step reads itself (not the steps it holds): ``${...}`` in its
    fields, data, expectations, ``repeat``/``queue_depth`` and counts; its ``when:``,
    ``requires:`` and ``check:`` conditions; a group's ``for:`` values."""
    names: set[str] = set()
    for text in (step.when, step.check, *step.requires):
        if text:
            names |= _condition_names(text)
    if step.loop is not None:
        names |= _value_names(step.loop[1])
    for f in dataclasses.fields(step):
        if f.name not in _NOT_READ:
            names |= _value_names(getattr(step, f.name))
    return frozenset(names)


@dataclasses.dataclass
class Pulled:
    """A step ``-k`` did not name that runs because selected steps read what it saves."""

    path: str
    names: list[str]  # what it saves that they read
    dependents: list[str]  # the paths of the steps that read it

    def note(self) -> str:
        """``-k also runs 2 (saves last_lba) for 5``: said by ``plan``, ``--list`` and the run
        (the first few readers of a value many read, then how many more)."""
        shown, more = self.dependents[:_SHOWN], len(self.dependents) - _SHOWN
        readers = ", ".join(shown) + (f" and {more} more" if more > 0 else "")
        return f"-k also runs {self.path} (saves {', '.join(self.names)}) for {readers}"


#: Readers a note names before it counts the rest.
_SHOWN = 5


def _ancestors(path: str, by_path: Mapping[str, PlannedStep]) -> list[PlannedStep]:
    """The containers (``parallel:``, ``group:``) a step is inside, outermost first."""
    parts = path.split(".")
    found = (".".join(parts[:n]) for n in range(1, len(parts)))
    return [by_path[p] for p in found if p in by_path]


def _hidden(saver: PlannedStep, reader: PlannedStep, by_path: Mapping[str, PlannedStep]) -> bool:
    """True when ``saver`` is in another branch of a ``parallel:`` that holds ``reader`` too:
    they run at the same time, and a branch sees only what it saves itself."""
    for outer in _ancestors(saver.path, by_path):
        if outer.kind != "parallel" or not reader.path.startswith(outer.path + "."):
            continue
        depth = outer.path.count(".") + 1
        if saver.path.split(".")[depth] != reader.path.split(".")[depth]:
            return True
    return False


def keep_dependencies(steps: Sequence[PlannedStep], selected: dict[str, bool]) -> list[Pulled]:
    """Select, in ``selected`` (path → selected), every earlier step that ``save:``s a
    variable a selected step reads, with what holds it; return what was added.

    A name is the latest earlier saver's (the value the reader would see in a full
    run; a sibling ``parallel:`` branch does not count), and a step pulled in is read
    in its turn, as are the containers it is inside (a group's ``for:``, ``when:``)
    and its group's ``finally:``.  Names no earlier step saves are ``vars:``.
    """
    order = {ps.path: n for n, ps in enumerate(steps)}
    by_path = {ps.path: ps for ps in steps}
    loops = {ps.path: ps.step.loop[0] for ps in steps if ps.kind == "group" and ps.step.loop}
    savers: dict[str, list[int]] = {}  # name -> positions of the steps that save it
    for n, ps in enumerate(steps):
        for name in ps.step.save:
            savers.setdefault(name, []).append(n)
    pulled: dict[str, Pulled] = {}
    todo = deque(ps for ps in steps if selected.get(ps.path))
    while todo:
        reader = todo.popleft()
        own = {loops[a.path] for a in _ancestors(reader.path, by_path) if a.path in loops}
        for name in sorted((step_reads(reader.step) & savers.keys()) - own):
            at = savers[name]
            earlier = reversed(at[: bisect.bisect_left(at, order[reader.path])])
            saver = next(
                (steps[n] for n in earlier if not _hidden(steps[n], reader, by_path)), None
            )
            if saver is None:
                continue
            if not selected.get(saver.path) or saver.path in pulled:
                entry = pulled.setdefault(saver.path, Pulled(saver.path, [], []))
                if name not in entry.names:
                    entry.names.append(name)
                if reader.path not in entry.dependents:
                    entry.dependents.append(reader.path)
            for ps in (*_ancestors(saver.path, by_path), saver):
                if selected.get(ps.path):
                    continue
                selected[ps.path] = True
                todo.append(ps)
                if ps.kind == "group":  # its finally: runs when it does
                    cleanup = [c for c in steps if c.path.startswith(ps.path + ".finally.")]
                    for c in cleanup:
                        if not selected.get(c.path):
                            selected[c.path] = True
                            todo.append(c)
    for entry in pulled.values():
        entry.dependents.sort(key=order.__getitem__)
    return sorted(pulled.values(), key=lambda p: order[p.path])

"""``-k EXPR``: which steps of a scenario run, by name."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ...limits import (
    MAX_SELECT_DEPTH,
    MAX_SELECT_LENGTH,
)
from ...scsi.errors import UsageError

__all__ = ["compile_selection"]


_TOKEN = re.compile(r"\s*(?:(\()|(\))|'([^']*)'|\"([^\"]*)\"|([^\s()]+))")


def compile_selection(expr: str) -> Callable[[Iterable[str]], bool]:
    """``-k`` as pytest reads it; the result tells whether a set of names is selected.

    A word matches when it is a case-insensitive substring of any of the names.
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
            tokens.append((kind, word.lower(), col))
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
        kind, word, col = tokens[i]
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
        if kind == "word":
            i += 1
            return lambda n: any(word in name for name in n)
        raise fail("a name, 'not' or '('")

    matcher = parse_or()
    if i < len(tokens):
        raise fail("'and', 'or' or the end")
    return lambda names: matcher([n.lower() for n in names])

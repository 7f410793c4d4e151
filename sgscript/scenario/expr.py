"""``${...}`` expressions: arithmetic over variables, checked against a whitelist, never ``eval``.

Python's own parser reads the text (so precedence and number literals are
Python's: ``0x21``, ``1_000``, ``2**10``), then every node is checked against
the table below and compiled into nested closures; nothing else of Python is
reachable (no Python attribute, lambdas, or calls other than the listed
functions), so a spec cannot reach the interpreter.  A ``Namespace`` is the
one thing ``.`` reaches: a read-only mapping of facts (and ``Function``s)
that the runner builds, such as a device's.

=====================  ======================================================
allowed                meaning
=====================  ======================================================
``12 0x21 1.5 'txt'``  literals (ints of any base, floats, strings)
``name``               a variable (``vars:``, earlier ``save:``, built-ins)
``+ - * % **``         arithmetic; ``-x`` ``+x``
``/``                  division: exact integer when it divides, else a float
                       (``8/2`` is ``4``, ``7/2`` is ``3.5``)
``//``                 floor division (``7//2`` is ``3``)
``& | ^ << >> ~``      bitwise, for flags and block arithmetic
``< <= == != >= >``    comparisons (chains allowed), giving true/false
``in  not in``         membership in a list or text: ``0xB2 in pages``
``[1, 2]``             a list literal (for ``in``)
``x[0]``               an entry of a list, a byte of saved bytes, a key of a
                       saved mapping; counted from 0
``device.lbpme``       a fact of a namespace the runner provides, or a field
                       of a decoded response (``response.page_code``); never
                       Python's attributes: names starting with ``_`` are
                       refused, and ``.`` works on mappings only
``and or not``         boolean logic, Python semantics
``min max abs len``    the functions; a namespace may offer its own
                       (``device.supports('CompareAndWrite')``)
=====================  ======================================================

Integers are bounded (``MAX_BITS``) so ``2**2**40`` is an error, not a hang;
text is bounded (``MAX_STRING``) before it is built, so ``'x' * 10**8`` and
``'%0999999999d' % 1`` are errors too (``sgscript.limits`` holds both).
Errors are ``ExprError`` carrying the 0-based ``offset`` (and 1-based
``column``) of the offending character in the text, so the loader can point
at it inside the YAML line.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..limits import MAX_BITS, MAX_EXPR_LENGTH, MAX_STRING
from ..scsi.errors import UsageError

__all__ = [
    "MAX_BITS",
    "MAX_STRING",
    "Expr",
    "ExprError",
    "Function",
    "Namespace",
    "Template",
    "compile_expr",
    "condition",
    "is_expression",
    "resolve",
    "template",
]

MAX_LENGTH = MAX_EXPR_LENGTH  # the older name

Number = int | float
Scalar = int | float | str
_Fn = Callable[[Mapping[str, Any]], Any]


class ExprError(UsageError):
    """A bad or failing expression; ``offset`` is 0-based into ``text``, ``column`` 1-based."""

    def __init__(self, message: str, text: str = "", offset: int = 0) -> None:
        self.message, self.text, self.offset = message, text, max(0, offset)
        self.column = self.offset + 1
        where = f" (in {text!r}, column {self.column})" if text else ""
        super().__init__(message + where)

    def shifted(self, by: int, text: str) -> ExprError:
        """The same error, located in an enclosing ``text`` that starts ``by`` earlier."""
        return ExprError(self.message, text, self.offset + by)


# ----------------------------------------------------------------- compile

_BINARY: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Mod: ("%", operator.mod),
    ast.FloorDiv: ("//", operator.floordiv),
    ast.BitAnd: ("&", operator.and_),
    ast.BitOr: ("|", operator.or_),
    ast.BitXor: ("^", operator.xor),
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_UNARY: dict[type[ast.unaryop], tuple[str, Callable[[Any], Any]]] = {
    ast.USub: ("-", operator.neg),
    ast.UAdd: ("+", operator.pos),
    ast.Invert: ("~", operator.invert),
    ast.Not: ("not", operator.not_),
}
_COMPARE[ast.In] = lambda a, b: _contains(b, a)
_COMPARE[ast.NotIn] = lambda a, b: not _contains(b, a)
_MEMBERSHIP = (_COMPARE[ast.In], _COMPARE[ast.NotIn])
_FUNCTIONS: dict[str, Callable[..., Any]] = {"min": min, "max": max, "abs": abs, "len": len}
#: The most entries a list literal may have (a condition lists a few codes, not a table).
MAX_LIST = 256


class Namespace(Mapping[str, Any]):
    """Facts an expression reaches with ``.``: ``device.lbpme``; read-only, never Python's own.

    ``what`` names it in errors (``device a``); a missing fact says which exist.
    """

    __slots__ = ("_values", "what")

    def __init__(self, what: str, values: Mapping[str, Any]) -> None:
        self.what = what
        self._values = dict(values)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"<{self.what}>"


@dataclass(frozen=True)
class Function:
    """A function a ``Namespace`` offers (``device.supports('Read16')``): ``nargs`` arguments."""

    name: str
    fn: Callable[..., Any]
    nargs: int = 1


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise TypeError
        return item in container
    if isinstance(container, list | tuple | frozenset | set | Namespace):
        return item in container
    raise TypeError


#: What a refused construct is called in the error message.
_REFUSED: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda",
    ast.IfExp: "'... if ... else ...'",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.Dict: "mappings",
    ast.Set: "sets",
    ast.JoinedStr: "f-strings",
    ast.NamedExpr: "':='",
    ast.Starred: "'*'",
    ast.MatMult: "'@'",
    ast.Is: "'is'",
    ast.IsNot: "'is not'",
}


def _too_big(value: Any, text: str, node: ast.expr) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_BITS:
        raise ExprError(f"number too large (more than {MAX_BITS} bits)", text, node.col_offset)
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise ExprError(_TEXT_TOO_LONG, text, node.col_offset)
    if isinstance(value, complex):
        raise ExprError("the result is not a real number", text, node.col_offset)
    if isinstance(value, float) and not math.isfinite(value):
        raise ExprError("number too large (not finite)", text, node.col_offset)
    return value


_TEXT_TOO_LONG = f"text too long (more than {MAX_STRING} characters)"


class _TextTooLong(Exception):
    """A text result past ``MAX_STRING``, refused before it is built."""


def _mul(a: Any, b: Any) -> Any:
    for text, times in ((a, b), (b, a)):
        if isinstance(text, str) and isinstance(times, int) and len(text) * times > MAX_STRING:
            raise _TextTooLong
    return a * b


#: A printf conversion's width and precision (``%08x``, ``%.3f``, ``%(n)5d``).
_CONVERSION = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?")


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, str):  # printf formatting: bound every width and precision first
        for m in _CONVERSION.finditer(a):
            for part in m.groups():
                if part and part != "*" and (len(part) > 6 or int(part) > MAX_STRING):
                    raise _TextTooLong
    return a % b


def _div(a: Any, b: Any) -> Number:
    if isinstance(a, int) and isinstance(b, int) and b:
        q, r = divmod(a, b)
        if not r:
            return q
    return a / b


def _pow(a: Any, b: Any) -> Number:
    big = isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1
    if big and (abs(a).bit_length() - 1) * b > MAX_BITS:
        raise OverflowError("number too large")
    return a**b


def _shift(a: Any, b: Any) -> int:
    if isinstance(b, int) and b > MAX_BITS:
        raise OverflowError("number too large")
    return a << b


_BINARY[ast.Mult] = ("*", _mul)
_BINARY[ast.Mod] = ("%", _mod)
_BINARY[ast.Div] = ("/", _div)
_BINARY[ast.Pow] = ("**", _pow)
_BINARY[ast.LShift] = ("<<", _shift)
_BINARY[ast.RShift] = (">>", operator.rshift)


class _Compiler:
    """Walks a parsed expression once, refusing what is not in the whitelist."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.names: set[str] = set()
        #: ``a.b.c`` reads, as (name, attr, ..., offset of the first '.'): checked by the loader
        self.paths: set[tuple[Any, ...]] = set()

    def fail(self, message: str, node: ast.expr) -> ExprError:
        return ExprError(message, self.text, _char_offset(self.text, node))

    def build(self, node: ast.expr) -> _Fn:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            what = _REFUSED.get(type(node), type(node).__name__)
            return self._refuse(node, what)
        return method(node)

    def _refuse(self, node: ast.expr, what: str) -> _Fn:
        at = _char_offset(self.text, node)
        if isinstance(node, ast.Attribute | ast.Subscript):  # point at the '.' or '['
            at = _char_offset(self.text, node.value, end=True)
        raise ExprError(f"{what} is not allowed in expressions", self.text, at)

    def _Constant(self, node: ast.Constant) -> _Fn:
        value = node.value
        if not isinstance(value, int | float | str):
            raise self.fail(f"{value!r} is not allowed in expressions", node)
        if isinstance(value, int) and value.bit_length() > MAX_BITS:
            raise self.fail(f"number too large (more than {MAX_BITS} bits)", node)
        return lambda env: value

    def _Name(self, node: ast.Name) -> _Fn:
        name, text = node.id, self.text
        self.names.add(name)
        offset = _char_offset(text, node)

        def look(env: Mapping[str, Any]) -> Any:
            try:
                return env[name]
            except KeyError:
                raise ExprError(f"undefined variable {name!r}", text, offset) from None

        return look

    def _BinOp(self, node: ast.BinOp) -> _Fn:
        entry = _BINARY.get(type(node.op))
        if entry is None:
            what = _REFUSED.get(type(node.op), type(node.op).__name__)
            return self._refuse(node, what)
        symbol, op = entry
        left, right = self.build(node.left), self.build(node.right)
        text = self.text
        # Point at the operator: the first non-space after the left operand.
        end = _char_offset(text, node.left, end=True)
        at = end + len(text[end:]) - len(text[end:].lstrip(" )"))

        def run(env: Mapping[str, Any]) -> Any:
            a, b = left(env), right(env)
            try:
                result = op(a, b)
            except ZeroDivisionError:
                raise ExprError("division by zero", text, at) from None
            except OverflowError:
                raise ExprError(f"number too large (more than {MAX_BITS} bits)", text, at) from None
            except _TextTooLong:
                raise ExprError(_TEXT_TOO_LONG, text, at) from None
            except (TypeError, ValueError):
                raise ExprError(
                    f"cannot apply {symbol!r} to {_kind(a)} and {_kind(b)}", text, at
                ) from None
            return _too_big(result, text, node)

        return run

    def _UnaryOp(self, node: ast.UnaryOp) -> _Fn:
        operand = self.build(node.operand)
        text, at = self.text, _char_offset(self.text, node)
        symbol, op = _UNARY[type(node.op)]

        def run(env: Mapping[str, Any]) -> Any:
            value = operand(env)
            try:
                return op(value)
            except TypeError:
                raise ExprError(f"cannot apply {symbol!r} to {_kind(value)}", text, at) from None

        return run

    def _BoolOp(self, node: ast.BoolOp) -> _Fn:
        parts = [self.build(v) for v in node.values]
        if isinstance(node.op, ast.And):

            def run_and(env: Mapping[str, Any]) -> Any:
                value = None
                for part in parts:
                    value = part(env)
                    if not value:
                        return value
                return value

            return run_and

        def run_or(env: Mapping[str, Any]) -> Any:
            value = None
            for part in parts:
                value = part(env)
                if value:
                    return value
            return value

        return run_or

    def _Compare(self, node: ast.Compare) -> _Fn:
        for op in node.ops:
            if type(op) not in _COMPARE:
                self._refuse(node, _REFUSED.get(type(op), type(op).__name__))
        first = self.build(node.left)
        rest = [
            (_COMPARE[type(op)], self.build(c))
            for op, c in zip(node.ops, node.comparators, strict=True)
        ]
        text, at = self.text, _char_offset(self.text, node)

        def run(env: Mapping[str, Any]) -> bool:
            a = first(env)
            for op, fn in rest:
                b = fn(env)
                try:
                    if not op(a, b):
                        return False
                except TypeError:
                    if op in _MEMBERSHIP:
                        raise ExprError(
                            f"'in' needs a list or text on its right, got {_kind(b)}", text, at
                        ) from None
                    raise ExprError(f"cannot compare {_kind(a)} and {_kind(b)}", text, at) from None
                a = b
            return True

        return run

    def _Attribute(self, node: ast.Attribute) -> _Fn:
        attr, text = node.attr, self.text
        at = _char_offset(text, node.value, end=True)  # the '.'
        if attr.startswith("_"):
            raise ExprError(f"'.{attr}' is not allowed in expressions", text, at)
        owner = self.build(node.value)
        chain: list[str] = [attr]
        inner: ast.expr = node.value
        while isinstance(inner, ast.Attribute):
            chain.insert(0, inner.attr)
            inner = inner.value
        if isinstance(inner, ast.Name):
            self.paths.add((inner.id, *chain, _char_offset(text, inner, end=True)))

        def run(env: Mapping[str, Any]) -> Any:
            ns = owner(env)
            if not isinstance(ns, Mapping):
                raise ExprError(
                    f"'.' reaches facts and response fields (device.lbpme), not into {_kind(ns)}",
                    text,
                    at,
                )
            try:
                return ns[attr]
            except KeyError:
                raise ExprError(_no_fact(ns, attr), text, at + 1) from None

        return run

    def _Subscript(self, node: ast.Subscript) -> _Fn:
        if isinstance(node.slice, ast.Slice):
            raise self.fail("slices are not allowed in expressions", node.slice)
        owner, key = self.build(node.value), self.build(node.slice)
        text, at = self.text, _char_offset(self.text, node.value, end=True)

        def run(env: Mapping[str, Any]) -> Any:
            value, index = owner(env), key(env)
            if isinstance(value, list | tuple | str | bytes) and isinstance(index, int):
                if -len(value) <= index < len(value):
                    return value[index]
                n = len(value)
                span = f" ({0}..{n - 1})" if n else ""
                raise ExprError(
                    f"index {index} is out of range: it has {n} entr{'y' if n == 1 else 'ies'}{span}",
                    text,
                    at,
                )
            if isinstance(value, Mapping) and isinstance(index, str | int):
                if index in value:
                    return value[index]
                raise ExprError(_no_fact(value, str(index)), text, at)
            raise ExprError(f"cannot index {_kind(value)} with {_kind(index)}", text, at)

        return run

    def _List(self, node: ast.List | ast.Tuple) -> _Fn:
        if len(node.elts) > MAX_LIST:
            raise self.fail(f"a list has at most {MAX_LIST} entries", node)
        if any(isinstance(e, ast.Starred) for e in node.elts):
            raise self.fail("'*' is not allowed in expressions", node)
        parts = [self.build(e) for e in node.elts]
        return lambda env: tuple(p(env) for p in parts)

    _Tuple = _List

    def _Call(self, node: ast.Call) -> _Fn:
        func = node.func
        if isinstance(func, ast.Attribute):
            return self._method(node, func)
        if not isinstance(func, ast.Name) or func.id not in _FUNCTIONS:
            what = f"calling {func.id!r}" if isinstance(func, ast.Name) else "calling this"
            raise self.fail(f"{what} is not allowed: the functions are min, max, abs, len", func)
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(f"{func.id}() takes plain arguments only", node)
        one = func.id in ("abs", "len")
        if not node.args or (one and len(node.args) != 1):
            raise self.fail(f"{func.id}() needs {'one' if one else 'arguments'}", node)
        fn, args = _FUNCTIONS[func.id], [self.build(a) for a in node.args]
        text, at, name = self.text, _char_offset(self.text, node), func.id

        def run(env: Mapping[str, Any]) -> Any:
            values = [a(env) for a in args]
            try:
                return fn(*values)  # min/max/abs never grow a value past its arguments
            except TypeError:
                kinds = ", ".join(_kind(v) for v in values)
                raise ExprError(f"cannot apply {name}() to {kinds}", text, at) from None

        return run

    def _method(self, node: ast.Call, func: ast.Attribute) -> _Fn:
        """``ns.name(args)``: a ``Function`` the namespace offers, nothing else callable."""
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(f"{func.attr}() takes plain arguments only", node)
        member = self._Attribute(func)
        args = [self.build(a) for a in node.args]
        text, at, name = self.text, _char_offset(self.text, node), func.attr

        def run(env: Mapping[str, Any]) -> Any:
            fn = member(env)
            if not isinstance(fn, Function):
                raise ExprError(f"{name!r} is a fact, not a function", text, at)
            if len(args) != fn.nargs:
                raise ExprError(f"{name}() takes {fn.nargs} argument(s)", text, at)
            try:
                return fn.fn(*(a(env) for a in args))
            except (TypeError, ValueError) as exc:
                raise ExprError(f"{name}(): {exc}", text, at) from None

        return run


def _no_fact(ns: Mapping[str, Any], name: str) -> str:
    import difflib

    what = getattr(ns, "what", "this mapping")
    names = [str(k) for k in ns]
    near = difflib.get_close_matches(name, names, n=1)
    if near:
        return f"{what} has no {name!r} (did you mean {near[0]!r}?)"
    shown = ", ".join(sorted(names)[:12]) + (", ..." if len(names) > 12 else "")
    return f"{what} has no {name!r}" + (f" (it has {shown})" if names else "")


def _kind(value: Any) -> str:
    if isinstance(value, Namespace):
        return value.what
    if isinstance(value, Function):
        return f"the function {value.name}()"
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        tuple: "a list",
        dict: "a mapping",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)


def _char_offset(text: str, node: ast.expr, *, end: bool = False) -> int:
    """A node's position as a character offset into ``text`` (ast counts UTF-8 bytes per line)."""
    line = (node.end_lineno if end else node.lineno) or 1
    col = (node.end_col_offset if end else node.col_offset) or 0
    lines = text.split("\n")
    start = sum(len(x) + 1 for x in lines[: line - 1])
    this = lines[line - 1] if line - 1 < len(lines) else ""
    return start + len(this.encode()[:col].decode(errors="ignore"))


@dataclass(frozen=True, eq=False)
class Expr:
    """A compiled expression: ``names`` it reads, ``evaluate(vars)`` its value."""

    text: str
    names: frozenset[str]
    _fn: _Fn
    #: Dotted reads (``device.lbpme``) as (name, attribute, ..., offset of the first '.').
    paths: frozenset[tuple[Any, ...]] = frozenset()

    def evaluate(self, vars: Mapping[str, Any]) -> Scalar:
        """The value with these variables (``ExprError`` names the column on failure)."""
        return self._fn(vars)

    @property
    def constant(self) -> bool:
        """True when it reads no variable (the loader can evaluate it up front)."""
        return not self.names


@functools.lru_cache(maxsize=4096)
def compile_expr(text: str) -> Expr:
    """Parse and check ``text`` (without ``${ }``); raises ``ExprError`` with the column."""
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters", text, MAX_LENGTH)
    body = text.lstrip()
    lead = len(text) - len(body)
    body = body.rstrip()
    if not body:
        raise ExprError("empty expression", text, 0)
    # Python's tokenizer would treat a newline as the end of the expression.
    flat = body.replace("\r", " ").replace("\n", " ")
    try:
        tree = ast.parse(flat, mode="eval")
    except SyntaxError as exc:
        # offset 0 (or a later line) is the tokenizer reaching the end: the text stops short.
        offset = exc.offset - 1 if exc.offset and (exc.lineno or 1) == 1 else len(flat)
        message = _syntax_message(exc, flat, offset)
        raise ExprError(message, text, lead + min(offset, len(flat))) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError("expression too deeply nested", text, lead) from None
    compiler = _Compiler(flat)
    try:
        fn = compiler.build(tree.body)
    except ExprError as exc:
        raise exc.shifted(lead, text) from None
    except RecursionError:
        raise ExprError("expression too deeply nested", text, lead) from None
    if flat != text:
        inner = fn

        def fn(env: Mapping[str, Any]) -> Any:
            try:
                return inner(env)
            except ExprError as exc:
                raise exc.shifted(lead, text) from None

    shift = len(text) - len(text.lstrip())
    paths = frozenset((*p[:-1], p[-1] + shift) for p in compiler.paths)
    return Expr(text, frozenset(compiler.names), fn, paths)


def _syntax_message(exc: SyntaxError, text: str, offset: int) -> str:
    if offset >= len(text):
        return "incomplete expression"
    msg = (exc.msg or "invalid syntax").removeprefix("invalid syntax. ").rstrip(".")
    if msg.startswith("invalid syntax"):
        return f"unexpected {text[offset]!r}"
    return msg


# --------------------------------------------------------------- templates


class Template:
    """A string with ``${...}`` inside: literal parts and compiled expressions.

    ``whole`` is true when the string is exactly one ``${...}``: its value is the
    expression's (an int stays an int); otherwise the parts are joined as text.
    ``$$`` writes a literal ``$``.
    """

    __slots__ = ("exprs", "names", "parts", "text", "whole")

    def __init__(self, text: str) -> None:
        self.text = text
        parts: list[str | tuple[int, Expr]] = []
        literal: list[str] = []
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            if ch == "$" and text.startswith("$$", i):
                literal.append("$")
                i += 2
            elif ch == "$" and text.startswith("${", i):
                close = text.find("}", i + 2)
                if close < 0:
                    raise ExprError("'${' without its closing '}'", text, i)
                if literal:
                    parts.append("".join(literal))
                    literal.clear()
                try:
                    expr = compile_expr(text[i + 2 : close])
                except ExprError as exc:
                    raise exc.shifted(i + 2, text) from None
                parts.append((i + 2, expr))
                i = close + 1
            else:
                literal.append(ch)
                i += 1
        if literal:
            parts.append("".join(literal))
        self.parts = tuple(parts)
        self.exprs = tuple(p for p in parts if isinstance(p, tuple))
        self.names = frozenset(name for _, e in self.exprs for name in e.names)
        self.whole = len(parts) == 1 and isinstance(parts[0], tuple)

    def render(self, vars: Mapping[str, Any]) -> Any:
        """The value (``whole``) or the text with every ``${...}`` replaced."""
        if self.whole:
            offset, expr = self.exprs[0]  # whole: the only part is this expression
            return self._eval(offset, expr, vars)
        out = []
        size = 0
        for part in self.parts:
            piece = part if isinstance(part, str) else str(self._eval(*part, vars))
            size += len(piece)
            if size > MAX_STRING:
                offset = part[0] if isinstance(part, tuple) else 0
                raise ExprError(_TEXT_TOO_LONG, self.text, offset)
            out.append(piece)
        return "".join(out)

    def _eval(self, offset: int, expr: Expr, vars: Mapping[str, Any]) -> Any:
        try:
            return expr.evaluate(vars)
        except ExprError as exc:
            raise exc.shifted(offset, self.text) from None


@functools.lru_cache(maxsize=4096)
def template(text: str) -> Template:
    """The parsed form of a string that may hold ``${...}`` (cached: planners call it per command)."""
    return Template(text)


_WHOLE = re.compile(r"\s*\$\{[^{}]*\}\s*")


def is_expression(value: Any) -> bool:
    """True for a string that is one ``${...}`` and nothing else (an integer-valued field)."""
    return isinstance(value, str) and _WHOLE.fullmatch(value) is not None


def condition(text: str) -> Expr:
    """A ``when:``/``check:`` condition: an expression, with or without its ``${ }``."""
    stripped = text.strip()
    lead = len(text) - len(text.lstrip())
    if is_expression(stripped):
        start = stripped.index("${") + 2
        lead += start
        stripped = stripped[start : stripped.rindex("}")]
    try:
        return compile_expr(stripped)
    except ExprError as exc:
        raise exc.shifted(lead, text) from None


class _Rng(Protocol):
    def randint(self, a: int, b: int) -> int: ...


def resolve(value: Any, vars: Mapping[str, Any], rng: _Rng | None = None) -> Any:
    """A model ``Value`` with these variables: ints stay, ``"${x+1}"`` evaluates, ``"a ${x}"``
    interpolates, ``{"random": [lo, hi]}`` draws ``rng.randint(lo, hi)``; lists and mappings
    resolve element-wise."""
    if isinstance(value, str):
        if "$" not in value:
            return value
        t = template(value.strip()) if is_expression(value) else template(value)
        return t.render(vars)
    if isinstance(value, dict):
        if len(value) == 1 and "random" in value:
            return _random(value["random"], vars, rng)
        return {k: resolve(v, vars, rng) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, vars, rng) for v in value]
    return value


def _random(bounds: Any, vars: Mapping[str, Any], rng: _Rng | None) -> int:
    if not isinstance(bounds, list | tuple) or len(bounds) != 2:
        raise ExprError(f"random needs [lo, hi], got {bounds!r}")
    lo, hi = (resolve(b, vars, rng) for b in bounds)
    for b in (lo, hi):
        if isinstance(b, bool) or not isinstance(b, int):
            raise ExprError(f"random bounds must be integers, got {b!r}")
    if lo > hi:
        raise ExprError(f"random range is empty: [{lo}, {hi}]")
    if rng is None:
        raise ExprError("a random value needs the run's random generator")
    return rng.randint(lo, hi)

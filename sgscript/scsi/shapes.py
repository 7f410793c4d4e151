"""The shape of decoded data: the fields a response decoder returns, or a parameter encoder takes.

A decoder is code (it walks descriptor lists by their own length bytes), but what it
returns has a shape the CDB fixes: INQUIRY with EVPD=1 and PAGE CODE=83h returns the
Device Identification page, whose ``designation_descriptors`` are a list of records.
Declared as data next to each decoder, and built from the same ``Layout`` tables the
decoder unpacks wherever there is one, the shape lets ``sgscript commands NAME`` list
the fields with their types, and ``validate`` refuse a misspelt ``expect: {fields:}`` or
``save:`` name before anything is sent instead of hours into a soak.

A shape is one of:

- ``Scalar``: one value (an integer of N bits with its symbolic names, text, hex bytes,
  true/false);
- ``Record``: named fields; an ``open`` one may hold names beyond those it lists;
- ``Items``: a list whose entries share one shape (at most ``most`` of them when the
  format bounds the count);
- ``Choice``: the shape a CDB field picks (INQUIRY's EVPD, then its PAGE CODE);
- ``AnyOf``: one of several shapes the data itself tells apart (a mode page by its own
  page code): a name any of them has may be there.

A shape answers "may this path be present?": a path it accepts can still be missing
from one device's answer (a short reply, a page the device lacks), but a path it
refuses is never in what the decoder returns, whatever the device says.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

__all__ = [
    "BOOL",
    "HEX",
    "NO_FIELDS",
    "OPEN",
    "TEXT",
    "AnyOf",
    "Case",
    "Choice",
    "Items",
    "Record",
    "Row",
    "Scalar",
    "Shape",
    "ascii_text",
    "cases",
    "chosen_by",
    "integer",
    "path_problem",
    "record",
    "resolve",
    "rows",
    "when_text",
]


@dataclass(frozen=True)
class Scalar:
    """One value: ``kind`` is integer, text, hex (bytes as hex digits), bool, or a word."""

    kind: str
    bits: int | None = None
    values: Mapping[str, int] | None = None
    size: int | None = None  # text: its bytes

    @property
    def type_text(self) -> str:
        if self.kind == "integer" and self.bits == 1:
            return "flag (0/1)"
        if self.kind == "integer":
            return f"integer, {self.bits} bits" if self.bits else "integer"
        if self.kind == "text":
            return f"text, {self.size} bytes" if self.size else "text"
        return {"hex": "bytes as hex", "bool": "true/false"}.get(self.kind, self.kind)


@dataclass(frozen=True)
class Record:
    """Named fields, in the order the standard lists them."""

    title: str
    fields: Mapping[str, Shape]
    open: bool = False  # other names may be present (not described: never refused)


@dataclass(frozen=True)
class Items:
    """A list whose entries all have the shape ``item``."""

    item: Shape
    most: int | None = None


@dataclass(frozen=True)
class Choice:
    """The shape chosen by CDB fields: ``options`` by value (a tuple of values for several
    fields); ``default`` for any other value (None: not described, so nothing is refused)."""

    by: tuple[str, ...]
    options: Mapping[Any, Shape]
    default: Shape | None = None

    def key(self, values: Mapping[str, int | None]) -> Any:
        got = tuple(values.get(name) for name in self.by)
        if None in got:
            return None
        return got[0] if len(got) == 1 else got

    def when(self, key: Any) -> dict[str, int]:
        return dict(zip(self.by, key if len(self.by) > 1 else (key,), strict=True))


@dataclass(frozen=True)
class AnyOf:
    """One of several shapes, told apart by the data itself: ``options`` by label."""

    options: Mapping[str, Shape]


Shape: TypeAlias = Scalar | Record | Items | Choice | AnyOf

TEXT = Scalar("text")
HEX = Scalar("hex")
BOOL = Scalar("bool")
#: Not known before the run: any name passes.
OPEN = Record("not known before the run", {}, open=True)
#: A response nothing decodes: no name passes.
NO_FIELDS = Record("no decoded fields", {})


def integer(bits: int | None = None, values: Mapping[str, int] | None = None) -> Scalar:
    """An integer field of ``bits`` bits (None: as wide as the data makes it)."""
    return Scalar("integer", bits, values)


def ascii_text(size: int | None = None) -> Scalar:
    """An ASCII field of ``size`` bytes, trailing spaces and NULs dropped."""
    return Scalar("text", size=size)


class _Row(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def values(self) -> Mapping[str, int] | None: ...


class _Table(Protocol):
    """A ``cdb.Layout`` (read, not imported: the engine depends on this module)."""

    @property
    def fields(self) -> Sequence[_Row]: ...


def record(
    title: str,
    *parts: _Table | Mapping[str, Shape],
    open: bool = False,
    skip: Collection[str] = (),
) -> Record:
    """A record from field tables and mappings, in order; a table's coded fields also get
    ``<name>_name`` (what ``pages._common.unpack`` adds). ``skip``: fields left out (those
    an encoder computes)."""
    out: dict[str, Shape] = {}
    for part in parts:
        if isinstance(part, Mapping):
            out.update(part)
            continue
        for f in part.fields:
            if f.name in skip:
                continue
            out[f.name] = integer(f.width, f.values)
            if f.values:
                out[f.name + "_name"] = TEXT
    return Record(title, {k: v for k, v in out.items() if k not in skip}, open=open)


# ----------------------------------------------------------------- resolving


def resolve(shape: Shape, values: Mapping[str, int | None]) -> Shape:
    """``shape`` with every ``Choice`` replaced by the option ``values`` choose (a field
    mapped to None, or missing, is known only at run time: that part is ``OPEN``)."""
    if isinstance(shape, Choice):
        key = shape.key(values)
        chosen = None if key is None else shape.options.get(key, shape.default)
        return OPEN if chosen is None else resolve(chosen, values)
    if isinstance(shape, Record):
        fields = {k: resolve(v, values) for k, v in shape.fields.items()}
        return Record(shape.title, fields, shape.open)
    if isinstance(shape, Items):
        return Items(resolve(shape.item, values), shape.most)
    if isinstance(shape, AnyOf):
        return AnyOf({k: resolve(v, values) for k, v in shape.options.items()})
    return shape


@dataclass(frozen=True)
class Case:
    """One shape a response takes: ``when`` these CDB fields have these values (None:
    any other value), resolved."""

    when: tuple[tuple[str, int | None], ...]
    shape: Shape

    @property
    def title(self) -> str:
        return self.shape.title if isinstance(self.shape, Record) else ""

    def when_text(self) -> str:
        return when_text(self.when)


def when_text(when: Iterable[tuple[str, int | None]]) -> str:
    """``evpd=1, page_code=0x83`` (``(another value)``: one no option names)."""
    return ", ".join(
        f"{name}={'(another value)' if v is None else (str(v) if v < 10 else hex(v))}"
        for name, v in when
    )


def chosen_by(shape: Shape, values: Mapping[str, int | None]) -> tuple[tuple[str, int], ...]:
    """The CDB field values that pick the option of each choice the response as a whole
    depends on (INQUIRY: ``evpd=1, page_code=0x83``), as far as ``values`` are known."""
    when: tuple[tuple[str, int], ...] = ()
    node: Shape | None = shape
    while isinstance(node, Choice):
        key = node.key(values)
        if key is None:
            break
        when += tuple(node.when(key).items())
        node = node.options.get(key, node.default)
    return when


def cases(shape: Shape, given: Mapping[str, int], defaults: Mapping[str, int | None]) -> list[Case]:
    """Every shape a response takes: one per option of each choice the response as a whole
    depends on (INQUIRY: EVPD, then PAGE CODE) whose fields are not ``given``; choices
    inside it (a mode page within MODE SENSE data) follow ``given``, then ``defaults``."""
    values = {**defaults, **given}

    def walk(node: Shape, when: tuple[tuple[str, int | None], ...]) -> list[Case]:
        if not isinstance(node, Choice):
            return [Case(when, resolve(node, values))]
        if all(name in given for name in node.by):
            key = node.key(given)
            chosen = node.options.get(key, node.default)
            if chosen is None:
                return [Case((*when, *node.when(key).items()), OPEN)]
            return walk(chosen, (*when, *node.when(key).items()))
        out: list[Case] = []
        for key, option in node.options.items():
            out += walk(option, (*when, *node.when(key).items()))
        if node.default is not None:
            out += walk(node.default, (*when, *((name, None) for name in node.by)))
        return out

    return walk(shape, ())


# ----------------------------------------------------------------- checking


def _options(shape: Shape) -> list[Shape]:
    if isinstance(shape, AnyOf):
        return [s for option in shape.options.values() for s in _options(option)]
    return [shape]


def _is_index(part: str) -> bool:
    return part.lstrip("-").isdigit()


def path_problem(
    shape: Shape,
    path: str,
    subject: str,
    noun: str = "response field",
    *,
    strict: bool = False,
) -> str | None:
    """Why the dotted ``path`` (``designation_descriptors.0.designator``, the rule of
    ``expect: {fields:}`` and ``save:``) can never be in data of this resolved ``shape``,
    as one sentence about ``subject``; None when it may be. ``strict``: only a described
    field passes (what an open record does not list is refused too)."""
    parts = path.split(".")
    here = _options(shape)
    for i, part in enumerate(parts):
        done = ".".join(parts[:i])
        rest = ".".join(parts[i + 1 :])
        found: list[Shape] = []
        names: list[str] = []
        why = ""
        for node in here:
            if isinstance(node, Record):
                if part in node.fields:
                    found += _options(node.fields[part])
                elif node.open and not strict:
                    return None
                else:
                    names += [n for n in node.fields if n not in names]
            elif isinstance(node, Items):
                if not _is_index(part):
                    example = ".".join(p for p in (done, "0", part, rest) if p)
                    why = why or f"{done} is a list: give an entry's index, as in {example!r}"
                elif node.most is not None and not -node.most <= int(part) < node.most:
                    why = why or f"{done} has at most {node.most} entries (0..{node.most - 1})"
                else:
                    found += _options(node.item)
            elif isinstance(node, Choice):
                if not strict:
                    return None  # not resolved: known at run time
            elif isinstance(node, Scalar):
                why = why or f"{done} is {_article(node.type_text)}, with no fields"
        if found:
            here = found
            continue
        if names or not why:
            return f"{subject} has no {noun} {path!r}{_near(part, names, done, rest)}"
        return f"{subject}: {path!r}: {why}"
    return None


def _article(words: str) -> str:
    return ("an " if words[0] in "aeiou" else "a ") + words


def _near(part: str, names: list[str], done: str, rest: str) -> str:
    if not names:
        return " (its response has no decoded fields)" if not done else ""
    near = difflib.get_close_matches(part, names, n=1)
    if near:
        return f" (did you mean {'.'.join(p for p in (done, near[0], rest) if p)!r}?)"
    shown = names if len(names) <= 12 else [*names[:12], "…"]
    return f"; {done or 'it'} has: {', '.join(shown)}"


# ----------------------------------------------------------------- listing


@dataclass(frozen=True)
class Row:
    """One field of a shape, for people: its dotted path (``N`` for any list index)."""

    path: str
    shape: Shape
    within: str = ""  # the AnyOf option it belongs to ("" when every option has it)

    @property
    def type_text(self) -> str:
        node = self.shape
        if isinstance(node, Scalar):
            return node.type_text
        if isinstance(node, Items):
            return "list" + (f", at most {node.most}" if node.most is not None else "")
        if isinstance(node, Record):
            if node.open and not node.fields:
                return "any other name: not checked before the run"
            return "record"
        return "depends on the data"

    def to_dict(self) -> dict[str, Any]:
        node = self.shape
        scalar = node if isinstance(node, Scalar) else None
        kind = {Items: "list", Record: "record"}.get(type(node), "any")
        if isinstance(node, Record) and node.open and not node.fields:
            kind = "any"
        return {
            "name": self.path,
            "type": scalar.kind if scalar else kind,
            "bits": scalar.bits if scalar else None,
            "size": scalar.size if scalar else None,
            "values": dict(scalar.values) if scalar and scalar.values else None,
            "most": node.most if isinstance(node, Items) else None,
            "in": self.within or None,
        }


def rows(shape: Shape, prefix: str = "") -> list[Row]:
    """Every field of a resolved shape, depth first, as people write paths to it."""

    def join(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    if isinstance(shape, Record):
        out: list[Row] = []
        for name, child in shape.fields.items():
            path = join(name)
            if isinstance(child, Scalar):
                out.append(Row(path, child))
            elif isinstance(child, AnyOf):
                out += rows(child, path)
            else:
                out.append(Row(path, child))
                out += rows(child, path)
        if shape.open and shape.fields:
            out.append(Row(join("*"), Record("", {}, open=True)))
        return out
    if isinstance(shape, Items):
        path = join("N")
        if isinstance(shape.item, Scalar):
            return [Row(path, shape.item)]
        return rows(shape.item, path)
    if isinstance(shape, AnyOf):
        each = {label: rows(option, prefix) for label, option in shape.options.items()}
        common = _common(each.values())
        out = [r for r in next(iter(each.values()), []) if (r.path, r.type_text) in common]
        for label, option_rows in each.items():
            out += [
                Row(r.path, r.shape, r.within or label)
                for r in option_rows
                if (r.path, r.type_text) not in common
            ]
        return out
    return []


def _common(groups: Iterable[list[Row]]) -> set[tuple[str, str]]:
    sets = [{(r.path, r.type_text) for r in group} for group in groups]
    return set.intersection(*sets) if len(sets) > 1 else set()

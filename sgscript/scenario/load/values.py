"""Checking what a step says: commands and fields, constants, expressions, data, expect, save.

The value half of the builder (``builder._Builder`` inherits it): each check
reports at the value's mark and returns what the model keeps.

Response field names (``expect: {fields:}`` keys, ``save:`` values) are checked by
``check_response_path`` against the command's response shape for the CDB field
values known before the run (``cdb_constants``); where those values leave the
shape open (a page code from an expression, a vendor page) nothing is refused.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Mapping
from typing import Any

from ...grammar import DurationRangeError, GrammarError, parse_duration, parse_hex
from ...limits import MAX_DATA_FILE_BYTES
from ...scsi.catalog import Catalog
from ...scsi.cdb import Direction, Layout
from ...scsi.errors import FieldValueError, UnknownCommandError, UnknownFieldError
from ..expr import ExprError, Template, condition, is_expression, template
from ..files import FileRefused, confine
from ..model import ERROR_EVENTS, DataSource, ErrorAction, Expectation
from ..schema import path_text
from .doc import Doc, PathT, _Problems
from .includes import _At

__all__ = ["ANSWER_NAMES", "BUILTIN_VARS", "FACT_NAMES", "parse_error_action"]

#: Variables every expression may use without declaring them; the planner supplies them.
#: None yet: a name added here must also be put in the planner's ``Env`` for every step.
BUILTIN_VARS: dict[str, str] = {
    "index": "the command's number within its step's repeat, from 0 (walk a range: ${index * 8})",
    "iteration": "the pass of the innermost enclosing group that repeats, from 0 (0 outside one)",
}

#: The most times ``on_error: {EVENT: retry N}`` sends one command again.
MAX_RETRIES = 1000

#: Names conditions (``when:``, ``requires:``) may read besides variables: device facts.
FACT_NAMES = frozenset({"device", "devices"})
#: What ``expect: {check: ...}`` may read of the command's answer besides variables.
ANSWER_NAMES = frozenset(
    {"response", "status", "sense_key", "asc", "ascq", "received", "residual", "data"}
)


class _Values:
    """The value half of ``_Builder`` (the attributes it uses are the builder's)."""

    problems: _Problems
    devices: dict[str, Any]
    roots: list[str]
    hidden: set[str]
    catalog: Catalog

    # -- commands and fields ------------------------------------------------

    def lookup(self, name: Any, at: _At, *, key: bool) -> Any:
        if not isinstance(name, str):
            return None
        try:
            return self.catalog.lookup(name)
        except UnknownCommandError as exc:
            hint = f" (did you mean {' or '.join(exc.suggestions)}?)" if exc.suggestions else ""
            self.problems.at(
                at.doc,
                at.path,
                f"unknown command {name!r}{hint}; `sgscript commands` lists them",
                key=key,
            )
            return None

    def fields(
        self, cls: Any, given: Mapping[str, Any], doc: Doc, path: PathT, scope: set[str]
    ) -> dict[str, Any]:
        layout = cls.layout
        out: dict[str, Any] = {}
        for key, value in given.items():
            here = (*path, key)
            try:
                canon = layout.canonical(str(key))
            except UnknownFieldError as exc:
                hint = f" (did you mean {' or '.join(exc.suggestions)}?)" if exc.suggestions else ""
                self.problems.at(doc, here, f"{cls.__name__} has no field {key!r}{hint}", key=True)
                continue
            if layout.by_name[canon].field.fixed:
                self.problems.at(doc, here, f"{canon} is fixed by {cls.__name__}", key=True)
                continue
            if canon in out:
                self.problems.at(doc, here, f"{canon} given twice", key=True)
                continue
            out[canon] = value
            for const, cpath in self.constants(_At(value, doc, here), scope):
                try:
                    layout.coerce(canon, const)
                except FieldValueError as exc:
                    self.problems.at(doc, cpath, str(exc))
        return out

    def cdb_constants(self, cls: Any, fields: Mapping[str, Any]) -> dict[str, int | None]:
        """A step's CDB field values known before the run, for ``check_response_path``:
        a field written as an expression over variables, or ``random``, is None (known
        only at run time); a field left out has its default (not listed)."""
        return {name: _constant(cls.layout, name, value) for name, value in fields.items()}

    def check_response_path(
        self,
        at: _At,
        cls: Any,
        values: Mapping[str, int | None],
        path: Any,
        *,
        key: bool = False,
    ) -> None:
        """Report a dotted response field ``path`` (``mode_pages.0.wce``) that no answer
        of ``cls`` with these CDB field ``values`` can hold, with a did-you-mean, at
        ``at`` (the key ``path`` under it when ``key``). Where the response's shape
        depends on values known only at run time, or is not declared, nothing is.
        The one check of response field names: ``expect: {fields:}`` and ``save:``."""
        if not isinstance(path, str):
            return
        problem = cls.response_path_problem(path, values)
        if problem is not None:
            mark = at.doc.key_mark((*at.path, path)) if key else at.doc.mark(at.path)
            self.problems.add(mark, f"{path_text(at.path)}: {problem}")

    def constants(self, at: _At, scope: set[str]) -> list[tuple[Any, PathT]]:
        """Check a value's expressions; the parts whose value is known now, for range checks."""
        value = at.value
        if isinstance(value, dict) and set(value) == {"random"}:
            out = []
            bounds = value["random"]
            if isinstance(bounds, list):
                for i, b in enumerate(bounds):
                    out += self.constants(_At(b, at.doc, (*at.path, "random", i)), scope)
                if (
                    len(out) == 2
                    and all(isinstance(c, int) for c, _ in out)
                    and out[0][0] > out[1][0]
                ):
                    self.problems.at(
                        at.doc, (*at.path, "random"), f"empty range: {out[0][0]} > {out[1][0]}"
                    )
            return out
        if isinstance(value, str) and "$" in value:
            t = self.template(at, scope)
            if t is None or t.names:
                return []
            try:
                return [(t.render({}), at.path)]
            except ExprError as exc:
                self.problems.add(
                    at.doc.text_mark(at.path, exc.offset), f"{path_text(at.path)}: {exc.message}"
                )
                return []
        if isinstance(value, bool | int | str):
            return [(value, at.path)]
        return []

    def check_value(self, at: _At, scope: set[str]) -> None:
        """Every ``${...}`` inside a value parses and reads only variables in scope."""
        value = at.value
        if isinstance(value, str):
            if "$" in value:
                self.template(at, scope)
        elif isinstance(value, dict):
            for k, v in value.items():
                self.check_value(_At(v, at.doc, (*at.path, k)), scope)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.check_value(_At(v, at.doc, (*at.path, i)), scope)

    def template(self, at: _At, scope: set[str]) -> Template | None:
        text: str = at.value
        where = path_text(at.path)
        try:
            t = template(text)
        except ExprError as exc:
            self.problems.add(
                at.doc.text_mark(at.path, exc.offset), f"{where}: bad expression: {exc.message}"
            )
            return None
        for offset, expr in t.exprs:
            for name in sorted(expr.names - scope):
                at_name = _find_name(text, name, offset)
                near = difflib.get_close_matches(name, sorted(scope), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                if name in self.hidden:
                    hint = " (another parallel branch saves it: visible after the group)"
                self.problems.add(
                    at.doc.text_mark(at.path, at_name),
                    f"{where}: undefined variable {name!r}{hint}",
                )
        return t

    def condition(self, at: _At, scope: set[str], *, facts: bool = True) -> str | None:
        """A ``when:``/``requires:`` condition: parses, and reads only names in scope
        (variables, and ``device``/``devices`` facts); kept as written."""
        value = at.value
        if isinstance(value, bool):
            return "1" if value else "0"
        if not isinstance(value, str):
            return None  # the schema said so
        try:
            expr = condition(value)
        except ExprError as exc:
            self.problems.add(
                at.doc.text_mark(at.path, exc.offset),
                f"{path_text(at.path)}: bad condition: {exc.message}",
            )
            return None
        known = scope | FACT_NAMES if facts else scope
        if facts:
            base = value.index("${") + 2 if is_expression(value.strip()) else 0
            for path in sorted(expr.paths, key=str):
                problem = self.fact_problem(path[:-1])
                if problem:
                    mark = at.doc.text_mark(at.path, base + path[-1] + 1)
                    self.problems.add(mark, f"{path_text(at.path)}: {problem}")
        for name in sorted(expr.names - known):
            near = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            if name in self.hidden:
                hint = " (another parallel branch saves it: visible after the group)"
            self.problems.add(
                at.doc.text_mark(at.path, _find_name(value, name, 0)),
                f"{path_text(at.path)}: undefined name {name!r}{hint}",
            )
        return value

    def fact_problem(self, path: tuple[str, ...]) -> str | None:
        """``device.lbpmee`` / ``devices.c.lbpme``: a fact or device that does not exist."""
        from ...scsi.facts import FACT_NAMES as FACTS

        if path[0] == "devices":
            if path[1] not in self.devices:
                near = difflib.get_close_matches(path[1], list(self.devices), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                return f"devices.{path[1]}: no device {path[1]!r} is declared{hint}"
            path = ("device", *path[2:])
        if path[0] != "device" or len(path) < 2 or path[1] in FACTS:
            return None
        near = difflib.get_close_matches(path[1], sorted(FACTS), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else " (docs/format.md lists the facts)"
        return f"device.{path[1]}: a device has no fact {path[1]!r}{hint}"

    def conditions(self, at: _At, scope: set[str]) -> tuple[str, ...]:
        items = at.value if isinstance(at.value, list) else [at.value]
        out = []
        for i, item in enumerate(items):
            here = _At(item, at.doc, (*at.path, i) if isinstance(at.value, list) else at.path)
            got = self.condition(here, scope)
            if got is not None:
                out.append(got)
        return tuple(out)

    def error_policy(self, at: _At) -> dict[str, ErrorAction]:
        """``on_error: {busy: retry 3, unit_attention: ignore, timeout: {retry: 2, backoff: 1s}}``."""
        out: dict[str, ErrorAction] = {}
        if not isinstance(at.value, dict):
            return out
        for event, raw in at.value.items():
            here = (*at.path, event)
            if event not in ERROR_EVENTS:
                continue  # the schema names the events
            action = self.error_action(_At(raw, at.doc, here))
            if action is not None:
                out[str(event)] = action
        return out

    def error_action(self, at: _At) -> ErrorAction | None:
        raw = at.value
        if isinstance(raw, dict):
            retries, backoff = raw.get("retry"), raw.get("backoff", 0)
            seconds = self.duration(_At(backoff, at.doc, (*at.path, "backoff"))) if backoff else 0.0
            if isinstance(retries, int) and not isinstance(retries, bool):
                return ErrorAction("retry", retries, seconds or 0.0)
            return None
        try:
            return parse_error_action(str(raw))
        except ValueError as exc:
            self.problems.at(at.doc, at.path, str(exc))
            return None

    def cdb(self, at: _At, scope: set[str] | None = None) -> str | None:
        """A raw CDB: hex, checked now; with ``${...}`` inside, its expressions are checked
        now and the bytes when the step runs (then its meaning is only known then too)."""
        if "$" in at.value:
            self.check_value(at, scope or set())
            return str(at.value)
        try:
            raw = parse_hex(at.value)
        except GrammarError as exc:
            hint = " (expected bytes like '12 00 00 00 24 00')" if "not hex" in str(exc) else ""
            self.problems.at(at.doc, at.path, f"cdb: {exc}{hint}")
            return None
        if not 6 <= len(raw) <= 260:
            self.problems.at(at.doc, at.path, f"cdb: a CDB has 6 to 260 bytes, got {len(raw)}")
            return None
        return raw.hex(" ")

    def data_source(self, at: _At, scope: set[str], cls: Any = None) -> DataSource:
        d, doc, path = at.value, at.doc, at.path
        if not {"pattern", "file", "hex", "seed", "value", "length", "offset"} & set(d):
            return self.parameter_list(at, scope, cls)
        for key in ("seed", "value", "length", "offset"):
            if key in d:
                self.check_value(_At(d[key], doc, (*path, key)), scope)
        if d.get("pattern") == "byte" and "value" not in d:
            self.problems.at(doc, path, "pattern byte needs value: (the byte to repeat)")
        if isinstance(d.get("value"), int) and not 0 <= d["value"] <= 255:
            self.problems.at(doc, (*path, "value"), f"value is a byte (0..255), got {d['value']}")
        hex_text = d.get("hex")
        if isinstance(hex_text, str) and "$" in hex_text:
            self.check_value(_At(hex_text, doc, (*path, "hex")), scope)  # built when it runs
        elif isinstance(hex_text, str) and _hex_bytes(hex_text) is None:
            self.problems.at(doc, (*path, "hex"), "expected hex bytes like '00 01 02 03'")
        file = self.data_file(_At(d.get("file"), doc, (*path, "file")))
        if "offset" in d and file is None:
            self.problems.at(doc, (*path, "offset"), "offset applies to file data", key=True)
        return DataSource(
            pattern=d.get("pattern"),
            seed=d.get("seed"),
            value=d.get("value"),
            file=file,
            hex=hex_text if isinstance(hex_text, str) else None,
            length=d.get("length"),
            offset=d.get("offset"),
            mark=doc.mark(path),
        )

    def parameter_list(self, at: _At, scope: set[str], cls: Any) -> DataSource:
        """``data: {Command: {field: value}}``: the step's parameter list by field."""
        d, doc, path = at.value, at.doc, at.path
        ((name, fields),) = d.items() if len(d) == 1 else (("", {}),)
        here = (*path, name)
        own = getattr(cls, "__name__", None)
        if own is not None:
            try:
                named = self.catalog.lookup(name)
            except UnknownCommandError:
                named = None
            if named is not cls:
                self.problems.at(
                    doc,
                    here,
                    f"data: {{{name}: ...}} names another command's parameter list;"
                    f" this step sends {own} (write data: {{{own}: {{...}}}})",
                    key=True,
                )
            elif named is None or named.encoder is None:
                self.problems.at(
                    doc,
                    here,
                    f"{own} has no parameter list to build by field: use pattern, file or hex",
                    key=True,
                )
            elif isinstance(fields, dict):
                for where, dotted in _parameter_paths(fields, here):
                    problem = named.parameter_path_problem(dotted)
                    if problem is not None:
                        self.problems.at(doc, where, problem, key=True)
        elif name:
            self.problems.at(
                doc, here, "a raw cdb: send its parameter list with hex or file", key=True
            )
        self.check_value(_At(fields, doc, here), scope)
        return DataSource(parameters=fields if isinstance(fields, dict) else {}, mark=doc.mark(path))

    def data_file(self, at: _At) -> str | None:
        """The data file's real path, when it is confined, a regular file and small enough."""
        if not isinstance(at.value, str):
            return None
        try:
            full = confine(at.value, at.doc.base_dir, self.roots or [at.doc.base_dir])
        except FileRefused as exc:
            self.problems.at(at.doc, at.path, f"data file {exc}")
            return None
        try:
            st = os.stat(full)
        except OSError:
            self.problems.at(
                at.doc, at.path, f"data file {at.value!r} not found (looked for {full})"
            )
            return full
        if not stat.S_ISREG(st.st_mode):
            self.problems.at(at.doc, at.path, f"data file {at.value!r}: not a regular file")
        elif st.st_size > MAX_DATA_FILE_BYTES:
            self.problems.at(
                at.doc,
                at.path,
                f"data file {at.value!r}: larger than {MAX_DATA_FILE_BYTES >> 20} MiB",
            )
        return full

    # -- expect and save ----------------------------------------------------

    def expectations(
        self,
        at: _At,
        scope: set[str],
        cls: Any,
        values: Mapping[str, int | None] | None = None,
    ) -> tuple[Expectation, ...]:
        """The expectations of ``expect:``; ``values``: the step's CDB field values known
        now (``cdb_constants``), for checking ``fields:`` names."""
        value, doc, path = at.value, at.doc, at.path
        if isinstance(value, str):
            if value in ("good", "fail", "any"):
                return (Expectation(value, None, doc.mark(path)),)
            return ()
        if not isinstance(value, dict):
            return ()
        out = []
        for kind, v in value.items():
            here = (*path, kind)
            mark = doc.key_mark(here)
            if kind in ("good", "any"):
                v = None
            elif kind == "fail":
                if isinstance(v, dict):
                    self.check_status_sense(_At(v, doc, here))
                    self.check_value(_At(v, doc, here), scope)
                else:
                    v = None
            elif kind in ("status", "sense"):
                self.check_status_sense(_At({kind: v}, doc, path))
                self.check_value(_At(v, doc, here), scope)  # e.g. information: "${offset}"
            elif kind == "any_of" and isinstance(v, list):
                v = tuple(
                    self.expectations(_At(alt, doc, (*here, i)), scope, cls, values)
                    or (Expectation("good", None, mark),)
                    for i, alt in enumerate(v)
                )
            elif kind == "check":
                v = self.condition(_At(v, doc, here), scope | ANSWER_NAMES, facts=False)
            elif kind == "data" and isinstance(v, dict):
                self.check_value(_At(v, doc, here), scope)
                if isinstance(v.get("hex"), str) and _hex_bytes(v["hex"]) is None:
                    self.problems.at(doc, (*here, "hex"), "expected hex bytes like '00 01 02 03'")
                if isinstance(v.get("file"), str):
                    v = {**v, "file": self.data_file(_At(v["file"], doc, (*here, "file")))}
                if cls is not None and Direction.IN not in cls.directions:
                    self.problems.at(
                        doc, here, f"{cls.__name__} reads no data: nothing to check", key=True
                    )
            else:
                self.check_value(_At(v, doc, here), scope)
                if kind == "fields" and isinstance(v, dict) and cls is not None:
                    for name in v:
                        self.check_response_path(
                            _At(v, doc, here), cls, values or {}, name, key=True
                        )
            out.append(Expectation(str(kind), v, mark))
        return tuple(out)

    def check_status_sense(self, at: _At) -> None:
        from ...scsi.status import ScsiStatus, SenseKey

        d, doc, path = at.value, at.doc, at.path
        status = d.get("status")
        if isinstance(status, str):
            try:
                ScsiStatus.parse(status)
            except ValueError:
                self.problems.at(
                    doc,
                    (*path, "status"),
                    _name_problem("status", status, list(ScsiStatus.__members__)),
                )
        sense = d.get("sense")
        key, kpath = sense, (*path, "sense")
        if isinstance(sense, dict):
            key, kpath = sense.get("key"), (*path, "sense", "key")
        keys = list(enumerate(key)) if isinstance(key, list) else [(None, key)]
        for i, one in keys:
            if isinstance(one, str):
                try:
                    SenseKey.parse(one)
                except ValueError:
                    self.problems.at(
                        doc,
                        kpath if i is None else (*kpath, i),
                        _name_problem("sense key", one, list(SenseKey.__members__)),
                    )

    def save(
        self,
        at: _At,
        cls: Any,
        scope: set[str],
        values: Mapping[str, int | None] | None = None,
    ) -> dict[str, str]:
        """``save:``'s variables and field paths; ``values`` as for ``expectations``."""
        out = {}
        for var, fieldname in at.value.items():
            here = (*at.path, var)
            if var in BUILTIN_VARS:
                self.problems.at(
                    at.doc, here, f"{var!r} is a built-in variable: pick another name", key=True
                )
            if isinstance(fieldname, str):
                out[str(var)] = fieldname
        if cls is not None and Direction.IN not in cls.directions and out:
            self.problems.at(
                at.doc, at.path, f"{cls.__name__} returns no data: nothing to save", key=True
            )
        elif cls is not None:
            for var, fieldname in out.items():
                if fieldname == "data_in":  # the raw bytes: always there
                    continue
                where = _At(fieldname, at.doc, (*at.path, var))
                self.check_response_path(where, cls, values or {}, fieldname)
        return out

    def duration(self, at: _At, *, timeout: bool = False) -> float | None:
        try:
            seconds = parse_duration(at.value)
        except DurationRangeError as exc:  # .inf, .nan, a year: the schema cannot say so
            self.problems.at(at.doc, at.path, str(exc))
            return None
        except ValueError:
            return None  # the schema reported it
        if timeout and seconds <= 0:
            self.problems.at(at.doc, at.path, "a timeout must be more than 0")
            return None
        return seconds


def _constant(layout: Layout, name: str, value: Any) -> int | None:
    """A CDB field's value when it is known now (a literal, a symbolic name, an
    expression without variables), else None."""
    if isinstance(value, str) and "$" in value:
        try:
            t = template(value)
            if t.names:
                return None
            value = t.render({})
        except ExprError:
            return None
    try:
        return layout.coerce(name, value)
    except FieldValueError:
        return None


def parse_error_action(text: str) -> ErrorAction:
    """``ignore``, ``log``, ``fail``, ``stop``, ``retry N`` or ``retry N every DURATION``
    (a spec's ``on_error:`` value, or ``--on-error EVENT=ACTION``)."""
    words = text.split()
    if len(words) == 1 and words[0] in ("ignore", "log", "fail", "stop"):
        return ErrorAction(words[0])  # type: ignore[arg-type]
    if words and words[0] == "retry" and len(words) in (2, 4):
        try:
            retries = int(words[1])
            seconds = parse_duration(words[3]) if len(words) == 4 else 0.0
        except ValueError:
            retries, seconds = -1, 0.0
        if retries >= 1 and (len(words) == 2 or words[2] == "every"):
            return ErrorAction("retry", min(retries, MAX_RETRIES), seconds)
    raise ValueError(
        "expected ignore, log, fail, stop, retry N or retry N every DURATION"
        f" (or {{retry: N, backoff: DURATION}}), got {text!r}"
    )


def _parameter_paths(value: Any, path: PathT, dotted: str = "") -> list[tuple[PathT, str]]:
    """Every field a parameter list's values name, as (where in the spec, dotted path):
    list entries count as index 0 (a shape's items are alike); ``from:`` is no field, and
    what a ``${...}`` gives is only known when it runs."""
    from ...scsi.cdb import ALIASES

    out: list[tuple[PathT, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "from":
                continue
            name = ALIASES.get(str(key), str(key))
            here = f"{dotted}.{name}" if dotted else name
            out.append(((*path, key), here))
            out += _parameter_paths(item, (*path, key), here)
    elif isinstance(value, list) and dotted:
        for i, item in enumerate(value):
            if isinstance(item, dict):
                out += _parameter_paths(item, (*path, i), f"{dotted}.0")
    return out


def _hex_bytes(text: str) -> bytes | None:
    try:
        return parse_hex(text)
    except GrammarError:
        return None


def _find_name(text: str, name: str, start: int) -> int:
    m = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])").search(text, start)
    return m.start() if m else start


def _name_problem(what: str, value: str, names: list[str]) -> str:
    folded = value.strip().upper().replace(" ", "_").replace("-", "_")
    near = difflib.get_close_matches(folded, names, n=1)
    hint = f" (did you mean {near[0]}?)" if near else f": one of {', '.join(names)}"
    return f"unknown {what} {value!r}{hint}"

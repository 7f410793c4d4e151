"""YAML spec → ``Scenario``: safe parsing with marks, includes, defaults, schema and semantic checks.

The pipeline, and what each stage reports (every problem a ``Problem`` at
``FILE:LINE:COL``; a file's problems are all collected, then raised together
as one ``SpecError``):

=============  =============================================================
stage          checks
=============  =============================================================
read           YAML syntax; duplicate keys; tags other than plain YAML
               (nothing is constructed but str/int/float/bool/null)
includes       files found; no cycles; each file against its own root
               schema (``fragment`` or ``step_fragment``), marks in that file
schema         ``schemas/sgscript.schema.json`` (+ plugin ``expect`` kinds):
               unknown keys (did you mean), types, forms (``schema.explain``)
semantics      commands (did you mean; plugin commands count once
               registered), CDB fields (did you mean; ``lba``), constant
               values against the field's width and symbolic names,
               expressions (syntax, column-accurate) and variables in scope,
               devices declared, raw CDB hex, data hex/files, status and
               sense key names, ``save:`` names, direction of ``data:``
=============  =============================================================

Variables in scope for a step: ``vars:`` (each may use the ones before it),
the built-ins of ``BUILTIN_VARS``, and names ``save:``d by earlier steps; in a
``parallel:`` group a branch sees what it saved itself, not its siblings'
saves (those are visible after the group); ``finally:`` steps see everything
the main steps save (a run cut short may not have saved it: that fails then).

Includes: a top-level ``include:`` merges fragments' ``devices``/``vars``/
``defaults`` under this file's (later fragments over earlier ones); a step
``- include: FILE`` splices that file's steps in place.  Paths are relative to
the naming file and confined (``files.confine``: the spec's directory or a
``--data-dir``), marks point into the file that holds the text, and each file
is read and checked once however often it is included.  Bounds
(``sgscript.limits``) are checked while parsing, never after building.

Expectation kinds: the schema file defines the built-ins; kinds only plugins
define come from ``sgscript.verify.plugins.expectation_schema(pm)`` when that
layer is importable (``spec`` must not need it: without it, the file's kinds).

``save:`` values name decoded response fields.  Which fields a decoder
returns depends on the device's answer (page codes, descriptor lists), so
they are not checked here; a command without a data-in phase cannot save
anything, and that is an error.
"""

from __future__ import annotations

import difflib
import functools
import math
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..grammar import DurationRangeError, GrammarError, parse_duration, parse_hex
from ..limits import (
    MAX_BITS,
    MAX_DATA_FILE_BYTES,
    MAX_INCLUDE_DEPTH,
    MAX_INCLUDES,
    MAX_NODES,
    MAX_QUEUE_DEPTH,
    MAX_REPEAT,
    MAX_SPEC_BYTES,
    MAX_STEPS,
    MAX_STRING,
    MAX_YAML_DEPTH,
    clip,
    control_character,
)
from ..scsi.errors import FieldValueError, UnknownCommandError, UnknownFieldError, UsageError
from .expr import ExprError, Template, template
from .files import FileRefused, confine, read_regular
from .model import DataSource, Device, Expectation, Mark, Scenario, Step
from .schema import kinds_from_fragment, path_text, schema_issues

__all__ = [
    "BUILTIN_VARS",
    "MAX_FILE_BYTES",
    "MAX_STEPS",
    "Problem",
    "SpecError",
    "check_var_names",
    "load_scenario",
    "load_scenario_text",
    "override_vars",
    "parse_duration",
    "parse_vars",
]

#: Variables every expression may use without declaring them; the planner supplies them.
#: None yet: a name added here must also be put in the planner's ``Env`` for every step.
BUILTIN_VARS: dict[str, str] = {
    "index": "the command's number within its step's repeat, from 0 (walk a range: ${index * 8})",
}

MAX_FILE_BYTES = MAX_SPEC_BYTES  # the older name

PathT = tuple[str | int, ...]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec, where it is."""

    mark: Mark
    message: str

    def __str__(self) -> str:
        return clip(f"{self.mark}: {self.message}")


class SpecError(UsageError):
    """A spec that cannot run; ``problems`` are all of them, ``str()`` one per line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ------------------------------------------------------------------- reading


@dataclass
class Doc:
    """One YAML file as plain data, with the mark of every value and key by document path."""

    file: str  # as messages show it
    abspath: str | None
    data: Any = None
    marks: dict[PathT, Mark] = field(default_factory=dict)
    key_marks: dict[PathT, Mark] = field(default_factory=dict)
    text_marks: dict[PathT, Mark] = field(default_factory=dict)  # first char of one-line text
    refused: set[PathT] = field(default_factory=set)  # values already reported (bad tags)

    @property
    def base_dir(self) -> str:
        return os.path.dirname(self.abspath) if self.abspath else os.getcwd()

    def mark(self, path: PathT) -> Mark:
        """The mark of the value at ``path``, or of its deepest ancestor that has one."""
        for end in range(len(path), -1, -1):
            mark = self.marks.get(path[:end])
            if mark is not None:
                return mark
        return Mark(self.file, 1, 1)

    def key_mark(self, path: PathT) -> Mark:
        """The mark of the key that ends ``path`` (its value's when there is no key)."""
        return self.key_marks.get(path) or self.mark(path)

    def text_mark(self, path: PathT, offset: int) -> Mark:
        """The character ``offset`` into the string at ``path`` (its start when multi-line)."""
        start = self.text_marks.get(path)
        if start is None:
            return self.mark(path)
        return Mark(start.file, start.line, start.column + offset)


class _TooBig(Exception):
    """A document past the reader's bounds (size, nodes, depth): reported, never built."""

    def __init__(self, message: str, event: Any = None) -> None:
        super().__init__(message)
        self.mark: yaml.Mark | None = getattr(event, "start_mark", None)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe composer, counting nodes and depth as it goes: a bound is hit while parsing.

    (Aliases compose to the node they name, so expansion is counted later, by
    ``_Reader.convert``.)
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._left = MAX_NODES
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        self._left -= 1
        if self._left < 0:
            raise _TooBig(
                f"document too large (more than {MAX_NODES} YAML nodes)", self.peek_event()
            )
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _TooBig(
                    f"YAML nested more than {MAX_YAML_DEPTH} levels deep", self.peek_event()
                )
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


class _Reader:
    """Composes YAML nodes (never constructing objects) into data + marks."""

    _MAP = "tag:yaml.org,2002:map"
    _SEQ = "tag:yaml.org,2002:seq"
    _STR = "tag:yaml.org,2002:str"
    _MERGE = "tag:yaml.org,2002:merge"

    def __init__(self, doc: Doc, problems: _Problems) -> None:
        self.doc, self.problems = doc, problems
        self.budget = MAX_NODES
        self.loader: yaml.SafeLoader | None = None

    def read(self, text: str) -> bool:
        try:
            loader = self.loader = _Loader(text)
        except yaml.reader.ReaderError as exc:  # a control character: checked before parsing
            self.problems.add(self._position(text, exc.position), _reader_message(exc))
            return False
        try:
            node = loader.get_single_node()
            if node is None:
                self.doc.data = None
                return True
            self.doc.data = self.convert(node, (), 0)
            return True
        except yaml.MarkedYAMLError as exc:
            where = exc.problem_mark or exc.context_mark
            message = f"invalid YAML: {exc.problem or exc.context}"
            if exc.context and exc.problem and exc.context_mark is not None:
                cm = exc.context_mark
                message += f" ({exc.context} at line {cm.line + 1}, column {cm.column + 1})"
            self.problems.add(self._mark(where), message)
        except yaml.reader.ReaderError as exc:
            self.problems.add(self._position(text, exc.position), _reader_message(exc))
        except yaml.YAMLError as exc:
            self.problems.add(Mark(self.doc.file, 1, 1), f"invalid YAML: {_short(str(exc))}")
        except _TooBig as exc:
            self.problems.add(self._mark(exc.mark), str(exc))
        except RecursionError:
            self.problems.add(Mark(self.doc.file, 1, 1), "YAML nested too deeply")
        finally:
            loader.dispose()
        return False

    def _position(self, text: str, position: int) -> Mark:
        line = text.count("\n", 0, position) + 1
        return Mark(self.doc.file, line, position - (text.rfind("\n", 0, position) + 1) + 1)

    def _mark(self, m: yaml.Mark | None) -> Mark:
        if m is None:
            return Mark(self.doc.file, 1, 1)
        return Mark(self.doc.file, m.line + 1, m.column + 1)

    def convert(self, node: Node, path: PathT, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise _TooBig(
                f"document too large (more than {MAX_NODES} YAML nodes after aliases)", node
            )
        if depth > MAX_YAML_DEPTH:
            raise _TooBig(f"YAML nested more than {MAX_YAML_DEPTH} levels deep", node)
        doc = self.doc
        doc.marks[path] = self._mark(node.start_mark)
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != self._SEQ:
                self._bad_tag(node, path)
            return [self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, MappingNode)
        if node.tag != self._MAP:
            self._bad_tag(node, path)
        out: dict[str, Any] = {}
        explicit: dict[str, Mark] = {}
        merges: list[Node] = []
        pairs = []
        for knode, vnode in node.value:
            if knode.tag == self._MERGE:
                merges.extend(vnode.value if isinstance(vnode, SequenceNode) else [vnode])
                continue
            kmark = self._mark(knode.start_mark)
            if not isinstance(knode, ScalarNode):
                self.problems.add(kmark, "a key must be a plain name, not a list or mapping")
                continue
            key = knode.value
            self._controls(knode)
            if key in explicit:
                first = explicit[key]
                self.problems.add(
                    kmark,
                    f"duplicate key {key!r} (first at line {first.line}, column {first.column})",
                )
                continue
            explicit[key] = kmark
            pairs.append((key, kmark, vnode))
        for merged in merges:  # ``<<: *base``: explicit keys win
            if not isinstance(merged, MappingNode):
                self.problems.add(self._mark(merged.start_mark), "'<<' merges a mapping")
                continue
            got = self.convert(merged, path, depth + 1)
            if isinstance(got, dict):
                for key, value in got.items():
                    if key not in explicit:
                        out[key] = value
        for key, kmark, vnode in pairs:
            doc.key_marks[(*path, key)] = kmark
            out[key] = self.convert(vnode, (*path, key), depth + 1)
        doc.marks[path] = self._mark(node.start_mark)
        return out

    def _controls(self, node: ScalarNode) -> None:
        """A control character a YAML escape made (``"\\e[2J"``, ``"\\ud800"``): the
        reader refuses them raw, and echoed they would rewrite the console."""
        bad = control_character(node.value)
        if bad is not None:
            self.problems.add(
                self._mark(node.start_mark),
                f"control character {bad} (from an escape) is not allowed in a spec",
            )

    def _scalar(self, node: ScalarNode, path: PathT) -> Any:
        self._controls(node)
        start, end = node.start_mark, node.end_mark
        if start.line == end.line and node.style in (None, "'", '"'):
            skip = 1 if node.style else 0
            self.doc.text_marks[path] = Mark(self.doc.file, start.line + 1, start.column + 1 + skip)
        if node.tag == self._STR:
            return node.value
        assert self.loader is not None
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            self._bad_tag(node, path)
            return node.value
        except ValueError:  # an integer of more than 4300 digits
            self.problems.add(self._mark(node.start_mark), "number too large")
            return node.value
        if value is None or isinstance(value, bool | int | float | str):
            return value
        return node.value  # dates, binary, ...: the text as written

    def _bad_tag(self, node: Node, path: PathT) -> None:
        self.doc.refused.add(path)
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        self.problems.add(
            self._mark(node.start_mark), f"unsupported YAML tag {tag}: plain YAML only"
        )


def _reader_message(exc: yaml.reader.ReaderError) -> str:
    char = exc.character
    if isinstance(char, int):
        return f"unacceptable character #x{char:04x}: control characters are not allowed in a spec"
    return f"not readable text: {exc.reason}"


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []
        self._seen: set[Problem] = set()

    def add(self, mark: Mark, message: str) -> None:
        problem = Problem(mark, message)
        if problem not in self._seen:
            self._seen.add(problem)
            self.items.append(problem)

    def at(self, doc: Doc, path: PathT, message: str, *, key: bool = False) -> None:
        where = path_text(path)
        mark = doc.key_mark(path) if key else doc.mark(path)
        self.add(mark, f"{where}: {message}" if where else message)

    def sorted(self, order: Sequence[str]) -> list[Problem]:
        rank: dict[str, int] = {}
        for i, f in enumerate(order):
            rank.setdefault(f, i)
        return sorted(
            self.items, key=lambda p: (rank.get(p.mark.file, len(rank)), p.mark.line, p.mark.column)
        )


# ------------------------------------------------------------------ building


@dataclass(frozen=True)
class _At:
    """A value and where it was written (its file may be an included one)."""

    value: Any
    doc: Doc
    path: PathT
    stack: tuple[str, ...] = ()  # the include chain that led here (cycle detection)


@dataclass
class _Merged:
    devices: dict[str, _At] = field(default_factory=dict)
    vars: dict[str, _At] = field(default_factory=dict)
    defaults: dict[str, _At] = field(default_factory=dict)

    def update(self, other: _Merged) -> None:
        self.devices.update(other.devices)
        self.vars.update(other.vars)
        self.defaults.update(other.defaults)


_UNSET = object()


class _Builder:
    """Reads the included files and turns validated data into the model, checking meaning."""

    def __init__(
        self, problems: _Problems, kinds: Mapping[str, Any], roots: Sequence[str] = ()
    ) -> None:
        self.problems = problems
        self.kinds = kinds
        self.roots = list(roots)  # where included and data files may be (confinement)
        self.docs: dict[tuple[str, str], Doc | None] = {}
        self.order: list[str] = []
        self.steps_seen = 0
        self.includes_seen = 0  # every expansion, a file included again counted again
        self.devices: dict[str, Device] = {}
        self.defaults: dict[str, Any] = {}
        self.hidden: set[str] = set()  # saved by sibling parallel branches: not in scope

    # -- files ------------------------------------------------------------

    def parse(self, text: str, file: str, abspath: str | None, root: str) -> Doc | None:
        doc = Doc(file, abspath)
        self.order.append(file)
        if not _Reader(doc, self.problems).read(text):
            return None
        if doc.data is None:
            what = "a scenario" if root == "scenario" else "an included file"
            self.problems.add(Mark(file, 1, 1), f"the file is empty: {what} needs content")
            return None
        for issue in schema_issues(doc.data, root, self.kinds):
            if not any(issue.path[: len(bad)] == bad for bad in doc.refused):
                self.problems.at(doc, issue.path, issue.message, key=issue.key)
        return doc

    def include(self, at: _At, root: str, stack: tuple[str, ...]) -> list[tuple[Doc, str]]:
        """The files an ``include:`` value names, read and checked (cycles refused)."""
        names = at.value if isinstance(at.value, list) else [at.value]
        out = []
        for i, name in enumerate(names):
            path = at.path if not isinstance(at.value, list) else (*at.path, i)
            if not isinstance(name, str) or not name:
                continue  # the schema said so
            self.includes_seen += 1
            if self.includes_seen > MAX_INCLUDES:  # a fan-out of files each including the next
                if self.includes_seen == MAX_INCLUDES + 1:
                    self.problems.at(at.doc, path, f"more than {MAX_INCLUDES} includes expanded")
                continue
            if len(stack) > MAX_INCLUDE_DEPTH:
                self.problems.at(
                    at.doc, path, f"includes nested more than {MAX_INCLUDE_DEPTH} deep"
                )
                continue
            try:
                abspath = confine(name, at.doc.base_dir, self.roots or [at.doc.base_dir])
            except FileRefused as exc:
                self.problems.at(at.doc, path, f"include {exc}")
                continue
            shown = os.path.normpath(os.path.join(os.path.dirname(at.doc.file), name))
            if at.doc.abspath is None and not os.path.isabs(name):
                shown = os.path.normpath(name)
            if abspath in stack:
                chain = " -> ".join(os.path.basename(s) for s in (*stack, abspath))
                self.problems.at(at.doc, path, f"include cycle: {chain}")
                continue
            key = (abspath, root)
            if key not in self.docs:
                self.docs[key] = self._read_include(at.doc, path, abspath, shown, root)
            doc = self.docs[key]
            if doc is not None:
                out.append((doc, abspath))
        return out

    def _read_include(
        self, parent: Doc, path: PathT, abspath: str, shown: str, root: str
    ) -> Doc | None:
        try:
            text = _read_text(abspath)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.problems.at(parent, path, f"cannot read included file {shown!r}: {reason}")
            return None
        except ValueError as exc:
            self.problems.at(parent, path, f"cannot read included file {shown!r}: {exc}")
            return None
        return self.parse(text, shown, abspath, root)

    # -- top level --------------------------------------------------------

    def gather(self, doc: Doc, stack: tuple[str, ...]) -> _Merged:
        """devices/vars/defaults of ``doc`` over those of its includes (later wins)."""
        merged = _Merged()
        data = doc.data if isinstance(doc.data, dict) else {}
        if "include" in data:
            for frag, abspath in self.include(
                _At(data["include"], doc, ("include",)), "fragment", stack
            ):
                merged.update(self.gather(frag, (*stack, abspath)))
        own = _Merged()
        for section, target in (
            ("devices", own.devices),
            ("vars", own.vars),
            ("defaults", own.defaults),
        ):
            value = data.get(section)
            if isinstance(value, dict):
                for k, v in value.items():
                    target[k] = _At(v, doc, (section, k))
        merged.update(own)
        return merged

    def expand(self, items: Any, doc: Doc, path: PathT, stack: tuple[str, ...]) -> list[_At]:
        """A step list with every ``- include: FILE`` replaced by that file's steps."""
        if not isinstance(items, list):
            return []
        return self.splice([(item, (*path, i)) for i, item in enumerate(items)], doc, stack)

    def splice(
        self, items: Iterable[tuple[Any, PathT]], doc: Doc, stack: tuple[str, ...]
    ) -> list[_At]:
        out: list[_At] = []
        for item, here in items:
            if _is_include(item):
                at = _At(item["include"], doc, (*here, "include"))
                for frag, abspath in self.include(at, "step_fragment", stack):
                    data = frag.data
                    if isinstance(data, dict):
                        out += self.expand(data.get("steps"), frag, ("steps",), (*stack, abspath))
                    else:
                        out += self.expand(data, frag, (), (*stack, abspath))
                continue
            self.steps_seen += 1
            if self.steps_seen > MAX_STEPS:
                if self.steps_seen == MAX_STEPS + 1:
                    self.problems.at(doc, here, f"more than {MAX_STEPS} steps after includes")
                continue
            out.append(_At(item, doc, here, stack))
        return out

    # -- the scenario -----------------------------------------------------

    def scenario(self, doc: Doc, name: str) -> Scenario | None:
        data = doc.data if isinstance(doc.data, dict) else {}
        stack = (doc.abspath or doc.file,)
        merged = self.gather(doc, stack)
        self.devices = {n: d for n, at in merged.devices.items() if (d := self.device(n, at))}
        scope: set[str] = set(BUILTIN_VARS)
        variables: dict[str, Any] = {}
        for var, at in merged.vars.items():
            if var in BUILTIN_VARS:
                self.problems.at(
                    at.doc, at.path, f"{var!r} is a built-in variable: pick another name", key=True
                )
            self.check_value(at, scope)
            variables[var] = at.value
            scope.add(var)
        self.check_defaults(merged.defaults, scope)
        steps = self.steps(self.expand(data.get("steps"), doc, ("steps",), stack), "", scope)
        final = self.steps(
            self.expand(data.get("finally"), doc, ("finally",), stack), "finally.", scope
        )
        policy = data.get("on_failure", "stop")
        return Scenario(
            name=data.get("name") if isinstance(data.get("name"), str) else name,
            file=doc.file,
            description=data.get("description") if isinstance(data.get("description"), str) else "",
            version=data.get("sgscript", 1) if isinstance(data.get("sgscript"), int) else 1,
            devices=self.devices,
            vars=variables,
            steps=steps,
            finally_steps=final,
            on_failure=policy if policy in ("stop", "continue") else "stop",
            mark=doc.mark(()),
            base_dir=doc.base_dir,
            includes=tuple(d.file for d in self.docs.values() if d is not None),
            var_marks={var: at.doc.mark(at.path) for var, at in merged.vars.items()},
        )

    def device(self, name: str, at: _At) -> Device | None:
        value = at.value
        mark = at.doc.mark(at.path)
        if isinstance(value, str):
            return Device(name, value, mark=mark)
        if not isinstance(value, dict) or not isinstance(value.get("target"), str):
            return None
        timeout = (
            self.duration(_At(value["timeout"], at.doc, (*at.path, "timeout")), timeout=True)
            if "timeout" in value
            else None
        )
        qd = value.get("queue_depth")
        if isinstance(qd, int) and not isinstance(qd, bool) and qd > MAX_QUEUE_DEPTH:
            self.problems.at(
                at.doc,
                (*at.path, "queue_depth"),
                f"queue_depth is at most {MAX_QUEUE_DEPTH}, got {_short(qd)}",
            )
            qd = None
        initiator = value.get("initiator")
        options = value.get("options")
        return Device(
            name,
            value["target"],
            initiator=initiator if isinstance(initiator, str) else None,
            queue_depth=qd if isinstance(qd, int) and not isinstance(qd, bool) else None,
            timeout=timeout,
            options=dict(options) if isinstance(options, dict) else {},
            mark=mark,
        )

    def check_defaults(self, defaults: Mapping[str, _At], scope: set[str]) -> None:
        for key, at in defaults.items():
            if key == "device":
                if isinstance(at.value, str):
                    self.check_device(at)
                    self.defaults[key] = at.value
            elif key == "timeout":
                self.defaults[key] = self.duration(at, timeout=True)
            elif key == "expect":
                self.defaults[key] = self.expectations(at, scope, None)
            elif key == "queue_depth":
                self.check_value(at, scope)
                self.defaults[key] = at.value
            elif key in ("on_failure", "optional"):
                self.defaults[key] = at.value

    # -- steps ------------------------------------------------------------

    def steps(self, items: list[_At], prefix: str, scope: set[str]) -> tuple[Step, ...]:
        out = []
        for i, at in enumerate(items):
            step = self.step(at, f"{prefix}{i + 1}", scope)
            if step is not None:
                out.append(step)
        return tuple(out)

    def step(self, at: _At, spath: str, scope: set[str]) -> Step | None:
        data = at.value
        if not isinstance(data, dict):
            return None
        mark = at.doc.mark(at.path)
        name = data.get("name") if isinstance(data.get("name"), str) else None
        if "parallel" in data:
            return self.parallel(at, spath, scope, name, mark)
        if "reset" in data:
            device = self.step_device(at)
            kind = data["reset"] if isinstance(data["reset"], str) else "lun"
            return Step(
                "reset",
                name or f"reset {kind} on {device or '?'}",
                device=device,
                reset=kind,
                on_failure=self.policy(data),
                mark=mark,
                path=spath,
            )
        if "sleep" in data:
            seconds = self.duration(_At(data["sleep"], at.doc, (*at.path, "sleep")))
            return Step(
                "sleep", name or f"sleep {data['sleep']}", sleep=seconds, mark=mark, path=spath
            )
        return self.command_step(at, spath, scope, name, mark)

    def parallel(self, at: _At, spath: str, scope: set[str], name: str | None, mark: Mark) -> Step:
        branches = []
        saved: set[str] = set()
        raw = at.value["parallel"] if isinstance(at.value["parallel"], list) else []
        by_branch = [_saved_names(branch) for branch in raw]
        outer_hidden = self.hidden
        for b, branch in enumerate(raw):
            self.hidden = outer_hidden | {
                n for i, names in enumerate(by_branch) if i != b for n in names
            }
            bpath = (*at.path, "parallel", b)
            if isinstance(branch, list):  # a sequence
                items = self.expand(branch, at.doc, bpath, at.stack)
            else:  # a lone step (or an include: its steps are the sequence)
                items = self.splice([(branch, bpath)], at.doc, at.stack)
            inner = set(scope)
            branches.append(self.steps(items, f"{spath}.{b + 1}.", inner))
            saved |= inner - scope
        self.hidden = outer_hidden
        scope |= saved
        n = len(branches)
        return Step(
            "parallel",
            name or f"parallel ({n} branch{'es' if n != 1 else ''})",
            branches=tuple(branches),
            on_failure=self.policy(at.value),
            mark=mark,
            path=spath,
        )

    def command_step(
        self, at: _At, spath: str, scope: set[str], name: str | None, mark: Mark
    ) -> Step | None:
        data, doc, path = at.value, at.doc, at.path
        if "command" not in data and "cdb" not in data:
            return None  # not a step at all: the schema said what is missing
        device = self.step_device(at)
        cls = None
        command: str | None = None
        fields: dict[str, Any] = {}
        raw = data.get("command")
        if isinstance(raw, str):
            cls = self.lookup(raw, _At(raw, doc, (*path, "command")), key=False)
        elif isinstance(raw, dict) and len(raw) == 1:
            ((cname, given),) = raw.items()
            cls = self.lookup(cname, _At(cname, doc, (*path, "command", cname)), key=True)
            if cls is not None and isinstance(given, dict):
                fields = self.fields(cls, given, doc, (*path, "command", cname), scope)
        if cls is not None:
            command = cls.__name__
        cdb = None
        if isinstance(data.get("cdb"), str):
            cdb = self.cdb(_At(data["cdb"], doc, (*path, "cdb")))
        direction = getattr(cls, "direction", None)
        direction_name = getattr(direction, "value", None)
        data_in = data.get("data_in")
        if data_in is not None:
            self.check_value(_At(data_in, doc, (*path, "data_in")), scope)
            if cls is not None and direction_name != "in":
                self.problems.at(
                    doc,
                    (*path, "data_in"),
                    f"{command} reads no data: data_in does not apply",
                    key=True,
                )
        spec = None
        if isinstance(data.get("data"), dict):
            spec = self.data_source(_At(data["data"], doc, (*path, "data")), scope)
            if cls is not None and direction_name != "out":
                self.problems.at(
                    doc,
                    (*path, "data"),
                    f"{command} sends no data: data: is data-out (to check data-in, use expect: {{data: ...}})",
                    key=True,
                )
            if cdb is not None and data_in is not None:
                self.problems.at(
                    doc,
                    (*path, "data"),
                    "a raw CDB either reads (data_in) or writes (data), not both",
                    key=True,
                )
        if "expect" in data:
            expect = self.expectations(_At(data["expect"], doc, (*path, "expect")), scope, cls)
        else:
            expect = self.defaults.get("expect", ())
        save: dict[str, str] = {}
        if isinstance(data.get("save"), dict):
            save = self.save(_At(data["save"], doc, (*path, "save")), cls, scope)
        repeat = self.count(data, at, "repeat", scope, 1)
        qd = self.count(data, at, "queue_depth", scope, self.defaults.get("queue_depth", 1))
        timeout = (
            self.duration(_At(data["timeout"], doc, (*path, "timeout")), timeout=True)
            if "timeout" in data
            else self.defaults.get("timeout")
        )
        optional = data.get("optional", self.defaults.get("optional", False))
        label = command or (f"cdb {cdb}" if cdb else "command")
        scope |= set(save)
        return Step(
            "command",
            name or f"{label} on {device or '?'}",
            device=device,
            command=command,
            fields=fields,
            cdb=cdb,
            data_in=data_in,
            data=spec,
            expect=expect,
            save=save,
            repeat=repeat,
            queue_depth=qd,
            timeout=timeout,
            optional=optional if isinstance(optional, bool) else False,
            on_failure=self.policy(data),
            mark=mark,
            path=spath,
        )

    def count(
        self, data: Mapping[str, Any], at: _At, key: str, scope: set[str], default: Any
    ) -> Any:
        if key not in data:
            return default
        value = data[key]
        here = _At(value, at.doc, (*at.path, key))
        self.check_value(here, scope)
        limit = MAX_REPEAT if key == "repeat" else MAX_QUEUE_DEPTH
        for const, cpath in self.constants(here, scope):
            if isinstance(const, int) and not isinstance(const, bool) and const > limit:
                self.problems.at(at.doc, cpath, f"{key} is at most {limit}, got {_short(const)}")
        return value

    def policy(self, data: Mapping[str, Any]) -> str | None:
        value = data.get("on_failure", self.defaults.get("on_failure"))
        return value if value in ("stop", "continue") else None

    def step_device(self, at: _At) -> str | None:
        data = at.value
        if isinstance(data.get("device"), str):
            self.check_device(_At(data["device"], at.doc, (*at.path, "device")))
            return data["device"]
        if "device" in self.defaults:
            return self.defaults["device"]
        if len(self.devices) == 1:
            return next(iter(self.devices))
        if "device" in data:
            return None  # wrong type: the schema said so
        if self.devices:
            names = ", ".join(self.devices)
            self.problems.at(
                at.doc,
                at.path,
                f"which device? add device: (one of {names}) or defaults: {{device: ...}}",
            )
        else:
            self.problems.at(at.doc, at.path, "no device: declare one under devices:")
        return None

    def check_device(self, at: _At) -> None:
        name = at.value
        if name in self.devices:
            return
        declared = list(self.devices)
        if not declared:
            hint = ": declare it under devices:"
        else:
            near = difflib.get_close_matches(name, declared, n=1)
            hint = (
                f" (did you mean {near[0]!r}?)" if near else f" (declared: {', '.join(declared)})"
            )
        self.problems.at(at.doc, at.path, f"device {name!r} is not declared{hint}")

    # -- commands and fields ------------------------------------------------

    def lookup(self, name: Any, at: _At, *, key: bool) -> Any:
        from ..scsi.cdb import lookup

        if not isinstance(name, str):
            return None
        try:
            return lookup(name)
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

    def cdb(self, at: _At) -> str | None:
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

    def data_source(self, at: _At, scope: set[str]) -> DataSource:
        d, doc, path = at.value, at.doc, at.path
        for key in ("seed", "value", "length"):
            if key in d:
                self.check_value(_At(d[key], doc, (*path, key)), scope)
        if d.get("pattern") == "byte" and "value" not in d:
            self.problems.at(doc, path, "pattern byte needs value: (the byte to repeat)")
        if isinstance(d.get("value"), int) and not 0 <= d["value"] <= 255:
            self.problems.at(doc, (*path, "value"), f"value is a byte (0..255), got {d['value']}")
        hex_text = d.get("hex")
        if isinstance(hex_text, str) and _hex_bytes(hex_text) is None:
            self.problems.at(doc, (*path, "hex"), "expected hex bytes like '00 01 02 03'")
        file = self.data_file(_At(d.get("file"), doc, (*path, "file")))
        return DataSource(
            pattern=d.get("pattern"),
            seed=d.get("seed"),
            value=d.get("value"),
            file=file,
            hex=hex_text if isinstance(hex_text, str) else None,
            length=d.get("length"),
            mark=doc.mark(path),
        )

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

    def expectations(self, at: _At, scope: set[str], cls: Any) -> tuple[Expectation, ...]:
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
            elif kind == "data" and isinstance(v, dict):
                self.check_value(_At(v, doc, here), scope)
                if isinstance(v.get("hex"), str) and _hex_bytes(v["hex"]) is None:
                    self.problems.at(doc, (*here, "hex"), "expected hex bytes like '00 01 02 03'")
                if isinstance(v.get("file"), str):
                    v = {**v, "file": self.data_file(_At(v["file"], doc, (*here, "file")))}
                if cls is not None and getattr(cls.direction, "value", None) != "in":
                    self.problems.at(
                        doc, here, f"{cls.__name__} reads no data: nothing to check", key=True
                    )
            else:
                self.check_value(_At(v, doc, here), scope)
            out.append(Expectation(str(kind), v, mark))
        return tuple(out)

    def check_status_sense(self, at: _At) -> None:
        from ..scsi.status import ScsiStatus, SenseKey

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
        if isinstance(key, str):
            try:
                SenseKey.parse(key)
            except ValueError:
                self.problems.at(
                    doc, kpath, _name_problem("sense key", key, list(SenseKey.__members__))
                )

    def save(self, at: _At, cls: Any, scope: set[str]) -> dict[str, str]:
        out = {}
        for var, fieldname in at.value.items():
            here = (*at.path, var)
            if var in BUILTIN_VARS:
                self.problems.at(
                    at.doc, here, f"{var!r} is a built-in variable: pick another name", key=True
                )
            if isinstance(fieldname, str):
                out[str(var)] = fieldname
        if cls is not None and getattr(cls.direction, "value", None) != "in" and out:
            self.problems.at(
                at.doc, at.path, f"{cls.__name__} returns no data: nothing to save", key=True
            )
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


def _saved_names(data: Any) -> set[str]:
    """Variables a step (or list of steps) saves, nested parallel groups included."""
    if isinstance(data, list):
        return {n for item in data for n in _saved_names(item)}
    if not isinstance(data, dict):
        return set()
    names = set(data["save"]) if isinstance(data.get("save"), dict) else set()
    return names | _saved_names(data.get("parallel"))


def _is_include(item: Any) -> bool:
    """An ``include:`` step (the schema's order: parallel, reset, sleep win over include)."""
    return (
        isinstance(item, dict)
        and "include" in item
        and not {"parallel", "reset", "sleep"} & set(item)
    )


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


def _read_text(path: str) -> str:
    """A spec or included file's text: a regular file (never a FIFO), bounded, UTF-8."""
    raw = read_regular(path, MAX_SPEC_BYTES)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None


# ------------------------------------------------------------------- plugins


def plugin_kinds(plugins: Any) -> dict[str, Any]:
    """Expectation kinds the verify layer knows (built-ins and plugins), when it is installed."""
    try:
        from ..verify import plugins as verify_plugins
    except ImportError:
        return {}
    if plugins is None:
        return _default_kinds()
    return kinds_from_fragment(verify_plugins.expectation_schema(plugins))


@functools.cache
def _default_kinds() -> dict[str, Any]:
    from ..verify import plugins as verify_plugins

    return kinds_from_fragment(
        verify_plugins.expectation_schema(verify_plugins.get_plugin_manager())
    )


# ----------------------------------------------------------------------- API


def load_scenario_text(
    text: str,
    file: str = "<string>",
    *,
    path: str | None = None,
    plugins: Any = None,
    expect_kinds: Mapping[str, Any] | None = None,
    data_dirs: Sequence[str | os.PathLike[str]] = (),
) -> Scenario:
    """A ``Scenario`` from YAML text; ``SpecError`` lists every problem.

    ``file`` is the name messages show; ``path`` (default: ``file`` when it
    exists) locates includes and data files, which must lie under its
    directory or one of ``data_dirs`` (``--data-dir``); ``plugins`` is a pluggy manager
    whose expectation kinds (and registered commands) are allowed (default:
    the built-ins and installed plugins); ``expect_kinds`` adds kinds by hand
    (name → JSON Schema of the value).
    """
    kinds = {**plugin_kinds(plugins), **(expect_kinds or {})}
    problems = _Problems()
    abspath = (
        os.path.realpath(path)
        if path
        else (os.path.realpath(file) if os.path.isfile(file) else None)
    )
    base = os.path.dirname(abspath) if abspath else os.getcwd()
    builder = _Builder(problems, kinds, [base, *(os.fspath(d) for d in data_dirs)])
    doc = builder.parse(text, file, abspath, "scenario")
    scenario = None
    if doc is not None:
        stem = os.path.splitext(os.path.basename(file))[0] or file
        scenario = builder.scenario(doc, stem)
    if problems.items or scenario is None:
        raise SpecError(problems.sorted(builder.order))
    return scenario


def load_scenario(
    path: str | os.PathLike[str],
    *,
    plugins: Any = None,
    expect_kinds: Mapping[str, Any] | None = None,
    data_dirs: Sequence[str | os.PathLike[str]] = (),
) -> Scenario:
    """A ``Scenario`` from a spec file (includes and data files under its directory or
    ``data_dirs``); the file itself must be a regular file (a FIFO is refused, not waited on)."""
    file = os.fspath(path)
    try:
        text = _read_text(file)
    except OSError as exc:
        raise SpecError(
            [Problem(Mark(file, 1, 1), f"cannot read: {exc.strerror or exc}")]
        ) from None
    except ValueError as exc:
        raise SpecError([Problem(Mark(file, 1, 1), f"cannot read: {exc}")]) from None
    return load_scenario_text(
        text, file, path=file, plugins=plugins, expect_kinds=expect_kinds, data_dirs=data_dirs
    )


# ------------------------------------------------------------ --var overrides


def parse_vars(items: Iterable[str], option: str = "--var") -> dict[str, Any]:
    """``["commands=100"]`` → ``{"commands": 100}``: VALUE read as a YAML scalar.

    int, float, bool and string as in a spec; anything else (a list, a date,
    nothing) stays the literal text, so a value never surprises by its type.
    """
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"{option}: expected NAME=VALUE (commands=100), got {item!r}")
        if name in out:
            raise UsageError(f"{option}: {name} given twice")
        try:
            value = yaml.safe_load(text)
        except (yaml.YAMLError, ValueError):  # ValueError: an integer of over 4300 digits
            value = text if len(text) < 4000 else None
        if value is None or (isinstance(value, int) and value.bit_length() > MAX_BITS):
            raise UsageError(f"{option} {name}=...: number too large (more than {MAX_BITS} bits)")
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"{option} {name}={text}: not a finite number")
        if isinstance(value, str) and len(value) > MAX_STRING:
            raise UsageError(f"{option} {name}=...: longer than {MAX_STRING} characters")
        out[name] = value if isinstance(value, int | float | str) else text
    return out


def check_var_names(names: Iterable[str], declared: Iterable[str], option: str = "--var") -> None:
    """A ``UsageError`` for the first NAME no spec declares (a typo would change nothing)."""
    known = sorted(set(declared))
    for name in names:
        if name not in known:
            listed = ", ".join(known) or "none"
            raise UsageError(
                f"{option} {name}=...: no spec declares a variable {name!r} ({listed})"
            )


def override_vars(
    scenarios: Sequence[Scenario],
    overrides: Mapping[str, Any],
    *,
    option: str = "--var",
    strict: bool = True,
) -> list[Scenario]:
    """The scenarios with the ``vars:`` entries they declare replaced by ``overrides``.

    Each scenario takes the names it declares (as ``--device``); ``strict``
    rejects a name none declares.  A new frozen ``Scenario`` with a plain dict,
    so the run stays self-contained and picklable; later ``vars:`` that use an
    overridden one see the new value (they are evaluated at plan time).
    """
    if strict:
        check_var_names(overrides, (n for s in scenarios for n in s.vars), option)
    return [
        replace(s, vars={n: overrides.get(n, v) for n, v in s.vars.items()}) if overrides else s
        for s in scenarios
    ]

"""Reading the files a spec includes: fragments merged under it, step files spliced in.

The file half of the builder (``builder._Builder`` inherits it): paths are
confined (``files.confine``), cycles refused, each file read and checked once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...limits import MAX_INCLUDE_DEPTH, MAX_INCLUDES, MAX_SPEC_BYTES, MAX_STEPS
from ..files import FileRefused, confine, read_regular
from ..model import Mark
from ..schema import schema_issues
from .doc import Doc, PathT, _Problems
from .reader import _Reader

__all__: list[str] = []


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


class _Includes:
    """The include half of ``_Builder`` (the attributes it uses are the builder's)."""

    problems: _Problems
    kinds: Mapping[str, Any]
    roots: list[str]
    docs: dict[tuple[str, str], Doc | None]
    order: list[str]
    steps_seen: int
    includes_seen: int

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


def _is_include(item: Any) -> bool:
    """An ``include:`` step (the schema's order: group, parallel, reset, task, sleep win over include)."""
    return (
        isinstance(item, dict)
        and "include" in item
        and not {"parallel", "group", "check", "reset", "task", "sleep"} & set(item)
    )


def _read_text(path: str) -> str:
    """A spec or included file's text: a regular file (never a FIFO), bounded, UTF-8."""
    raw = read_regular(path, MAX_SPEC_BYTES)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None

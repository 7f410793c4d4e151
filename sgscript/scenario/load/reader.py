"""YAML text → ``Doc``: safe parsing with marks, bounded while it is parsed.

Nothing is constructed but str/int/float/bool/null; duplicate keys, foreign
tags, too deep or too many nodes are problems at ``FILE:LINE:COL``.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ...grammar import abbreviated as _short
from ...limits import MAX_NODES, MAX_YAML_DEPTH, control_character
from ..model import Mark
from .doc import Doc, PathT, _Problems

__all__: list[str] = []


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

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
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
            return super().compose_node(parent, index)
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

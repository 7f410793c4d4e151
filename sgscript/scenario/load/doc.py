"""A spec file as plain data with the mark of every value, and the problems found in it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...limits import clip
from ...scsi.errors import UsageError
from ..model import Mark
from ..schema import path_text

__all__ = ["Doc", "PathT", "Problem", "SpecError"]

PathT = tuple[str | int, ...]


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

"""The loader's entry points: a spec file or text to a ``Scenario``, or every problem."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ...limits import MAX_SPEC_BYTES
from ...scsi.catalog import Catalog
from ..model import Mark, Scenario
from .builder import _Builder
from .doc import Problem, SpecError, _Problems
from .includes import _read_text

__all__ = ["MAX_FILE_BYTES", "Extensions", "load_scenario", "load_scenario_text"]

MAX_FILE_BYTES = MAX_SPEC_BYTES  # the older name


class Extensions(Protocol):
    """What the loader needs of a plugin manager (``verify.get_plugin_manager()``)."""

    #: Every command the plugins contributed: what ``command:`` names resolve in.
    catalog: Catalog

    @property
    def expect_schemas(self) -> Mapping[str, Any]:
        """Every expectation kind, built-in and plugin: name → JSON Schema of its value."""
        ...


def load_scenario_text(
    text: str,
    file: str = "<string>",
    *,
    path: str | None = None,
    plugins: Extensions | None = None,
    expect_kinds: Mapping[str, Any] | None = None,
    data_dirs: Sequence[str | os.PathLike[str]] = (),
) -> Scenario:
    """A ``Scenario`` from YAML text; ``SpecError`` lists every problem.

    ``file`` is the name messages show; ``path`` (default: ``file`` when it
    exists) locates includes and data files, which must lie under its
    directory or one of ``data_dirs`` (``--data-dir``); ``plugins`` is a plugin
    manager whose commands and expectation kinds the spec may use (default: the
    standard catalog and the built-in kinds); ``expect_kinds`` adds kinds by hand
    (name → JSON Schema of the value).
    """
    kinds = {**(plugins.expect_schemas if plugins is not None else {}), **(expect_kinds or {})}
    catalog = plugins.catalog if plugins is not None else None
    problems = _Problems()
    abspath = (
        os.path.realpath(path)
        if path
        else (os.path.realpath(file) if os.path.isfile(file) else None)
    )
    base = os.path.dirname(abspath) if abspath else os.getcwd()
    builder = _Builder(problems, kinds, [base, *(os.fspath(d) for d in data_dirs)], catalog)
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
    plugins: Extensions | None = None,
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

"""``--var NAME=VALUE``: values read as YAML scalars, names checked, scenarios overridden."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import yaml

from ...limits import MAX_BITS, MAX_STRING
from ...scsi.errors import UsageError
from ..model import Scenario

__all__ = ["check_var_names", "override_vars", "parse_vars"]


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

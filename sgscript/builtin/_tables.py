"""Merging what every plugin contributes to one table-shaped hook."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import pluggy

from ..scsi.errors import UsageError

V = TypeVar("V")


def merged(
    pm: pluggy.PluginManager,
    hook: str,
    *,
    valid: Callable[[Any, Any], bool],
    expected: str,
    label: Callable[[str], str],
    same: Callable[[V, V], bool] = lambda a, b: a is b,
    arguments: Mapping[str, Any] | None = None,
) -> dict[str, V]:
    """Every plugin's ``hook`` tables in one; an entry two plugins define differently is
    refused (``UsageError`` naming both), and so is one that is not ``expected``.

    ``arguments`` are the hook's arguments: each implementation gets those it names.
    """
    table: dict[str, V] = {}
    owner: dict[str, str] = {}
    arguments = arguments or {}
    for impl in getattr(pm.hook, hook).get_hookimpls():
        given = [arguments[name] for name in impl.argnames]
        contributed = cast("dict[str, V]", impl.function(*given) or {})
        for key, value in contributed.items():
            if not valid(key, value):
                raise UsageError(
                    f"plugin {impl.plugin_name}: {hook} returned {key!r}: {value!r}, not {expected}"
                )
            if key in owner and not same(table[key], value):
                raise UsageError(
                    f"{label(key)} is defined by both {owner[key]} and {impl.plugin_name}"
                )
            owner[key] = impl.plugin_name
            table[key] = value
    return table

"""The built-in target kinds (``sg``, ``sim``), and installing every plugin's target kinds."""

from __future__ import annotations

import re
from typing import cast

import pluggy

from ..hookspecs import TargetFactory, hookimpl
from ..scsi.errors import UsageError
from ..transport import builtin_schemes, register_scheme

__all__ = ["install_target_kinds", "sgscript_target_kinds", "target_kinds"]

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")


@hookimpl
def sgscript_target_kinds() -> dict[str, TargetFactory]:
    return builtin_schemes()


def target_kinds(pm: pluggy.PluginManager) -> dict[str, TargetFactory]:
    """Every plugin's target kinds by scheme; a scheme two plugins define is refused."""
    table: dict[str, TargetFactory] = {}
    owner: dict[str, str] = {}
    for impl in pm.hook.sgscript_target_kinds.get_hookimpls():
        contributed = cast("dict[str, TargetFactory]", impl.function() or {})
        for scheme, factory in contributed.items():
            if not isinstance(scheme, str) or not _SCHEME.match(scheme) or not callable(factory):
                raise UsageError(
                    f"plugin {impl.plugin_name}: sgscript_target_kinds returned {scheme!r}:"
                    f" {factory!r}, not a lower-case scheme and a factory"
                )
            if scheme in owner and table[scheme] is not factory:
                raise UsageError(
                    f"target kind {scheme + ':'!r} is defined by both {owner[scheme]}"
                    f" and {impl.plugin_name}"
                )
            owner[scheme] = impl.plugin_name
            table[scheme] = factory
    return table


def install_target_kinds(pm: pluggy.PluginManager) -> None:
    """Make ``open_transport`` (``Channel.open``) open every target kind ``pm`` knows."""
    for scheme, factory in target_kinds(pm).items():
        register_scheme(scheme, factory)

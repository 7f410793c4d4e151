"""The built-in target kinds (``sg``, ``sim``), and installing every plugin's target kinds."""

from __future__ import annotations

import re

import pluggy

from ..hookspecs import TargetFactory, hookimpl
from ..transport import builtin_schemes, register_scheme
from ._tables import merged

__all__ = ["install_target_kinds", "sgscript_target_kinds", "target_kinds"]

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")


@hookimpl
def sgscript_target_kinds() -> dict[str, TargetFactory]:
    return builtin_schemes()


def target_kinds(pm: pluggy.PluginManager) -> dict[str, TargetFactory]:
    """Every plugin's target kinds by scheme; a scheme two plugins define is refused."""
    return merged(
        pm,
        "sgscript_target_kinds",
        valid=lambda scheme, factory: (
            isinstance(scheme, str) and bool(_SCHEME.match(scheme)) and callable(factory)
        ),
        expected="a lower-case scheme and a factory",
        label=lambda scheme: f"target kind {scheme + ':'!r}",
    )


def install_target_kinds(pm: pluggy.PluginManager) -> None:
    """Make ``open_transport`` (``Channel.open``) open every target kind ``pm`` knows."""
    for scheme, factory in target_kinds(pm).items():
        register_scheme(scheme, factory)

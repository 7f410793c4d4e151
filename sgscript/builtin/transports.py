"""The built-in target kinds (``sg``, ``sim``), and merging every plugin's target kinds."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import pluggy

from ..hookspecs import TargetFactory, hookimpl
from ..scsi.catalog import Catalog
from ..sim.lu import Handler
from ..transport import builtin_schemes
from ._tables import merged

__all__ = ["sgscript_target_kinds", "target_kinds"]

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")


@hookimpl
def sgscript_target_kinds(
    catalog: Catalog, sim_handlers: Mapping[str, Handler]
) -> dict[str, TargetFactory]:
    kinds = builtin_schemes()
    # a sim: unit knows the plugin manager's commands and answers with its handlers
    kinds["sim"] = functools.partial(kinds["sim"], catalog=catalog, handlers=sim_handlers)
    return kinds


def target_kinds(
    pm: pluggy.PluginManager, catalog: Catalog, sim_handlers: Mapping[str, Handler]
) -> dict[str, TargetFactory]:
    """Every plugin's target kinds by scheme; a scheme two plugins define is refused."""
    arguments: dict[str, Any] = {"catalog": catalog, "sim_handlers": sim_handlers}
    return merged(
        pm,
        "sgscript_target_kinds",
        valid=lambda scheme, factory: (
            isinstance(scheme, str) and bool(_SCHEME.match(scheme)) and callable(factory)
        ),
        expected="a lower-case scheme and a factory",
        label=lambda scheme: f"target kind {scheme + ':'!r}",
        arguments=arguments,
    )

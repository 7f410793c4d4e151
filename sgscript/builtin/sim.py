"""The simulated disk's own command handlers, and merging every plugin's handlers."""

from __future__ import annotations

import pluggy

from ..hookspecs import hookimpl
from ..sim.lu import Handler, builtin_handlers
from ._tables import merged

__all__ = ["sgscript_sim_handlers", "sim_handlers"]


@hookimpl
def sgscript_sim_handlers() -> dict[str, Handler]:
    return builtin_handlers()


def _same(a: Handler, b: Handler) -> bool:
    """The same function, or its definition from a module imported again (reload, pytester)."""
    key = ("__module__", "__qualname__")
    return a is b or all(getattr(a, k, None) == getattr(b, k, None) for k in key)


def sim_handlers(pm: pluggy.PluginManager) -> dict[str, Handler]:
    """Every plugin's sim handlers by command name; a command two plugins handle is refused."""
    return merged(
        pm,
        "sgscript_sim_handlers",
        valid=lambda name, handler: isinstance(name, str) and callable(handler),
        expected="a command name and a handler",
        label=lambda name: f"simulated handler for {name}",
        same=_same,
    )

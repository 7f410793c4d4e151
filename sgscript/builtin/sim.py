"""The simulated disk's own command handlers, and installing every plugin's handlers."""

from __future__ import annotations

from typing import cast

import pluggy

from ..hookspecs import hookimpl
from ..scsi.errors import UsageError
from ..sim.lu import Handler, builtin_handlers, install_handlers

__all__ = ["install_sim_handlers", "sgscript_sim_handlers", "sim_handlers"]


@hookimpl
def sgscript_sim_handlers() -> dict[str, Handler]:
    from .. import sim  # noqa: F401  (the package imports every handler module)

    return builtin_handlers()


def _same(a: Handler, b: Handler) -> bool:
    """The same function, or its definition from a module imported again (reload, pytester)."""
    key = ("__module__", "__qualname__")
    return a is b or all(getattr(a, k, None) == getattr(b, k, None) for k in key)


def sim_handlers(pm: pluggy.PluginManager) -> dict[str, Handler]:
    """Every plugin's sim handlers by command name; a command two plugins handle is refused."""
    table: dict[str, Handler] = {}
    owner: dict[str, str] = {}
    for impl in pm.hook.sgscript_sim_handlers.get_hookimpls():
        contributed = cast("dict[str, Handler]", impl.function() or {})
        for name, handler in contributed.items():
            if not isinstance(name, str) or not callable(handler):
                raise UsageError(
                    f"plugin {impl.plugin_name}: sgscript_sim_handlers returned {name!r}:"
                    f" {handler!r}, not a command name and a handler"
                )
            if name in owner and not _same(table[name], handler):
                raise UsageError(
                    f"simulated handler for {name} is defined by both {owner[name]}"
                    f" and {impl.plugin_name}"
                )
            owner[name] = impl.plugin_name
            table[name] = handler
    return table


def install_sim_handlers(pm: pluggy.PluginManager) -> None:
    """Make ``sim:`` logical units answer every command ``pm``'s plugins handle."""
    install_handlers(sim_handlers(pm))

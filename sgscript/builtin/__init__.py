"""The built-in plugins: what sgscript itself contributes through the hooks of ``hookspecs``.

Each module returns one area's tables (the areas stay free of pluggy):
``transports`` the ``sg`` and ``sim`` target kinds, ``catalog`` the SCSI command
catalog, ``sim`` the simulated disk's command handlers.  The built-in expectations
are ``sgscript.verify.builtin``; the reporters are wired by the runner.  Each module
also installs what every plugin of a plugin manager contributed to its area.
"""

from __future__ import annotations

from . import catalog, sim, transports

__all__ = ["PLUGINS", "catalog", "sim", "transports"]

#: Registered first by every plugin manager, under these names.
PLUGINS = {
    "sgscript.builtin.transports": transports,
    "sgscript.builtin.catalog": catalog,
    "sgscript.builtin.sim": sim,
}

"""The simulated logical unit: a standards-conforming SBC disk as a pure device model.

``sim:NAME`` targets open through :mod:`sgscript.transport.sim`; this package
has no I/O of its own.  Importing it registers every command handler.
"""

from . import faults, logs, modes, reservations, sbc, spc, vpd  # noqa: F401  (importing registers handlers)
from .core import C, Condition, Fail, Request, Response, StatusFail
from .lu import LogicalUnit, LuConfig, handles
from .target import Target, forget_targets, get_target, parse_target, targets

__all__ = [
    "C",
    "Condition",
    "Fail",
    "LogicalUnit",
    "LuConfig",
    "Request",
    "Response",
    "StatusFail",
    "Target",
    "forget_targets",
    "get_target",
    "handles",
    "parse_target",
    "targets",
]

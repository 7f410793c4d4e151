"""sgscript: declarative SCSI testing over the Linux sg driver.

The Python API of the seed library, modernised::

    from sgscript import Channel, command, handler
    ch = Channel.open("/dev/sg3")
    ch.cmd.TestUnitReady()
"""

from . import command, handler
from .channel import Channel
from .reactor import Reactor
from .scsi.catalog import Catalog, catalog, decode_cdb, lookup
from .scsi.cdb import Command, Direction
from .scsi.errors import (
    CheckCondition,
    CommandTimeout,
    DriverError,
    ExpectationFailed,
    HostError,
    IllegalRequest,
    MediumError,
    NotReady,
    ReservationConflict,
    SgscriptError,
    StatusError,
    TaskFailed,
    TransportError,
    UnitAttention,
    UsageError,
)
from .transport import open_transport
from .transport.base import Io, ResetKind, Transport

__version__ = "0.1.0"

#: Scenario entry points, imported on first use (they pull in YAML and JSON Schema).
_LAZY = {
    "load_scenario": ("sgscript.runner.session", "load_scenario"),
    "Plan": ("sgscript.scenario.plan", "Plan"),
    "run_scenario": ("sgscript.runner", "run_scenario"),
    "ScenarioResult": ("sgscript.runner", "ScenarioResult"),
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'sgscript' has no attribute {name!r}")


__all__ = [
    "Catalog",
    "Channel",
    "CheckCondition",
    "Command",
    "CommandTimeout",
    "Direction",
    "DriverError",
    "ExpectationFailed",
    "HostError",
    "IllegalRequest",
    "Io",
    "MediumError",
    "NotReady",
    "Plan",
    "Reactor",
    "ReservationConflict",
    "ResetKind",
    "ScenarioResult",
    "SgscriptError",
    "StatusError",
    "TaskFailed",
    "Transport",
    "TransportError",
    "UnitAttention",
    "UsageError",
    "catalog",
    "command",
    "decode_cdb",
    "handler",
    "load_scenario",
    "lookup",
    "open_transport",
    "run_scenario",
]

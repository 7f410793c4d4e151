"""sgscript: declarative SCSI testing over the Linux sg driver.

The Python API of the seed library, modernised::

    from sgscript import Channel, command, handler
    ch = Channel.open("/dev/sg3")
    ch.cmd.TestUnitReady()

Every name is imported on first use (PEP 562), so ``sgscript --version`` and a
short run do not pay for the command tables, YAML and JSON Schema they never touch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__ as __version__

_ERRORS = "sgscript.scsi.errors"
#: Public name -> the module that defines it (a module itself when the name is one).
_WHERE = {
    "AbortedCommand": _ERRORS,
    "AcaActive": _ERRORS,
    "BlankCheck": _ERRORS,
    "Busy": _ERRORS,
    "Catalog": "sgscript.scsi.catalog",
    "Channel": "sgscript.channel",
    "CheckCondition": _ERRORS,
    "Command": "sgscript.scsi.cdb",
    "CommandTerminated": _ERRORS,
    "CommandTimeout": _ERRORS,
    "Completed": _ERRORS,
    "CopyAborted": _ERRORS,
    "DataProtect": _ERRORS,
    "Direction": "sgscript.scsi.cdb",
    "DriverError": _ERRORS,
    "Equal": _ERRORS,
    "ExpectationFailed": _ERRORS,
    "FieldValueError": _ERRORS,
    "HardwareError": _ERRORS,
    "HostError": _ERRORS,
    "IllegalRequest": _ERRORS,
    "Io": "sgscript.transport.base",
    "MediumError": _ERRORS,
    "Miscompare": _ERRORS,
    "NoSense": _ERRORS,
    "NotReady": _ERRORS,
    "Plan": "sgscript.scenario.plan",
    "Reactor": "sgscript.reactor",
    "RecoveredError": _ERRORS,
    "ReservationConflict": _ERRORS,
    "ResetKind": "sgscript.transport.base",
    "ScenarioResult": "sgscript.runner",
    "SgscriptError": _ERRORS,
    "StatusError": _ERRORS,
    "TaskAborted": _ERRORS,
    "TaskFailed": _ERRORS,
    "TaskSetFull": _ERRORS,
    "Transport": "sgscript.transport.base",
    "TransportError": _ERRORS,
    "UnitAttention": _ERRORS,
    "UnknownCommandError": _ERRORS,
    "UnknownFieldError": _ERRORS,
    "UsageError": _ERRORS,
    "VendorSpecific": _ERRORS,
    "VolumeOverflow": _ERRORS,
    "catalog": "sgscript.scsi.catalog",
    "command": "sgscript.command",
    "decode_cdb": "sgscript.scsi.catalog",
    "handler": "sgscript.handler",
    "load_scenario": "sgscript.runner.session",
    "lookup": "sgscript.scsi.catalog",
    "open_transport": "sgscript.transport",
    "run_scenario": "sgscript.runner",
}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sgscript' has no attribute {name!r}")
    found = importlib.import_module(module)
    value = found if module.rpartition(".")[2] == name else getattr(found, name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


if TYPE_CHECKING:
    from . import command, handler
    from .channel import Channel
    from .reactor import Reactor
    from .runner import ScenarioResult, run_scenario
    from .runner.session import load_scenario
    from .scenario.plan import Plan
    from .scsi.catalog import Catalog, catalog, decode_cdb, lookup
    from .scsi.cdb import Command, Direction
    from .scsi.errors import (
        AbortedCommand,
        AcaActive,
        BlankCheck,
        Busy,
        CheckCondition,
        CommandTerminated,
        CommandTimeout,
        Completed,
        CopyAborted,
        DataProtect,
        DriverError,
        Equal,
        ExpectationFailed,
        FieldValueError,
        HardwareError,
        HostError,
        IllegalRequest,
        MediumError,
        Miscompare,
        NoSense,
        NotReady,
        RecoveredError,
        ReservationConflict,
        SgscriptError,
        StatusError,
        TaskAborted,
        TaskFailed,
        TaskSetFull,
        TransportError,
        UnitAttention,
        UnknownCommandError,
        UnknownFieldError,
        UsageError,
        VendorSpecific,
        VolumeOverflow,
    )
    from .transport import open_transport
    from .transport.base import Io, ResetKind, Transport

__all__ = [
    "AbortedCommand",
    "AcaActive",
    "BlankCheck",
    "Busy",
    "Catalog",
    "Channel",
    "CheckCondition",
    "Command",
    "CommandTerminated",
    "CommandTimeout",
    "Completed",
    "CopyAborted",
    "DataProtect",
    "Direction",
    "DriverError",
    "Equal",
    "ExpectationFailed",
    "FieldValueError",
    "HardwareError",
    "HostError",
    "IllegalRequest",
    "Io",
    "MediumError",
    "Miscompare",
    "NoSense",
    "NotReady",
    "Plan",
    "Reactor",
    "RecoveredError",
    "ReservationConflict",
    "ResetKind",
    "ScenarioResult",
    "SgscriptError",
    "StatusError",
    "TaskAborted",
    "TaskFailed",
    "TaskSetFull",
    "Transport",
    "TransportError",
    "UnitAttention",
    "UnknownCommandError",
    "UnknownFieldError",
    "UsageError",
    "VendorSpecific",
    "VolumeOverflow",
    "catalog",
    "command",
    "decode_cdb",
    "handler",
    "load_scenario",
    "lookup",
    "open_transport",
    "run_scenario",
]

"""The error hierarchy: a class per way a command can fail, all under ``TaskFailed``.

``TaskFailed`` is the seed library's single exception; every command failure
still derives from it, so ``except TaskFailed`` keeps catching them all.
Input mistakes (a field that does not fit, an unknown command) are
``UsageError``: they are the caller's, not the device's (defined in
:mod:`sgscript.scsi.usage`, which ``sense.py`` uses too; re-exported here).

``classify`` maps a completed command's SCSI status and sense to the class to
raise; it is pure, so the reactor, the simulated target and the verifiers
agree.  How the path failed (timeouts, host, driver and transport errors) is
the transport's to say (``Io.transport_outcome``); these classes only name it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .status import ScsiStatus, SenseKey
from .usage import (
    FieldValueError,
    SgscriptError,
    UnknownCommandError,
    UnknownFieldError,
    UsageError,
)

if TYPE_CHECKING:
    from .sense import Sense

__all__ = [
    "AbortedCommand",
    "AcaActive",
    "BlankCheck",
    "Busy",
    "CheckCondition",
    "CommandTerminated",
    "CommandTimeout",
    "Completed",
    "CopyAborted",
    "DataProtect",
    "DriverError",
    "Equal",
    "ExpectationFailed",
    "FieldValueError",
    "HardwareError",
    "HostError",
    "IllegalRequest",
    "MediumError",
    "Miscompare",
    "NoSense",
    "NotReady",
    "RecoveredError",
    "ReservationConflict",
    "SgscriptError",
    "StatusError",
    "TaskAborted",
    "TaskFailed",
    "TaskSetFull",
    "TransportError",
    "UnitAttention",
    "UnknownCommandError",
    "UnknownFieldError",
    "UsageError",
    "VendorSpecific",
    "VolumeOverflow",
    "classify",
]


# ------------------------------------------------------------ device errors


class TaskFailed(SgscriptError):
    """A command did not complete as expected; ``io`` holds everything that came back."""

    def __init__(self, io: Any = None, detail: str = "") -> None:
        self.io = io
        self.detail = detail or type(self).__name__
        super().__init__(_where(io) + self.detail)


def _where(io: Any) -> str:
    if io is None:
        return ""
    command = getattr(io, "command", None)
    name = command.describe() if command is not None else "command"
    target = getattr(io, "target", None)
    return f"{name} on {target}: " if target else f"{name}: "


class CheckCondition(TaskFailed):
    """CHECK CONDITION; ``sense`` is the decoded sense data (None when none came back)."""

    sense_key: SenseKey | None = None

    @property
    def sense(self) -> Sense | None:
        return getattr(self.io, "sense", None)


def _key_class(key: SenseKey) -> type[CheckCondition]:
    name = "".join(part.capitalize() for part in key.name.split("_"))
    cls = type(name, (CheckCondition,), {"sense_key": key, "__doc__": f"Sense key {key.title}."})
    cls.__module__ = __name__
    return cls


NoSense = _key_class(SenseKey.NO_SENSE)
RecoveredError = _key_class(SenseKey.RECOVERED_ERROR)
NotReady = _key_class(SenseKey.NOT_READY)
MediumError = _key_class(SenseKey.MEDIUM_ERROR)
HardwareError = _key_class(SenseKey.HARDWARE_ERROR)
IllegalRequest = _key_class(SenseKey.ILLEGAL_REQUEST)
UnitAttention = _key_class(SenseKey.UNIT_ATTENTION)
DataProtect = _key_class(SenseKey.DATA_PROTECT)
BlankCheck = _key_class(SenseKey.BLANK_CHECK)
VendorSpecific = _key_class(SenseKey.VENDOR_SPECIFIC)
CopyAborted = _key_class(SenseKey.COPY_ABORTED)
AbortedCommand = _key_class(SenseKey.ABORTED_COMMAND)
Equal = _key_class(SenseKey.EQUAL)
VolumeOverflow = _key_class(SenseKey.VOLUME_OVERFLOW)
Miscompare = _key_class(SenseKey.MISCOMPARE)
Completed = _key_class(SenseKey.COMPLETED)

_BY_KEY: dict[int | None, type[CheckCondition]] = {  # also asked for None (no key)
    cls.sense_key: cls  # type: ignore[misc]
    for cls in (
        NoSense,
        RecoveredError,
        NotReady,
        MediumError,
        HardwareError,
        IllegalRequest,
        UnitAttention,
        DataProtect,
        BlankCheck,
        VendorSpecific,
        CopyAborted,
        AbortedCommand,
        Equal,
        VolumeOverflow,
        Miscompare,
        Completed,
    )
}


class StatusError(TaskFailed):
    """A status other than GOOD or CHECK CONDITION."""

    status: ScsiStatus | None = None


class ReservationConflict(StatusError):
    status = ScsiStatus.RESERVATION_CONFLICT


class Busy(StatusError):
    status = ScsiStatus.BUSY


class TaskSetFull(StatusError):
    status = ScsiStatus.TASK_SET_FULL


class TaskAborted(StatusError):
    status = ScsiStatus.TASK_ABORTED


class AcaActive(StatusError):
    status = ScsiStatus.ACA_ACTIVE


class CommandTerminated(StatusError):
    status = ScsiStatus.COMMAND_TERMINATED


_BY_STATUS: dict[int, type[StatusError]] = {
    c.status: c  # type: ignore[misc]
    for c in (ReservationConflict, Busy, TaskSetFull, TaskAborted, AcaActive, CommandTerminated)
}


class HostError(TaskFailed):
    """The host adapter reported the failure, not the device (Linux: a ``DID_*`` code)."""

    @property
    def host_status(self) -> int:
        return int(getattr(self.io, "host_status", 0))


class DriverError(TaskFailed):
    """The host's driver reported the failure (Linux: a ``DRIVER_*`` code)."""

    @property
    def driver_status(self) -> int:
        return int(getattr(self.io, "driver_status", 0))


class CommandTimeout(TaskFailed):
    """The command outlived its timeout (in the kernel, or in the reactor for ``sim:``)."""


class TransportError(TaskFailed):
    """The path to the device broke: a system call failed or the device went away."""

    @property
    def errno(self) -> int | None:
        err = getattr(self.io, "os_error", None)
        return getattr(err, "errno", None)


class ExpectationFailed(TaskFailed):
    """A verify handler's expectation did not hold (a must-fail command succeeded, ...)."""


# --------------------------------------------------------------- classifying

_GOOD = frozenset({ScsiStatus.GOOD, ScsiStatus.CONDITION_MET})


def classify(status: int, sense: Sense | None = None) -> tuple[type[TaskFailed], str] | None:
    """The exception class and words for the device's answer, or None when it succeeded."""
    if status == ScsiStatus.CHECK_CONDITION or (
        status == ScsiStatus.GOOD and sense is not None and sense.sense_key not in (0, None)
    ):
        if sense is None:
            return CheckCondition, "CHECK CONDITION without sense data"
        key_class = _BY_KEY.get(sense.sense_key, CheckCondition)
        return key_class, "CHECK CONDITION, " + sense.summary()
    if status in _GOOD:
        return None
    return _BY_STATUS.get(status, StatusError), ScsiStatus.text(status)

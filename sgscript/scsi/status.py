"""Status values as data: SCSI status, sense keys, Linux host (DID_*) and driver codes."""

from __future__ import annotations

import enum
from typing import Self

__all__ = ["DriverStatus", "HostStatus", "ScsiStatus", "SenseKey"]


class _Titled(enum.IntEnum):
    """An IntEnum whose members also carry the text people read."""

    title: str

    # ``title`` has a default for the type checker only: every member gives one, and after
    # the class is made, ``Cls(value)`` is the enum's lookup by value, not this constructor.
    def __new__(cls, value: int, title: str = "") -> Self:
        obj = int.__new__(cls, value)
        obj._value_ = value
        obj.title = title
        return obj

    @classmethod
    def parse(cls, value: str | int) -> Self:
        """By value or by name, any case, spaces or underscores (``"illegal request"``)."""
        if isinstance(value, int):
            return cls(value)
        key = value.strip().upper().replace(" ", "_").replace("-", "_")
        if key.startswith("0X"):
            return cls(int(key, 16))
        if key.isdigit():
            return cls(int(key))
        try:
            return cls[key]
        except KeyError:
            raise ValueError(
                f"{value!r} is not a {cls.__name__}: one of {', '.join(cls.__members__)}"
            ) from None

    @classmethod
    def text(cls, value: int) -> str:
        try:
            return cls(value).title
        except ValueError:
            return f"{cls.__name__} 0x{value:02x}"


class ScsiStatus(_Titled):
    """SAM-5 status codes (SAM-5 table 43)."""

    GOOD = 0x00, "GOOD"
    CHECK_CONDITION = 0x02, "CHECK CONDITION"
    CONDITION_MET = 0x04, "CONDITION MET"
    BUSY = 0x08, "BUSY"
    INTERMEDIATE = 0x10, "INTERMEDIATE"
    INTERMEDIATE_CONDITION_MET = 0x14, "INTERMEDIATE-CONDITION MET"
    RESERVATION_CONFLICT = 0x18, "RESERVATION CONFLICT"
    COMMAND_TERMINATED = 0x22, "COMMAND TERMINATED"
    TASK_SET_FULL = 0x28, "TASK SET FULL"
    ACA_ACTIVE = 0x30, "ACA ACTIVE"
    TASK_ABORTED = 0x40, "TASK ABORTED"


class SenseKey(_Titled):
    """SPC-5 sense keys, titled as sg3_utils prints them."""

    NO_SENSE = 0x0, "No Sense"
    RECOVERED_ERROR = 0x1, "Recovered Error"
    NOT_READY = 0x2, "Not Ready"
    MEDIUM_ERROR = 0x3, "Medium Error"
    HARDWARE_ERROR = 0x4, "Hardware Error"
    ILLEGAL_REQUEST = 0x5, "Illegal Request"
    UNIT_ATTENTION = 0x6, "Unit Attention"
    DATA_PROTECT = 0x7, "Data Protect"
    BLANK_CHECK = 0x8, "Blank Check"
    VENDOR_SPECIFIC = 0x9, "Vendor specific"
    COPY_ABORTED = 0xA, "Copy Aborted"
    ABORTED_COMMAND = 0xB, "Aborted Command"
    EQUAL = 0xC, "Equal"  # obsolete since SPC-3, still decoded
    VOLUME_OVERFLOW = 0xD, "Volume Overflow"
    MISCOMPARE = 0xE, "Miscompare"
    COMPLETED = 0xF, "Completed"


class HostStatus(_Titled):
    """Linux ``DID_*`` host byte values (include/scsi/scsi_status.h)."""

    DID_OK = 0x00, "no error"
    DID_NO_CONNECT = 0x01, "could not connect before timeout period"
    DID_BUS_BUSY = 0x02, "bus stayed busy through time out period"
    DID_TIME_OUT = 0x03, "timed out for other reason"
    DID_BAD_TARGET = 0x04, "bad target"
    DID_ABORT = 0x05, "told to abort for some other reason"
    DID_PARITY = 0x06, "parity error"
    DID_ERROR = 0x07, "internal error"
    DID_RESET = 0x08, "reset by somebody"
    DID_BAD_INTR = 0x09, "received an unexpected interrupt"
    DID_PASSTHROUGH = 0x0A, "force command past mid-layer"
    DID_SOFT_ERROR = 0x0B, "the low-level driver wants a retry"
    DID_IMM_RETRY = 0x0C, "retry without decrementing retry count"
    DID_REQUEUE = 0x0D, "requeue command"
    DID_TRANSPORT_DISRUPTED = 0x0E, "transport error disrupted execution"
    DID_TRANSPORT_FAILFAST = 0x0F, "transport class fastfailed the io"
    DID_TARGET_FAILURE = 0x10, "permanent target failure"
    DID_NEXUS_FAILURE = 0x11, "permanent nexus failure"
    DID_ALLOC_FAILURE = 0x12, "space allocation failure"
    DID_MEDIUM_ERROR = 0x13, "medium error"
    DID_TRANSPORT_MARGINAL = 0x14, "transport marginal errors"


class DriverStatus(_Titled):
    """Linux ``DRIVER_*`` values (the low nibble of the sg driver_status byte)."""

    DRIVER_OK = 0x00, "ok"
    DRIVER_BUSY = 0x01, "busy"
    DRIVER_SOFT = 0x02, "soft"
    DRIVER_MEDIA = 0x03, "media"
    DRIVER_ERROR = 0x04, "error"
    DRIVER_INVALID = 0x05, "invalid"
    DRIVER_TIMEOUT = 0x06, "timeout"
    DRIVER_HARD = 0x07, "hard"
    DRIVER_SENSE = 0x08, "sense"

    @staticmethod
    def code(value: int) -> int:
        """The driver code without the suggestion bits (SUGGEST_* in the high nibble)."""
        return value & 0x0F

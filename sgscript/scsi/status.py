"""Status values as data: SCSI status and sense keys (the Linux host and driver codes are
``sgscript.transport.linux.codes``)."""

from __future__ import annotations

import enum
from typing import Self

__all__ = ["ScsiStatus", "SenseKey", "Titled"]


class Titled(enum.IntEnum):
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


class ScsiStatus(Titled):
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


class SenseKey(Titled):
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

"""What every part of the simulated logical unit shares: requests, responses, failures.

A handler gets a ``Request`` (the CDB decoded through the catalog's own table,
the data-out, the I_T nexus) and returns data-in bytes, or raises ``Fail``
with the sense the standard requires.  ``Conditions`` names those senses as
data, so handlers read like the standard's prose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..scsi.catalog import Catalog
from ..scsi.cdb import Command
from ..scsi.sense import build_sense
from ..scsi.status import ScsiStatus, SenseKey

__all__ = ["C", "Condition", "Fail", "Request", "Response", "StatusFail", "Unit"]


@dataclass(frozen=True, slots=True)
class Condition:
    """A sense key with its ASC/ASCQ: one row of SPC's "what to report when"."""

    key: SenseKey
    asc: int
    ascq: int


class C:
    """The conditions the simulated disk reports, by the names the standards give them."""

    NO_SENSE = Condition(SenseKey.NO_SENSE, 0x00, 0x00)
    INVALID_OPCODE = Condition(SenseKey.ILLEGAL_REQUEST, 0x20, 0x00)
    LBA_OUT_OF_RANGE = Condition(SenseKey.ILLEGAL_REQUEST, 0x21, 0x00)
    INVALID_FIELD_IN_CDB = Condition(SenseKey.ILLEGAL_REQUEST, 0x24, 0x00)
    LUN_NOT_SUPPORTED = Condition(SenseKey.ILLEGAL_REQUEST, 0x25, 0x00)
    INVALID_FIELD_IN_PARAMETER_LIST = Condition(SenseKey.ILLEGAL_REQUEST, 0x26, 0x00)
    PARAMETER_LIST_LENGTH_ERROR = Condition(SenseKey.ILLEGAL_REQUEST, 0x1A, 0x00)
    SAVING_PARAMETERS_NOT_SUPPORTED = Condition(SenseKey.ILLEGAL_REQUEST, 0x39, 0x00)
    INVALID_RELEASE_OF_PERSISTENT_RESERVATION = Condition(SenseKey.ILLEGAL_REQUEST, 0x26, 0x04)
    INSUFFICIENT_REGISTRATION_RESOURCES = Condition(SenseKey.ILLEGAL_REQUEST, 0x55, 0x04)
    MEDIUM_REMOVAL_PREVENTED = Condition(SenseKey.ILLEGAL_REQUEST, 0x53, 0x02)
    NOT_READY_INITIALIZING_COMMAND_REQUIRED = Condition(SenseKey.NOT_READY, 0x04, 0x02)
    NOT_READY_FORMAT_IN_PROGRESS = Condition(SenseKey.NOT_READY, 0x04, 0x04)
    MEDIUM_NOT_PRESENT = Condition(SenseKey.NOT_READY, 0x3A, 0x00)
    NOT_READY_SANITIZE_IN_PROGRESS = Condition(SenseKey.NOT_READY, 0x04, 0x1B)
    WRITE_PROTECTED = Condition(SenseKey.DATA_PROTECT, 0x27, 0x00)
    SPACE_ALLOCATION_FAILED_WRITE_PROTECT = Condition(SenseKey.DATA_PROTECT, 0x27, 0x07)
    MISCOMPARE_DURING_VERIFY = Condition(SenseKey.MISCOMPARE, 0x1D, 0x00)
    UNRECOVERED_READ_ERROR = Condition(SenseKey.MEDIUM_ERROR, 0x11, 0x00)
    WRITE_ERROR = Condition(SenseKey.MEDIUM_ERROR, 0x0C, 0x00)
    POWER_ON_RESET = Condition(SenseKey.UNIT_ATTENTION, 0x29, 0x00)
    POWER_ON_OCCURRED = Condition(SenseKey.UNIT_ATTENTION, 0x29, 0x01)
    BUS_RESET = Condition(SenseKey.UNIT_ATTENTION, 0x29, 0x02)
    BUS_DEVICE_RESET = Condition(SenseKey.UNIT_ATTENTION, 0x29, 0x03)
    I_T_NEXUS_LOSS_OCCURRED = Condition(SenseKey.UNIT_ATTENTION, 0x29, 0x07)
    MODE_PARAMETERS_CHANGED = Condition(SenseKey.UNIT_ATTENTION, 0x2A, 0x01)
    RESERVATIONS_PREEMPTED = Condition(SenseKey.UNIT_ATTENTION, 0x2A, 0x03)
    RESERVATIONS_RELEASED = Condition(SenseKey.UNIT_ATTENTION, 0x2A, 0x04)
    REGISTRATIONS_PREEMPTED = Condition(SenseKey.UNIT_ATTENTION, 0x2A, 0x05)
    CAPACITY_DATA_CHANGED = Condition(SenseKey.UNIT_ATTENTION, 0x2A, 0x09)
    COMMANDS_CLEARED_BY_ANOTHER_INITIATOR = Condition(SenseKey.UNIT_ATTENTION, 0x2F, 0x00)
    REPORTED_LUNS_DATA_CHANGED = Condition(SenseKey.UNIT_ATTENTION, 0x3F, 0x0E)
    FAILURE_PREDICTION_THRESHOLD_EXCEEDED_FALSE = Condition(SenseKey.NO_SENSE, 0x5D, 0xFF)


class Fail(Exception):
    """CHECK CONDITION with ``condition``; a handler raises it where the standard says so.

    ``field`` points into the CDB as ``(byte, bit)`` (bit None for the whole
    byte); ``param_field`` into the parameter list; ``information`` fills the
    INFORMATION field (the LBA of a medium error, the offset of a miscompare).
    """

    def __init__(
        self,
        condition: Condition,
        *,
        field: tuple[int, int | None] | None = None,
        param_field: tuple[int, int | None] | None = None,
        information: int | None = None,
        progress: float | None = None,
    ) -> None:
        super().__init__(condition)
        self.condition = condition
        self.field = field
        self.param_field = param_field
        self.information = information
        self.progress = progress

    def sense(self, *, descriptor: bool = False) -> bytes:
        c = self.condition
        pointer = None
        if self.field is not None:
            pointer = (self.field[0], self.field[1], True)
        elif self.param_field is not None:
            pointer = (self.param_field[0], self.param_field[1], False)
        info = self.information
        if info is not None and not descriptor and info >= 1 << 32:
            info = None  # fixed format holds 4 bytes; the standard then clears VALID
        return build_sense(
            c.key,
            c.asc,
            c.ascq,
            descriptor=descriptor,
            information=info,
            field_pointer=pointer,
            progress=self.progress,
        )


class StatusFail(Exception):
    """A status without sense data: RESERVATION CONFLICT, BUSY, TASK SET FULL."""

    def __init__(self, status: ScsiStatus) -> None:
        super().__init__(status)
        self.status = status


@dataclass(slots=True)
class Response:
    """What the logical unit answered: status, sense data and data-in."""

    status: int = ScsiStatus.GOOD
    sense: bytes = b""
    data: bytes = b""

    @property
    def good(self) -> bool:
        return self.status == ScsiStatus.GOOD


GOOD = Response()


class Request:
    """One command as the logical unit sees it; its fields are decoded when first asked
    (TEST UNIT READY's handler never asks)."""

    __slots__ = ("_fields", "allocation", "cdb", "command", "data_out", "nexus")

    def __init__(
        self,
        nexus: str,
        cdb: bytes,
        command: type[Command],
        data_out: bytes = b"",
        allocation: int = 0,
    ) -> None:
        self.nexus = nexus
        self.cdb = cdb
        self.command = command
        self.data_out = data_out
        self.allocation = allocation
        self._fields: dict[str, int] | None = None

    @property
    def fields(self) -> dict[str, int]:
        fields = self._fields
        if fields is None:
            fields = self._fields = self.command.layout.decode(self.cdb)
        return fields

    @property
    def name(self) -> str:
        return self.command.__name__

    def f(self, name: str) -> int:
        return self.fields.get(name, 0)

    def field_at(self, name: str) -> tuple[int, int]:
        """Where ``name`` sits in the CDB, as a sense-key-specific field pointer wants it."""
        fld = self.command.layout.by_name[name].field
        return fld.byte, fld.bit

    def invalid(self, name: str) -> Fail:
        """INVALID FIELD IN CDB pointing at ``name``."""
        byte, bit = self.field_at(name)
        return Fail(C.INVALID_FIELD_IN_CDB, field=(byte, bit))


class Unit(Protocol):
    """What a logical unit's parts (reservations, faults) use of it.

    ``lu.LogicalUnit`` builds those parts and is one of these; typing them by this
    protocol keeps ``faults.py`` and ``reservations.py`` from importing ``lu.py``.
    """

    name: str
    lun: int
    #: The commands this unit knows (what identifies a CDB, what names in options mean).
    catalog: Catalog

    @property
    def blocks(self) -> int: ...

    def unit_attention(
        self, condition: Condition, *, only: str | None = None, exclude: str | None = None
    ) -> None: ...

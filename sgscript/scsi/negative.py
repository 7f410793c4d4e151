"""Negative cases from the field tables: reserved CDB bits set, bounded fields out of range.

Two kinds, both ILLEGAL REQUEST, INVALID FIELD IN CDB (24h/00h) with the sense-key
specific field pointer at the offending byte and bit (C/D set, BPV set) when the device
refuses as SPC-5 describes:

* reserved bits: a bit no field of a command's table covers is reserved (or obsolete)
  in the T10 table it copies.  SPC-5 lets a device server ignore reserved bits, so a
  case also accepts (unless strict) any answer that is not INVALID FIELD IN CDB at all:
  what it catches is a device that refuses for the wrong field, points at the wrong
  place, or falls over;
* reserved codes: a field the standard defines, set to a code its table reserves
  (``reserved_codes.RESERVED_CODES``).  That a device may not ignore (SPC-5 3.3,
  4.2.1), so even the lenient case wants INVALID FIELD IN CDB: pointing at the field,
  or naming no field; for a service action also INVALID COMMAND OPERATION CODE, since
  T10 reads an operation code and service action as one command.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import Catalog, standard_catalog
from .cdb import Command, Direction
from .reserved_codes import RESERVED_CODES, ReservedCodes

__all__ = [
    "CodeCase",
    "NegativeCase",
    "code_cases",
    "first_reserved",
    "first_reserved_code",
    "negative_cases",
    "reserved_bits",
]


#: class -> (reserved bits, their mask over the CDB as an integer): tables never change.
_RESERVED: dict[type[Command], tuple[tuple[tuple[int, int], ...], int]] = {}


def _reserved(cls: type[Command]) -> tuple[tuple[tuple[int, int], ...], int]:
    known = _RESERVED.get(cls)
    if known is None:
        covered: set[int] = set()
        for field in cls.layout.fields:
            start = field.byte * 8 + (7 - field.bit)  # the field's most significant bit
            covered.update(range(start, start + field.width))
        bits = tuple((at // 8, 7 - at % 8) for at in range(cls.length * 8) if at not in covered)
        mask = 0
        for byte, bit in bits:
            mask |= 1 << ((cls.length - 1 - byte) * 8 + bit)
        known = _RESERVED[cls] = (bits, mask)
    return known


def reserved_bits(cls: type[Command]) -> tuple[tuple[int, int], ...]:
    """(byte, bit) of every CDB bit no field of ``cls``'s table covers, in CDB order."""
    return _reserved(cls)[0]


def first_reserved(cls: type[Command], cdb: bytes) -> tuple[int, int] | None:
    """The first reserved bit set in ``cdb`` (byte, bit), or None (one AND when none is)."""
    if len(cdb) < cls.length:
        return None
    value = int.from_bytes(cdb[: cls.length], "big") & _reserved(cls)[1]
    if not value:
        return None
    top = value.bit_length() - 1  # the most significant set bit: the lowest byte number
    return cls.length - 1 - top // 8, top % 8


@dataclass(frozen=True)
class NegativeCase:
    """One generated case: the command, the bit set, the CDB to send, its data size."""

    command: str
    byte: int
    bit: int
    cdb: bytes
    data_in: int = 0
    data_out: int = 0


def negative_cases(cls: type[Command], block_size: int = 512) -> list[NegativeCase]:
    """A case per reserved bit of ``cls``: its CDB with every field at its default (so no
    data moves where the length fields allow zero) and that one bit set."""
    base = cls()
    cdb = bytearray(base.bind(block_size))
    length = base.data_length(block_size)
    out = []
    for byte, bit in reserved_bits(cls):
        case = bytearray(cdb)
        case[byte] |= 1 << bit
        out.append(
            NegativeCase(
                cls.__name__,
                byte,
                bit,
                bytes(case),
                data_in=length if base.direction is Direction.IN else 0,
                data_out=length if base.direction is Direction.OUT else 0,
            )
        )
    return out


# ------------------------------------------------------------------ reserved codes

#: class -> its rows whose field it decodes itself: (shift, mask, row, (byte, bit)).
_CODES: dict[type[Command], tuple[tuple[int, int, ReservedCodes, tuple[int, int]], ...]] = {}


def _code_rows(cls: type[Command]) -> tuple[tuple[int, int, ReservedCodes, tuple[int, int]], ...]:
    known = _CODES.get(cls)
    if known is None:
        rows = []
        for row in RESERVED_CODES:
            slot = cls.layout.by_name.get(row.field) if row.command == cls.__name__ else None
            if slot is not None and not slot.field.fixed:  # a fixed one: another command's CDB
                rows.append((slot.shift, slot.mask, row, (slot.field.byte, slot.field.bit)))
        known = _CODES[cls] = tuple(rows)
    return known


def first_reserved_code(cls: type[Command], cdb: bytes) -> tuple[int, int] | None:
    """Where the first field of ``cls`` holding a code its table reserves starts (byte, bit),
    or None: what a device server that checks codes points at."""
    rows = _code_rows(cls)
    if not rows or len(cdb) < cls.length:
        return None
    value = int.from_bytes(cdb[: cls.length], "big")
    for shift, mask, row, at in rows:
        if row.reserves(value >> shift & mask):
            return at
    return None


@dataclass(frozen=True)
class CodeCase:
    """One generated case: ``command``'s ``field`` set to the reserved ``value``.

    ``byte``/``bit`` locate the field's most significant bit (where the field pointer
    points), ``width`` its size in bits; ``shared`` says the field is the service action
    of an operation code several commands share, so ``commands`` (whose support makes the
    case apply) are all of them; ``service_action`` says the field is one, which a device
    may also refuse as INVALID COMMAND OPERATION CODE.
    """

    command: str
    field: str
    label: str
    value: int
    byte: int
    bit: int
    width: int
    cdb: bytes
    commands: tuple[str, ...]
    shared: bool = False
    service_action: bool = False
    data_in: int = 0
    data_out: int = 0

    @property
    def code(self) -> str:
        """The code as the standard's tables write it: ``101b`` for a field of up to three
        bits, ``1Fh`` for a wider one."""
        if self.width <= 3:
            return f"{self.value:0{self.width}b}b"
        return f"{self.value:0{(self.width + 3) // 4}X}h"


def code_cases(
    cls: type[Command], catalog: Catalog | None = None, block_size: int = 512
) -> list[CodeCase]:
    """A case per code of ``cls``'s rows in ``RESERVED_CODES`` that it sends: its CDB with
    every other field at its default and that field set to the code.  A code that makes
    the CDB another command of ``catalog`` (a plugin's) is left out."""
    catalog = catalog if catalog is not None else standard_catalog()
    base = cls()
    cdb = int.from_bytes(base.bind(block_size), "big")
    length = base.data_length(block_size)
    out = []
    for row in RESERVED_CODES:
        slot = cls.layout.by_name.get(row.field) if row.command == cls.__name__ else None
        if slot is None:
            continue
        wide = slot.field.fixed  # the operation code's service action: any of its commands
        commands = (
            tuple(c.__name__ for c in catalog.with_opcode(cls.opcode)) if wide else (cls.__name__,)
        )
        for value in row.sent:
            raw = (cdb & ~(slot.mask << slot.shift) | value << slot.shift).to_bytes(
                cls.length, "big"
            )
            if catalog.identify(raw) is not (None if wide else cls):
                continue
            out.append(
                CodeCase(
                    cls.__name__,
                    row.field,
                    slot.field.label,
                    value,
                    slot.field.byte,
                    slot.field.bit,
                    slot.field.width,
                    raw,
                    commands,
                    shared=wide,
                    service_action=row.field == "service_action",
                    data_in=length if base.direction is Direction.IN else 0,
                    data_out=length if base.direction is Direction.OUT else 0,
                )
            )
    return out

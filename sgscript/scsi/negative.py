"""Negative cases from the field tables: every reserved CDB bit of a command, set.

A bit no field of a command's table covers is reserved (or obsolete) in the
T10 table it copies.  SPC-5 lets a device server ignore reserved bits; one that
checks them answers ILLEGAL REQUEST, INVALID FIELD IN CDB (24h/00h) with the
sense-key specific field pointer at that byte and bit (C/D set, BPV set).  A
generated case therefore accepts that answer, or (unless strict) any answer
that is not INVALID FIELD IN CDB at all: what it catches is a device that
refuses for the wrong field, points at the wrong place, or falls over.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cdb import Command, Direction

__all__ = ["NegativeCase", "first_reserved", "negative_cases", "reserved_bits"]


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

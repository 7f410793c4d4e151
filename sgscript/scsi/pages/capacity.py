"""READ CAPACITY(10) and (16) parameter data (SBC-4 5.20.2, 5.21.2).

Two fixed tables. RETURNED LOGICAL BLOCK ADDRESS is the last LBA, not the
block count; READ CAPACITY(10) reports FFFFFFFFh when the answer needs (16).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..cdb import F, Layout
from ..shapes import record
from ._common import Data, as_bytes, pack, unpack

__all__ = [
    "READ_CAPACITY_10",
    "READ_CAPACITY_10_FIELDS",
    "READ_CAPACITY_16",
    "READ_CAPACITY_16_FIELDS",
    "decode_read_capacity10",
    "decode_read_capacity16",
    "encode_read_capacity10",
    "encode_read_capacity16",
]

READ_CAPACITY_10 = Layout(
    "READ CAPACITY (10) parameter data",
    8,
    [
        F("returned_logical_block_address", 0, 7, 32),
        F("logical_block_length_in_bytes", 4, 7, 32),
    ],
)

READ_CAPACITY_16 = Layout(
    "READ CAPACITY (16) parameter data",
    32,
    [
        F("returned_logical_block_address", 0, 7, 64),
        F("logical_block_length_in_bytes", 8, 7, 32),
        F("rc_basis", 12, 5, 2),
        F("p_type", 12, 3, 3),
        F("prot_en", 12, 0, 1),
        F("p_i_exponent", 13, 7, 4),
        F("logical_blocks_per_physical_block_exponent", 13, 3, 4),
        F("lbpme", 14, 7, 1),
        F("lbprz", 14, 6, 1),
        F("lowest_aligned_logical_block_address", 14, 5, 14),
    ],
)

#: What the decoders return: the tables.
READ_CAPACITY_10_FIELDS = record(READ_CAPACITY_10.name, READ_CAPACITY_10)
READ_CAPACITY_16_FIELDS = record(READ_CAPACITY_16.name, READ_CAPACITY_16)


def decode_read_capacity10(data: Data) -> dict[str, Any]:
    """READ CAPACITY(10) data: the last LBA and the block length."""
    return unpack(READ_CAPACITY_10, as_bytes(data))


def decode_read_capacity16(data: Data) -> dict[str, Any]:
    """READ CAPACITY(16) data, protection and provisioning bits included."""
    return unpack(READ_CAPACITY_16, as_bytes(data))


def encode_read_capacity10(values: Mapping[str, Any]) -> bytes:
    """READ CAPACITY(10) data; a last LBA beyond 32 bits is sent as FFFFFFFFh, as SBC-4 requires."""
    lba = values.get("returned_logical_block_address")
    if isinstance(lba, int) and lba > 0xFFFFFFFF:
        values = {**values, "returned_logical_block_address": 0xFFFFFFFF}
    return pack(READ_CAPACITY_10, values)


def encode_read_capacity16(values: Mapping[str, Any]) -> bytes:
    """READ CAPACITY(16) data (32 bytes)."""
    return pack(READ_CAPACITY_16, values)

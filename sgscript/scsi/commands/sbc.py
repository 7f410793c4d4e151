"""SBC-4 commands for direct-access block devices, and SAT's ATA PASS-THROUGH.

Each class is one T10 CDB table (see :mod:`sgscript.scsi.commands.spc` for how
rows read).  GROUP NUMBER is SBC-4's six-bit field; the command duration limit
bits (DLD2..DLD0) of READ/WRITE(16) and (32) are SBC-5's, which SBC-4 devices
treat as reserved.  Obsolete fields that old devices may still honour (READ
CAPACITY's PMI and LBA) are kept.

Defaults: every field is 0, except READ CAPACITY(16) (32 bytes, its response
size), GET LBA STATUS (1024 bytes, as sg_get_lba_status asks), READ DEFECT
DATA (the defect list header: 4 and 8 bytes), START STOP UNIT's START bit
(a bare ``StartStopUnit()`` spins the unit up, never down) and the fixed
ADDITIONAL CDB LENGTH (18h) of the 32-byte CDBs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..cdb import Blocks, ByFields, Bytes, Command, Computed, Direction, F, Transfer

__all__ = [
    "AtaPassThrough12",
    "AtaPassThrough16",
    "CompareAndWrite",
    "FormatUnit",
    "GetLbaStatus",
    "OrWrite16",
    "PopulateToken",
    "PreFetch10",
    "PreFetch16",
    "PreventAllowMediumRemoval",
    "Read6",
    "Read10",
    "Read12",
    "Read16",
    "Read32",
    "ReadCapacity10",
    "ReadCapacity16",
    "ReadDefectData10",
    "ReadDefectData12",
    "ReadLong10",
    "ReadLong16",
    "ReassignBlocks",
    "Sanitize",
    "StartStopUnit",
    "SynchronizeCache10",
    "SynchronizeCache16",
    "Unmap",
    "Verify10",
    "Verify12",
    "Verify16",
    "Verify32",
    "Write6",
    "Write10",
    "Write12",
    "Write16",
    "Write32",
    "WriteAndVerify10",
    "WriteAndVerify12",
    "WriteAndVerify16",
    "WriteAndVerify32",
    "WriteAtomic16",
    "WriteLong10",
    "WriteLong16",
    "WriteSame10",
    "WriteSame16",
    "WriteSame32",
    "WriteUsingToken",
]


# -------------------------------------------------------- transfer rules


@dataclass(frozen=True)
class ByteCheck(Transfer):
    """VERIFY: data-out only with BYTCHK set; 01b sends every block, 11b one block.

    A data-out buffer given to a VERIFY means "compare with this": BYTCHK
    becomes 01b unless set, and the length field is filled from the buffer.
    """

    field: str

    def size(self, values: Mapping[str, int], block_size: int) -> int:
        bytchk = values.get("bytchk", 0)
        if bytchk == 1:
            return values.get(self.field, 0) * block_size
        return block_size if bytchk == 3 else 0  # 10b is reserved

    def infer(self, values: dict[str, int], nbytes: int, block_size: int) -> None:
        if values.setdefault("bytchk", 1) == 1:
            values.setdefault(self.field, nbytes // block_size)


def _write_same(values: Mapping[str, int], block_size: int) -> int:
    return 0 if values.get("ndob") else block_size


def _format_header(values: Mapping[str, int], block_size: int) -> int:
    if not values.get("fmtdata"):
        return 0
    return 8 if values.get("longlist") else 4


def _read_capacity10(values: Mapping[str, int], block_size: int) -> int:
    return 8


def _reassign_header(values: Mapping[str, int], block_size: int) -> int:
    return 4


#: ATA PASS-THROUGH PROTOCOL values that never move data.
_ATA_NON_DATA = frozenset({0, 1, 3, 8, 9, 15})


def _ata_length(values: Mapping[str, int], block_size: int) -> int:
    """Bytes an ATA PASS-THROUGH moves, from T_LENGTH, BYTE_BLOCK, T_TYPE and EXTEND."""
    t_length = values.get("t_length", 0)
    if t_length == 0 or values.get("protocol", 0) in _ATA_NON_DATA:
        return 0
    if t_length == 3:
        return 0  # in the STPSIU: not in the CDB, say data= or data_in=
    n = values.get("features" if t_length == 1 else "count", 0)
    if not values.get("extend"):
        n &= 0xFF  # without EXTEND only the 7:0 half is sent to the device
    if not values.get("byte_block"):
        return n
    return n * (block_size if values.get("t_type") else 512)


def _ata_direction(values: Mapping[str, int]) -> Direction:
    """SAT-4: no data for a non-data PROTOCOL or T_LENGTH=00b; else T_DIR says which way."""
    if values.get("t_length", 0) == 0 or values.get("protocol", 0) in _ATA_NON_DATA:
        return Direction.NONE
    return Direction.IN if values.get("t_dir") else Direction.OUT


# ------------------------------------------------------------ coded values

#: START STOP UNIT POWER CONDITION field.
POWER_CONDITIONS = {
    "start_valid": 0x0,
    "active": 0x1,
    "idle": 0x2,
    "standby": 0x3,
    "lu_control": 0x7,
    "force_idle_0": 0xA,
    "force_standby_0": 0xB,
}

#: SANITIZE service actions.
SANITIZE_ACTIONS = {
    "overwrite": 0x01,
    "block_erase": 0x02,
    "crypto_erase": 0x03,
    "exit_failure_mode": 0x1F,
}

#: GET LBA STATUS REPORT TYPE field.
LBA_STATUS_REPORT_TYPES = {
    "all": 0x00,
    "nonzero": 0x01,
    "mapped": 0x02,
    "deallocated": 0x03,
    "anchored": 0x04,
    "unrecovered_error": 0x10,
}

#: ATA PASS-THROUGH PROTOCOL field (SAT-4).
ATA_PROTOCOLS = {
    "hard_reset": 0,
    "software_reset": 1,
    "non_data": 3,
    "pio_data_in": 4,
    "pio_data_out": 5,
    "dma": 6,
    "execute_device_diagnostic": 8,
    "device_reset": 9,
    "udma_data_in": 10,
    "udma_data_out": 11,
    "fpdma": 12,
    "return_response_information": 15,
}

#: ATA PASS-THROUGH T_LENGTH field: where the transfer length is.
ATA_T_LENGTH = {"none": 0, "features": 1, "count": 2, "stpsiu": 3}

#: PREVENT ALLOW MEDIUM REMOVAL PREVENT field.
PREVENT = {"allow": 0, "prevent": 1}


# ------------------------------------------------------------------- reads


class Read6(Command):
    """READ(6): read up to 256 blocks below LBA 2**21 (obsolete; 0 blocks means 256)."""

    opcode = 0x08
    length = 6
    title = "READ(6)"
    standard = "SBC-3"
    direction = Direction.IN
    transfer = Blocks("transfer_length", zero=256)
    fields = (
        F("logical_block_address", 1, 4, 21),
        F("transfer_length", 4),
        F("control", 5),
    )


class Read10(Command):
    """READ(10): read logical blocks."""

    opcode = 0x28
    length = 10
    title = "READ(10)"
    standard = "SBC-4"
    direction = Direction.IN
    transfer = Blocks("transfer_length")
    fields = (
        F("rdprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("fua", 1, 3, 1),
        F("rarc", 1, 2, 1),
        F("logical_block_address", 2, 7, 32),
        F("group_number", 6, 5, 6),
        F("transfer_length", 7, 7, 16),
        F("control", 9),
    )


class Read12(Command):
    """READ(12): read logical blocks with a 32-bit transfer length."""

    opcode = 0xA8
    length = 12
    title = "READ(12)"
    standard = "SBC-4"
    direction = Direction.IN
    transfer = Blocks("transfer_length")
    fields = (
        F("rdprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("fua", 1, 3, 1),
        F("rarc", 1, 2, 1),
        F("logical_block_address", 2, 7, 32),
        F("transfer_length", 6, 7, 32),
        F("group_number", 10, 5, 6),
        F("control", 11),
    )


class Read16(Command):
    """READ(16): read logical blocks at 64-bit LBAs (with command duration limits)."""

    opcode = 0x88
    length = 16
    title = "READ(16)"
    standard = "SBC-4"
    direction = Direction.IN
    transfer = Blocks("transfer_length")
    fields = (
        F("rdprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("fua", 1, 3, 1),
        F("rarc", 1, 2, 1),
        F("dld2", 1, 0, 1),
        F("logical_block_address", 2, 7, 64),
        F("transfer_length", 10, 7, 32),
        F("dld1", 14, 7, 1),
        F("dld0", 14, 6, 1),
        F("group_number", 14, 5, 6),
        F("control", 15),
    )


def _variable(service_action: int) -> tuple[Any, ...]:
    """The head of a 32-byte variable-length CDB (7Fh): CONTROL is byte 1."""
    return (
        F("control", 1),
        F("group_number", 6, 5, 6),
        F("additional_cdb_length", 7, 7, 8, 0x18, fixed=True),
        F("service_action", 8, 7, 16, service_action, fixed=True),
    )


_PROTECTION_TAGS = (
    F("expected_initial_logical_block_reference_tag", 20, 7, 32),
    F("expected_logical_block_application_tag", 24, 7, 16),
    F("logical_block_application_tag_mask", 26, 7, 16),
)


class Read32(Command):
    """READ(32): read logical blocks with expected protection tags (type 2 protection)."""

    opcode = 0x7F
    length = 32
    title = "READ(32)"
    standard = "SBC-4"
    direction = Direction.IN
    transfer = Blocks("transfer_length")
    fields = (
        *_variable(0x0009),
        F("rdprotect", 10, 7, 3),
        F("dpo", 10, 4, 1),
        F("fua", 10, 3, 1),
        F("rarc", 10, 2, 1),
        F("dld2", 11, 2, 1),
        F("dld1", 11, 1, 1),
        F("dld0", 11, 0, 1),
        F("logical_block_address", 12, 7, 64),
        *_PROTECTION_TAGS,
        F("transfer_length", 28, 7, 32),
    )


# ------------------------------------------------------------------ writes


class Write6(Command):
    """WRITE(6): write up to 256 blocks below LBA 2**21 (obsolete; 0 blocks means 256)."""

    opcode = 0x0A
    length = 6
    title = "WRITE(6)"
    standard = "SBC-3"
    direction = Direction.OUT
    transfer = Blocks("transfer_length", zero=256)
    changes_media = True
    fields = (
        F("logical_block_address", 1, 4, 21),
        F("transfer_length", 4),
        F("control", 5),
    )


class Write10(Command):
    """WRITE(10): write logical blocks."""

    opcode = 0x2A
    length = 10
    title = "WRITE(10)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Blocks("transfer_length")
    changes_media = True
    fields = (
        F("wrprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("fua", 1, 3, 1),
        F("logical_block_address", 2, 7, 32),
        F("group_number", 6, 5, 6),
        F("transfer_length", 7, 7, 16),
        F("control", 9),
    )


class Write12(Command):
    """WRITE(12): write logical blocks with a 32-bit transfer length."""

    opcode = 0xAA
    length = 12
    title = "WRITE(12)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Blocks("transfer_length")
    changes_media = True
    fields = (
        F("wrprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("fua", 1, 3, 1),
        F("logical_block_address", 2, 7, 32),
        F("transfer_length", 6, 7, 32),
        F("group_number", 10, 5, 6),
        F("control", 11),
    )


class Write16(Command):
    """WRITE(16): write logical blocks at 64-bit LBAs (with command duration limits)."""

    opcode = 0x8A
    length = 16
    title = "WRITE(16)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Blocks("transfer_length")
    changes_media = True
    fields = (
        F("wrprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("fua", 1, 3, 1),
        F("dld2", 1, 0, 1),
        F("logical_block_address", 2, 7, 64),
        F("transfer_length", 10, 7, 32),
        F("dld1", 14, 7, 1),
        F("dld0", 14, 6, 1),
        F("group_number", 14, 5, 6),
        F("control", 15),
    )


class Write32(Command):
    """WRITE(32): write logical blocks with expected protection tags (type 2 protection)."""

    opcode = 0x7F
    length = 32
    title = "WRITE(32)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Blocks("transfer_length")
    changes_media = True
    fields = (
        *_variable(0x000B),
        F("wrprotect", 10, 7, 3),
        F("dpo", 10, 4, 1),
        F("fua", 10, 3, 1),
        F("dld2", 11, 2, 1),
        F("dld1", 11, 1, 1),
        F("dld0", 11, 0, 1),
        F("logical_block_address", 12, 7, 64),
        *_PROTECTION_TAGS,
        F("transfer_length", 28, 7, 32),
    )


class WriteAndVerify10(Command):
    """WRITE AND VERIFY(10): write logical blocks, then verify them on the medium."""

    opcode = 0x2E
    length = 10
    title = "WRITE AND VERIFY(10)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Blocks("transfer_length")
    changes_media = True
    fields = (
        F("wrprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("bytchk", 1, 2, 2),
        F("logical_block_address", 2, 7, 32),
        F("group_number", 6, 5, 6),
        F("transfer_length", 7, 7, 16),
        F("control", 9),
    )


class WriteAndVerify12(Command):
    """WRITE AND VERIFY(12): write and verify with a 32-bit transfer length."""

    opcode = 0xAE
    length = 12
    title = "WRITE AND VERIFY(12)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Blocks("transfer_length")
    changes_media = True
    fields = (
        F("wrprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("bytchk", 1, 2, 2),
        F("logical_block_address", 2, 7, 32),
        F("transfer_length", 6, 7, 32),
        F("group_number", 10, 5, 6),
        F("control", 11),
    )


class WriteAndVerify16(Command):
    """WRITE AND VERIFY(16): write and verify at 64-bit LBAs."""

    opcode = 0x8E
    length = 16
    title = "WRITE AND VERIFY(16)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Blocks("transfer_length")
    changes_media = True
    fields = (
        F("wrprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("bytchk", 1, 2, 2),
        F("logical_block_address", 2, 7, 64),
        F("transfer_length", 10, 7, 32),
        F("group_number", 14, 5, 6),
        F("control", 15),
    )


class WriteAndVerify32(Command):
    """WRITE AND VERIFY(32): write and verify with expected protection tags."""

    opcode = 0x7F
    length = 32
    title = "WRITE AND VERIFY(32)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Blocks("transfer_length")
    changes_media = True
    fields = (
        *_variable(0x000C),
        F("wrprotect", 10, 7, 3),
        F("dpo", 10, 4, 1),
        F("bytchk", 10, 2, 2),
        F("logical_block_address", 12, 7, 64),
        *_PROTECTION_TAGS,
        F("transfer_length", 28, 7, 32),
    )


# ----------------------------------------------------------------- verify


class Verify10(Command):
    """VERIFY(10): check logical blocks on the medium, or compare them with data-out (BYTCHK)."""

    opcode = 0x2F
    length = 10
    title = "VERIFY(10)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = ByteCheck("verification_length")
    fields = (
        F("vrprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("bytchk", 1, 2, 2),
        F("logical_block_address", 2, 7, 32),
        F("group_number", 6, 5, 6),
        F("verification_length", 7, 7, 16),
        F("control", 9),
    )


class Verify12(Command):
    """VERIFY(12): verify with a 32-bit verification length."""

    opcode = 0xAF
    length = 12
    title = "VERIFY(12)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = ByteCheck("verification_length")
    fields = (
        F("vrprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("bytchk", 1, 2, 2),
        F("logical_block_address", 2, 7, 32),
        F("verification_length", 6, 7, 32),
        F("group_number", 10, 5, 6),
        F("control", 11),
    )


class Verify16(Command):
    """VERIFY(16): verify at 64-bit LBAs."""

    opcode = 0x8F
    length = 16
    title = "VERIFY(16)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = ByteCheck("verification_length")
    fields = (
        F("vrprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("bytchk", 1, 2, 2),
        F("logical_block_address", 2, 7, 64),
        F("verification_length", 10, 7, 32),
        F("group_number", 14, 5, 6),
        F("control", 15),
    )


class Verify32(Command):
    """VERIFY(32): verify with expected protection tags (type 2 protection)."""

    opcode = 0x7F
    length = 32
    title = "VERIFY(32)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = ByteCheck("verification_length")
    fields = (
        *_variable(0x000A),
        F("vrprotect", 10, 7, 3),
        F("dpo", 10, 4, 1),
        F("bytchk", 10, 2, 2),
        F("logical_block_address", 12, 7, 64),
        *_PROTECTION_TAGS,
        F("verification_length", 28, 7, 32),
    )


# ------------------------------------------------------------- write same


class WriteSame10(Command):
    """WRITE SAME(10): write one block's data over a range (or unmap it with ``unmap=1``)."""

    opcode = 0x41
    length = 10
    title = "WRITE SAME(10)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Computed(_write_same, "one logical block")
    changes_media = True
    fields = (
        F("wrprotect", 1, 7, 3),
        F("anchor", 1, 4, 1),
        F("unmap", 1, 3, 1),
        F("logical_block_address", 2, 7, 32),
        F("group_number", 6, 5, 6),
        F("number_of_logical_blocks", 7, 7, 16),
        F("control", 9),
    )


class WriteSame16(Command):
    """WRITE SAME(16): write one block's data over a range; ``ndob=1`` sends no data."""

    opcode = 0x93
    length = 16
    title = "WRITE SAME(16)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Computed(_write_same, "one logical block, none with NDOB")
    changes_media = True
    fields = (
        F("wrprotect", 1, 7, 3),
        F("anchor", 1, 4, 1),
        F("unmap", 1, 3, 1),
        F("ndob", 1, 0, 1),
        F("logical_block_address", 2, 7, 64),
        F("number_of_logical_blocks", 10, 7, 32),
        F("group_number", 14, 5, 6),
        F("control", 15),
    )


class WriteSame32(Command):
    """WRITE SAME(32): write one block over a range with expected protection tags."""

    opcode = 0x7F
    length = 32
    title = "WRITE SAME(32)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Computed(_write_same, "one logical block, none with NDOB")
    changes_media = True
    fields = (
        *_variable(0x000D),
        F("wrprotect", 10, 7, 3),
        F("anchor", 10, 4, 1),
        F("unmap", 10, 3, 1),
        F("ndob", 10, 0, 1),
        F("logical_block_address", 12, 7, 64),
        *_PROTECTION_TAGS,
        F("number_of_logical_blocks", 28, 7, 32),
    )


class Unmap(Command):
    """UNMAP: deallocate (or anchor) the LBA ranges in the parameter list."""

    opcode = 0x42
    length = 10
    title = "UNMAP"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_media = True
    fields = (
        F("anchor", 1, 0, 1),
        F("group_number", 6, 5, 6),
        F("parameter_list_length", 7, 7, 16),
        F("control", 9),
    )


class CompareAndWrite(Command):
    """COMPARE AND WRITE: atomically compare blocks with data-out, write the second half if equal."""

    opcode = 0x89
    length = 16
    title = "COMPARE AND WRITE"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Blocks("number_of_logical_blocks", factor=2)  # verify data + write data
    changes_media = True
    fields = (
        F("wrprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("fua", 1, 3, 1),
        F("logical_block_address", 2, 7, 64),
        F("number_of_logical_blocks", 13, 7, 8),
        F("group_number", 14, 5, 6),
        F("control", 15),
    )


class OrWrite16(Command):
    """ORWRITE(16): OR the data-out into the blocks on the medium (bitmap updates)."""

    opcode = 0x8B
    length = 16
    title = "ORWRITE(16)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Blocks("transfer_length")
    changes_media = True
    fields = (
        F("orprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("fua", 1, 3, 1),
        F("logical_block_address", 2, 7, 64),
        F("transfer_length", 10, 7, 32),
        F("group_number", 14, 5, 6),
        F("control", 15),
    )


class WriteAtomic16(Command):
    """WRITE ATOMIC(16): write logical blocks as one atomic unit (Block Limits says how many)."""

    opcode = 0x9C
    length = 16
    title = "WRITE ATOMIC(16)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Blocks("transfer_length")
    changes_media = True
    fields = (
        F("wrprotect", 1, 7, 3),
        F("dpo", 1, 4, 1),
        F("fua", 1, 3, 1),
        F("logical_block_address", 2, 7, 64),
        F("atomic_boundary", 10, 7, 16),
        F("transfer_length", 12, 7, 16),
        F("group_number", 14, 5, 6),
        F("control", 15),
    )


# ------------------------------------------------------- caches, prefetch


class SynchronizeCache10(Command):
    """SYNCHRONIZE CACHE(10): write cached data for a range (0 blocks: to the end) to the medium."""

    opcode = 0x35
    length = 10
    title = "SYNCHRONIZE CACHE(10)"
    standard = "SBC-4"
    fields = (
        F("immed", 1, 1, 1),
        F("logical_block_address", 2, 7, 32),
        F("group_number", 6, 5, 6),
        F("number_of_logical_blocks", 7, 7, 16),
        F("control", 9),
    )


class SynchronizeCache16(Command):
    """SYNCHRONIZE CACHE(16): write cached data to the medium, 64-bit LBAs."""

    opcode = 0x91
    length = 16
    title = "SYNCHRONIZE CACHE(16)"
    standard = "SBC-4"
    fields = (
        F("immed", 1, 1, 1),
        F("logical_block_address", 2, 7, 64),
        F("number_of_logical_blocks", 10, 7, 32),
        F("group_number", 14, 5, 6),
        F("control", 15),
    )


class PreFetch10(Command):
    """PRE-FETCH(10): load a range of logical blocks into the cache."""

    opcode = 0x34
    length = 10
    title = "PRE-FETCH(10)"
    standard = "SBC-4"
    fields = (
        F("immed", 1, 1, 1),
        F("logical_block_address", 2, 7, 32),
        F("group_number", 6, 5, 6),
        F("prefetch_length", 7, 7, 16),
        F("control", 9),
    )


class PreFetch16(Command):
    """PRE-FETCH(16): load a range of logical blocks into the cache, 64-bit LBAs."""

    opcode = 0x90
    length = 16
    title = "PRE-FETCH(16)"
    standard = "SBC-4"
    fields = (
        F("immed", 1, 1, 1),
        F("logical_block_address", 2, 7, 64),
        F("prefetch_length", 10, 7, 32),
        F("group_number", 14, 5, 6),
        F("control", 15),
    )


# --------------------------------------------------------------- capacity


class ReadCapacity10(Command):
    """READ CAPACITY(10): last LBA and block length (8 bytes; FFFFFFFFh: use the 16-byte form)."""

    opcode = 0x25
    length = 10
    title = "READ CAPACITY(10)"
    standard = "SBC-4"
    direction = Direction.IN
    transfer = Computed(_read_capacity10, "8 bytes of parameter data", uses_block_size=False)
    fields = (
        F("logical_block_address", 2, 7, 32),  # obsolete, with PMI
        F("pmi", 8, 0, 1),  # obsolete
        F("control", 9),
    )


class ReadCapacity16(Command):
    """READ CAPACITY(16): last LBA, block length, protection and provisioning settings."""

    opcode = 0x9E
    length = 16
    title = "READ CAPACITY(16)"
    standard = "SBC-4"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, 0x10, fixed=True),
        F("logical_block_address", 2, 7, 64),  # obsolete, with PMI
        F("allocation_length", 10, 7, 32, 32),
        F("pmi", 14, 0, 1),  # obsolete
        F("control", 15),
    )


class GetLbaStatus(Command):
    """GET LBA STATUS(16): provisioning status (mapped, deallocated, anchored) from an LBA on."""

    opcode = 0x9E
    length = 16
    title = "GET LBA STATUS(16)"
    standard = "SBC-4"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, 0x12, fixed=True),
        F("starting_logical_block_address", 2, 7, 64),
        F("allocation_length", 10, 7, 32, 1024),
        F("report_type", 14, 7, 8, values=LBA_STATUS_REPORT_TYPES),
        F("control", 15),
    )


# ---------------------------------------------------------- long transfers


class ReadLong10(Command):
    """READ LONG(10): read a block with its ECC bytes (obsolete, but qualification uses it)."""

    opcode = 0x3E
    length = 10
    title = "READ LONG(10)"
    standard = "SBC-3"
    direction = Direction.IN
    transfer = Bytes("byte_transfer_length")
    fields = (
        F("pblock", 1, 2, 1),
        F("correct", 1, 1, 1),
        F("logical_block_address", 2, 7, 32),
        F("byte_transfer_length", 7, 7, 16),
        F("control", 9),
    )


class ReadLong16(Command):
    """READ LONG(16): read a block with its ECC bytes, 64-bit LBAs (obsolete)."""

    opcode = 0x9E
    length = 16
    title = "READ LONG(16)"
    standard = "SBC-3"
    direction = Direction.IN
    transfer = Bytes("byte_transfer_length")
    fields = (
        F("service_action", 1, 4, 5, 0x11, fixed=True),
        F("logical_block_address", 2, 7, 64),
        F("byte_transfer_length", 12, 7, 16),
        F("pblock", 14, 1, 1),
        F("correct", 14, 0, 1),
        F("control", 15),
    )


class WriteLong10(Command):
    """WRITE LONG(10): write a raw block, or mark it uncorrectable (``wr_uncor=1``)."""

    opcode = 0x3F
    length = 10
    title = "WRITE LONG(10)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Bytes("byte_transfer_length")
    changes_media = True
    fields = (
        F("cor_dis", 1, 7, 1),
        F("wr_uncor", 1, 6, 1),
        F("pblock", 1, 5, 1),
        F("logical_block_address", 2, 7, 32),
        F("byte_transfer_length", 7, 7, 16),
        F("control", 9),
    )


class WriteLong16(Command):
    """WRITE LONG(16): write a raw block or mark it uncorrectable, 64-bit LBAs."""

    opcode = 0x9F
    length = 16
    title = "WRITE LONG(16)"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Bytes("byte_transfer_length")
    changes_media = True
    fields = (
        F("cor_dis", 1, 7, 1),
        F("wr_uncor", 1, 6, 1),
        F("pblock", 1, 5, 1),
        F("service_action", 1, 4, 5, 0x11, fixed=True),
        F("logical_block_address", 2, 7, 64),
        F("byte_transfer_length", 12, 7, 16),
        F("control", 15),
    )


# ------------------------------------------------------ format and defects


class FormatUnit(Command):
    """FORMAT UNIT: low-level format (protection, defect lists, fast format)."""

    opcode = 0x04
    length = 6
    title = "FORMAT UNIT"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Computed(
        _format_header, "the parameter list header when FMTDATA is set", uses_block_size=False
    )
    changes_media = True
    fields = (
        F("fmtpinfo", 1, 7, 2),
        F("longlist", 1, 5, 1),
        F("fmtdata", 1, 4, 1),
        F("cmplst", 1, 3, 1),
        F("defect_list_format", 1, 2, 3),
        F("vendor_specific", 2),
        F("ffmt", 4, 1, 2),
        F("control", 5),
    )


class ReassignBlocks(Command):
    """REASSIGN BLOCKS: move the listed LBAs to spare physical blocks."""

    opcode = 0x07
    length = 6
    title = "REASSIGN BLOCKS"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Computed(
        _reassign_header,
        "the 4-byte header; the LBA list comes as data=",
        uses_block_size=False,
    )
    changes_media = True
    fields = (
        F("longlba", 1, 1, 1),
        F("longlist", 1, 0, 1),
        F("control", 5),
    )


class ReadDefectData10(Command):
    """READ DEFECT DATA(10): the primary and/or grown defect lists."""

    opcode = 0x37
    length = 10
    title = "READ DEFECT DATA(10)"
    standard = "SBC-4"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("req_plist", 2, 4, 1),
        F("req_glist", 2, 3, 1),
        F("defect_list_format", 2, 2, 3),
        F("allocation_length", 7, 7, 16, 4),  # the defect list header
        F("control", 9),
    )


class ReadDefectData12(Command):
    """READ DEFECT DATA(12): defect lists, from an address descriptor index on."""

    opcode = 0xB7
    length = 12
    title = "READ DEFECT DATA(12)"
    standard = "SBC-4"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("req_plist", 1, 4, 1),
        F("req_glist", 1, 3, 1),
        F("defect_list_format", 1, 2, 3),
        F("address_descriptor_index", 2, 7, 32),
        F("allocation_length", 6, 7, 32, 8),  # the defect list header
        F("control", 11),
    )


class Sanitize(Command):
    """SANITIZE: overwrite, block erase or crypto erase all user data (or exit failure mode)."""

    opcode = 0x48
    length = 10
    title = "SANITIZE"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_media = True
    fields = (
        F("immed", 1, 7, 1),
        F("znr", 1, 6, 1),
        F("ause", 1, 5, 1),
        F("service_action", 1, 4, 5, values=SANITIZE_ACTIONS),
        F("parameter_list_length", 7, 7, 16),
        F("control", 9),
    )


# --------------------------------------------------------- power, removal


class StartStopUnit(Command):
    """START STOP UNIT: spin up or down, load or eject, or change the power condition."""

    opcode = 0x1B
    length = 6
    title = "START STOP UNIT"
    standard = "SBC-4"
    changes_state = True
    fields = (
        F("immed", 1, 0, 1),
        F("power_condition_modifier", 3, 3, 4),
        F("power_condition", 4, 7, 4, values=POWER_CONDITIONS),
        F("no_flush", 4, 2, 1),
        F("loej", 4, 1, 1),
        F("start", 4, 0, 1, 1),
        F("control", 5),
    )


class PreventAllowMediumRemoval(Command):
    """PREVENT ALLOW MEDIUM REMOVAL: lock or unlock removable medium."""

    opcode = 0x1E
    length = 6
    title = "PREVENT ALLOW MEDIUM REMOVAL"
    standard = "SBC-4"
    changes_state = True
    fields = (
        F("prevent", 4, 1, 2, values=PREVENT),
        F("control", 5),
    )


# ------------------------------------------------ token copy (83h, SBC-4)


class PopulateToken(Command):
    """POPULATE TOKEN: create a ROD token for LBA ranges (offloaded data transfer, ODX)."""

    opcode = 0x83
    length = 16
    title = "POPULATE TOKEN"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    fields = (
        F("service_action", 1, 4, 5, 0x10, fixed=True),
        F("list_identifier", 6, 7, 32),
        F("parameter_list_length", 10, 7, 32),
        F("group_number", 14, 5, 6),
        F("control", 15),
    )


class WriteUsingToken(Command):
    """WRITE USING TOKEN: write the data a ROD token represents (offloaded data transfer, ODX)."""

    opcode = 0x83
    length = 16
    title = "WRITE USING TOKEN"
    standard = "SBC-4"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_media = True
    fields = (
        F("service_action", 1, 4, 5, 0x11, fixed=True),
        F("list_identifier", 6, 7, 32),
        F("parameter_list_length", 10, 7, 32),
        F("group_number", 14, 5, 6),
        F("control", 15),
    )


# ------------------------------------------------------ SAT: ATA commands


_ATA_FLAGS = (
    F("multiple_count", 1, 7, 3),
    F("protocol", 1, 4, 4, values=ATA_PROTOCOLS),
    F("off_line", 2, 7, 2),
    F("ck_cond", 2, 5, 1),
    F("t_type", 2, 4, 1),
    F("t_dir", 2, 3, 1),
    F("byte_block", 2, 2, 1),
    F("t_length", 2, 1, 2, values=ATA_T_LENGTH),
)

_ATA_TRANSFER = Computed(
    _ata_length,
    "T_LENGTH names FEATURES or COUNT (their 7:0 half unless EXTEND); BYTE_BLOCK=0 counts"
    " bytes, else blocks of 512 bytes (T_TYPE=0) or the logical block size (T_TYPE=1);"
    " no data for non-data protocols or T_LENGTH=00b; STPSIU lengths need data=/data_in=",
)


class AtaPassThrough12(Command):
    """ATA PASS-THROUGH(12): send a 28-bit ATA command through a SATL."""

    opcode = 0xA1
    length = 12
    title = "ATA PASS-THROUGH(12)"
    standard = "SAT-4"
    direction = ByFields(_ata_direction)  # type: ignore[assignment]
    transfer = _ATA_TRANSFER
    changes_media = True  # any ATA command may write or erase: gate it like one
    changes_state = True
    fields = (
        *_ATA_FLAGS,
        F("features", 3),
        F("count", 4),
        F("lba_7_0", 5),
        F("lba_15_8", 6),
        F("lba_23_16", 7),
        F("device", 8),
        F("command", 9),
        F("control", 11),
    )


class AtaPassThrough16(Command):
    """ATA PASS-THROUGH(16): send a 28-bit or 48-bit (``extend=1``) ATA command through a SATL."""

    opcode = 0x85
    length = 16
    title = "ATA PASS-THROUGH(16)"
    standard = "SAT-4"
    direction = ByFields(_ata_direction)  # type: ignore[assignment]
    transfer = _ATA_TRANSFER
    changes_media = True  # any ATA command may write or erase: gate it like one
    changes_state = True
    fields = (
        *_ATA_FLAGS,
        F("extend", 1, 0, 1),
        F("features", 3, 7, 16),
        F("count", 5, 7, 16),
        F("lba_31_24", 7),
        F("lba_7_0", 8),
        F("lba_39_32", 9),
        F("lba_15_8", 10),
        F("lba_47_40", 11),
        F("lba_23_16", 12),
        F("device", 13),
        F("command", 14),
        F("control", 15),
    )

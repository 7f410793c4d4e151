"""SBC-4 commands of the simulated disk: medium access, capacity, provisioning."""

from __future__ import annotations

from ..scsi.pages import encode_read_capacity10, encode_read_capacity16
from .core import C, Fail, Request
from .lu import LogicalUnit, handles


@handles("TestUnitReady")
def test_unit_ready(lu: LogicalUnit, req: Request) -> None:
    return None  # not-ready and unit attentions are checked before any handler


@handles("ReadCapacity10")
def read_capacity10(lu: LogicalUnit, req: Request) -> bytes:
    last = lu.blocks - 1
    return encode_read_capacity10(
        {"returned_logical_block_address": last, "logical_block_length_in_bytes": lu.block_size}
    )


@handles("ReadCapacity16")
def read_capacity16(lu: LogicalUnit, req: Request) -> bytes:
    cfg = lu.config
    return encode_read_capacity16(
        {
            "returned_logical_block_address": lu.blocks - 1,
            "logical_block_length_in_bytes": lu.block_size,
            "logical_blocks_per_physical_block_exponent": cfg.physical_block_exponent,
            "lbpme": int(cfg.thin),
            "lbprz": int(cfg.thin),
        }
    )


def _blocks(req: Request) -> tuple[int, int]:
    lba = req.f("logical_block_address")
    count = req.f("transfer_length")
    if count == 0 and req.name in ("Read6", "Write6"):
        count = 256
    return lba, count


@handles("Read6", "Read10", "Read12", "Read16", "Read32")
def read(lu: LogicalUnit, req: Request) -> bytes:
    lba, count = _blocks(req)
    lu.check_range(req, lba, count)
    lu.faults.medium(req, lba, count, write=False)
    return lu.storage.read(lba, count)


@handles("Write6", "Write10", "Write12", "Write16", "Write32")
def write(lu: LogicalUnit, req: Request) -> None:
    lba, count = _blocks(req)
    lu.check_range(req, lba, count)
    if lu.write_protect:
        raise Fail(C.WRITE_PROTECTED)
    if len(req.data_out) != count * lu.block_size:
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    lu.faults.medium(req, lba, count, write=True)
    lu.storage.write(lba, req.data_out)

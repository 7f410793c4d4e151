"""Thin provisioning on the simulated disk: UNMAP, WRITE SAME with UNMAP, GET LBA STATUS, VPD B0h/B2h."""

from __future__ import annotations

from typing import Any

import pytest
from test_sim_commands import BS, blocks, data, disk, fails, good, invalid, run

from sgscript.scsi import commands as K
from sgscript.scsi.pages import encode_unmap_parameters
from sgscript.sim import targets

pytestmark = pytest.mark.usefixtures("fresh_sim")  # new targets; opened channels closed


def status(ch: Any, lba: int = 0, **kw: Any) -> list[tuple[int, int, str]]:
    got = data(ch, K.GetLbaStatus(starting_logical_block_address=lba, **kw))
    return [
        (d["logical_block_address"], d["number_of_logical_blocks"], d["provisioning_status_name"])
        for d in got["lba_status_descriptors"]
    ]


def test_vpd_pages_say_thin() -> None:
    ch = disk()
    b2 = data(ch, K.Inquiry(evpd=1, page_code=0xB2))
    assert b2["provisioning_type_name"] == "thin_provisioned"
    assert (b2["lbpu"], b2["lbpws"], b2["lbpws10"], b2["lbprz"], b2["anc_sup"]) == (1, 1, 1, 1, 0)
    b0 = data(ch, K.Inquiry(evpd=1, page_code=0xB0))
    assert b0["maximum_unmap_lba_count"] > 0 and b0["maximum_unmap_block_descriptor_count"] > 0
    assert b0["ugavalid"] == 1


def test_unmap_reads_back_zeros_and_is_deallocated() -> None:
    ch = disk()
    good(ch, K.Write10(lba=10, data=blocks(10, 1)))
    assert status(ch) == [(0, 10, "deallocated"), (10, 10, "mapped"), (20, 980, "deallocated")]
    good(ch, K.Unmap(data=encode_unmap_parameters([(12, 3), (18, 2)])))
    assert good(ch, K.Read10(lba=12, transfer_length=3)).data == bytes(3 * BS)
    assert good(ch, K.Read10(lba=15, transfer_length=3)).data == blocks(3, 6)
    assert status(ch, 10) == [
        (10, 2, "mapped"), (12, 3, "deallocated"), (15, 3, "mapped"), (20 - 2, 982, "deallocated"),
    ]  # fmt: skip
    assert targets()["t"].lu(0).storage.mapped_count() == 5


def test_write_same_unmap_deallocates_zeros_and_writes_anything_else() -> None:
    ch = disk()
    good(ch, K.Write10(lba=100, data=blocks(8, 1)))
    good(ch, K.WriteSame16(lba=100, number_of_logical_blocks=4, unmap=1, data=bytes(BS)))
    good(ch, K.WriteSame10(lba=104, number_of_logical_blocks=2, unmap=1, data=bytes(BS)))
    assert good(ch, K.Read10(lba=100, transfer_length=6)).data == bytes(6 * BS)
    assert status(ch, 100)[0] == (100, 6, "deallocated")
    good(ch, K.WriteSame16(lba=106, number_of_logical_blocks=2, unmap=1, ndob=1))
    assert status(ch, 100)[0][:2] == (100, 900)
    good(ch, K.WriteSame16(lba=100, number_of_logical_blocks=2, unmap=1, data=blocks(1, 9)))
    assert good(ch, K.Read10(lba=100, transfer_length=2)).data == blocks(1, 9) * 2
    assert status(ch, 100)[0] == (100, 2, "mapped")


def test_write_same_without_unmap_keeps_zeros_mapped() -> None:
    ch = disk()
    good(ch, K.WriteSame16(lba=0, number_of_logical_blocks=3, ndob=1))
    assert status(ch)[0] == (0, 3, "mapped")


def test_unmap_parameter_list_errors() -> None:
    ch = disk("&max_unmap_descriptors=2&max_unmap_blocks=10")
    good(ch, K.Unmap(parameter_list_length=0))
    fails(run(ch, K.Unmap(data=bytes(6))), "ILLEGAL_REQUEST", 0x1A)
    three = encode_unmap_parameters([(0, 1), (2, 1), (4, 1)])
    fails(run(ch, K.Unmap(data=three)), "ILLEGAL_REQUEST", 0x26, param=(2, None))
    too_many_blocks = encode_unmap_parameters([(0, 6), (20, 6)])
    fails(run(ch, K.Unmap(data=too_many_blocks)), "ILLEGAL_REQUEST", 0x26, param=(32, None))
    header = bytearray(encode_unmap_parameters([(0, 1)]))
    header[1] = 4  # UNMAP DATA LENGTH shorter than the descriptors it announces
    fails(run(ch, K.Unmap(data=bytes(header))), "ILLEGAL_REQUEST", 0x26, param=(0, None))
    invalid(run(ch, K.Unmap(anchor=1, data=encode_unmap_parameters([(0, 1)]))), (1, 0))


def test_unmap_out_of_range_unmaps_nothing() -> None:
    ch = disk()
    good(ch, K.Write10(lba=0, data=blocks(2, 1)))
    io = run(ch, K.Unmap(data=encode_unmap_parameters([(0, 2), (999, 2)])))
    fails(io, "ILLEGAL_REQUEST", 0x21)
    assert good(ch, K.Read10(lba=0, transfer_length=2)).data == blocks(2, 1)
    good(ch, K.Unmap(data=encode_unmap_parameters([(999, 0), (0, 0)])))  # 0 blocks: no error


def test_unmap_truncated_descriptor_is_ignored() -> None:
    ch = disk()
    good(ch, K.Write10(lba=0, data=blocks(1, 1)))
    full = encode_unmap_parameters([(0, 1)])
    good(ch, K.Unmap(data=full[:20]))  # PARAMETER LIST LENGTH cuts the only descriptor
    assert status(ch)[0] == (0, 1, "mapped")


def test_get_lba_status_report_types_and_limits() -> None:
    ch = disk()
    good(ch, K.Write10(lba=5, data=blocks(5, 1)))
    assert status(ch, report_type="mapped") == [(5, 5, "mapped")]
    assert status(ch, report_type="deallocated") == [
        (0, 5, "deallocated"),
        (10, 990, "deallocated"),
    ]
    assert status(ch, report_type="anchored") == []
    small = data(ch, K.GetLbaStatus(allocation_length=24))
    assert small["completion_condition_name"] == "allocation_length"
    assert len(small["lba_status_descriptors"]) == 1
    assert data(ch, K.GetLbaStatus())["completion_condition_name"] == "capacity"
    fails(run(ch, K.GetLbaStatus(starting_logical_block_address=1000)), "ILLEGAL_REQUEST", 0x21)
    invalid(run(ch, K.GetLbaStatus(report_type=0x20)), (14, 7))


def test_provisioning_log_page_counts_mapped_blocks() -> None:
    ch = disk()
    good(ch, K.Write10(lba=0, data=blocks(7, 1)))
    io = good(ch, K.LogSense(page_code=0x0C))
    assert io.data[:4] == b"\x8c\x00\x00\x18"
    assert int.from_bytes(io.data[8:12], "big") == 993  # available
    assert int.from_bytes(io.data[20:24], "big") == 7  # used

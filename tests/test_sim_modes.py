"""Mode and log pages of the simulated disk: MODE SENSE/SELECT values and effects, LOG SENSE/SELECT."""

from __future__ import annotations

from typing import Any

import pytest
from test_sim_commands import BS, blocks, data, disk, fails, good, invalid, run, sense_data

from sgscript.scsi import commands as K
from sgscript.scsi.pages import encode_mode_select6, encode_mode_select10

pytestmark = pytest.mark.usefixtures("fresh_sim")  # new targets; opened channels closed


def page(ch: Any, code: int, pc: int = 0, *, ten: bool = True) -> dict[str, Any]:
    cls = K.ModeSense10 if ten else K.ModeSense6
    pages = data(ch, cls(page_code=code, pc=pc, dbd=1))["mode_pages"]
    assert len(pages) == 1
    return pages[0]


def select(ch: Any, code: int, *, sp: int = 0, ten: bool = True, **fields: int) -> Any:
    """MODE SELECT of one page as MODE SENSE reported it, with ``fields`` changed."""
    cls, enc = (
        (K.ModeSelect10, encode_mode_select10) if ten else (K.ModeSelect6, encode_mode_select6)
    )
    current = page(ch, code, ten=ten)
    return run(ch, cls(sp=sp, data=enc({"mode_pages": [{**current, **fields}]})))


# ------------------------------------------------------------------ MODE SENSE


def test_mode_sense_all_pages_with_block_descriptor() -> None:
    ch = disk()
    got = data(ch, K.ModeSense10())
    assert [p["page_code"] for p in got["mode_pages"]] == [0x01, 0x08, 0x0A, 0x1C]
    assert all(p["ps"] == 1 for p in got["mode_pages"])
    assert got["block_descriptors"] == [
        {"number_of_logical_blocks": 1000, "logical_block_length": 512}
    ]
    assert (got["wp"], got["dpofua"], got["longlba"]) == (0, 1, 0)
    long = data(ch, K.ModeSense10(llbaa=1))
    assert long["longlba"] == 1 and long["block_descriptor_length"] == 16
    assert long["block_descriptors"][0]["number_of_logical_blocks"] == 1000
    assert data(ch, K.ModeSense6(dbd=1))["block_descriptors"] == []
    all_sub = data(ch, K.ModeSense6(subpage_code=0xFF))
    assert all_sub["mode_pages"] == data(ch, K.ModeSense6())["mode_pages"]


def test_mode_sense_page_controls() -> None:
    ch = disk()
    assert page(ch, 0x08)["wce"] == 1
    changeable = page(ch, 0x08, pc=1)
    assert (changeable["wce"], changeable["rcd"], changeable["ic"]) == (1, 1, 0)
    assert page(ch, 0x0A, pc=1)["d_sense"] == 1 and page(ch, 0x0A, pc=1)["tst"] == 0
    assert page(ch, 0x1C, pc=2)["dexcpt"] == 1
    assert page(ch, 0x01, pc=3) == page(ch, 0x01, pc=2)  # nothing saved yet: the defaults
    assert data(ch, K.ModeSense6(pc=1))["block_descriptors"][0]["logical_block_length"] == 0


def test_mode_sense_invalid_page_and_subpage() -> None:
    ch = disk()
    invalid(run(ch, K.ModeSense6(page_code=0x2E)), (2, 5))
    invalid(run(ch, K.ModeSense10(page_code=0x00)), (2, 5))
    invalid(run(ch, K.ModeSense10(page_code=0x08, subpage_code=0x01)), (3, 7))
    invalid(run(ch, K.ModeSense10(page_code=0x3F, subpage_code=0x02)), (3, 7))


# ----------------------------------------------------------------- MODE SELECT


@pytest.mark.parametrize("ten", [False, True])
def test_mode_select_changes_wce_and_other_nexus_sees_mode_parameters_changed(ten: bool) -> None:
    a = disk()
    b = disk(initiator="b")
    good(a, K.TestUnitReady())
    io = select(a, 0x08, wce=0, ten=ten)
    assert io.status == 0, io.sense and io.sense.summary()
    assert page(a, 0x08)["wce"] == 0
    assert page(a, 0x08, pc=2)["wce"] == 1  # default unchanged
    assert page(a, 0x08, pc=3)["wce"] == 1  # not saved
    good(a, K.TestUnitReady())  # the issuer gets no unit attention
    fails(run(b, K.TestUnitReady()), "UNIT_ATTENTION", 0x2A, 0x01)
    good(b, K.TestUnitReady())


def test_mode_select_of_the_same_values_changes_nothing() -> None:
    a = disk()
    b = disk(initiator="b")
    assert select(a, 0x08).status == 0
    good(b, K.TestUnitReady())


def test_non_changeable_bit_is_refused_with_the_parameter_pointer() -> None:
    ch = disk()
    io = select(ch, 0x08, ic=1)  # IC: caching page byte 2 bit 7, after the 8-byte header
    fails(io, "ILLEGAL_REQUEST", 0x26, param=(8 + 2, 7))
    io = select(ch, 0x0A, tst=1)
    fails(io, "ILLEGAL_REQUEST", 0x26, param=(8 + 2, 5))
    io = select(ch, 0x08, ten=False, number_of_cache_segments=3)
    fails(io, "ILLEGAL_REQUEST", 0x26, param=(4 + 13, 1))
    assert page(ch, 0x08)["ic"] == 0


def test_mode_select_list_errors() -> None:
    ch = disk()
    sensed = data(ch, K.ModeSense10(page_code=0x08))
    good_list = encode_mode_select10(sensed)
    good(ch, K.ModeSelect10(data=good_list))  # geometry restated: fine
    fails(run(ch, K.ModeSelect10(data=good_list[:-4])), "ILLEGAL_REQUEST", 0x1A)
    fails(run(ch, K.ModeSelect6(data=b"\x00\x00")), "ILLEGAL_REQUEST", 0x1A)
    invalid(run(ch, K.ModeSelect10(pf=0, data=good_list)), (1, 4))
    bad_length = bytearray(good_list)
    bad_length[8 + 6] = 0  # LOGICAL BLOCK LENGTH (bytes 5-7 of the descriptor): 512 -> 0
    fails(
        run(ch, K.ModeSelect10(data=bytes(bad_length))),
        "ILLEGAL_REQUEST",
        0x26,
        param=(8 + 5, None),
    )
    unknown = bytes(8) + b"\x05\x02\x00\x00"
    fails(run(ch, K.ModeSelect10(data=unknown)), "ILLEGAL_REQUEST", 0x26, param=(8, 5))
    wrong_len = bytes(8) + b"\x08\x02\x00\x00"
    fails(run(ch, K.ModeSelect10(data=wrong_len)), "ILLEGAL_REQUEST", 0x26, param=(9, None))
    invalid(run(ch, K.ModeSelect10(rtd=1, data=good_list)), (7, 7))


def test_saved_values_survive_a_reset_and_current_returns_to_them() -> None:
    ch = disk()
    assert select(ch, 0x08, sp=1, wce=0).status == 0
    assert select(ch, 0x08, rcd=1).status == 0
    assert (page(ch, 0x08)["wce"], page(ch, 0x08)["rcd"]) == (0, 1)
    assert (page(ch, 0x08, pc=3)["wce"], page(ch, 0x08, pc=3)["rcd"]) == (0, 0)
    ch.reset()
    fails(run(ch, K.TestUnitReady()), "UNIT_ATTENTION", 0x29, 0x03)
    assert (page(ch, 0x08)["wce"], page(ch, 0x08)["rcd"]) == (0, 0)  # the saved values
    assert page(ch, 0x08, pc=3)["wce"] == 0
    good(ch, K.ModeSelect6(rtd=1, sp=1))  # revert to defaults, and save them
    assert page(ch, 0x08)["wce"] == 1 and page(ch, 0x08, pc=3)["wce"] == 1


def test_d_sense_switches_to_descriptor_format_sense() -> None:
    ch = disk()
    assert select(ch, 0x0A, d_sense=1).status == 0
    io = run(ch, K.Read10(lba=5000, transfer_length=1))
    assert io.sense_raw[0] == 0x72
    fails(io, "ILLEGAL_REQUEST", 0x21)
    io = run(ch, K.Inquiry(evpd=1, page_code=0xDE))
    assert io.sense_raw[0] == 0x72
    invalid(io, (2, 7))  # the field pointer travels in a sense-key specific descriptor
    bad = bytearray(BS)
    bad[77] = 1
    io = run(ch, K.Verify10(lba=0, data=bytes(bad)))
    fails(io, "MISCOMPARE", 0x1D, info=77)  # and INFORMATION in an information descriptor
    assert select(ch, 0x0A, d_sense=0).status == 0
    assert run(ch, K.Read10(lba=5000, transfer_length=1)).sense_raw[0] == 0x70


def test_swp_write_protects_the_medium() -> None:
    ch = disk()
    assert select(ch, 0x0A, swp=1).status == 0
    fails(run(ch, K.Write10(lba=0, data=blocks(1))), "DATA_PROTECT", 0x27, 0x00)
    assert data(ch, K.ModeSense10())["wp"] == 1
    assert select(ch, 0x0A, swp=0).status == 0
    good(ch, K.Write10(lba=0, data=blocks(1)))


def test_informational_exceptions_test_mode() -> None:
    ch = disk()
    assert select(ch, 0x1C, test=1, mrie=6, dexcpt=0).status == 0
    assert sense_data(ch, K.RequestSense()) == (0, 0x5D, 0xFF)
    io = good(ch, K.LogSense(page_code=0x2F))
    assert io.data[8:10] == b"\x5d\xff"
    assert select(ch, 0x1C, test=0).status == 0
    assert sense_data(ch, K.RequestSense()) == (0, 0, 0)


# ------------------------------------------------------------------- LOG SENSE


def _param(io: Any, offset: int, width: int = 8) -> int:
    return int.from_bytes(io.data[offset : offset + width], "big")


def test_log_sense_supported_pages() -> None:
    ch = disk()
    io = good(ch, K.LogSense(page_code=0x00))
    assert io.data[0] & 0x3F == 0
    assert io.data[4:].hex() == "0002030c0d10192f"
    io = good(ch, K.LogSense(page_code=0x00, subpage_code=0xFF))
    assert io.data[0] & 0x7F == 0x40 and io.data[1] == 0xFF  # SPF, subpage FFh
    assert io.data[4:8] == b"\x00\x00\x00\xff"
    for code in io.data[8::2]:  # every listed page answers
        assert good(ch, K.LogSense(page_code=code)).data[0] & 0x3F == code


def test_general_statistics_count_and_reset() -> None:
    ch = disk()
    good(ch, K.Write10(lba=0, data=blocks(4)))
    good(ch, K.Read10(lba=0, transfer_length=3))
    good(ch, K.Read16(lba=0, transfer_length=2))
    io = good(ch, K.LogSense(page_code=0x19))
    assert io.data[4:8] == b"\x00\x01\x03\x40"
    counters = [_param(io, 8 + 8 * k) for k in range(4)]
    assert counters == [2, 1, 4, 5]  # reads, writes, blocks received, blocks transmitted
    io = good(ch, K.LogSense(page_code=0x03))
    assert _param(io, 4 + 5 * 12 + 4) == 5 * 512  # read error counter: total bytes processed
    zeros = good(ch, K.LogSense(page_code=0x19, pc="default_cumulative"))
    assert _param(zeros, 8) == 0
    good(ch, K.LogSelect(pcr=1))
    assert _param(good(ch, K.LogSense(page_code=0x19)), 8) == 0


def test_temperature_page_and_parameter_pointer() -> None:
    ch = disk()
    io = good(ch, K.LogSense(page_code=0x0D))
    assert io.data[4:10] == b"\x00\x00\x03\x02\x00\x26"  # 38 C
    io = good(ch, K.LogSense(page_code=0x0D, parameter_pointer=1))
    assert io.data[2:4] == b"\x00\x06" and io.data[4:6] == b"\x00\x01"
    invalid(run(ch, K.LogSense(page_code=0x0D, parameter_pointer=2)), (5, 7))


def test_log_sense_and_select_errors() -> None:
    ch = disk()
    invalid(run(ch, K.LogSense(page_code=0x30)), (2, 5))
    invalid(run(ch, K.LogSense(page_code=0x0D, subpage_code=1)), (3, 7))
    invalid(run(ch, K.LogSense(page_code=0x0D, sp=1)), (1, 0))
    invalid(run(ch, K.LogSelect(sp=1)), (1, 0))
    invalid(run(ch, K.LogSelect(pcr=1, data=bytes(4))), (7, 7))
    invalid(run(ch, K.LogSelect(page_code=0x30)), (2, 5))
    good(ch, K.LogSelect(data=b"\x0d\x00\x00\x00"))  # a page without parameters
    fails(run(ch, K.LogSelect(data=b"\x30\x00\x00\x00")), "ILLEGAL_REQUEST", 0x26, param=(0, 5))
    settable = b"\x0d\x00\x00\x06\x00\x00\x03\x02\x00\x30"
    fails(run(ch, K.LogSelect(data=settable)), "ILLEGAL_REQUEST", 0x26, param=(4, None))
    fails(run(ch, K.LogSelect(data=b"\x0d\x00\x00\x08")), "ILLEGAL_REQUEST", 0x1A)

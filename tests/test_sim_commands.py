"""The simulated disk answers the catalog's commands as SPC-5 and SBC-4 require.

Every test goes through the public API (``Channel.open("sim:...")``) and
checks what a user sees: status, sense key, ASC/ASCQ, the sense-key specific
field pointer, the INFORMATION field and the decoded data.
"""

from __future__ import annotations

from typing import Any

import pytest

from sgscript import Channel
from sgscript.scsi import commands as K
from sgscript.scsi.catalog import catalog, decode_cdb
from sgscript.scsi.cdb import Command
from sgscript.scsi.sense import parse_sense
from sgscript.scsi.status import ScsiStatus, SenseKey
from sgscript.sim import LogicalUnit, targets
from sgscript.sim.lu import builtin_handlers
from sgscript.sim.spc import NOT_IMPLEMENTED
from sgscript.transport.base import Io

BS = 512


pytestmark = pytest.mark.usefixtures("fresh_sim")  # new targets; opened channels closed


def disk(
    options: str = "", *, initiator: str = "a", name: str = "t", clear: bool = True
) -> Channel:
    """A channel to a 1000-block disk; its power-on unit attention already taken."""
    ch = Channel.open(f"sim:{name}?blocks=1000{options}", initiator=initiator, block_size=BS)
    if clear:
        io = run(ch, K.TestUnitReady())
        assert io.sense is not None and io.sense.asc == 0x29  # power on, reset
    return ch


def run(ch: Channel, cmd: Command) -> Io:
    return ch.execute(cmd, check=False)


def good(ch: Channel, cmd: Command) -> Io:
    io = run(ch, cmd)
    assert io.status == ScsiStatus.GOOD, io.sense and io.sense.summary()
    return io


def data(ch: Channel, cmd: Command) -> dict[str, Any]:
    io = good(ch, cmd)
    return io.command.decode_response(io.data)


def fails(
    io: Io,
    key: str,
    asc: int,
    ascq: int = 0,
    *,
    field: tuple[int, int | None] | None = None,
    param: tuple[int, int | None] | None = None,
    info: int | None = None,
) -> None:
    """CHECK CONDITION with this sense, field pointer (CDB or parameter list) and INFORMATION."""
    assert io.status == ScsiStatus.CHECK_CONDITION, f"status {io.status}"
    s = io.sense
    assert s is not None
    assert (SenseKey(s.sense_key).name, s.asc, s.ascq) == (key, asc, ascq), s.summary()
    pointer = field or param
    if pointer is not None:
        sks = s.sense_key_specific
        assert sks is not None and sks.kind == "field_pointer", s.summary()
        got = (sks.field_pointer, sks.bit_pointer if sks.bpv else None)
        assert got == pointer and sks.cd is (field is not None), sks.text()
    if info is not None:
        assert s.valid and s.information == info, s.summary()


def invalid(io: Io, field: tuple[int, int | None]) -> None:
    fails(io, "ILLEGAL_REQUEST", 0x24, field=field)


def sense_data(ch: Channel, cmd: Command) -> tuple[int, int, int]:
    """REQUEST SENSE data: (sense key, ASC, ASCQ)."""
    s = parse_sense(good(ch, cmd).data)
    return s.sense_key or 0, s.asc or 0, s.ascq or 0


def blocks(n: int, seed: int = 0) -> bytes:
    return b"".join(bytes([(seed + i) & 0xFF]) * BS for i in range(n))


# ------------------------------------------------------------ TUR, REQUEST SENSE


def test_first_command_of_a_nexus_sees_power_on_then_test_unit_ready_is_good() -> None:
    ch = disk(clear=False)
    fails(run(ch, K.TestUnitReady()), "UNIT_ATTENTION", 0x29, 0x00)
    good(ch, K.TestUnitReady())


def test_request_sense_returns_and_clears_the_unit_attention() -> None:
    ch = disk(clear=False)
    assert good(ch, K.RequestSense()).data[0] == 0x70  # fixed format
    assert sense_data(ch, K.RequestSense()) == (0, 0, 0)  # the unit attention was that one
    good(ch, K.TestUnitReady())
    ch2 = disk(clear=False, initiator="b")
    assert sense_data(ch2, K.RequestSense()) == (6, 0x29, 0)
    good(ch2, K.TestUnitReady())  # nothing pending any more


def test_request_sense_desc_bit_selects_descriptor_format() -> None:
    ch = disk()
    io = good(ch, K.RequestSense(desc=1))
    assert io.data[0] == 0x72
    assert io.command.decode_response(io.data)["descriptor_format"] is True
    assert good(ch, K.RequestSense(desc=0)).data[0] == 0x70


def test_request_sense_reports_not_ready_while_stopped() -> None:
    ch = disk()
    good(ch, K.StartStopUnit(start=0))
    assert sense_data(ch, K.RequestSense()) == (2, 0x04, 0x02)


# ----------------------------------------------------------------- INQUIRY


def test_standard_inquiry_identifies_an_spc5_disk() -> None:
    inq = data(disk(), K.Inquiry())
    assert inq["peripheral_device_type"] == 0 and inq["version"] == 7
    assert inq["vendor_identification"] == "SGSCRIPT"
    assert inq["product_identification"] == "SIM DISK"
    assert [v["standard"] for v in inq["version_descriptors"]] == ["SAM-5", "SPC-5", "SBC-4"]
    assert inq["tpgs"] == 0 and inq["third_party_copy"] == 0 and inq["protect"] == 0


def test_vpd_pages_list_serial_and_identification() -> None:
    ch = disk()
    lu = targets()["t"].lu(0)
    pages = data(ch, K.Inquiry(evpd=1, page_code=0x00))["supported_vpd_page_list"]
    assert pages == [0x00, 0x80, 0x83, 0x86, 0xB0, 0xB1, 0xB2]
    for code in pages:  # every listed page answers
        assert data(ch, K.Inquiry(evpd=1, page_code=code))["page_code"] == code
    assert data(ch, K.Inquiry(evpd=1, page_code=0x80))["product_serial_number"] == lu.serial
    ids = data(ch, K.Inquiry(evpd=1, page_code=0x83))["designation_descriptors"]
    by_type = {d["designator_type_name"]: d for d in ids}
    assert by_type["naa"]["designator"] == lu.naa.hex() and by_type["naa"]["naa"] == 6
    assert by_type["naa"]["association_name"] == "logical_unit"
    assert by_type["t10_vendor_id"]["t10_vendor_identification"] == "SGSCRIPT"
    assert by_type["relative_target_port"]["relative_target_port_identifier"] == 1
    assert by_type["relative_target_port"]["association_name"] == "target_port"


def test_block_limits_and_characteristics() -> None:
    ch = disk("&max_unmap_blocks=4096&max_unmap_descriptors=8&max_write_same_blocks=512")
    b0 = data(ch, K.Inquiry(evpd=1, page_code=0xB0))
    assert b0["wsnz"] == 1 and b0["maximum_compare_and_write_length"] == 255
    assert b0["maximum_unmap_lba_count"] == 4096
    assert b0["maximum_unmap_block_descriptor_count"] == 8
    assert b0["maximum_write_same_length"] == 512
    assert b0["maximum_transfer_length"] == 0x10000 and b0["optimal_unmap_granularity"] == 1
    b1 = data(ch, K.Inquiry(evpd=1, page_code=0xB1))
    assert b1["medium_rotation_rate_name"] == "non_rotating"
    assert b1["nominal_form_factor_name"] == "2.5_inch"


def test_inquiry_field_errors_point_at_the_field() -> None:
    ch = disk()
    invalid(run(ch, K.Inquiry(evpd=1, page_code=0xDE)), (2, 7))
    invalid(run(ch, K.Inquiry(page_code=0x80)), (2, 7))  # EVPD=0 with a page code
    invalid(run(ch, K.Inquiry(cmddt=1)), (1, 1))


def test_inquiry_and_report_luns_are_answered_despite_a_unit_attention() -> None:
    ch = disk(clear=False)
    good(ch, K.Inquiry())
    good(ch, K.ReportLuns())
    fails(run(ch, K.TestUnitReady()), "UNIT_ATTENTION", 0x29)


# ------------------------------------------------------------- REPORT LUNS


def test_report_luns_select_report() -> None:
    ch = disk("&luns=3")
    luns = data(ch, K.ReportLuns())["luns"]
    assert [entry["lun"] for entry in luns] == [0, 1, 2]
    assert [e["lun"] for e in data(ch, K.ReportLuns(select_report=2))["luns"]] == [0, 1, 2]
    assert data(ch, K.ReportLuns(select_report=1))["luns"] == []
    invalid(run(ch, K.ReportLuns(select_report=5)), (2, 7))


# ------------------------------------------------------------ READ CAPACITY


def test_read_capacity() -> None:
    ch = disk()
    rc10 = data(ch, K.ReadCapacity10())
    assert rc10 == {"returned_logical_block_address": 999, "logical_block_length_in_bytes": BS}
    rc16 = data(ch, K.ReadCapacity16())
    assert rc16["returned_logical_block_address"] == 999
    assert (rc16["lbpme"], rc16["lbprz"], rc16["prot_en"]) == (1, 1, 0)


def test_read_capacity10_past_32_bits_says_use_16() -> None:
    ch = Channel.open(f"sim:big?blocks={2**32 + 10}", initiator="a", block_size=BS)
    run(ch, K.TestUnitReady())
    rc10 = data(ch, K.ReadCapacity10())
    assert rc10["returned_logical_block_address"] == 0xFFFFFFFF
    assert data(ch, K.ReadCapacity16())["returned_logical_block_address"] == 2**32 + 9
    good(ch, K.Write16(lba=2**32 + 9, data=blocks(1, 3)))
    assert good(ch, K.Read16(lba=2**32 + 9, transfer_length=1)).data == blocks(1, 3)


def test_thick_disk_reports_no_provisioning() -> None:
    ch = disk("&thin=0")
    rc16 = data(ch, K.ReadCapacity16())
    assert (rc16["lbpme"], rc16["lbprz"]) == (0, 0)
    b2 = data(ch, K.Inquiry(evpd=1, page_code=0xB2))
    assert b2["provisioning_type_name"] == "fully_provisioned" and b2["lbpu"] == 0


# -------------------------------------------------------------- READ / WRITE

RW = [
    (K.Write6, K.Read6),
    (K.Write10, K.Read10),
    (K.Write12, K.Read12),
    (K.Write16, K.Read16),
]


@pytest.mark.parametrize(("write", "read"), RW)
def test_write_then_read_back(write: type[Command], read: type[Command]) -> None:
    ch = disk()
    payload = blocks(3, seed=7)
    good(ch, write(lba=10, data=payload))
    assert good(ch, read(lba=10, transfer_length=3)).data == payload
    assert good(ch, read(lba=13, transfer_length=1)).data == bytes(BS)


@pytest.mark.parametrize(("write", "read"), RW)
def test_out_of_range(write: type[Command], read: type[Command]) -> None:
    ch = disk()
    fails(run(ch, read(lba=999, transfer_length=2)), "ILLEGAL_REQUEST", 0x21)
    fails(run(ch, read(lba=1000, transfer_length=1)), "ILLEGAL_REQUEST", 0x21)
    fails(run(ch, write(lba=1000, data=blocks(1))), "ILLEGAL_REQUEST", 0x21)
    good(ch, read(lba=999, transfer_length=1))


def test_transfer_length_zero_moves_nothing_except_for_the_six_byte_commands() -> None:
    ch = disk()
    assert good(ch, K.Read10(lba=5, transfer_length=0)).data == b""
    good(ch, K.Write10(lba=5, transfer_length=0, data=b""))
    assert len(good(ch, K.Read6(lba=0, transfer_length=0)).data) == 256 * BS


def test_fua_and_dpo_are_accepted() -> None:
    ch = disk()
    good(ch, K.Write16(lba=1, fua=1, dpo=1, data=blocks(1, 9)))
    assert good(ch, K.Read10(lba=1, transfer_length=1, fua=1, dpo=1)).data == blocks(1, 9)


@pytest.mark.parametrize("cls", [K.Read10, K.Read12, K.Read16])
def test_rdprotect_without_protection_information_is_invalid(cls: type[Command]) -> None:
    invalid(run(disk(), cls(lba=0, transfer_length=1, rdprotect=1)), (1, 7))


@pytest.mark.parametrize("cls", [K.Write10, K.Write12, K.Write16])
def test_wrprotect_without_protection_information_is_invalid(cls: type[Command]) -> None:
    invalid(run(disk(), cls(lba=0, wrprotect=3, data=blocks(1))), (1, 7))


def test_transfer_length_beyond_the_block_limits_is_invalid() -> None:
    ch = disk("&max_transfer_blocks=16")
    invalid(run(ch, K.Read10(lba=0, transfer_length=17)), (7, 7))
    invalid(run(ch, K.Write16(lba=0, data=blocks(17))), (10, 7))
    good(ch, K.Read10(lba=0, transfer_length=16))


@pytest.mark.parametrize("name", ["Read32", "Write32", "Verify32", "WriteSame32"])
def test_32_byte_commands_need_type_2_protection(name: str) -> None:
    ch = disk()
    cls = catalog()[name]
    fields = {"transfer_length": 1} if "transfer_length" in cls.layout.by_name else {}
    fails(run(ch, cls(**fields)), "ILLEGAL_REQUEST", 0x20, field=(0, 7))


def test_naca_is_refused() -> None:
    invalid(run(disk(), K.TestUnitReady(control=0x04)), (5, 2))


def test_write_protected_disk_refuses_writes_and_says_so_in_mode_sense() -> None:
    ch = disk("&wp=1")
    for cmd in (
        K.Write10(lba=0, data=blocks(1)),
        K.WriteSame16(lba=0, number_of_logical_blocks=2, data=blocks(1)),
        K.Unmap(data=_unmap_list([(0, 1)])),
        K.FormatUnit(),
        K.CompareAndWrite(lba=0, data=blocks(2)),
        K.WriteAndVerify10(lba=0, data=blocks(1)),
    ):
        fails(run(ch, cmd), "DATA_PROTECT", 0x27, 0x00)
    good(ch, K.Read10(lba=0, transfer_length=1))
    assert data(ch, K.ModeSense6())["wp"] == 1


def _unmap_list(extents: list[tuple[int, int]]) -> bytes:
    from sgscript.scsi.pages import encode_unmap_parameters

    return encode_unmap_parameters(extents)


# ------------------------------------------------- VERIFY, COMPARE AND WRITE


def test_write_and_verify() -> None:
    ch = disk()
    good(ch, K.WriteAndVerify10(lba=4, bytchk=1, data=blocks(2, 1)))
    assert good(ch, K.Read10(lba=4, transfer_length=2)).data == blocks(2, 1)
    good(ch, K.WriteAndVerify16(lba=20, bytchk=3, transfer_length=3, data=blocks(1, 5)))
    assert good(ch, K.Read10(lba=20, transfer_length=3)).data == blocks(1, 5) * 3
    invalid(run(ch, K.WriteAndVerify12(lba=0, bytchk=2, data=blocks(1))), (1, 2))


def test_orwrite_ors_the_data_into_the_medium() -> None:
    ch = disk()
    good(ch, K.Write10(lba=8, data=bytes([0x0F]) * BS + bytes([0x30]) * BS))
    good(ch, K.OrWrite16(lba=8, data=bytes([0xA0]) * BS + bytes([0x03]) * BS))
    assert (
        good(ch, K.Read10(lba=8, transfer_length=2)).data == bytes([0xAF]) * BS + bytes([0x33]) * BS
    )
    good(ch, K.OrWrite16(lba=8, transfer_length=0))
    invalid(run(ch, K.OrWrite16(lba=0, orprotect=1, data=blocks(1))), (1, 7))
    fails(run(ch, K.OrWrite16(lba=999, data=blocks(2))), "ILLEGAL_REQUEST", 0x21)
    assert good(ch, K.Read10(lba=999, transfer_length=1)).data == bytes(BS)
    fails(run(disk("&wp=1", name="w"), K.OrWrite16(lba=0, data=blocks(1))), "DATA_PROTECT", 0x27)


def test_write_atomic_only_with_its_option_and_block_limits_says_which() -> None:
    ch = disk()
    fails(run(ch, K.WriteAtomic16(lba=0, data=blocks(1))), "ILLEGAL_REQUEST", 0x20, field=(0, 7))
    page = data(ch, K.Inquiry(evpd=1, page_code=0xB0, allocation_length=64))
    assert page["maximum_atomic_transfer_length"] == 0
    assert page["atomic_alignment"] == page["atomic_transfer_length_granularity"] == 0
    opts = "&max_atomic_blocks=16&atomic_alignment=4&atomic_granularity=2"
    ch = disk(opts, name="atomic")
    page = data(ch, K.Inquiry(evpd=1, page_code=0xB0, allocation_length=64))
    assert (
        page["maximum_atomic_transfer_length"],
        page["atomic_alignment"],
        page["atomic_transfer_length_granularity"],
    ) == (16, 4, 2)
    good(ch, K.WriteAtomic16(lba=8, data=blocks(4, 3)))
    assert good(ch, K.Read10(lba=8, transfer_length=4)).data == blocks(4, 3)
    invalid(run(ch, K.WriteAtomic16(lba=2, data=blocks(2))), (2, 7))  # off the alignment
    invalid(run(ch, K.WriteAtomic16(lba=0, data=blocks(3))), (12, 7))  # off the granularity
    invalid(run(ch, K.WriteAtomic16(lba=0, data=blocks(18))), (12, 7))  # over the maximum
    fails(run(ch, K.WriteAtomic16(lba=996, data=blocks(8))), "ILLEGAL_REQUEST", 0x21)
    good(ch, K.WriteAtomic16(lba=0, transfer_length=0))
    with pytest.raises(ValueError, match="max_atomic_blocks=16 is more than max_transfer_blocks=8"):
        disk(opts + "&max_transfer_blocks=8", name="bad")
    listed = data(ch, K.ReportSupportedOperationCodes())["command_descriptors"]
    assert (0x9C, 0) in {(d["operation_code"], d["service_action"]) for d in listed}


@pytest.mark.parametrize("cls", [K.Verify10, K.Verify12, K.Verify16])
def test_verify_compares_and_reports_the_first_differing_byte(cls: type[Command]) -> None:
    ch = disk()
    good(ch, K.Write10(lba=8, data=blocks(3, 2)))
    good(ch, cls(lba=8, verification_length=3))  # BYTCHK 00b: the medium is fine
    good(ch, cls(lba=8, data=blocks(3, 2)))  # BYTCHK 01b, equal
    bad = bytearray(blocks(3, 2))
    bad[BS + 17] ^= 0xFF
    fails(run(ch, cls(lba=8, data=bytes(bad))), "MISCOMPARE", 0x1D, 0x00, info=BS + 17)
    fails(run(ch, cls(lba=999, verification_length=2)), "ILLEGAL_REQUEST", 0x21)
    invalid(run(ch, cls(lba=8, verification_length=1, vrprotect=1)), (1, 7))


def test_verify_bytchk_11b_compares_one_block_with_each() -> None:
    ch = disk()
    same = blocks(1, 4)
    good(ch, K.WriteSame16(lba=0, number_of_logical_blocks=4, data=same))
    good(ch, K.Verify10(lba=0, verification_length=4, bytchk=3, data=same))
    good(ch, K.Write10(lba=2, data=b"\x04" * 100 + b"\x99" + b"\x04" * (BS - 101)))
    io = run(ch, K.Verify10(lba=0, verification_length=4, bytchk=3, data=same))
    fails(io, "MISCOMPARE", 0x1D, info=100)  # an offset in the one-block Data-Out buffer
    invalid(run(ch, K.Verify16(lba=0, verification_length=1, bytchk=2)), (1, 2))


def test_compare_and_write_writes_only_when_equal() -> None:
    ch = disk()
    old, new = blocks(2, 1), blocks(2, 50)
    good(ch, K.Write10(lba=30, data=old))
    good(ch, K.CompareAndWrite(lba=30, data=old + new))
    assert good(ch, K.Read10(lba=30, transfer_length=2)).data == new
    wrong = bytearray(new)
    wrong[BS + 3] ^= 1
    io = run(ch, K.CompareAndWrite(lba=30, data=bytes(wrong) + old))
    fails(io, "MISCOMPARE", 0x1D, 0x00, info=BS + 3)
    assert good(ch, K.Read10(lba=30, transfer_length=2)).data == new  # nothing written
    good(ch, K.CompareAndWrite(lba=30, number_of_logical_blocks=0, data=b""))
    fails(run(ch, K.CompareAndWrite(lba=999, data=blocks(4))), "ILLEGAL_REQUEST", 0x21)


# ------------------------------------------------------------------ WRITE SAME


def test_write_same_writes_one_block_over_the_range() -> None:
    ch = disk()
    good(ch, K.WriteSame10(lba=100, number_of_logical_blocks=5, data=blocks(1, 8)))
    assert good(ch, K.Read10(lba=100, transfer_length=5)).data == blocks(1, 8) * 5
    good(ch, K.WriteSame16(lba=100, number_of_logical_blocks=2, ndob=1))
    assert good(ch, K.Read10(lba=100, transfer_length=2)).data == bytes(2 * BS)


def test_write_same_limits_and_fields() -> None:
    ch = disk("&max_write_same_blocks=64")
    invalid(run(ch, K.WriteSame16(lba=0, number_of_logical_blocks=0, data=blocks(1))), (10, 7))
    invalid(run(ch, K.WriteSame16(lba=0, number_of_logical_blocks=65, data=blocks(1))), (10, 7))
    invalid(run(ch, K.WriteSame10(lba=0, number_of_logical_blocks=0, data=blocks(1))), (7, 7))
    io = run(
        ch, K.WriteSame16(lba=0, number_of_logical_blocks=1, anchor=1, unmap=1, data=blocks(1))
    )
    invalid(io, (1, 4))
    io = run(ch, K.WriteSame16(lba=998, number_of_logical_blocks=4, data=blocks(1)))
    fails(io, "ILLEGAL_REQUEST", 0x21)
    invalid(
        run(ch, K.WriteSame16(lba=0, number_of_logical_blocks=1, wrprotect=1, data=blocks(1))),
        (1, 7),
    )


def test_write_same_zero_blocks_runs_to_the_end_without_wsnz() -> None:
    ch = disk("&wsnz=0&max_write_same_blocks=64")
    io = run(ch, K.Inquiry(evpd=1, page_code=0xB0, allocation_length=64))
    assert io.data[4] & 1 == 0  # WSNZ
    good(ch, K.WriteSame10(lba=990, number_of_logical_blocks=0, data=blocks(1, 8)))
    assert good(ch, K.Read10(lba=990, transfer_length=10)).data == blocks(1, 8) * 10
    fails(
        run(ch, K.WriteSame16(lba=1001, number_of_logical_blocks=0, data=blocks(1))),
        "ILLEGAL_REQUEST",
        0x21,
    )
    invalid(run(ch, K.WriteSame16(lba=900, number_of_logical_blocks=0, data=blocks(1))), (10, 7))


# ------------------------------------------------------- cache and prefetch


@pytest.mark.parametrize("cls", [K.SynchronizeCache10, K.SynchronizeCache16])
def test_synchronize_cache(cls: type[Command]) -> None:
    ch = disk()
    good(ch, cls())
    good(ch, cls(lba=990, number_of_logical_blocks=10))
    fails(run(ch, cls(lba=990, number_of_logical_blocks=11)), "ILLEGAL_REQUEST", 0x21)
    fails(run(ch, cls(lba=1000)), "ILLEGAL_REQUEST", 0x21)


@pytest.mark.parametrize(("cls", "length_at"), [(K.PreFetch10, (7, 7)), (K.PreFetch16, (10, 7))])
def test_pre_fetch_condition_met_when_it_fits(
    cls: type[Command], length_at: tuple[int, int]
) -> None:
    ch = disk("&max_transfer_blocks=64")
    io = ch.execute(cls(lba=0, prefetch_length=64))  # CONDITION MET is success: no raise
    assert io.status == ScsiStatus.CONDITION_MET and io.error is None
    assert good(ch, cls(lba=0)).status == ScsiStatus.GOOD  # 1000 blocks to the end: too many
    assert run(ch, cls(lba=990)).status == ScsiStatus.CONDITION_MET
    invalid(run(ch, cls(lba=0, prefetch_length=65)), length_at)
    fails(run(ch, cls(lba=999, prefetch_length=2)), "ILLEGAL_REQUEST", 0x21)


# --------------------------------------------------------- START STOP UNIT


def test_stopped_unit_is_not_ready_for_media_commands() -> None:
    ch = disk()
    good(ch, K.StartStopUnit(start=0))
    for cmd in (K.TestUnitReady(), K.Read10(lba=0, transfer_length=1), K.ReadCapacity10()):
        fails(run(ch, cmd), "NOT_READY", 0x04, 0x02)
    good(ch, K.Inquiry())
    good(ch, K.ModeSense10())
    good(ch, K.StartStopUnit(start=1))
    good(ch, K.TestUnitReady())


def test_start_stop_power_conditions() -> None:
    ch = disk()
    good(ch, K.StartStopUnit(power_condition="idle", power_condition_modifier=2))
    good(ch, K.StartStopUnit(power_condition="standby", start=0))  # START ignored: still ready
    good(ch, K.TestUnitReady())
    invalid(run(ch, K.StartStopUnit(power_condition=5)), (4, 7))
    invalid(run(ch, K.StartStopUnit(power_condition="standby", power_condition_modifier=2)), (3, 3))


def test_eject_of_a_prevented_removable_medium_is_refused() -> None:
    ch = disk("&removable=1")
    assert data(ch, K.Inquiry())["rmb"] == 1
    good(ch, K.PreventAllowMediumRemoval(prevent=1))
    fails(run(ch, K.StartStopUnit(start=0, loej=1)), "ILLEGAL_REQUEST", 0x53, 0x02)
    good(ch, K.TestUnitReady())  # still running
    other = disk("&removable=1", initiator="b")
    good(other, K.PreventAllowMediumRemoval(prevent=0))  # b never prevented: a still does
    fails(run(ch, K.StartStopUnit(start=0, loej=1)), "ILLEGAL_REQUEST", 0x53, 0x02)
    good(ch, K.PreventAllowMediumRemoval(prevent=0))
    good(ch, K.StartStopUnit(start=0, loej=1))
    fails(run(ch, K.TestUnitReady()), "NOT_READY", 0x3A, 0x00)  # medium not present
    invalid(run(ch, K.PreventAllowMediumRemoval(prevent=2)), (4, 1))


def test_loej_unloads_and_loads_a_removable_medium() -> None:
    ch = disk("&removable=1")
    good(ch, K.StartStopUnit(start=0, loej=1))
    fails(run(ch, K.TestUnitReady()), "NOT_READY", 0x3A, 0x00)
    fails(run(ch, K.Read10(lba=0, transfer_length=1)), "NOT_READY", 0x3A, 0x00)
    fails(run(ch, K.ReadCapacity10()), "NOT_READY", 0x3A, 0x00)
    assert data(ch, K.RequestSense(allocation_length=18))["asc"] == 0x3A
    good(ch, K.Inquiry())
    good(ch, K.StartStopUnit(start=0, loej=0))  # stopping without LOEJ loads nothing
    fails(run(ch, K.TestUnitReady()), "NOT_READY", 0x3A, 0x00)
    good(ch, K.StartStopUnit(start=1, loej=1))
    good(ch, K.TestUnitReady())
    good(ch, K.StartStopUnit(start=0, loej=0))  # stopped, medium still there
    fails(run(ch, K.TestUnitReady()), "NOT_READY", 0x04, 0x02)
    good(ch, K.StartStopUnit(start=1, loej=0))
    good(ch, K.TestUnitReady())
    fixed = disk(name="fixed")  # LOEJ means nothing on a fixed disk
    good(fixed, K.StartStopUnit(start=0, loej=1))
    fails(run(fixed, K.TestUnitReady()), "NOT_READY", 0x04, 0x02)


# ------------------------------------------------------- FORMAT, SANITIZE


def test_format_unit_clears_the_medium() -> None:
    ch = disk()
    good(ch, K.Write10(lba=3, data=blocks(2, 1)))
    good(ch, K.FormatUnit())
    assert good(ch, K.Read10(lba=3, transfer_length=2)).data == bytes(2 * BS)
    good(ch, K.Write10(lba=3, data=blocks(1, 1)))
    good(ch, K.FormatUnit(fmtdata=1, data=bytes([0, 0x82, 0, 0])))  # FOV, IMMED
    assert good(ch, K.Read10(lba=3, transfer_length=1)).data == bytes(BS)


def test_format_unit_errors() -> None:
    ch = disk()
    invalid(run(ch, K.FormatUnit(fmtpinfo=2)), (1, 7))
    invalid(run(ch, K.FormatUnit(ffmt=3)), (4, 1))
    fails(
        run(ch, K.FormatUnit(fmtdata=1, data=bytes([0, 0x40, 0, 0]))),
        "ILLEGAL_REQUEST",
        0x26,
        param=(1, 6),
    )
    fails(
        run(ch, K.FormatUnit(fmtdata=1, data=bytes([0, 0x88, 0, 0]))),
        "ILLEGAL_REQUEST",
        0x26,
        param=(1, 3),
    )
    fails(run(ch, K.FormatUnit(fmtdata=1, data=bytes([0, 0x80, 0, 8]))), "ILLEGAL_REQUEST", 0x1A)
    fails(
        run(ch, K.FormatUnit(fmtdata=1, data=bytes([0, 0x80, 0, 6]) + bytes(6))),
        "ILLEGAL_REQUEST",
        0x26,
        param=(2, None),
    )


def test_sanitize_block_erase_and_overwrite() -> None:
    ch = Channel.open("sim:s?blocks=16", initiator="a", block_size=BS)
    run(ch, K.TestUnitReady())
    good(ch, K.Write10(lba=0, data=blocks(4, 1)))
    good(ch, K.Sanitize(service_action="block_erase"))
    assert data(ch, K.Inquiry(evpd=1, page_code=0xB1))["wabereq"] == 1  # so reads are GOOD
    assert good(ch, K.Read10(lba=0, transfer_length=16)).data == bytes(16 * BS)
    params = bytes([0x80 | 2, 0, 0, 2]) + b"\xa5\x0f"  # INVERT, 2 passes: the last is inverted
    good(ch, K.Sanitize(service_action="overwrite", data=params))
    assert good(ch, K.Read10(lba=0, transfer_length=16)).data == b"\x5a\xf0" * (8 * BS)
    good(ch, K.Sanitize(service_action="exit_failure_mode"))
    invalid(run(ch, K.Sanitize(service_action="crypto_erase")), (1, 4))
    invalid(run(ch, K.Sanitize(service_action="overwrite")), (7, 7))  # no parameter list
    bad = bytes([0, 0, 0, 2]) + b"\xa5\x0f"  # OVERWRITE COUNT 0
    fails(
        run(ch, K.Sanitize(service_action="overwrite", data=bad)),
        "ILLEGAL_REQUEST",
        0x26,
        param=(0, 4),
    )
    invalid(run(ch, K.Sanitize(service_action="block_erase", data=bytes(4))), (7, 7))
    for size in (1, 4, BS + 5):  # OVERWRITE's list is 5 .. block length + 4 bytes long
        invalid(run(ch, K.Sanitize(service_action="overwrite", data=bytes([1]) + bytes(size - 1))), (7, 7))


# ------------------------------------------------- defects, reassignment


def test_defect_lists_are_empty() -> None:
    ch = disk()
    io = good(ch, K.ReadDefectData10(req_plist=1, req_glist=1, defect_list_format=0b101))
    assert io.data == bytes([0, 0x18 | 0b101, 0, 0])
    io = good(ch, K.ReadDefectData12(req_glist=1, defect_list_format=0b011))
    assert io.data == bytes([0, 0x08 | 0b011]) + bytes(6)
    invalid(run(ch, K.ReadDefectData10(defect_list_format=0b111)), (2, 2))


def test_reassign_blocks_checks_the_list() -> None:
    ch = disk()
    good(ch, K.Write10(lba=7, data=blocks(1, 7)))
    good(ch, K.ReassignBlocks(data=bytes([0, 0, 0, 4]) + (7).to_bytes(4, "big")))
    assert good(ch, K.Read10(lba=7, transfer_length=1)).data == blocks(1, 7)
    io = run(ch, K.ReassignBlocks(data=bytes([0, 0, 0, 4]) + (1000).to_bytes(4, "big")))
    fails(io, "ILLEGAL_REQUEST", 0x21, info=1000)
    io = run(ch, K.ReassignBlocks(longlba=1, data=bytes([0, 0, 0, 4]) + bytes(4)))
    fails(io, "ILLEGAL_REQUEST", 0x26, param=(2, None))
    fails(run(ch, K.ReassignBlocks(data=bytes([0, 0, 0, 8]) + bytes(4))), "ILLEGAL_REQUEST", 0x1A)


# ------------------------------------ REPORT SUPPORTED OPERATION CODES, TMFs


def _pairs(cls: type[Command], lu: LogicalUnit) -> set[tuple[int, int]]:
    slot = cls.layout.by_name.get("service_action")
    if slot is None:
        return {(cls.opcode, 0)}
    if slot.field.fixed:
        return {(cls.opcode, slot.field.default)}
    from sgscript.sim.spc import _service_action_values

    return {(cls.opcode, sa) for sa in _service_action_values(lu, cls) or ()}


def test_rsoc_lists_exactly_what_the_unit_implements() -> None:
    ch = disk()
    lu = targets()["t"].lu(0)
    listed = data(ch, K.ReportSupportedOperationCodes())["command_descriptors"]
    got = {(d["operation_code"], d["service_action"]) for d in listed}
    cat = catalog()
    # WRITE ATOMIC(16) only with max_atomic_blocks (not set here)
    names = [n for n in LogicalUnit().implemented() if n != "WriteAtomic16"]
    want = set().union(*(_pairs(cat[name], lu) for name in names))
    assert got == want
    assert len(got) == len(listed)  # no duplicates
    by_pair = {(d["operation_code"], d["service_action"]): d for d in listed}
    assert by_pair[(0x9E, 0x10)]["servactv"] == 1 and by_pair[(0x9E, 0x10)]["cdb_length"] == 16
    assert by_pair[(0x28, 0)]["servactv"] == 0 and by_pair[(0x28, 0)]["cdb_length"] == 10
    assert (0x5F, 0x00) in got and (0x16, 0) in got  # the reservation module's commands
    assert (0x7F, 0x09) not in got and (0xA1, 0) not in got


def test_rsoc_every_listed_command_is_answered() -> None:
    ch = disk()
    lu = targets()["t"].lu(0)
    listed = data(ch, K.ReportSupportedOperationCodes())["command_descriptors"]
    lu.execute("probe", b"\x00" * 6)  # the probe's power-on unit attention
    for d in listed:
        cdb = bytearray(d["cdb_length"])
        cdb[0] = d["operation_code"]
        if d["servactv"]:
            cdb[1] = d["service_action"]  # every listed service action sits in byte 1 here
        resp = lu.execute("probe", bytes(cdb))
        assert not resp.sense or resp.sense[12] != 0x20, decode_cdb(bytes(cdb))


def test_rsoc_timeouts_descriptors() -> None:
    listed = data(disk(), K.ReportSupportedOperationCodes(rctd=1))["command_descriptors"]
    assert all(d["ctdp"] == 1 for d in listed)
    timeouts = {d["operation_code"]: d["command_timeouts_descriptor"] for d in listed}
    assert timeouts[0x04]["recommended_command_timeout"] == 600  # FORMAT UNIT
    assert timeouts[0x28]["recommended_command_timeout"] == 30


def test_rsoc_one_command() -> None:
    ch = disk()
    one = data(
        ch, K.ReportSupportedOperationCodes(reporting_options=1, requested_operation_code=0x28)
    )
    assert one["support_name"] == "supported" and one["cdb_size"] == 10
    assert one["cdb_usage_data"] == "28fcffffffff3fffff04"  # READ(10): every field, NACA
    two = data(
        ch,
        K.ReportSupportedOperationCodes(
            reporting_options=2,
            requested_operation_code=0x9E,
            requested_service_action=0x12,
            rctd=1,
        ),
    )
    assert two["support_name"] == "supported" and two["cdb_usage_data"][:4] == "9e12"
    assert two["command_timeouts_descriptor"]["recommended_command_timeout"] == 30
    ata = data(
        ch, K.ReportSupportedOperationCodes(reporting_options=3, requested_operation_code=0xA1)
    )
    assert ata["support_name"] == "not_supported" and ata["cdb_size"] == 0
    sa = data(
        ch,
        K.ReportSupportedOperationCodes(
            reporting_options=3, requested_operation_code=0x48, requested_service_action=3
        ),
    )
    assert sa["support_name"] == "not_supported"  # SANITIZE crypto erase
    invalid(
        run(
            ch, K.ReportSupportedOperationCodes(reporting_options=1, requested_operation_code=0x9E)
        ),
        (3, 7),
    )
    invalid(
        run(
            ch, K.ReportSupportedOperationCodes(reporting_options=2, requested_operation_code=0x28)
        ),
        (3, 7),
    )
    invalid(run(ch, K.ReportSupportedOperationCodes(reporting_options=4)), (2, 2))


def test_rsoc_leaves_out_unmap_on_a_thick_disk() -> None:
    ch = disk("&thin=0")
    listed = data(ch, K.ReportSupportedOperationCodes())["command_descriptors"]
    assert 0x42 not in {d["operation_code"] for d in listed}
    fails(run(ch, K.Unmap(data=_unmap_list([(0, 1)]))), "ILLEGAL_REQUEST", 0x20, field=(0, 7))


def test_report_supported_task_management_functions() -> None:
    ch = disk()
    tmf = data(ch, K.ReportSupportedTaskManagementFunctions(repd=1, allocation_length=16))
    assert tmf["lurs"] == 1 and tmf["trs"] == 1 and tmf["ats"] == 0
    assert tmf["additional_data_length"] == 12
    assert len(good(ch, K.ReportSupportedTaskManagementFunctions(allocation_length=16)).data) == 4


def test_every_catalog_command_is_implemented_or_deliberately_not() -> None:
    implemented = set(LogicalUnit().implemented())
    assert implemented.isdisjoint(NOT_IMPLEMENTED)
    assert set(catalog()) == implemented | set(NOT_IMPLEMENTED)
    lu = LogicalUnit()
    answered_opcodes = {catalog()[name].opcode for name in implemented}
    for name in NOT_IMPLEMENTED:
        cls = catalog()[name]
        resp = lu.execute("x", cls().cdb)
        lu.pending_ua.clear()
        # an operation code the disk answers for other service actions: the service action
        # is what is invalid; an operation code it never answers: the operation code
        want = 0x24 if cls.opcode in answered_opcodes else 0x20
        assert resp.sense[2] & 0x0F == 5 and resp.sense[12] == want, name


# What SPC-5 requires for a service action the unit lacks, under an operation code it
# supports (scsi_debug answers so): INVALID FIELD IN CDB, the field pointer at the SERVICE
# ACTION field's most significant bit. (cdb, field pointer)
UNSUPPORTED_SERVICE_ACTIONS = [
    ("9e 1f 00 00 00 00 00 00 00 00 00 00 00 20 00 00", (1, 4)),  # SERVICE ACTION IN(16)
    ("9e 11 00 00 00 00 00 00 00 00 00 00 00 20 00 00", (1, 4)),  # READ LONG(16): not here
    ("a3 1f 00 00 00 00 00 00 02 00 00 00", (1, 4)),  # MAINTENANCE IN
    ("a3 0a 00 00 00 00 00 00 04 00 00 00", (1, 4)),  # REPORT TARGET PORT GROUPS: no ALUA
    ("5e 1f 00 00 00 00 00 20 00 00", (1, 4)),  # PERSISTENT RESERVE IN
    ("48 04 00 00 00 00 00 00 00 00", (1, 4)),  # SANITIZE: a reserved service action
]


@pytest.mark.parametrize(("cdb", "pointer"), UNSUPPORTED_SERVICE_ACTIONS)
def test_an_unsupported_service_action_is_invalid_field_in_cdb_at_the_service_action(
    cdb: str, pointer: tuple[int, int]
) -> None:
    lu = LogicalUnit()
    lu.execute("x", b"\x00" * 6)  # the power-on unit attention
    resp = lu.execute("x", bytes.fromhex(cdb))
    s = parse_sense(resp.sense)
    assert (s.sense_key, s.asc, s.ascq) == (SenseKey.ILLEGAL_REQUEST, 0x24, 0x00), s.summary()
    sks = s.sense_key_specific
    assert sks is not None and sks.cd and sks.bpv, s.summary()
    assert (sks.field_pointer, sks.bit_pointer) == pointer


def test_a_variable_length_cdb_with_an_unsupported_service_action_points_at_bytes_8_9() -> None:
    """7Fh: once the unit answers one variable-length command, a service action it lacks
    is the invalid field (byte 8, bit 7); a unit that answers none lacks the opcode."""
    read32 = bytes.fromhex("7f 00 00 00 00 00 00 18 00 09") + bytes(22)
    write32 = bytes.fromhex("7f 00 00 00 00 00 00 18 00 0b") + bytes(22)
    bare = LogicalUnit()
    bare.execute("x", b"\x00" * 6)
    s = parse_sense(bare.execute("x", read32).sense)
    assert (s.asc, s.ascq) == (0x20, 0x00) and s.sense_key_specific.field_pointer == 0
    lu = LogicalUnit(handlers={**builtin_handlers(), "Read32": lambda unit, req: bytes(BS)})
    lu.execute("x", b"\x00" * 6)
    assert lu.execute("x", read32).good
    for cdb in (write32, read32[:8] + b"\xff\xff" + read32[10:]):
        s = parse_sense(lu.execute("x", cdb).sense)
        sks = s.sense_key_specific
        assert (s.sense_key, s.asc, s.ascq) == (SenseKey.ILLEGAL_REQUEST, 0x24, 0x00)
        assert sks is not None and (sks.field_pointer, sks.bit_pointer) == (8, 7)


def test_rsoc_agrees_with_how_unlisted_service_actions_are_refused() -> None:
    """Every operation code REPORT SUPPORTED OPERATION CODES lists with service actions
    refuses one it does not list with INVALID FIELD IN CDB at the service action; an
    operation code it does not list at all is INVALID COMMAND OPERATION CODE."""
    ch = disk()
    lu = targets()["t"].lu(0)
    listed = data(ch, K.ReportSupportedOperationCodes())["command_descriptors"]
    with_sa: dict[int, set[int]] = {}
    for d in listed:
        if d["servactv"]:
            with_sa.setdefault(d["operation_code"], set()).add(d["service_action"])
    assert {0x9E, 0xA3, 0x5E, 0x5F} <= set(with_sa)
    lu.execute("probe", b"\x00" * 6)
    for opcode, actions in with_sa.items():
        length = lu.catalog.with_opcode(opcode)[0].length
        sa = next(a for a in range(0x1F, -1, -1) if a not in actions)
        cdb = bytearray(length)
        cdb[0], cdb[1] = opcode, sa
        s = parse_sense(lu.execute("probe", bytes(cdb)).sense)
        assert (s.asc, s.sense_key_specific.field_pointer) == (0x24, 1), hex(opcode)
        one = data(
            ch,
            K.ReportSupportedOperationCodes(
                reporting_options=3, requested_operation_code=opcode, requested_service_action=sa
            ),
        )
        assert one["support_name"] == "not_supported", hex(opcode)
    for opcode in set(range(256)) - {d["operation_code"] for d in listed}:
        s = parse_sense(lu.execute("probe", bytes([opcode]) + bytes(15)).sense)
        assert (s.asc, s.ascq) == (0x20, 0x00), hex(opcode)


# ----------------------------------------------------------------- diagnostics


def test_send_diagnostic_self_tests_and_results() -> None:
    ch = disk()
    good(ch, K.SendDiagnostic(selftest=1))
    good(ch, K.SendDiagnostic(self_test_code="background_short"))
    good(ch, K.SendDiagnostic(self_test_code="foreground_extended"))
    invalid(run(ch, K.SendDiagnostic(selftest=1, self_test_code=1)), (1, 7))
    invalid(run(ch, K.SendDiagnostic(self_test_code=3)), (1, 7))
    io = good(ch, K.LogSense(page_code=0x10))
    assert io.data[4:6] == b"\x00\x01" and io.data[8] >> 5 == 6  # newest first: foreground extended
    assert io.data[28] >> 5 == 1 and io.data[8] & 0x0F == 0  # then background short, both passed
    assert good(ch, K.ReceiveDiagnosticResults(pcv=1, page_code=0)).data == b"\x00\x00\x00\x01\x00"
    invalid(run(ch, K.ReceiveDiagnosticResults(pcv=1, page_code=0x40)), (2, 7))
    good(ch, K.SendDiagnostic(pf=1, data=b"\x00\x00\x00\x00"))
    fails(
        run(ch, K.SendDiagnostic(pf=1, data=b"\x3f\x00\x00\x00")),
        "ILLEGAL_REQUEST",
        0x26,
        param=(0, None),
    )
    invalid(run(ch, K.SendDiagnostic(pf=0, data=b"\x00\x00\x00\x00")), (1, 4))


# -------------------------------------------------------------------- buffers


def test_read_write_buffer() -> None:
    ch = disk()
    desc = good(ch, K.ReadBuffer10(mode="descriptor", allocation_length=4)).data
    assert desc == b"\x00\x01\x00\x00"  # byte offsets, 64 KiB
    assert good(
        ch, K.ReadBuffer10(mode="descriptor", buffer_id=3, allocation_length=4)
    ).data == bytes(4)
    good(ch, K.WriteBuffer10(mode="data", buffer_offset=100, data=b"hello"))
    got = good(ch, K.ReadBuffer10(mode="data", buffer_offset=98, allocation_length=9)).data
    assert got == b"\x00\x00hello\x00\x00"
    invalid(run(ch, K.WriteBuffer10(mode="data", buffer_offset=0xFFFF, data=b"xy")), (6, 7))
    invalid(run(ch, K.WriteBuffer10(mode="data", buffer_id=1, data=b"xy")), (2, 7))
    invalid(run(ch, K.WriteBuffer10(mode="download_microcode_save_activate", data=b"xy")), (1, 4))
    invalid(run(ch, K.ReadBuffer10(mode="error_history")), (1, 4))


def test_echo_buffer_is_per_nexus() -> None:
    a = disk()
    b = disk(initiator="b")
    assert (
        good(a, K.ReadBuffer10(mode="echo_buffer_descriptor", allocation_length=4)).data
        == b"\x00\x00\x10\x00"
    )
    good(a, K.WriteBuffer10(mode="echo_buffer", data=b"ping"))
    good(b, K.WriteBuffer10(mode="echo_buffer", data=b"pong"))
    assert good(a, K.ReadBuffer10(mode="echo_buffer", allocation_length=4)).data == b"ping"
    invalid(run(a, K.WriteBuffer10(mode="echo_buffer", data=bytes(0x1001))), (6, 7))


# ------------------------------------------------------------------ security


def test_security_protocol_in_lists_protocol_zero() -> None:
    ch = disk()
    io = good(ch, K.SecurityProtocolIn(allocation_length=512))
    assert io.data == bytes(6) + b"\x00\x01\x00"
    assert good(ch, K.SecurityProtocolIn(security_protocol_specific=1)).data == bytes(4)
    invalid(run(ch, K.SecurityProtocolIn(security_protocol=0xEF)), (1, 7))
    invalid(run(ch, K.SecurityProtocolIn(security_protocol_specific=7)), (2, 7))
    invalid(run(ch, K.SecurityProtocolIn(inc_512=1, allocation_length=1)), (4, 7))


# ------------------------------------------------------------------ WRITE LONG


@pytest.mark.parametrize("cls", [K.WriteLong10, K.WriteLong16])
def test_write_long_marks_a_block_uncorrectable_until_rewritten(cls: type[Command]) -> None:
    ch = disk()
    good(ch, K.Write10(lba=40, data=blocks(3, 1)))
    good(ch, cls(lba=41, wr_uncor=1))
    fails(run(ch, K.Read10(lba=40, transfer_length=3)), "MEDIUM_ERROR", 0x11, 0x00, info=41)
    good(ch, K.Read10(lba=40, transfer_length=1))
    good(ch, K.Write10(lba=41, data=blocks(1, 2)))
    assert good(ch, K.Read10(lba=40, transfer_length=3)).data == blocks(3, 1)
    invalid(run(ch, cls(lba=41, pblock=1, wr_uncor=1)), (1, 5))  # one block per physical block
    fails(run(ch, cls(lba=1000, cor_dis=1)), "ILLEGAL_REQUEST", 0x21)
    good(ch, cls(lba=42, data=blocks(1, 9)))  # without WR_UNCOR: the block's own bytes
    assert good(ch, K.Read10(lba=42, transfer_length=1)).data == blocks(1, 9)
    io = run(ch, cls(lba=42, data=bytes(BS + 8)))  # no ECC bytes to take
    invalid(io, (7, 7) if cls is K.WriteLong10 else (12, 7))
    assert io.sense is not None and io.sense.information == 8


def test_rsoc_lists_the_persistent_reservation_service_actions_that_work() -> None:
    ch = disk()
    listed = data(ch, K.ReportSupportedOperationCodes())["command_descriptors"]
    pr_out = {d["service_action"] for d in listed if d["operation_code"] == 0x5F}
    pr_in = {d["service_action"] for d in listed if d["operation_code"] == 0x5E}
    assert pr_in == {0, 1, 2, 3}
    assert {0, 1, 2, 3, 4, 5, 6} <= pr_out and 8 not in pr_out  # REPLACE LOST RESERVATION refused
    for sa in range(9):
        cmd = K.ReportSupportedOperationCodes(
            reporting_options=2, requested_operation_code=0x5F, requested_service_action=sa
        )
        one = data(ch, cmd)
        answer = run(ch, K.PersistentReserveOut(service_action=sa, data=bytes(24)))
        s = answer.sense
        sks = s.sense_key_specific if s is not None else None
        refused = s is not None and s.asc == 0x24 and sks is not None and sks.field_pointer == 1
        assert (one["support_name"] == "supported") is not refused, sa

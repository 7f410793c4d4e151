"""The command catalog: every table encodes, decodes, sizes its data phase and names itself right.

The layouts are checked three ways: every field set to a non-trivial value
survives encode -> ``decode_cdb``; a handful of CDBs are compared byte for byte
with what sg3_utils, libiscsi and the Linux kernel build; and sg3_utils'
``sg_decode_sense --cdb`` must name every CDB we encode the way we do.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from sgscript.scsi import commands as cmds
from sgscript.scsi.catalog import catalog, decode_cdb, lookup
from sgscript.scsi.cdb import Command, Direction, Field, Transfer
from sgscript.scsi.errors import FieldValueError, UnknownFieldError

CATALOG = catalog()
NAMES = sorted(CATALOG)

# fmt: off
REQUIRED = [
    "TestUnitReady", "RequestSense", "Inquiry", "ReportLuns", "ModeSense6", "ModeSense10",
    "ModeSelect6", "ModeSelect10", "LogSense", "LogSelect", "ReadCapacity10", "ReadCapacity16",
    "Read6", "Read10", "Read12", "Read16", "Write6", "Write10", "Write12", "Write16",
    "WriteAndVerify10", "WriteAndVerify16", "Verify10", "Verify16", "WriteSame10", "WriteSame16",
    "Unmap", "SynchronizeCache10", "SynchronizeCache16", "StartStopUnit",
    "PreventAllowMediumRemoval", "FormatUnit", "Reserve6", "Reserve10", "Release6", "Release10",
    "PersistentReserveIn", "PersistentReserveOut", "CompareAndWrite", "SendDiagnostic",
    "ReceiveDiagnosticResults", "ReadBuffer10", "WriteBuffer10", "ReportSupportedOperationCodes",
    "ReportSupportedTaskManagementFunctions", "GetLbaStatus", "SecurityProtocolIn",
    "SecurityProtocolOut", "Sanitize", "AtaPassThrough12", "AtaPassThrough16", "ReadDefectData10",
    "ReadDefectData12", "ReassignBlocks"
]
# fmt: on


def settable(cls: type[Command]) -> list[Field]:
    return [s.field for s in cls.layout.slots if not s.field.fixed]


def busy(cls: type[Command], *, symbolic: bool = True) -> dict[str, int]:
    """A non-trivial value for every settable field: mixed bits, never the default.

    ``symbolic=False`` leaves fields with coded values (service actions, modes)
    at their defaults, so sg3_utils sees a code it knows.
    """
    out = {}
    for i, f in enumerate(settable(cls)):
        if f.values and not symbolic:
            continue
        value = (0x9E3779B97F4A7C15 >> (i % 5)) & f.maximum
        if value == f.default:
            value ^= 1
        out[f.name] = value
    return out


# ---------------------------------------------------------------- the catalog


def test_catalog_is_big_enough_and_has_the_required_commands() -> None:
    assert len(CATALOG) >= 45
    assert not set(REQUIRED) - set(CATALOG)


def test_package_exports_every_command() -> None:
    assert sorted(cmds.__all__) == sorted([*NAMES, "STANDARD"])
    assert [cls.__name__ for cls in cmds.STANDARD] == NAMES
    for name in NAMES:
        assert getattr(cmds, name) is CATALOG[name]
    assert lookup("read10") is cmds.Read10
    assert lookup("test_unit_ready") is cmds.TestUnitReady


@pytest.mark.parametrize("name", NAMES)
def test_every_command_is_documented(name: str) -> None:
    cls = CATALOG[name]
    doc = cls.__dict__.get("__doc__") or ""  # its own, not Command's
    assert doc.strip() and doc.strip().splitlines()[0].endswith((".", ")", "?"))
    assert cls.title and cls.title == cls.title.upper() and doc.startswith(cls.title + ": ")
    assert cls.standard.split("-")[0] in {"SPC", "SBC", "SAT"}
    assert cls.length in {6, 10, 12, 16, 32}
    assert isinstance(cls.direction, Direction)
    assert isinstance(cls.transfer, Transfer)


@pytest.mark.parametrize("name", NAMES)
def test_fields_tile_the_cdb_without_overlap(name: str) -> None:
    cls = CATALOG[name]
    used = 0
    for s in cls.layout.slots:
        bits = s.mask << s.shift
        assert not used & bits, f"{name}.{s.field.name} overlaps another field"
        used |= bits
        assert s.field.default <= s.field.maximum
        if s.field.values:
            assert all(0 <= v <= s.field.maximum for v in s.field.values.values())
    control = cls.layout.by_name["control"].field
    assert (control.byte, control.bit, control.width) == (
        (1, 7, 8) if cls.opcode == 0x7F else (cls.length - 1, 7, 8)
    )


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_with_every_field_set(name: str) -> None:
    cls = CATALOG[name]
    values = busy(cls)
    cmd = cls(**values)
    assert len(cmd.cdb) == cls.length and cmd.cdb[0] == cls.opcode
    for raw in (cmd.cdb, cmd.cdb.hex(" ")):
        back = decode_cdb(raw)
        assert type(back) is cls
        assert back.field_values() == cmd.field_values()
        assert back.cdb == cmd.cdb
    for field, value in values.items():
        assert getattr(cmd, field) == value


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_with_every_field_at_its_maximum(name: str) -> None:
    cls = CATALOG[name]
    cmd = cls(**{f.name: f.maximum for f in settable(cls)})
    back = decode_cdb(cmd.cdb)
    assert type(back) is cls and back.field_values() == cmd.field_values()


@pytest.mark.parametrize("name", NAMES)
def test_defaults_round_trip(name: str) -> None:
    cmd = CATALOG[name]()
    back = decode_cdb(cmd.cdb)
    assert type(back) is type(cmd) and back.values == {} and back.cdb == cmd.cdb


# ----------------------------------------------- CDBs other tools build


KNOWN_CDBS: list[tuple[Command, str]] = [
    (cmds.TestUnitReady(), "00 00 00 00 00 00"),
    (cmds.Inquiry(evpd=1, page_code=0x83, allocation_length=0x200), "12 01 83 02 00 00"),
    (cmds.Inquiry(allocation_length=36), "12 00 00 00 24 00"),
    (cmds.RequestSense(desc=1, allocation_length=18), "03 01 00 00 12 00"),
    (
        cmds.ReportLuns(select_report="all", allocation_length=8192),
        "a0 00 02 00 00 00 00 00 20 00 00 00",
    ),
    (cmds.Read6(lba=0x1ABCDE, transfer_length=0), "08 1a bc de 00 00"),
    (cmds.Read10(lba=0x12345678, transfer_length=0x100, fua=1), "28 08 12 34 56 78 00 01 00 00"),
    (
        cmds.Write10(lba=1, transfer_length=2, dpo=1, group_number=0x3F),
        "2a 10 00 00 00 01 3f 00 02 00",
    ),
    (
        cmds.Read12(lba=7, transfer_length=0x10000, rdprotect=1),
        "a8 20 00 00 00 07 00 01 00 00 00 00",
    ),
    # Linux sd: cmnd[1] = flags | (dld >> 2) & 1, cmnd[14] = (dld & 3) << 6 | group
    (
        cmds.Read16(lba=2**40, transfer_length=8, fua=1, dld2=1, dld1=0, dld0=1, group_number=2),
        "88 09 00 00 01 00 00 00 00 00 00 00 00 08 42 00",
    ),
    (
        cmds.Write16(lba=0x1122334455667788, transfer_length=1, wrprotect=3),
        "8a 60 11 22 33 44 55 66 77 88 00 00 00 01 00 00",
    ),
    # Linux sd: READ(32) with cmnd[7] = 18h, cmnd[9] = 09h, cmnd[10] = flags, tags, length
    (
        cmds.Read32(
            lba=0x10,
            transfer_length=4,
            rdprotect=2,
            expected_initial_logical_block_reference_tag=0x10,
            dld2=1,
        ),
        "7f 00 00 00 00 00 00 18 00 09 40 04 00 00 00 00 00 00 00 10"
        " 00 00 00 10 00 00 00 00 00 00 00 04",
    ),
    (
        cmds.Write32(lba=1, transfer_length=1, control=0x04, group_number=5),
        "7f 04 00 00 00 00 05 18 00 0b 00 00 00 00 00 00 00 00 00 01"
        " 00 00 00 00 00 00 00 00 00 00 00 01",
    ),
    (cmds.ReadCapacity10(), "25 00 00 00 00 00 00 00 00 00"),
    (cmds.ReadCapacity16(), "9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00"),
    (
        cmds.GetLbaStatus(starting_logical_block_address=0x800, report_type="mapped"),
        "9e 12 00 00 00 00 00 00 08 00 00 00 04 00 02 00",
    ),
    (cmds.ModeSense6(dbd=1, page_code=0x08), "1a 08 08 00 fc 00"),
    (
        cmds.ModeSense10(
            llbaa=1, dbd=1, pc="saved", page_code=0x0A, subpage_code=0xF1, allocation_length=0x100
        ),
        "5a 18 ca f1 00 00 00 01 00 00",
    ),
    (cmds.ModeSelect10(sp=1, parameter_list_length=0x1C), "55 11 00 00 00 00 00 00 1c 00"),
    (cmds.ModeSelect6(pf=0, rtd=1), "15 02 00 00 00 00"),
    (
        cmds.LogSense(pc="cumulative", page_code=0x0D, allocation_length=0x40),
        "4d 00 4d 00 00 00 00 00 40 00",
    ),
    (cmds.LogSelect(pcr=1, pc="default_cumulative"), "4c 02 c0 00 00 00 00 00 00 00"),
    (
        cmds.PersistentReserveIn(service_action="read_full_status", allocation_length=0x2000),
        "5e 03 00 00 00 00 00 20 00 00",
    ),
    (
        cmds.PersistentReserveOut(
            service_action="reserve", type="write_exclusive_registrants_only"
        ),
        "5f 01 05 00 00 00 00 00 18 00",
    ),
    (
        cmds.PersistentReserveOut(
            service_action="register_and_move", type="exclusive_access", parameter_list_length=0x28
        ),
        "5f 07 03 00 00 00 00 00 28 00",
    ),
    (cmds.Reserve6(), "16 00 00 00 00 00"),
    (cmds.Release10(third_party=1, third_party_device_id=5), "57 10 00 05 00 00 00 00 00 00"),
    (cmds.Reserve10(longid=1, parameter_list_length=8), "56 02 00 00 00 00 00 00 08 00"),
    # sg_ll_send_diag: cdb[1] = st_code << 5 | pf 0x10 | selftest 0x04 | devofl 0x02 | unitofl 0x01
    (cmds.SendDiagnostic(self_test_code="background_short"), "1d 20 00 00 00 00"),
    (cmds.SendDiagnostic(selftest=1, devoffl=1, unitoffl=1), "1d 07 00 00 00 00"),
    (cmds.SendDiagnostic(pf=1, parameter_list_length=0x10), "1d 10 00 00 10 00"),
    (
        cmds.ReceiveDiagnosticResults(pcv=1, page_code=0x02, allocation_length=0x400),
        "1c 01 02 04 00 00",
    ),
    (
        cmds.ReadBuffer10(
            mode="descriptor", buffer_id=1, buffer_offset=0x10203, allocation_length=4
        ),
        "3c 03 01 01 02 03 00 00 04 00",
    ),
    (
        cmds.WriteBuffer10(
            mode="download_microcode_offsets_save_defer",
            buffer_offset=0x8000,
            parameter_list_length=0x8000,
        ),
        "3b 0e 00 00 80 00 00 80 00 00",
    ),
    # sg_opcodes: RCTD is byte 2 bit 7, REPORTING OPTIONS byte 2 bits 2..0
    (
        cmds.ReportSupportedOperationCodes(
            rctd=1,
            reporting_options="opcode_sa",
            requested_operation_code=0x9E,
            requested_service_action=0x10,
            allocation_length=512,
        ),
        "a3 0c 82 9e 00 10 00 00 02 00 00 00",
    ),
    (cmds.ReportSupportedTaskManagementFunctions(repd=1), "a3 0d 80 00 00 00 00 00 00 10 00 00"),
    (
        cmds.ReportTargetPortGroups(parameter_data_format="extended"),
        "a3 2a 00 00 00 00 00 00 04 00 00 00",
    ),
    (
        cmds.ReportIdentifyingInformation(information_type=0x7E),
        "a3 05 00 00 00 00 00 00 02 00 fc 00",
    ),
    (cmds.SetTimestamp(), "a4 0f 00 00 00 00 00 00 00 0c 00 00"),
    (
        cmds.SecurityProtocolIn(
            security_protocol=1, security_protocol_specific=1, inc_512=1, allocation_length=1
        ),
        "a2 01 00 01 80 00 00 00 00 01 00 00",
    ),
    (
        cmds.SecurityProtocolOut(security_protocol=0xEF, transfer_length=512),
        "b5 ef 00 00 00 00 00 00 02 00 00 00",
    ),
    (
        cmds.ReadAttribute(
            service_action="attribute_list", partition_number=1, first_attribute_identifier=0x0400
        ),
        "8c 01 00 00 00 00 00 01 04 00 00 00 20 00 00 00",
    ),
    (
        cmds.ExtendedCopyLid1(parameter_list_length=0x60),
        "83 00 00 00 00 00 00 00 00 00 00 00 00 60 00 00",
    ),
    (
        cmds.ReceiveCopyStatusLid1(list_identifier=7),
        "84 00 07 00 00 00 00 00 00 00 00 00 04 00 00 00",
    ),
    (
        cmds.ReceiveCopyStatus(list_identifier=0x01020304),
        "84 05 01 02 03 04 00 00 00 00 00 00 04 00 00 00",
    ),
    (
        cmds.PopulateToken(list_identifier=9, parameter_list_length=0x30),
        "83 10 00 00 00 00 00 00 00 09 00 00 00 30 00 00",
    ),
    # libiscsi scsi_cdb_writesame16: UNMAP 0x08, NDOB 0x01
    (
        cmds.WriteSame16(unmap=1, ndob=1, lba=0x100, number_of_logical_blocks=0x800),
        "93 09 00 00 00 00 00 00 01 00 00 00 08 00 00 00",
    ),
    (
        cmds.WriteSame10(anchor=1, unmap=1, lba=2, number_of_logical_blocks=3),
        "41 18 00 00 00 02 00 00 03 00",
    ),
    (cmds.Unmap(anchor=1, parameter_list_length=24), "42 01 00 00 00 00 00 00 18 00"),
    (
        cmds.CompareAndWrite(lba=5, number_of_logical_blocks=1, fua=1),
        "89 08 00 00 00 00 00 00 00 05 00 00 00 01 00 00",
    ),
    (
        cmds.Verify10(bytchk=1, lba=0x20, verification_length=2, dpo=1),
        "2f 12 00 00 00 20 00 00 02 00",
    ),
    (
        cmds.Verify16(vrprotect=1, bytchk=3, verification_length=1),
        "8f 26 00 00 00 00 00 00 00 00 00 00 00 01 00 00",
    ),
    (cmds.WriteAndVerify10(bytchk=1, transfer_length=1), "2e 02 00 00 00 00 00 00 01 00"),
    (cmds.SynchronizeCache10(immed=1), "35 02 00 00 00 00 00 00 00 00"),
    (
        cmds.SynchronizeCache16(lba=1, number_of_logical_blocks=2),
        "91 00 00 00 00 00 00 00 00 01 00 00 00 02 00 00",
    ),
    (cmds.PreFetch10(immed=1, lba=9, prefetch_length=8), "34 02 00 00 00 09 00 00 08 00"),
    (cmds.StartStopUnit(), "1b 00 00 00 01 00"),
    (cmds.StartStopUnit(immed=1, power_condition="standby", start=0), "1b 01 00 00 30 00"),
    (cmds.StartStopUnit(loej=1, start=0), "1b 00 00 00 02 00"),
    (cmds.PreventAllowMediumRemoval(prevent="prevent"), "1e 00 00 00 01 00"),
    # sg_ll_format_unit: fmtpinfo << 6, longlist 0x20, fmtdata 0x10, cmplst 0x08, ffmt in byte 4
    (
        cmds.FormatUnit(fmtpinfo=2, fmtdata=1, longlist=1, defect_list_format=4, ffmt=1),
        "04 b4 00 00 01 00",
    ),
    (cmds.ReassignBlocks(longlba=1, longlist=1), "07 03 00 00 00 00"),
    # sg_ll_read_defect10 / smartmontools scsiReadDefect12
    (cmds.ReadDefectData10(req_glist=1, defect_list_format=5), "37 00 0d 00 00 00 00 00 04 00"),
    (
        cmds.ReadDefectData12(
            req_plist=1,
            defect_list_format=4,
            address_descriptor_index=0x100,
            allocation_length=0x10000,
        ),
        "b7 14 00 00 01 00 00 01 00 00 00 00",
    ),
    # sg_sanitize: IMMED 0x80, ZNR 0x40, AUSE 0x20
    (cmds.Sanitize(immed=1, ause=1, service_action="block_erase"), "48 a2 00 00 00 00 00 00 00 00"),
    (
        cmds.Sanitize(service_action="overwrite", parameter_list_length=8),
        "48 01 00 00 00 00 00 00 08 00",
    ),
    (cmds.WriteLong10(wr_uncor=1, cor_dis=1, lba=0x1000), "3f c0 00 00 10 00 00 00 00 00"),
    (
        cmds.WriteLong16(wr_uncor=1, pblock=1, lba=1),
        "9f 71 00 00 00 00 00 00 00 01 00 00 00 00 00 00",
    ),
    # sg_ll_read_long10/16: PBLOCK 0x04/0x02 and CORRECT 0x02/0x01, in byte 1 of (10), 14 of (16)
    (
        cmds.ReadLong10(pblock=1, correct=1, lba=8, byte_transfer_length=0x210),
        "3e 06 00 00 00 08 00 02 10 00",
    ),
    (
        cmds.ReadLong16(correct=1, byte_transfer_length=0x210),
        "9e 11 00 00 00 00 00 00 00 00 00 00 02 10 01 00",
    ),
    # sg_sat_identify: IDENTIFY DEVICE through ATA PASS-THROUGH(16) and (12)
    (
        cmds.AtaPassThrough16(
            protocol="pio_data_in", t_dir=1, byt_blok=1, t_length="count", count=1, command=0xEC
        ),
        "85 08 0e 00 00 00 01 00 00 00 00 00 00 00 ec 00",
    ),
    (
        cmds.AtaPassThrough12(
            protocol="pio_data_in", t_dir=1, byt_blok=1, t_length="count", count=1, command=0xEC
        ),
        "a1 08 0e 00 01 00 00 00 00 ec 00 00",
    ),
    # READ LOG DMA EXT through ATA PASS-THROUGH(16), as cdl-tools sends it
    (
        cmds.AtaPassThrough16(
            protocol="dma",
            extend=1,
            t_dir=1,
            byt_blok=1,
            t_length="count",
            count=1,
            lba_7_0=0x18,
            command=0x47,
        ),
        "85 0d 0e 00 00 00 01 00 18 00 00 00 00 00 47 00",
    ),
    (
        cmds.AtaPassThrough16(
            extend=1, lba_47_40=6, lba_39_32=5, lba_31_24=4, lba_23_16=3, lba_15_8=2, lba_7_0=1
        ),
        "85 01 00 00 00 00 00 04 01 05 02 06 03 00 00 00",
    ),
]


@pytest.mark.parametrize(
    ("cmd", "expected"), KNOWN_CDBS, ids=lambda x: getattr(x, "describe", str)()
)
def test_cdb_matches_what_other_tools_build(cmd: Command, expected: str) -> None:
    assert cmd.cdb == bytes.fromhex(expected)
    assert type(decode_cdb(expected)) is type(cmd)


# ------------------------------------------------------------ range errors


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: cmds.Read10(transfer_length=70000),
            "transfer_length=70000 does not fit Read10's 16-bit TRANSFER LENGTH (0..65535)",
        ),
        (
            lambda: cmds.Read6(lba=2**21),
            "logical_block_address=2097152 does not fit Read6's 21-bit LOGICAL BLOCK ADDRESS (0..2097151)",
        ),
        (
            lambda: cmds.Read16(lba=2**64),
            f"logical_block_address={2**64} does not fit Read16's 64-bit LOGICAL BLOCK ADDRESS",
        ),
        (
            lambda: cmds.CompareAndWrite(number_of_logical_blocks=256),
            "number_of_logical_blocks=256 does not fit CompareAndWrite's 8-bit NUMBER OF LOGICAL BLOCKS",
        ),
        (
            lambda: cmds.Read10(group_number=64),
            "group_number=64 does not fit Read10's 6-bit GROUP NUMBER",
        ),
        (lambda: cmds.Inquiry(evpd=2), "evpd=2 does not fit Inquiry's 1-bit EVPD (0..1)"),
        (lambda: cmds.Write10(lba=-1), "logical_block_address=-1 does not fit Write10's 32-bit"),
        (lambda: cmds.Read10(lba="zero"), "logical_block_address='zero' is not an integer"),
        (
            lambda: cmds.PersistentReserveOut(service_action="grab"),
            "service_action='grab' is not one of PersistentReserveOut's SERVICE ACTION values: register,",
        ),
        (
            lambda: cmds.Reserve10(third_party=2),
            "third_party=2 does not fit Reserve10's 1-bit 3RDPTY",
        ),
        (
            lambda: cmds.ReadCapacity16(service_action=0x11),
            "ReadCapacity16: service_action is fixed",
        ),
        (lambda: cmds.Read32(additional_cdb_length=0x20), "Read32: additional_cdb_length is fixed"),
        (
            lambda: cmds.Write6(data=bytes(512 * 300)),
            "transfer_length=300 does not fit Write6's 8-bit TRANSFER LENGTH",
        ),
    ],
)
def test_range_errors_say_what_does_not_fit(make: Any, message: str) -> None:
    with pytest.raises(FieldValueError) as info:
        make()
    assert message in str(info.value)


def test_unknown_field_suggests_the_near_one() -> None:
    with pytest.raises(UnknownFieldError) as info:
        cmds.Read10(transfer_lenght=1)
    assert "Read10 has no field 'transfer_lenght'" in str(info.value)
    assert "transfer_length" in str(info.value)


# ---------------------------------------------------------- aliases, symbols


def test_lba_alias() -> None:
    cmd = cmds.Read16(lba=2**40, transfer_length=1)
    assert cmd.logical_block_address == 2**40 == cmd.lba
    assert cmd.values == {"logical_block_address": 2**40, "transfer_length": 1}
    assert cmd.describe() == "Read16(lba=0x10000000000, transfer_length=1)"
    assert cmds.Write10(lba=3).cdb == cmds.Write10(logical_block_address=3).cdb
    assert cmds.PersistentReserveOut(sa="clear").service_action == 3


SYMBOLS: list[tuple[type[Command], str, dict[str, int]]] = [
    (
        cmds.PersistentReserveIn,
        "service_action",
        {"read_keys": 0, "read_reservation": 1, "report_capabilities": 2, "read_full_status": 3},
    ),
    (
        cmds.PersistentReserveOut,
        "service_action",
        {
            "register": 0,
            "reserve": 1,
            "release": 2,
            "clear": 3,
            "preempt": 4,
            "preempt_and_abort": 5,
            "register_and_ignore_existing_key": 6,
            "register_and_move": 7,
            "replace_lost_reservation": 8,
        },
    ),
    (
        cmds.PersistentReserveOut,
        "type",
        {
            "write_exclusive": 1,
            "exclusive_access": 3,
            "write_exclusive_registrants_only": 5,
            "exclusive_access_registrants_only": 6,
            "write_exclusive_all_registrants": 7,
            "exclusive_access_all_registrants": 8,
        },
    ),
    (
        cmds.Sanitize,
        "service_action",
        {"overwrite": 1, "block_erase": 2, "crypto_erase": 3, "exit_failure_mode": 0x1F},
    ),
    (cmds.ModeSense10, "pc", {"current": 0, "changeable": 1, "default": 2, "saved": 3}),
    (
        cmds.LogSense,
        "pc",
        {"threshold": 0, "cumulative": 1, "default_threshold": 2, "default_cumulative": 3},
    ),
    (
        cmds.StartStopUnit,
        "power_condition",
        {
            "start_valid": 0,
            "active": 1,
            "idle": 2,
            "standby": 3,
            "lu_control": 7,
            "force_idle_0": 0xA,
            "force_standby_0": 0xB,
        },
    ),
    (
        cmds.ReadBuffer10,
        "mode",
        {"data": 2, "descriptor": 3, "echo_buffer": 0xA, "error_history": 0x1C},
    ),
    (
        cmds.WriteBuffer10,
        "mode",
        {
            "data": 2,
            "download_microcode_save_activate": 5,
            "download_microcode_offsets_save_activate": 7,
            "activate_deferred_microcode": 0xF,
        },
    ),
    (cmds.ReadAttribute, "service_action", {"attribute_values": 0, "supported_attributes": 5}),
    (cmds.AtaPassThrough16, "protocol", {"non_data": 3, "pio_data_in": 4, "dma": 6, "fpdma": 12}),
    (cmds.PreventAllowMediumRemoval, "prevent", {"allow": 0, "prevent": 1}),
    (
        cmds.GetLbaStatus,
        "report_type",
        {"all": 0, "mapped": 2, "deallocated": 3, "unrecovered_error": 0x10},
    ),
]


@pytest.mark.parametrize(
    ("cls", "field", "codes"), SYMBOLS, ids=lambda x: getattr(x, "__name__", None)
)
def test_symbolic_values(cls: type[Command], field: str, codes: dict[str, int]) -> None:
    for name, code in codes.items():
        cmd = cls(**{field: name})
        assert getattr(cmd, field) == code
        assert cls(**{field: code}).cdb == cmd.cdb
        back = decode_cdb(cmd.cdb)
        assert type(back) is cls and getattr(back, field) == code
        if code != cls.layout.by_name[field].field.default:
            assert f"{field}={name}" in back.describe()
        # spelled the way the standard prints it
        assert getattr(cls(**{field: name.replace("_", " ").upper()}), field) == code


def test_service_action_spellings() -> None:
    assert cmds.PersistentReserveOut(service_action="preempt-and-abort").service_action == 5
    assert cmds.Sanitize(service_action="Crypto Erase").service_action == 3


def test_identifying_service_actions_are_fixed_and_pick_the_class() -> None:
    by_sa = {
        "9e 10": cmds.ReadCapacity16,
        "9e 11": cmds.ReadLong16,
        "9e 12": cmds.GetLbaStatus,
        "9f 11": cmds.WriteLong16,
        "a3 05": cmds.ReportIdentifyingInformation,
        "a3 0a": cmds.ReportTargetPortGroups,
        "a3 0c": cmds.ReportSupportedOperationCodes,
        "a3 0d": cmds.ReportSupportedTaskManagementFunctions,
        "a3 0f": cmds.ReportTimestamp,
        "a4 06": cmds.SetIdentifyingInformation,
        "a4 0a": cmds.SetTargetPortGroups,
        "a4 0f": cmds.SetTimestamp,
        "83 00": cmds.ExtendedCopyLid1,
        "83 01": cmds.ExtendedCopy,
        "83 10": cmds.PopulateToken,
        "83 11": cmds.WriteUsingToken,
        "83 1c": cmds.CopyOperationAbort,
        "84 00": cmds.ReceiveCopyStatusLid1,
        "84 01": cmds.ReceiveCopyDataLid1,
        "84 03": cmds.ReceiveCopyOperatingParameters,
        "84 04": cmds.ReceiveCopyFailureDetails,
        "84 05": cmds.ReceiveCopyStatus,
        "84 06": cmds.ReceiveCopyData,
        "84 07": cmds.ReceiveRodTokenInformation,
        "84 08": cmds.ReportAllRodTokens,
    }
    for head, cls in by_sa.items():
        raw = bytes.fromhex(head).ljust(cls.length, b"\0")
        assert type(decode_cdb(raw)) is cls
        assert cls().cdb[:2] == bytes.fromhex(head)
    # a set bit above the SERVICE ACTION does not change the command
    assert type(decode_cdb("a3 2a" + " 00" * 10)) is cmds.ReportTargetPortGroups
    variable = {
        9: cmds.Read32,
        0xA: cmds.Verify32,
        0xB: cmds.Write32,
        0xC: cmds.WriteAndVerify32,
        0xD: cmds.WriteSame32,
    }
    for sa, cls in variable.items():
        raw = bytes([0x7F, 0, 0, 0, 0, 0, 0, 0x18, 0, sa]).ljust(32, b"\0")
        assert type(decode_cdb(raw)) is cls


# ------------------------------------------------------------- data phase


DATA_PHASE: list[tuple[Command, int, Direction, int]] = [
    (cmds.TestUnitReady(), 512, Direction.NONE, 0),
    (cmds.StartStopUnit(), 512, Direction.NONE, 0),
    (cmds.SynchronizeCache16(number_of_logical_blocks=8), 512, Direction.NONE, 0),
    (cmds.PreFetch16(prefetch_length=8), 512, Direction.NONE, 0),
    (cmds.Reserve6(), 512, Direction.NONE, 0),
    (cmds.Read6(), 512, Direction.IN, 256 * 512),  # 0 blocks means 256
    (cmds.Read6(), 4096, Direction.IN, 256 * 4096),
    (cmds.Read6(transfer_length=1), 512, Direction.IN, 512),
    (cmds.Write6(), 512, Direction.OUT, 256 * 512),
    (cmds.Read10(), 512, Direction.IN, 0),  # but READ(10) with 0 moves nothing
    (cmds.Read10(transfer_length=8), 4096, Direction.IN, 8 * 4096),
    (cmds.Read10(transfer_length=1, block_size=4096), 512, Direction.IN, 4096),
    (cmds.Read32(transfer_length=3), 520, Direction.IN, 3 * 520),
    (cmds.Write16(transfer_length=3), 512, Direction.OUT, 1536),
    (cmds.WriteAndVerify16(transfer_length=2, bytchk=1), 512, Direction.OUT, 1024),
    (cmds.CompareAndWrite(number_of_logical_blocks=1), 512, Direction.OUT, 1024),
    (cmds.CompareAndWrite(number_of_logical_blocks=2), 4096, Direction.OUT, 4 * 4096),
    (cmds.WriteSame10(number_of_logical_blocks=100), 512, Direction.OUT, 512),
    (cmds.WriteSame16(number_of_logical_blocks=0), 4096, Direction.OUT, 4096),
    (cmds.WriteSame16(ndob=1, number_of_logical_blocks=100), 512, Direction.OUT, 0),
    (cmds.WriteSame32(ndob=1), 512, Direction.OUT, 0),
    (cmds.WriteSame32(unmap=1), 512, Direction.OUT, 512),
    (cmds.Verify10(verification_length=8), 512, Direction.OUT, 0),
    (cmds.Verify10(verification_length=8, bytchk=1), 512, Direction.OUT, 4096),
    (cmds.Verify16(verification_length=8, bytchk=3), 512, Direction.OUT, 512),
    (cmds.Verify12(verification_length=8, bytchk=2), 512, Direction.OUT, 0),  # reserved
    (cmds.Inquiry(), 512, Direction.IN, 252),  # the non-zero default counts
    (cmds.Inquiry(allocation_length=36), 512, Direction.IN, 36),
    (cmds.Inquiry(data_in=8), 512, Direction.IN, 8),
    (cmds.RequestSense(), 512, Direction.IN, 252),
    (cmds.ReportLuns(), 512, Direction.IN, 8192),
    (cmds.ModeSense6(), 512, Direction.IN, 252),
    (cmds.ModeSense10(), 512, Direction.IN, 4096),
    (cmds.LogSense(allocation_length=0), 512, Direction.IN, 0),
    (cmds.ReadCapacity10(), 4096, Direction.IN, 8),
    (cmds.ReadCapacity16(), 4096, Direction.IN, 32),
    (cmds.GetLbaStatus(), 512, Direction.IN, 1024),
    (cmds.ReadDefectData10(), 512, Direction.IN, 4),
    (cmds.ReadDefectData12(), 512, Direction.IN, 8),
    (cmds.ReadBuffer10(), 512, Direction.IN, 4),
    (cmds.ReadLong10(byte_transfer_length=520), 512, Direction.IN, 520),
    (cmds.PersistentReserveIn(), 512, Direction.IN, 8192),
    (cmds.PersistentReserveOut(), 512, Direction.OUT, 24),
    (cmds.PersistentReserveOut(parameter_list_length=0x28), 512, Direction.OUT, 0x28),
    (cmds.ModeSelect10(parameter_list_length=28), 512, Direction.OUT, 28),
    (cmds.SecurityProtocolIn(), 512, Direction.IN, 512),
    (cmds.SecurityProtocolIn(inc_512=1, allocation_length=2), 512, Direction.IN, 1024),
    (cmds.SecurityProtocolOut(inc_512=1, transfer_length=3), 4096, Direction.OUT, 1536),
    (cmds.ReportSupportedTaskManagementFunctions(), 512, Direction.IN, 16),
    (cmds.SetTimestamp(), 512, Direction.OUT, 12),
    (cmds.FormatUnit(), 512, Direction.OUT, 0),
    (cmds.FormatUnit(fmtdata=1), 512, Direction.OUT, 4),
    (cmds.FormatUnit(fmtdata=1, longlist=1), 512, Direction.OUT, 8),
    (cmds.ReassignBlocks(), 512, Direction.OUT, 4),
    (cmds.Sanitize(service_action="overwrite", parameter_list_length=12), 512, Direction.OUT, 12),
    # ATA PASS-THROUGH: IDENTIFY DEVICE, 1 block of 512 bytes whatever the logical block size
    (
        cmds.AtaPassThrough16(
            protocol="pio_data_in", t_dir=1, byt_blok=1, t_length="count", count=1
        ),
        4096,
        Direction.IN,
        512,
    ),
    # ... T_TYPE=1 counts logical blocks; EXTEND makes COUNT 16 bits
    (
        cmds.AtaPassThrough16(
            protocol="dma", t_dir=0, byt_blok=1, t_type=1, t_length="count", extend=1, count=0x100
        ),
        4096,
        Direction.OUT,
        0x100 * 4096,
    ),
    (
        cmds.AtaPassThrough16(protocol="dma", t_dir=0, byt_blok=1, t_length="count", count=0x102),
        512,
        Direction.OUT,
        2 * 512,  # without EXTEND only COUNT(7:0) reaches the device
    ),
    (
        cmds.AtaPassThrough12(
            protocol="pio_data_out", byt_blok=0, t_length="features", features=24
        ),
        512,
        Direction.OUT,
        24,
    ),
    (
        cmds.AtaPassThrough12(protocol="non_data", t_dir=1, t_length="count", count=1),
        512,
        Direction.NONE,
        0,
    ),
    (
        cmds.AtaPassThrough16(protocol="pio_data_in", t_dir=1, t_length="none", count=1),
        512,
        Direction.NONE,
        0,
    ),
    (
        cmds.AtaPassThrough16(protocol="pio_data_in", t_dir=1, t_length="stpsiu"),
        512,
        Direction.IN,
        0,
    ),
]


@pytest.mark.parametrize(("cmd", "block_size", "direction", "length"), DATA_PHASE, ids=repr)
def test_data_direction_and_length(
    cmd: Command, block_size: int, direction: Direction, length: int
) -> None:
    assert cmd.direction is direction
    assert cmd.data_length(block_size) == length


def test_ata_direction_reads_the_defaults_on_the_class() -> None:
    assert cmds.AtaPassThrough16.direction is Direction.NONE
    assert cmds.AtaPassThrough12().direction is Direction.NONE


# ------------------------------------------------------- data-out inference


def test_write_infers_transfer_length_from_data() -> None:
    cmd = cmds.Write10(lba=0, data=b"x" * 1024)
    assert cmd.transfer_length == 2
    assert cmd.cdb == bytes.fromhex("2a 00 00 00 00 00 00 00 02 00")
    assert cmd.data_length() == 1024 and cmd.data == b"x" * 1024
    assert cmds.Write16(data=bytes(8192), block_size=4096).transfer_length == 2
    assert cmds.Write10(transfer_length=1, data=bytes(1024)).transfer_length == 1  # explicit wins
    assert cmds.Write32(data=bytes(512 * 3)).transfer_length == 3


@pytest.mark.parametrize(
    ("cmd", "field", "value"),
    [
        (cmds.CompareAndWrite(lba=0, data=bytes(2048)), "number_of_logical_blocks", 2),
        (cmds.WriteAndVerify10(data=bytes(1536)), "transfer_length", 3),
        (cmds.ModeSelect10(data=bytes(28)), "parameter_list_length", 28),
        (cmds.ModeSelect6(data=bytes(12)), "parameter_list_length", 12),
        (cmds.LogSelect(data=bytes(16)), "parameter_list_length", 16),
        (
            cmds.PersistentReserveOut(service_action="register", data=bytes(24)),
            "parameter_list_length",
            24,
        ),
        (
            cmds.PersistentReserveOut(service_action="register_and_move", data=bytes(40)),
            "parameter_list_length",
            40,
        ),
        (cmds.Unmap(data=bytes(24)), "parameter_list_length", 24),
        (cmds.SendDiagnostic(pf=1, data=bytes(8)), "parameter_list_length", 8),
        (cmds.WriteBuffer10(mode="data", data=bytes(4096)), "parameter_list_length", 4096),
        (cmds.SecurityProtocolOut(data=bytes(1024)), "transfer_length", 1024),
        (cmds.SecurityProtocolOut(inc_512=1, data=bytes(1024)), "transfer_length", 2),
        (cmds.Verify16(data=bytes(1024)), "verification_length", 2),
        (cmds.Verify16(data=bytes(1024)), "bytchk", 1),
        (cmds.WriteLong10(data=bytes(520)), "byte_transfer_length", 520),
        (cmds.ExtendedCopy(data=bytes(96)), "parameter_list_length", 96),
    ],
    ids=repr,
)
def test_data_out_fills_the_length_field(cmd: Command, field: str, value: int) -> None:
    assert getattr(cmd, field) == value
    assert cmd.data_length() == len(cmd.data or b"")
    assert decode_cdb(cmd.cdb).field_values() == cmd.field_values()


# ---------------------------------------------------------- gating flags

# fmt: off
CHANGES_MEDIA = [
    "Write6", "Write10", "Write12", "Write16", "Write32", "WriteAndVerify10", "WriteAndVerify12",
    "WriteAndVerify16", "WriteAndVerify32", "WriteSame10", "WriteSame16", "WriteSame32", "Unmap",
    "CompareAndWrite", "FormatUnit", "Sanitize", "ReassignBlocks", "WriteLong10", "WriteLong16",
    "WriteBuffer10", "ExtendedCopy", "ExtendedCopyLid1", "WriteUsingToken", "AtaPassThrough12",
    "AtaPassThrough16", "OrWrite16", "WriteAtomic16"
]
# fmt: on

# fmt: off
CHANGES_STATE = [
    "Reserve6", "Reserve10", "Release6", "Release10", "PersistentReserveOut", "ModeSelect6",
    "ModeSelect10", "LogSelect", "StartStopUnit", "PreventAllowMediumRemoval",
    "SecurityProtocolOut", "SendDiagnostic", "SetTimestamp", "SetTargetPortGroups",
    "SetIdentifyingInformation", "WriteAttribute", "CopyOperationAbort", "WriteBuffer10",
    "AtaPassThrough12", "AtaPassThrough16"
]
# fmt: on


@pytest.mark.parametrize("name", NAMES)
def test_media_and_state_flags(name: str) -> None:
    cls = CATALOG[name]
    assert cls.changes_media == (name in CHANGES_MEDIA)
    assert cls.changes_state == (name in CHANGES_STATE)


# ------------------------------------------------ cross-check with sg3_utils

SG_DECODE_SENSE = shutil.which("sg_decode_sense", path="/usr/bin") or shutil.which(
    "sg_decode_sense"
)

#: sg3_utils' name for each command, as ``sg_decode_sense --cdb`` prints it.
SG3_NAMES: dict[str, str] = {
    "AtaPassThrough12": "ATA pass-through(12)",
    "AtaPassThrough16": "ATA pass-through(16)",
    "CompareAndWrite": "Compare and write",
    "CopyOperationAbort": "Copy operation abort",
    "ExtendedCopy": "Extended copy",
    "ExtendedCopyLid1": "Extended copy(LID1)",
    "FormatUnit": "Format Unit",
    "GetLbaStatus": "Get LBA status(16)",
    "Inquiry": "Inquiry",
    "LogSelect": "Log select",
    "LogSense": "Log sense",
    "ModeSelect6": "Mode select(6)",
    "ModeSelect10": "Mode select(10)",
    "ModeSense6": "Mode sense(6)",
    "ModeSense10": "Mode sense(10)",
    "PopulateToken": "Populate token",
    "PreFetch10": "Pre-fetch(10)",
    "PreFetch16": "Pre-fetch(16)",
    "PreventAllowMediumRemoval": "Prevent allow medium removal",
    "Read6": "Read(6)",
    "Read10": "Read(10)",
    "Read12": "Read(12)",
    "Read16": "Read(16)",
    "Read32": "Read(32)",
    "ReadCapacity10": "Read capacity(10)",
    "ReadCapacity16": "Read capacity(16)",
    "ReadDefectData10": "Read defect data(10)",
    "ReadDefectData12": "Read defect data(12)",
    "ReadLong10": "Read long(10)",
    "ReadLong16": "Read long(16)",
    "ReassignBlocks": "Reassign Blocks",
    "ReceiveCopyData": "Receive copy data",
    "ReceiveCopyDataLid1": "Receive copy data(LID1)",
    "ReceiveCopyFailureDetails": "Receive copy failure details(LID1)",
    "ReceiveCopyOperatingParameters": "Receive copy operating parameters",
    "ReceiveCopyStatus": "Receive copy status",
    "ReceiveCopyStatusLid1": "Receive copy status(LID1)",
    "ReceiveDiagnosticResults": "Receive diagnostic results",
    "ReceiveRodTokenInformation": "Receive ROD token information",
    "Release6": "Release(6)",
    "Release10": "Release(10)",
    "ReportAllRodTokens": "Report all ROD tokens",
    "ReportIdentifyingInformation": "Report identifying information",
    "ReportLuns": "Report luns",
    "ReportSupportedOperationCodes": "Report supported operation codes",
    "ReportSupportedTaskManagementFunctions": "Report supported task management functions",
    "ReportTargetPortGroups": "Report target port groups",
    "ReportTimestamp": "Report timestamp",
    "RequestSense": "Request Sense",
    "Reserve6": "Reserve(6)",
    "Reserve10": "Reserve(10)",
    "SecurityProtocolIn": "Security protocol in",
    "SecurityProtocolOut": "Security protocol out",
    "SendDiagnostic": "Send diagnostic",
    "SetIdentifyingInformation": "Set identifying information",
    "SetTargetPortGroups": "Set target port groups",
    "SetTimestamp": "Set timestamp",
    "StartStopUnit": "Start stop unit",
    "SynchronizeCache10": "Synchronize cache(10)",
    "SynchronizeCache16": "Synchronize cache(16)",
    "TestUnitReady": "Test Unit Ready",
    "Unmap": "Unmap",
    "OrWrite16": "Orwrite(16)",
    "Verify10": "Verify(10)",
    "Verify12": "Verify(12)",
    "Verify16": "Verify(16)",
    "Verify32": "Verify(32)",
    "Write6": "Write(6)",
    "Write10": "Write(10)",
    "Write12": "Write(12)",
    "Write16": "Write(16)",
    "Write32": "Write(32)",
    "WriteAndVerify10": "Write and verify(10)",
    "WriteAndVerify12": "Write and verify(12)",
    "WriteAndVerify16": "Write and verify(16)",
    "WriteAndVerify32": "Write and verify(32)",
    "WriteAtomic16": "Write atomic(16)",
    "WriteAttribute": "Write attribute",
    "WriteLong10": "Write long(10)",
    "WriteLong16": "Write long(16)",
    "WriteSame10": "Write same(10)",
    "WriteSame16": "Write same(16)",
    "WriteSame32": "Write same(32)",
    "WriteUsingToken": "Write using token",
}

#: Commands whose name depends on a coded field: (class, field, {symbol: sg3_utils name}).
SG3_VARIANTS: list[tuple[str, str, dict[str, str | tuple[str, ...]]]] = [
    (
        "PersistentReserveIn",
        "service_action",
        {
            "read_keys": "Persistent reserve in, read keys",
            "read_reservation": "Persistent reserve in, read reservation",
            "report_capabilities": "Persistent reserve in, report capabilities",
            "read_full_status": "Persistent reserve in, read full status",
        },
    ),
    (
        "PersistentReserveOut",
        "service_action",
        {
            "register": "Persistent reserve out, register",
            "reserve": "Persistent reserve out, reserve",
            "release": "Persistent reserve out, release",
            "clear": "Persistent reserve out, clear",
            "preempt": "Persistent reserve out, preempt",
            "preempt_and_abort": "Persistent reserve out, preempt and abort",
            "register_and_ignore_existing_key": "Persistent reserve out, register and ignore existing key",
            "register_and_move": "Persistent reserve out, register and move",
            "replace_lost_reservation": "Persistent reserve out, replace lost reservation",
        },
    ),
    (
        "Sanitize",
        "service_action",
        {
            "overwrite": "Sanitize, overwrite",
            "block_erase": "Sanitize, block erase",
            "crypto_erase": "Sanitize, cryptographic erase",
            "exit_failure_mode": "Sanitize, exit failure mode",
        },
    ),
    (
        "ReadBuffer10",
        "mode",
        {
            "header_and_data": "Read buffer(10), combined header and data [or multiple modes]",
            "data": "Read buffer(10), data",
            "descriptor": "Read buffer(10), descriptor",
            "echo_buffer": "Read buffer(10), read data from echo buffer",
            "echo_buffer_descriptor": "Read buffer(10), echo buffer descriptor",
            # mode 0Fh came with SPC-5 r20: older sg3_utils (1.46) names it by number
            "microcode_status": (
                "Read buffer(10), read microcode status",
                "Read buffer(10) service action=0xf",
            ),
            "expander_communications": "Read buffer(10), enable expander comms protocol and echo buffer",
            "error_history": "Read buffer(10), error history",
        },
    ),
    (
        "WriteBuffer10",
        "mode",
        {
            "header_and_data": "Write buffer, combined header and data [or multiple modes]",
            "data": "Write buffer, data",
            "download_microcode_activate": "Write buffer, download microcode and activate",
            "download_microcode_save_activate": "Write buffer, download microcode, save, and activate",
            "download_microcode_offsets_activate": "Write buffer, download microcode with offsets and activate",
            "download_microcode_offsets_save_activate": "Write buffer, download microcode with offsets, save, and activate",
            "echo_buffer": "Write buffer, write data to echo buffer",
            "download_microcode_offsets_select_save_defer": "Write buffer, download microcode with offsets,"
            " select activation events, save and defer activate",
            "download_microcode_offsets_save_defer": "Write buffer, download microcode with offsets, save and defer activate",
            "activate_deferred_microcode": "Write buffer, activate deferred microcode",
            "enable_expander_communications": "Write buffer, enable expander comms protocol and echo buffer",
            "disable_expander_communications": "Write buffer, disable expander comms protocol",
            "download_error_history": "Write buffer, download application client error history",
        },
    ),
    (
        "ReadAttribute",
        "service_action",
        {
            "attribute_values": "Read attribute, attribute values",
            "attribute_list": "Read attribute, attribute list",
            "logical_volume_list": "Read attribute, logical volume list",
            "partition_list": "Read attribute, partition list",
            "supported_attributes": "Read attribute, supported attributes",
        },
    ),
]


def sg3_cases() -> list[tuple[str, Command, str | tuple[str, ...]]]:
    """Every catalog command (every field busy) and every coded variant, with sg3_utils' name."""
    cases = []
    for name, expected in SG3_NAMES.items():
        cls = CATALOG[name]
        cases.append((name, cls(**busy(cls, symbolic=False)), expected))
    for name, field, names in SG3_VARIANTS:
        cls = CATALOG[name]
        for symbol, expected in names.items():
            cmd = cls(**{**busy(cls, symbolic=False), field: symbol})
            cases.append((f"{name}({field}={symbol})", cmd, expected))
    return cases


def test_sg3_table_covers_the_catalog() -> None:
    varied = {name for name, _, _ in SG3_VARIANTS}
    assert set(SG3_NAMES) | varied == set(CATALOG)
    for name, field, names in SG3_VARIANTS:
        values = CATALOG[name].layout.by_name[field].field.values or {}
        if name in {"PersistentReserveIn", "PersistentReserveOut", "Sanitize", "ReadAttribute"}:
            assert set(names) == set(values), name  # every service action, no more
        else:
            assert set(names) <= set(values), name


@pytest.mark.skipif(SG_DECODE_SENSE is None, reason="sg_decode_sense (sg3-utils) not installed")
def test_sg3_utils_names_every_cdb_the_way_we_do() -> None:
    cases = sg3_cases()
    # One shell runs the decoder once per CDB: a single subprocess for the lot.
    script = 'for c in "$@"; do "$0" --cdb $c 2>&1; echo "@@END@@"; done'
    hexes = [cmd.cdb.hex(" ") for _, cmd, _ in cases]
    run = subprocess.run(
        ["sh", "-c", script, SG_DECODE_SENSE or "", *hexes],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    outputs = [out.strip() for out in run.stdout.split("@@END@@\n")[: len(cases)]]
    assert len(outputs) == len(cases)
    wrong = [
        f"{label}: {cmd.cdb.hex(' ')} -> {got!r}, expected {expected!r}"
        for (label, cmd, expected), got in zip(cases, outputs, strict=True)
        if got not in ((expected,) if isinstance(expected, str) else expected)
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("name", "fixed", "changing"),
    [
        ("Read10", {"transfer_length": 8, "fua": 1}, {"lba": 0x12345678}),
        ("Read16", {"transfer_length": 1}, {"lba": (1 << 64) - 1}),
        ("Write10", {"lba": 7}, {"transfer_length": 65535}),
        ("Inquiry", {}, {"allocation_length": 255, "evpd": 1}),
    ],
)
def test_a_template_encodes_what_the_whole_command_encodes(
    name: str, fixed: dict[str, int], changing: dict[str, int]
) -> None:
    """A step's stream patches only its changing fields into a CDB encoded once: the bytes,
    the values and the data size are the command's own, and every value is still checked."""
    from sgscript.scsi.cdb import Template

    cls = lookup(name)
    template = Template(cls, fixed, list(changing))
    made, whole = template.make(changing), cls(**fixed, **changing)
    assert made.cdb == whole.cdb and made.field_values() == whole.field_values()
    assert made.data_length(512) == whole.data_length(512)
    assert template.size_changes == (
        "transfer_length" in changing or "allocation_length" in changing
    )
    key = next(iter(changing))
    with pytest.raises(FieldValueError, match="does not fit"):
        template.make({**changing, key: 1 << 64})

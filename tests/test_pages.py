"""Parameter data decoders and encoders (sgscript.scsi.pages).

Fixtures are built by hand from the standards and from what two well-known
emulated disks return (Linux scsi_debug, QEMU's scsi-hd), so each byte has a
known meaning. Where sg3_utils can decode the same bytes from a file
(``sg_inq``/``sg_vpd``/``sg_get_lba_status --inhex``), the decodes are
cross-checked against it.
"""

from __future__ import annotations

import contextlib
import random
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sgscript.scsi import pages as P
from sgscript.scsi.catalog import lookup
from sgscript.scsi.cdb import Command
from sgscript.scsi.errors import FieldValueError, UsageError


def be(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big")


# ------------------------------------------------------------------ fixtures


def _scsi_debug_inquiry() -> bytes:
    """resp_inquiry() of scsi_debug for a disk: SPC-5, MultiP, Linked+CmdQue, 96 bytes."""
    b = bytearray(96)
    b[2], b[3], b[4] = 0x07, 0x02, 96 - 5
    b[6], b[7] = 0x10, 0x0A
    b[8:16], b[16:32], b[32:36] = b"Linux   ", b"scsi_debug      ", b"0191"
    b[36:44] = b"20210520"
    for k, code in enumerate((0x00C0, 0x05C0, 0x0600, 0x2100)):
        b[58 + 2 * k : 60 + 2 * k] = be(code, 2)
    return bytes(b)


SCSI_DEBUG_INQUIRY = _scsi_debug_inquiry()

#: QEMU scsi-hd with a 36-byte allocation length: SPC-3, HiSup, Sync + TCQ.
QEMU_INQUIRY = (
    bytes([0x00, 0x00, 0x05, 0x12, 0x1F, 0x00, 0x00, 0x12])
    + b"QEMU    "
    + b"QEMU HARDDISK   "
    + b"2.5+"
)


def _scsi_debug_vpd83() -> bytes:
    """inquiry_vpd_83() of scsi_debug for host 0, target 0, LUN 0 (lu id 2000)."""
    body = bytes([0x02, 0x01, 0x00, 28]) + b"Linux   scsi_debug      2000"
    body += bytes([0x01, 0x03, 0x00, 8]) + be(0x3333333000000000 + 2000, 8)
    body += bytes([0x61, 0x94, 0x00, 4, 0, 0, 0, 1])
    body += bytes([0x61, 0x93, 0x00, 8]) + be(0x3222222000000000 + 1998, 8)
    body += bytes([0x61, 0x95, 0x00, 4, 0, 0]) + be(0x0100, 2)
    body += bytes([0x61, 0xA3, 0x00, 8]) + be(0x3222222000000000 + 1997, 8)
    body += bytes([0x63, 0xA8, 0x00, 24]) + b"naa.32222220000007CD" + bytes(4)
    return bytes([0x00, 0x83]) + be(len(body), 2) + body


SCSI_DEBUG_VPD83 = _scsi_debug_vpd83()
#: A SAS drive's identifiers: NAA 5 (IEEE registered), EUI-64, UUID, MD5.
_EXTRA_83 = (
    bytes([0x01, 0x03, 0x00, 8, 0x50, 0x00, 0xC5, 0x00, 0x8F, 0x6D, 0x1D, 0x3F])
    + bytes([0x01, 0x02, 0x00, 8, 0x00, 0x25, 0x38, 0x11, 0x22, 0x33, 0x44, 0x55])
    + bytes([0x01, 0x0A, 0x00, 18, 0x10, 0x00])
    + bytes.fromhex("123e4567e89b12d3a456426614174000")
    + bytes([0x01, 0x07, 0x00, 16])
    + bytes(range(16))
)
EXTRA_VPD83 = bytes([0x00, 0x83]) + be(len(_EXTRA_83), 2) + _EXTRA_83
SCSI_DEBUG_VPD00 = bytes([0x00, 0x00, 0x00, 14]) + bytes(
    [0x00, 0x80, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0xB0, 0xB1, 0xB2, 0xB7, 0xB9]
)
SCSI_DEBUG_VPD80 = bytes([0x00, 0x80, 0x00, 0x04]) + b"2000"


def _vpd_b0() -> bytes:
    page = bytearray(64)
    page[1], page[3] = 0xB0, 0x3C
    page[5] = 1  # MAXIMUM COMPARE AND WRITE LENGTH
    page[6:8] = be(1, 2)
    page[8:12] = be(16384, 4)
    page[12:16] = be(1024, 4)
    page[20:24] = be(0xFFFFFFFF, 4)
    page[24:28] = be(256, 4)
    page[28:32] = be(8, 4)
    page[32:36] = be(0x80000000 | 3, 4)  # UGAVALID, alignment 3
    page[36:44] = be(0xFFFF, 8)
    return bytes(page)


SCSI_DEBUG_VPD_B0 = _vpd_b0()
#: scsi_debug: non-rotating medium, form factor "less than 1.8 inch".
SCSI_DEBUG_VPD_B1 = bytes([0x00, 0xB1, 0x00, 0x3C, 0x00, 0x01, 0x00, 0x05]) + bytes(56)
#: scsi_debug with lbpu=1 lbpws=1 lbprz=1: no provisioning group descriptor.
SCSI_DEBUG_VPD_B2 = bytes([0x00, 0xB2, 0x00, 0x04, 0x00, 0xC4, 0x00, 0x00])
#: A thin-provisioned LU whose page carries a provisioning group descriptor (NAA 6).
THIN_VPD_B2 = (
    bytes([0x00, 0xB2, 0x00, 0x18, 0x09, 0xE3, 0x1A, 0x05])
    + bytes([0x01, 0x03, 0x00, 0x10])
    + bytes.fromhex("6001405f2f4e4a0f9d2b4c7e8a1b2c3d")
)
VPD_UNKNOWN = bytes([0x00, 0xC0, 0x00, 0x03, 0xDE, 0xAD, 0x01])

#: scsi_debug, dev_size_mb=8: 16384 blocks of 512 bytes.
READ_CAPACITY_10 = be(16383, 4) + be(512, 4)
#: 4Kn-emulating thin disk: 8 logical per physical, PI type 2, LBPME and LBPRZ.
READ_CAPACITY_16 = (
    be(2**40 - 1, 8) + be(512, 4) + bytes([0x13, 0x13]) + be(0xC000 | 7, 2) + bytes(16)
)

REPORT_LUNS = (
    be(32, 4)
    + bytes(4)
    + bytes([0x00, 0x00]) + bytes(6)  # peripheral LUN 0
    + bytes([0x00, 0x01]) + bytes(6)  # peripheral LUN 1
    + bytes([0x41, 0x23]) + bytes(6)  # flat LUN 0x123
    + bytes([0xC1, 0x01]) + bytes(6)  # REPORT LUNS well known LUN
)  # fmt: skip

_ERR_RECOV = bytes([0x01, 0x0A, 0xC0, 11, 240, 0, 0, 0, 5, 0, 0xFF, 0xFF])
_CACHING = bytes.fromhex("0812 1400 ffff 0000 ffff ffff 8014 0000 0000 0000")
_CONTROL = bytes([0x0A, 10, 2, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x4B])
_IEC = bytes([0x1C, 0x0A, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0])
_PAGES6 = _ERR_RECOV + _CACHING + _CONTROL + _IEC
#: scsi_debug MODE SENSE(6), page 3Fh: DPOFUA, one short block descriptor, four pages.
MODE_SENSE_6 = (
    bytes([3 + 8 + len(_PAGES6), 0x00, 0x10, 0x08])
    + be(16384, 4) + bytes([0]) + be(512, 3)
    + _PAGES6
)  # fmt: skip
_CONTROL_EXT = bytes([0x4A, 0x01, 0x00, 0x1C, 0x05, 0x03, 0xFC]) + bytes(25)
_PROTO_PORT = bytes([0x19, 0x06, 0x06, 0x00, 0x07, 0xD0, 0x00, 0x00])  # kept raw
_CONTROL_PS = bytes([0x8A, 10, 0x04, 0x10, 0x08, 0x40, 0, 0, 0, 0x64, 0, 0])
_PAGES10 = _CONTROL_EXT + _PROTO_PORT + _CONTROL_PS
#: MODE SENSE(10) with LLBAA: WP and DPOFUA set, a long block descriptor, a subpage.
MODE_SENSE_10 = (
    be(6 + 16 + len(_PAGES10), 2) + bytes([0x00, 0x90, 0x01, 0x00]) + be(16, 2)
    + be(2**33, 8) + bytes(4) + be(4096, 4)
    + _PAGES10
)  # fmt: skip

PR_READ_KEYS = be(7, 4) + be(16, 4) + be(0x123456789ABCDEF0, 8) + be(0xFFFFFFFFFFFFFFFF, 8)
PR_READ_RESERVATION = be(7, 4) + be(16, 4) + be(0xABCD, 8) + bytes(4) + bytes([0, 0x05, 0, 0])
PR_NO_RESERVATION = be(3, 4) + be(0, 4)
PR_CAPABILITIES = bytes([0x00, 0x08, 0x1D, 0x81, 0xEA, 0x01, 0x00, 0x00])
_SAS_TID = bytes([0x06, 0, 0, 0]) + bytes.fromhex("5000c5008f6d1d3f") + bytes(12)
_ISCSI_NAME = b"iqn.2004-10.com.ubuntu:01:abc\0\0\0"
_ISCSI_TID = bytes([0x05, 0, 0, len(_ISCSI_NAME)]) + _ISCSI_NAME
_FULL_1 = (
    be(0xAAAA, 8) + bytes(4) + bytes([0x01, 0x05]) + bytes(4) + be(1, 2) + be(24, 4) + _SAS_TID
)
_FULL_2 = (
    be(0xBBBB, 8) + bytes(4) + bytes([0x02, 0x00]) + bytes(4) + be(2, 2)
    + be(len(_ISCSI_TID), 4) + _ISCSI_TID
)  # fmt: skip
PR_FULL_STATUS = be(9, 4) + be(len(_FULL_1) + len(_FULL_2), 4) + _FULL_1 + _FULL_2

_RSOC_DESCS = (
    bytes([0x12, 0, 0, 0, 0, 0x00]) + be(6, 2)
    + bytes([0x9E, 0, 0, 0x10, 0, 0x03]) + be(16, 2)
    + be(10, 2) + bytes([0, 0]) + be(30, 4) + be(60, 4)
    + bytes([0x28, 0, 0, 0, 0, 0x20]) + be(10, 2)
)  # fmt: skip
RSOC_ALL = be(len(_RSOC_DESCS), 4) + _RSOC_DESCS
RSOC_ONE = bytes([0x00, 0x83]) + be(6, 2) + bytes.fromhex("1201ffffff07") + be(10, 2) + bytes(2)
RSOC_ONE += be(5, 4) + be(20, 4)
RSTMF_BASIC = bytes([0x8C, 0x01, 0x00, 0x00])
RSTMF_EXTENDED = bytes([0x8C, 0x01, 0x00, 0x0C, 0x01, 0x00, 0x88, 0x01]) + be(600, 4) + be(100, 4)

GET_LBA_STATUS = (
    be(4 + 32, 4) + bytes([0, 0, 0, 0x07])
    + be(0, 8) + be(1024, 4) + bytes([0x00, 0, 0, 0])
    + be(1024, 8) + be(7, 4) + bytes([0x01, 0, 0, 0])
)  # fmt: skip

UNMAP_LIST = be(6 + 32, 2) + be(32, 2) + bytes(4) + be(0, 8) + be(8, 4) + bytes(4)
UNMAP_LIST += be(2**40, 8) + be(0xFFFFFFFF, 4) + bytes(4)

PR_OUT_REGISTER = be(0, 8) + be(0x123456789ABCDEF0, 8) + bytes(4) + bytes([0x05, 0, 0, 0])

#: (name, decoder, fixture): every decoder and the fixtures it must handle.
CASES: list[tuple[str, Callable[[bytes], dict[str, Any]], bytes]] = [
    ("inquiry_scsi_debug", P.decode_standard_inquiry, SCSI_DEBUG_INQUIRY),
    ("inquiry_qemu", P.decode_standard_inquiry, QEMU_INQUIRY),
    ("vpd83_scsi_debug", P.decode_vpd, SCSI_DEBUG_VPD83),
    ("vpd83_extra", P.decode_vpd, EXTRA_VPD83),
    ("vpd00", P.decode_vpd, SCSI_DEBUG_VPD00),
    ("vpd80", P.decode_vpd, SCSI_DEBUG_VPD80),
    ("vpdb0", P.decode_vpd, SCSI_DEBUG_VPD_B0),
    ("vpdb1", P.decode_vpd, SCSI_DEBUG_VPD_B1),
    ("vpdb2", P.decode_vpd, SCSI_DEBUG_VPD_B2),
    ("vpdb2_thin", P.decode_vpd, THIN_VPD_B2),
    ("vpd_unknown", P.decode_vpd, VPD_UNKNOWN),
    ("report_luns", P.decode_report_luns, REPORT_LUNS),
    ("mode_sense6", P.decode_mode_sense6, MODE_SENSE_6),
    ("mode_sense10", P.decode_mode_sense10, MODE_SENSE_10),
    ("pr_read_keys", P.decode_read_keys, PR_READ_KEYS),
    ("pr_read_reservation", P.decode_read_reservation, PR_READ_RESERVATION),
    ("pr_full_status", P.decode_read_full_status, PR_FULL_STATUS),
    ("rsoc_all", P.decode_rsoc_all, RSOC_ALL),
    ("rsoc_one", P.decode_rsoc_one, RSOC_ONE),
    ("get_lba_status", P.decode_get_lba_status, GET_LBA_STATUS),
    ("unmap", P.decode_unmap_parameters, UNMAP_LIST),
]
#: Fixed-size replies without a length field: a short one is not flagged.
FIXED_CASES: list[tuple[str, Callable[[bytes], dict[str, Any]], bytes]] = [
    ("read_capacity10", P.decode_read_capacity10, READ_CAPACITY_10),
    ("read_capacity16", P.decode_read_capacity16, READ_CAPACITY_16),
    ("pr_capabilities", P.decode_report_capabilities, PR_CAPABILITIES),
    ("rstmf", P.decode_rstmf, RSTMF_EXTENDED),
    ("pr_out", P.decode_pr_out_parameters, PR_OUT_REGISTER),
]
ALL_CASES = CASES + FIXED_CASES


def _ids(cases: list[tuple[str, Any, bytes]]) -> list[str]:
    return [c[0] for c in cases]


# ------------------------------------------------------------ standard INQUIRY


def test_inquiry_scsi_debug() -> None:
    d = P.decode_standard_inquiry(SCSI_DEBUG_INQUIRY)
    assert d["peripheral_qualifier"] == 0
    assert d["peripheral_device_type"] == 0
    assert d["peripheral_device_type_name"] == "direct_access_block"
    assert d["version"] == 7
    assert d["response_data_format"] == 2
    assert d["additional_length"] == 91
    assert (d["multip"], d["linked"], d["cmdque"], d["encserv"], d["protect"]) == (1, 1, 1, 0, 0)
    assert d["vendor_identification"] == "Linux"
    assert d["product_identification"] == "scsi_debug"
    assert d["product_revision_level"] == "0191"
    assert d["vendor_specific"] == "20210520"
    assert [v["standard"] for v in d["version_descriptors"]] == ["SAM-6", "SPC-5", "SBC-4", "SPL-4"]
    assert "truncated" not in d


def test_inquiry_qemu_36_bytes() -> None:
    d = P.decode_standard_inquiry(QEMU_INQUIRY)
    assert d["version"] == 5 and d["hisup"] == 1 and d["response_data_format"] == 2
    assert (d["sync"], d["cmdque"], d["rmb"]) == (1, 1, 0)
    assert d["vendor_identification"] == "QEMU"
    assert d["product_identification"] == "QEMU HARDDISK"
    assert d["product_revision_level"] == "2.5+"
    assert "version_descriptors" not in d and "truncated" not in d


def test_inquiry_36_byte_allocation_is_truncated() -> None:
    d = P.decode_standard_inquiry(SCSI_DEBUG_INQUIRY[:36])
    assert d["truncated"] is True
    assert d["product_revision_level"] == "0191"
    assert "version_descriptors" not in d


def test_inquiry_round_trip_and_encode_defaults() -> None:
    d = P.decode_standard_inquiry(SCSI_DEBUG_INQUIRY)
    assert P.encode_standard_inquiry(d) == SCSI_DEBUG_INQUIRY
    assert P.encode_standard_inquiry(P.decode_standard_inquiry(QEMU_INQUIRY)) == QEMU_INQUIRY
    raw = P.encode_standard_inquiry(
        {
            "peripheral_device_type": "direct_access_block",
            "version": 7,
            "response_data_format": 2,
            "third_party_copy": 1,
            "tpgs": 1,
            "vendor_identification": "SGSCRIPT",
            "product_identification": "sim disk",
            "product_revision_level": "1",
            "version_descriptors": [0x05C0, {"code": 0x0600}],
            "vendor_specific_parameters": "0102",
        }
    )
    assert len(raw) == 98 and raw[4] == 93
    assert raw[5] == 0x18 and raw[8:16] == b"SGSCRIPT" and raw[16:32] == b"sim disk".ljust(16)
    d = P.decode_standard_inquiry(raw)
    assert d["vendor_specific_parameters"] == "0102"
    assert [v["code"] for v in d["version_descriptors"]] == [0x05C0, 0x0600]
    assert P.decode_standard_inquiry(P.encode_standard_inquiry(d)) == d


@pytest.mark.parametrize(
    "values",
    [
        {"vendor_identification": "TOO LONG VENDOR"},
        {"product_identification": "caf\u00e9"},
        {"version": 256},
        {"peripheral_device_type": "toaster"},
        {"version_descriptors": list(range(1, 10))},
        {"version_descriptors": [0x10000]},
        {"vendor_specific_parameters": "xyz"},
    ],
)
def test_inquiry_encode_rejects(values: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        P.encode_standard_inquiry(values)


# ------------------------------------------------------------------ VPD pages


def test_vpd00_and_80() -> None:
    d = P.decode_vpd(SCSI_DEBUG_VPD00)
    assert d["page_name"] == "supported_vpd_pages"
    assert d["supported_vpd_page_list"][:3] == [0x00, 0x80, 0x83]
    assert len(d["supported_vpd_page_list"]) == 14
    d = P.decode_vpd(SCSI_DEBUG_VPD80)
    assert d["page_code"] == 0x80 and d["product_serial_number"] == "2000"


def test_vpd83_scsi_debug() -> None:
    d = P.decode_vpd(SCSI_DEBUG_VPD83)
    ds = d["designation_descriptors"]
    assert [x["designator_type_name"] for x in ds] == [
        "t10_vendor_id",
        "naa",
        "relative_target_port",
        "naa",
        "target_port_group",
        "naa",
        "scsi_name_string",
    ]
    assert [x["association_name"] for x in ds] == ["logical_unit"] * 2 + ["target_port"] * 3 + [
        "target_device"
    ] * 2
    t10 = ds[0]
    assert t10["code_set_name"] == "ascii" and t10["piv"] == 0
    assert t10["t10_vendor_identification"] == "Linux"
    assert t10["vendor_specific_identifier"] == "scsi_debug      2000"
    assert "protocol_identifier_name" not in t10  # PIV=0: the protocol means nothing
    lu = ds[1]
    assert lu["designator"] == "33333330000007d0" and lu["naa"] == 3
    assert lu["naa_name"] == "locally_assigned"
    assert lu["designator_text"] == "naa.33333330000007D0"
    assert ds[2]["relative_target_port_identifier"] == 1
    assert ds[2]["protocol_identifier_name"] == "sas" and ds[2]["piv"] == 1
    assert ds[4]["target_port_group"] == 0x100
    assert ds[6]["designator_text"] == "naa.32222220000007CD"
    assert ds[6]["code_set_name"] == "utf8"


def test_vpd83_other_designators() -> None:
    ds = P.decode_vpd(EXTRA_VPD83)["designation_descriptors"]
    naa5, eui, uid, md5 = ds
    assert naa5["naa"] == 5 and naa5["naa_name"] == "ieee_registered"
    assert naa5["ieee_company_id"] == 0x000C50  # Seagate
    assert naa5["vendor_specific_identifier"] == 0x08F6D1D3F
    assert naa5["designator_text"] == "naa.5000C5008F6D1D3F"
    assert eui["designator_type_name"] == "eui_64" and eui["ieee_company_id"] == 0x002538
    assert eui["designator_text"] == "eui.0025381122334455"
    assert uid["designator_type_name"] == "uuid" and uid["uuid_type"] == 1
    assert uid["designator_text"] == "123e4567-e89b-12d3-a456-426614174000"
    assert md5["designator_type_name"] == "md5_logical_unit"
    assert md5["designator"] == bytes(range(16)).hex() and "designator_text" not in md5


def test_designation_descriptor_from_text() -> None:
    raw = P.encode_designation_descriptor(
        {
            "code_set": "utf8",
            "association": "target_device",
            "designator_type": "scsi_name_string",
            "piv": 1,
            "protocol_identifier": "iscsi",
            "designator_text": "iqn.2024-01.org.example:disk1",
        }
    )
    assert raw[:2] == bytes([0x53, 0xA8]) and raw[3] % 4 == 0 and raw[3] > 29
    d, end = P.decode_designation_descriptor(raw)
    assert end == len(raw) and d["designator_text"] == "iqn.2024-01.org.example:disk1"
    assert d["protocol_identifier_name"] == "iscsi"
    with pytest.raises(UsageError):
        P.encode_designation_descriptor({"designator_type": "naa"})
    with pytest.raises(UsageError):
        P.encode_designation_descriptor({"designator": "00" * 256})


def test_vpd_b0_b1_b2() -> None:
    b0 = P.decode_vpd(SCSI_DEBUG_VPD_B0)
    assert b0["page_name"] == "block_limits"
    assert b0["maximum_transfer_length"] == 16384 and b0["optimal_transfer_length"] == 1024
    assert b0["maximum_unmap_lba_count"] == 0xFFFFFFFF
    assert b0["maximum_unmap_block_descriptor_count"] == 256
    assert (b0["ugavalid"], b0["unmap_granularity_alignment"]) == (1, 3)
    assert b0["maximum_write_same_length"] == 0xFFFF
    assert b0["maximum_compare_and_write_length"] == 1 and b0["wsnz"] == 0
    b1 = P.decode_vpd(SCSI_DEBUG_VPD_B1)
    assert b1["medium_rotation_rate"] == 1 and b1["medium_rotation_rate_name"] == "non_rotating"
    assert b1["nominal_form_factor"] == 5
    assert b1["nominal_form_factor_name"] == "less_than_1.8_inch"
    b2 = P.decode_vpd(SCSI_DEBUG_VPD_B2)
    assert (b2["lbpu"], b2["lbpws"], b2["lbpws10"], b2["lbprz"]) == (1, 1, 0, 1)
    assert (b2["anc_sup"], b2["dp"], b2["provisioning_type"]) == (0, 0, 0)
    assert "provisioning_group_descriptor" not in b2
    thin = P.decode_vpd(THIN_VPD_B2)
    assert thin["threshold_exponent"] == 9 and thin["lbprz"] == 0 and thin["anc_sup"] == 1
    assert thin["dp"] == 1 and thin["minimum_percentage"] == 3
    assert thin["provisioning_type_name"] == "thin_provisioned"
    assert thin["threshold_percentage"] == 5
    group = thin["provisioning_group_descriptor"]
    assert group["naa"] == 6 and group["naa_name"] == "ieee_registered_extended"
    assert group["vendor_specific_identifier_extension"] == 0x9D2B4C7E8A1B2C3D


def test_vpd_unknown_page_is_raw() -> None:
    d = P.decode_vpd(VPD_UNKNOWN)
    assert d == {
        "peripheral_qualifier": 0,
        "peripheral_device_type": 0,
        "page_code": 0xC0,
        "page_length": 3,
        "peripheral_qualifier_name": "connected",
        "peripheral_device_type_name": "direct_access_block",
        "raw": "dead01",
    }


@pytest.mark.parametrize(
    "fixture",
    [
        SCSI_DEBUG_VPD00,
        SCSI_DEBUG_VPD80,
        SCSI_DEBUG_VPD83,
        EXTRA_VPD83,
        SCSI_DEBUG_VPD_B0,
        SCSI_DEBUG_VPD_B1,
        THIN_VPD_B2,
        SCSI_DEBUG_VPD_B2 + bytes([0x01, 0x03, 0, 8]) + bytes(8),
        VPD_UNKNOWN,
    ],
)
def test_vpd_round_trip(fixture: bytes) -> None:
    if fixture[1] == 0xB2 and fixture[3] == 4:  # a descriptor beyond PAGE LENGTH is ignored
        fixture = fixture[:8]
    d = P.decode_vpd(fixture)
    assert P.encode_vpd(d) == fixture
    assert P.decode_vpd(P.encode_vpd(d)) == d


def test_vpd_encode_for_a_simulated_disk() -> None:
    raw = P.encode_vpd(
        {
            "page_code": 0xB1,
            "medium_rotation_rate": 7200,
            "nominal_form_factor": "3.5_inch",
            "fuab": 1,
        }
    )
    assert len(raw) == 64 and raw[3] == 0x3C and raw[4:6] == be(7200, 2) and raw[7] == 2
    raw = P.encode_vpd({"page_code": 0x86, "headsup": 1, "ordsup": 1, "simpsup": 1, "v_sup": 1})
    d = P.decode_vpd(raw)
    assert d["page_name"] == "extended_inquiry_data" and raw[5] == 0x07 and raw[6] == 0x01
    assert P.encode_vpd({"page_code": 0x80, "product_serial_number": "ABC"})[3:] == b"\x03ABC"
    with pytest.raises(UsageError):
        P.encode_vpd({"product_serial_number": "no page code"})
    with pytest.raises(UsageError):
        P.encode_vpd({"page_code": 0, "supported_vpd_page_list": [0, 256]})
    with pytest.raises(UsageError):
        P.encode_vpd({"page_code": 0xB0, "maximum_transfer_length": 2**32})


# ------------------------------------------------------------- READ CAPACITY


def test_read_capacity() -> None:
    assert P.decode_read_capacity10(READ_CAPACITY_10) == {
        "returned_logical_block_address": 16383,
        "logical_block_length_in_bytes": 512,
    }
    d = P.decode_read_capacity16(READ_CAPACITY_16)
    assert d["returned_logical_block_address"] == 2**40 - 1
    assert d["logical_block_length_in_bytes"] == 512
    assert (d["rc_basis"], d["p_type"], d["prot_en"]) == (1, 1, 1)
    assert d["p_i_exponent"] == 1 and d["logical_blocks_per_physical_block_exponent"] == 3
    assert (d["lbpme"], d["lbprz"], d["lowest_aligned_logical_block_address"]) == (1, 1, 7)
    assert P.encode_read_capacity16(d) == READ_CAPACITY_16
    assert P.encode_read_capacity10(P.decode_read_capacity10(READ_CAPACITY_10)) == READ_CAPACITY_10


def test_read_capacity_edges() -> None:
    big = {"returned_logical_block_address": 2**64 - 1, "logical_block_length_in_bytes": 4096}
    assert P.encode_read_capacity16(big)[:8] == b"\xff" * 8
    assert P.encode_read_capacity10(big)[:4] == b"\xff" * 4  # "use READ CAPACITY(16)"
    with pytest.raises(FieldValueError):
        P.encode_read_capacity16({"returned_logical_block_address": 2**64})
    with pytest.raises(FieldValueError):
        P.encode_read_capacity16({"lowest_aligned_logical_block_address": 1 << 14})
    assert P.decode_read_capacity10(READ_CAPACITY_10[:6]) == {
        "returned_logical_block_address": 16383
    }


# ---------------------------------------------------------------- REPORT LUNS


def test_report_luns() -> None:
    d = P.decode_report_luns(REPORT_LUNS)
    assert d["lun_list_length"] == 32
    luns = d["luns"]
    assert [x["lun"] for x in luns] == [0, 1, 0x123, 1]
    assert [x["address_method"] for x in luns] == ["peripheral", "peripheral", "flat", "well_known"]
    assert luns[1]["hex"] == "0001000000000000" and luns[1]["value"] == 1 << 48
    assert [x["linux_lun"] for x in luns] == [0, 1, 0x4123, 0xC101]
    assert P.encode_report_luns(d) == REPORT_LUNS
    assert P.encode_report_luns([0, 1, 0x123, "c101000000000000"]) == REPORT_LUNS


def test_lun_formats() -> None:
    assert P.encode_lun(255) == bytes([0, 255]) + bytes(6)
    assert P.encode_lun(256) == bytes([0x41, 0x00]) + bytes(6)
    assert P.encode_lun(0x3FFF) == bytes([0x7F, 0xFF]) + bytes(6)
    ext = P.encode_lun(0x4000)
    assert P.decode_lun(ext)["address_method"] == "extended_flat_space"
    assert P.decode_lun(ext)["lun"] == 0x4000
    lu = P.decode_lun(bytes([0x85, 0x43]) + bytes(6))
    assert (lu["address_method"], lu["target"], lu["bus_number"], lu["lun"]) == (
        "logical_unit",
        5,
        2,
        3,
    )
    assert P.decode_lun(b"\xff" * 8)["address_method"] == "not_specified"
    assert P.decode_lun(bytes([0xE2]) + be(2**39, 5) + bytes(2))["lun"] == 2**39
    assert P.decode_lun(bytes([0xF0]) + bytes(7))["lun"] is None
    assert P.linux_lun(bytes([0, 1, 0, 2]) + bytes(4)) == 0x00020001
    for bad in (-1, 1 << 24, "00", 1.5):
        with pytest.raises(UsageError):
            P.encode_lun(bad)  # type: ignore[arg-type]


# ------------------------------------------------------------------ MODE SENSE


def _page(d: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in d["mode_pages"] if p.get("page_name") == name)


def test_mode_sense6_scsi_debug() -> None:
    d = P.decode_mode_sense6(MODE_SENSE_6)
    assert d["mode_data_length"] == len(MODE_SENSE_6) - 1
    assert (d["medium_type"], d["device_specific_parameter"], d["wp"], d["dpofua"]) == (
        0,
        0x10,
        0,
        1,
    )
    assert d["block_descriptors"] == [
        {"number_of_logical_blocks": 16384, "logical_block_length": 512}
    ]
    assert [p["page_code"] for p in d["mode_pages"]] == [0x01, 0x08, 0x0A, 0x1C]
    rw = _page(d, "read_write_error_recovery")
    assert (rw["awre"], rw["arre"], rw["read_retry_count"], rw["write_retry_count"]) == (
        1,
        1,
        11,
        5,
    )
    assert rw["correction_span"] == 240 and rw["recovery_time_limit"] == 0xFFFF
    cache = _page(d, "caching")
    assert (cache["wce"], cache["rcd"], cache["disc"], cache["fsw"]) == (1, 0, 1, 1)
    assert cache["number_of_cache_segments"] == 20 and cache["page_length"] == 18
    assert cache["disable_pre_fetch_transfer_length"] == 0xFFFF
    ctl = _page(d, "control")
    assert (ctl["gltsd"], ctl["d_sense"], ctl["tst"], ctl["qerr"], ctl["swp"]) == (1, 0, 0, 0, 0)
    assert ctl["extended_self_test_completion_time"] == 0x024B
    iec = _page(d, "informational_exceptions_control")
    assert (iec["dexcpt"], iec["mrie"], iec["mrie_name"]) == (1, 0, "no_reporting")
    assert all(p["ps"] == 0 and p["spf"] == 0 and p["subpage_code"] == 0 for p in d["mode_pages"])
    assert "truncated" not in d


def test_mode_sense10_long_lba_and_subpages() -> None:
    d = P.decode_mode_sense10(MODE_SENSE_10)
    assert (d["wp"], d["dpofua"], d["longlba"], d["block_descriptor_length"]) == (1, 1, 1, 16)
    assert d["block_descriptors"] == [
        {"number_of_logical_blocks": 2**33, "logical_block_length": 4096}
    ]
    ext, port, ctl = d["mode_pages"]
    assert (ext["spf"], ext["page_code"], ext["subpage_code"], ext["page_length"]) == (1, 10, 1, 28)
    assert ext["page_name"] == "control_extension"
    assert (ext["tcmos"], ext["ialuae"], ext["scsip"], ext["dlc"]) == (1, 1, 0, 0)
    assert ext["initial_command_priority"] == 3 and ext["maximum_sense_data_length"] == 252
    assert port["page_name"] == "protocol_specific_port" and port["raw"] == "060007d00000"
    assert "wce" not in port
    assert (ctl["ps"], ctl["d_sense"], ctl["qerr"], ctl["swp"], ctl["tas"]) == (1, 1, 0, 1, 1)
    assert ctl["busy_timeout_period"] == 0x0064 and ctl["queue_algorithm_modifier"] == 1


@pytest.mark.parametrize(
    ("fixture", "decode", "encode"),
    [
        (MODE_SENSE_6, P.decode_mode_sense6, P.encode_mode_sense6),
        (MODE_SENSE_10, P.decode_mode_sense10, P.encode_mode_sense10),
    ],
)
def test_mode_sense_round_trip(fixture: bytes, decode: Any, encode: Any) -> None:
    d = decode(fixture)
    assert encode(d) == fixture
    assert decode(encode(d)) == d


def test_mode_select_from_edited_mode_sense() -> None:
    """Turn the write cache off: only WCE changes, the list is MODE SELECT shaped."""
    d = P.decode_mode_sense6(MODE_SENSE_6)
    cache = _page(d, "caching")
    cache["wce"] = 0
    raw = P.encode_mode_select6({**d, "mode_pages": [cache]})
    assert raw[:4] == bytes([0, 0, 0, 8])  # MDL reserved, DSP reserved for disks, 1 descriptor
    assert raw[12:] == _CACHING[:2] + bytes([0x10]) + _CACHING[3:]
    back = P.decode_mode_select6(raw)
    assert _page(back, "caching")["wce"] == 0
    assert back["block_descriptors"] == d["block_descriptors"]
    # The PS bit is cleared, the page length kept, the other bits preserved.
    d10 = P.decode_mode_sense10(MODE_SENSE_10)
    raw10 = P.encode_mode_select10(d10)
    assert raw10[:2] == b"\0\0" and raw10[3] == 0 and raw10[4] == 1
    assert raw10[-12] == 0x0A and raw10[-12:][1:] == _CONTROL_PS[1:]
    assert P.encode_mode_select10(d10, disk=False)[3] == 0x90


def test_mode_page_raw_overlay_keeps_unknown_bits() -> None:
    page = bytes([0x08, 0x12, 0xFF, 0xFF]) + bytes(16)  # reserved bits set, MF/IC/...
    d, end = P.decode_mode_page(page)
    assert end == len(page) and d["wce"] == 1
    d["wce"] = 0
    assert P.encode_mode_page(d) == bytes([0x08, 0x12, 0xFB, 0xFF]) + bytes(16)
    d.pop("raw")  # without the device's bytes, the table is the whole story
    assert P.encode_mode_page(d)[2] == 0xFB
    # A short legacy page keeps its own length.
    short = bytes([0x08, 0x0A, 0x04]) + bytes(9)
    d, _ = P.decode_mode_page(short)
    assert "number_of_cache_segments" not in d
    assert P.encode_mode_page(d) == short
    assert P.encode_mode_page({"page_code": 8, "wce": 1}) == bytes([8, 18, 4]) + bytes(17)
    assert P.encode_mode_page({"page_code": 0x3E, "raw": "0102"}) == bytes([0x3E, 2, 1, 2])


@pytest.mark.parametrize(
    ("call", "values"),
    [
        (P.encode_mode_page, {"wce": 1}),
        (P.encode_mode_page, {"page_code": 0x40}),
        (P.encode_mode_page, {"page_code": 8, "wce": 2}),
        (P.encode_mode_page, {"page_code": 0x3E, "raw": "00" * 256}),
        (P.encode_mode_sense6, {"longlba": 1}),
        (P.encode_mode_sense6, {"mode_pages": [{"page_code": 0x3E, "raw": "00" * 251}]}),
        (P.encode_mode_select10, {"block_descriptors": [{"number_of_logical_blocks": 2**32}]}),
    ],
)
def test_mode_encode_rejects(call: Any, values: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        call(values)


# ------------------------------------------------------- persistent reservations


def test_pr_in_read_keys_and_reservation() -> None:
    d = P.decode_read_keys(PR_READ_KEYS)
    assert d == {
        "prgeneration": 7,
        "additional_length": 16,
        "reservation_keys": [0x123456789ABCDEF0, 2**64 - 1],
    }
    assert P.encode_read_keys(d) == PR_READ_KEYS
    d = P.decode_read_reservation(PR_READ_RESERVATION)
    assert d["reservation_key"] == 0xABCD and d["scope"] == 0 and d["scope_name"] == "lu_scope"
    assert (d["type"], d["type_name"]) == (5, "write_exclusive_registrants_only")
    assert P.encode_read_reservation(d) == PR_READ_RESERVATION
    none = P.decode_read_reservation(PR_NO_RESERVATION)
    assert none == {"prgeneration": 3, "additional_length": 0}
    assert P.encode_read_reservation(none) == PR_NO_RESERVATION
    assert P.encode_read_reservation({"prgeneration": 1, "type": "exclusive_access"})[21] == 3


def test_pr_in_capabilities_and_full_status() -> None:
    d = P.decode_report_capabilities(PR_CAPABILITIES)
    assert (d["length"], d["crh"], d["sip_c"], d["atp_c"], d["ptpl_c"]) == (8, 1, 1, 1, 1)
    assert (d["tmv"], d["allow_commands"], d["ptpl_a"], d["rlr_c"]) == (1, 0, 1, 0)
    assert (d["wr_ex_ar"], d["ex_ac_ro"], d["wr_ex_ro"], d["ex_ac"], d["wr_ex"], d["ex_ac_ar"]) == (
        1,
        1,
        1,
        1,
        1,
        1,
    )
    assert P.encode_report_capabilities(d) == PR_CAPABILITIES
    d = P.decode_read_full_status(PR_FULL_STATUS)
    assert d["prgeneration"] == 9
    holder, other = d["full_status_descriptors"]
    assert (holder["reservation_key"], holder["r_holder"], holder["all_tg_pt"]) == (0xAAAA, 1, 0)
    assert holder["type_name"] == "write_exclusive_registrants_only"
    assert holder["relative_target_port_identifier"] == 1
    assert holder["protocol_identifier_name"] == "sas"
    assert holder["sas_address"] == "5000c5008f6d1d3f"
    assert holder["transport_id"] == _SAS_TID.hex()
    assert (other["r_holder"], other["all_tg_pt"], other["additional_descriptor_length"]) == (
        0,
        1,
        len(_ISCSI_TID),
    )
    assert other["iscsi_name"] == "iqn.2004-10.com.ubuntu:01:abc"
    assert P.encode_read_full_status(d) == PR_FULL_STATUS


def test_pr_in_by_service_action() -> None:
    assert P.decode_pr_in(PR_READ_KEYS, "read_keys") == P.decode_read_keys(PR_READ_KEYS)
    assert P.decode_pr_in(PR_FULL_STATUS, 3) == P.decode_read_full_status(PR_FULL_STATUS)
    assert P.encode_pr_in(P.decode_pr_in(PR_CAPABILITIES, 2), 2) == PR_CAPABILITIES
    with pytest.raises(UsageError):
        P.decode_pr_in(PR_READ_KEYS, 4)
    with pytest.raises(UsageError):
        P.encode_pr_in({}, "read_everything")


def test_pr_out_parameter_lists() -> None:
    key = 0x123456789ABCDEF0
    raw = P.encode_pr_out_parameters(service_action_reservation_key=key, aptpl=1, all_tg_pt=1)
    assert raw == PR_OUT_REGISTER and len(raw) == 24
    d = P.decode_pr_out_parameters(raw)
    assert (d["reservation_key"], d["spec_i_pt"], d["all_tg_pt"], d["aptpl"]) == (0, 0, 1, 1)
    assert P.encode_pr_out_parameters(d) == raw
    spec = P.encode_pr_out_parameters(
        {"reservation_key": 1, "spec_i_pt": 1}, transport_ids=[_SAS_TID, _ISCSI_TID.hex()]
    )
    assert spec[20] == 0x08 and spec[24:28] == be(24 + len(_ISCSI_TID), 4)
    d = P.decode_pr_out_parameters(spec)
    assert [t["protocol_identifier_name"] for t in d["transport_ids"]] == ["sas", "iscsi"]
    assert P.encode_pr_out_parameters(d) == spec
    move = P.encode_register_and_move_parameters(
        reservation_key=5, service_action_reservation_key=6, unreg=1,
        relative_target_port_identifier=2, transport_id=_SAS_TID,
    )  # fmt: skip
    assert move[17] == 0x02 and move[18:20] == be(2, 2) and move[20:24] == be(24, 4)
    d = P.decode_register_and_move_parameters(move)
    assert (d["unreg"], d["sas_address"]) == (1, "5000c5008f6d1d3f")
    assert P.encode_register_and_move_parameters(d) == move
    with pytest.raises(UsageError):
        P.encode_pr_out_parameters(transport_ids=[_SAS_TID])  # needs spec_i_pt
    with pytest.raises(UsageError):
        P.encode_pr_out_parameters(reservation_key=2**64)
    with pytest.raises(UsageError):
        P.encode_read_keys({"reservation_keys": [-1]})
    with pytest.raises(UsageError):
        P.encode_read_full_status({"full_status_descriptors": [{"reservation_key": 1}]})


# -------------------------------------------- REPORT SUPPORTED OPERATION CODES


def test_rsoc_all_commands() -> None:
    d = P.decode_rsoc_all(RSOC_ALL)
    assert d["command_data_length"] == len(_RSOC_DESCS)
    inq, rc16, read10 = d["command_descriptors"]
    assert (inq["operation_code"], inq["servactv"], inq["ctdp"], inq["cdb_length"]) == (
        0x12,
        0,
        0,
        6,
    )
    assert (rc16["operation_code"], rc16["service_action"], rc16["servactv"]) == (0x9E, 0x10, 1)
    assert rc16["command_timeouts_descriptor"] == {
        "descriptor_length": 10,
        "command_specific": 0,
        "nominal_command_processing_timeout": 30,
        "recommended_command_timeout": 60,
    }
    assert read10["mlu"] == 2 and "command_timeouts_descriptor" not in read10
    assert P.encode_rsoc_all(d) == RSOC_ALL
    assert P.encode_rsoc_all(d["command_descriptors"]) == RSOC_ALL


def test_rsoc_one_command() -> None:
    d = P.decode_rsoc_one(RSOC_ONE)
    assert (d["ctdp"], d["support"], d["support_name"], d["cdb_size"]) == (1, 3, "supported", 6)
    assert d["cdb_usage_data"] == "1201ffffff07"
    assert d["command_timeouts_descriptor"]["recommended_command_timeout"] == 20
    assert P.encode_rsoc_one(d) == RSOC_ONE
    plain = P.encode_rsoc_one({"support": "not_supported"})
    assert plain == bytes([0, 1, 0, 0])
    assert P.decode_rsoc_one(plain) == {
        "rwcdlp": 0, "ctdp": 0, "mlu": 0, "cdlp": 0, "support": 1, "cdb_size": 0,
        "support_name": "not_supported", "cdb_usage_data": "",
    }  # fmt: skip


def test_rstmf() -> None:
    basic = P.decode_rstmf(RSTMF_BASIC)
    assert (basic["ats"], basic["lurs"], basic["qts"], basic["itnrs"]) == (1, 1, 1, 1)
    assert basic["additional_data_length"] == 0 and "long_tmf_timeout" not in basic
    assert P.encode_rstmf(basic) == RSTMF_BASIC
    ext = P.decode_rstmf(RSTMF_EXTENDED)
    assert (ext["tmftmov"], ext["atts"], ext["lurts"], ext["itnrts"]) == (1, 1, 1, 1)
    assert (ext["long_tmf_timeout"], ext["short_tmf_timeout"]) == (600, 100)
    assert P.encode_rstmf(ext) == RSTMF_EXTENDED
    assert len(P.encode_rstmf({"ats": 1}, extended=True)) == 16


# --------------------------------------------------------- GET LBA STATUS, UNMAP


def test_get_lba_status() -> None:
    d = P.decode_get_lba_status(GET_LBA_STATUS)
    assert d["parameter_data_length"] == 36
    assert (d["completion_condition_name"], d["rtp"]) == ("capacity", 1)
    mapped, dealloc = d["lba_status_descriptors"]
    assert (mapped["logical_block_address"], mapped["number_of_logical_blocks"]) == (0, 1024)
    assert mapped["provisioning_status_name"] == "mapped"
    assert dealloc["provisioning_status_name"] == "deallocated"
    assert P.encode_get_lba_status(d) == GET_LBA_STATUS
    last = {"logical_block_address": 2**64 - 1, "number_of_logical_blocks": 1}
    anchored = P.encode_get_lba_status([{**last, "provisioning_status": "anchored"}])
    (desc,) = P.decode_get_lba_status(anchored)["lba_status_descriptors"]
    assert desc["provisioning_status"] == 2 and desc["logical_block_address"] == 2**64 - 1
    with pytest.raises(UsageError):
        P.encode_get_lba_status([{"provisioning_status": "gone"}])


def test_unmap_parameter_list() -> None:
    raw = P.encode_unmap_parameters([(0, 8), (2**40, 0xFFFFFFFF)])
    assert raw == UNMAP_LIST
    d = P.decode_unmap_parameters(raw)
    assert d["unmap_data_length"] == 38 and d["unmap_block_descriptor_data_length"] == 32
    assert d["unmap_block_descriptors"][1] == {
        "logical_block_address": 2**40,
        "number_of_logical_blocks": 0xFFFFFFFF,
    }
    assert P.encode_unmap_parameters(d) == raw
    assert P.encode_unmap_parameters([]) == be(6, 2) + bytes(6)
    for bad in ([(0, 2**32)], [(-1, 1)], [(1,)], [(1, 2, 3)], [(0, 1)] * 4096):
        with pytest.raises(UsageError):
            P.encode_unmap_parameters(bad)


# --------------------------------------------------- truncation and fuzzing


@pytest.mark.parametrize(("name", "decode", "fixture"), ALL_CASES, ids=_ids(ALL_CASES))
def test_every_prefix_decodes(name: str, decode: Any, fixture: bytes) -> None:
    """A short reply (small allocation length) decodes to what arrived, never IndexError."""
    full = decode(fixture)
    assert "truncated" not in full, name
    for n in range(len(fixture)):
        try:
            got = decode(fixture[:n])
        except UsageError:
            continue
        assert isinstance(got, dict)
        if n == 0:
            assert got == {}, name
        elif (name, decode, fixture) in CASES:
            assert got.get("truncated") is True, (name, n)


@pytest.mark.parametrize(("name", "decode", "fixture"), ALL_CASES, ids=_ids(ALL_CASES))
def test_random_bytes_never_crash(name: str, decode: Any, fixture: bytes) -> None:
    rng = random.Random(name)
    for _ in range(200):
        size = rng.randrange(0, 2 * len(fixture) + 8)
        data = bytearray(rng.randbytes(size))
        if rng.random() < 0.5 and size:  # keep lengths plausible half of the time
            data[: min(size, len(fixture))] = fixture[: min(size, len(fixture))]
            data[rng.randrange(size)] = rng.randrange(256)
        with contextlib.suppress(UsageError):
            decode(bytes(data))


def test_mode_sense_with_all_zero_pages_terminates() -> None:
    d = P.decode_mode_sense6(bytes([11, 0, 0, 0]) + bytes(8))
    assert len(d["mode_pages"]) == 4 and all(p["page_length"] == 0 for p in d["mode_pages"])


# -------------------------------------------------------------- the dispatcher


def _cmd(name: str, **fields: int) -> Any:
    """A stand-in with the catalog's class name and field attributes."""
    return type(name, (), fields)()


@pytest.mark.parametrize(
    ("cmd", "data", "expected"),
    [
        (_cmd("Inquiry", evpd=0), SCSI_DEBUG_INQUIRY, P.decode_standard_inquiry(SCSI_DEBUG_INQUIRY)),
        (_cmd("Inquiry", evpd=1, page_code=0x83), SCSI_DEBUG_VPD83, P.decode_vpd(SCSI_DEBUG_VPD83)),
        (_cmd("ReadCapacity10"), READ_CAPACITY_10, P.decode_read_capacity10(READ_CAPACITY_10)),
        (_cmd("ReadCapacity16"), READ_CAPACITY_16, P.decode_read_capacity16(READ_CAPACITY_16)),
        (_cmd("ReportLuns"), REPORT_LUNS, P.decode_report_luns(REPORT_LUNS)),
        (_cmd("ModeSense6"), MODE_SENSE_6, P.decode_mode_sense6(MODE_SENSE_6)),
        (_cmd("ModeSense10"), MODE_SENSE_10, P.decode_mode_sense10(MODE_SENSE_10)),
        (_cmd("PersistentReserveIn", service_action=0), PR_READ_KEYS, P.decode_read_keys(PR_READ_KEYS)),
        (_cmd("PersistentReserveIn", service_action=1), PR_READ_RESERVATION, P.decode_read_reservation(PR_READ_RESERVATION)),
        (_cmd("PersistentReserveIn", service_action=2), PR_CAPABILITIES, P.decode_report_capabilities(PR_CAPABILITIES)),
        (_cmd("PersistentReserveIn", service_action=3), PR_FULL_STATUS, P.decode_read_full_status(PR_FULL_STATUS)),
        (_cmd("PersistentReserveIn", service_action=9), PR_FULL_STATUS, {}),
        (_cmd("ReportSupportedOperationCodes", reporting_options=0), RSOC_ALL, P.decode_rsoc_all(RSOC_ALL)),
        (_cmd("ReportSupportedOperationCodes", reporting_options=2), RSOC_ONE, P.decode_rsoc_one(RSOC_ONE)),
        (_cmd("ReportSupportedTaskManagementFunctions"), RSTMF_BASIC, P.decode_rstmf(RSTMF_BASIC)),
        (_cmd("GetLbaStatus"), GET_LBA_STATUS, P.decode_get_lba_status(GET_LBA_STATUS)),
        (_cmd("Unmap"), b"", {}),
        (_cmd("TestUnitReady"), b"\x00", {}),
    ],
)  # fmt: skip
def test_dispatch_by_class_name(cmd: Any, data: bytes, expected: dict[str, Any]) -> None:
    assert P.decode_response(cmd, bytearray(data)) == expected


def test_dispatch_request_sense() -> None:
    sense_mod = pytest.importorskip("sgscript.scsi.sense")
    fixed = bytes([0x70, 0, 0x05, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x24, 0x00, 0, 0, 0, 0])
    got = P.decode_response(_cmd("RequestSense"), fixed)
    assert got == sense_mod.parse_sense(fixed).to_dict() and got
    assert P.decode_response(_cmd("RequestSense"), b"") == {}


def test_dispatch_with_catalog_commands() -> None:
    from sgscript.scsi.catalog import lookup

    try:
        inquiry, prin, rsoc = (
            lookup(n) for n in ("Inquiry", "PersistentReserveIn", "ReportSupportedOperationCodes")
        )
    except UsageError:
        pytest.skip("the command catalog does not have these commands yet")
    vpd = inquiry(evpd=1, page_code=0x83, allocation_length=252)
    assert vpd.decode_response(SCSI_DEBUG_VPD83) == P.decode_vpd(SCSI_DEBUG_VPD83)
    std = inquiry(allocation_length=96)
    assert std.decode_response(SCSI_DEBUG_INQUIRY)["product_identification"] == "scsi_debug"
    keys = prin(service_action="read_keys", allocation_length=100)
    assert keys.decode_response(PR_READ_KEYS)["reservation_keys"][0] == 0x123456789ABCDEF0
    full = prin(service_action="read_full_status", allocation_length=100)
    assert len(full.decode_response(PR_FULL_STATUS)["full_status_descriptors"]) == 2
    one = rsoc(reporting_options=1, requested_operation_code=0x12, rctd=1, allocation_length=64)
    assert one.decode_response(RSOC_ONE)["support_name"] == "supported"


def test_each_catalog_command_carries_its_decoder_and_encoder() -> None:
    for name, decoder in P.DECODERS.items():
        assert lookup(name).decoder is decoder and P.decoder_for(name) is decoder
    for name, encoder in P.ENCODERS.items():
        assert lookup(name).encoder is encoder
    assert lookup("TestUnitReady")().decode_response(b"abc") == {}
    assert lookup("Unmap").encode_parameters([(8, 2)]) == P.encode_unmap_parameters([(8, 2)])
    with pytest.raises(FieldValueError, match="Read10 has no parameter list"):
        lookup("Read10").encode_parameters({})


def test_a_decoder_for_a_command_the_catalog_lacks_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sgscript.scsi import commands

    monkeypatch.setitem(P.DECODERS, "GetLbaStatus32", P.DECODERS["GetLbaStatus"])
    with pytest.raises(ValueError, match="decoders for commands the tables lack: GetLbaStatus32"):
        commands._attach()


def test_a_plugin_command_brings_its_own_decoder() -> None:
    class VendorMagic(Command):
        opcode = 0xC5
        length = 6
        decoder = staticmethod(lambda cmd, data: {"length": len(data)})

    assert VendorMagic().decode_response(b"abc") == {"length": 3}
    assert P.decode_response(_cmd("VendorMagic"), b"abc") == {}  # not a catalog command


# ----------------------------------------------- cross-checks with sg3_utils


def _sg(tool: str, fixture: bytes, tmp_path: Path, *args: str) -> str:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    path = tmp_path / "resp.hex"
    path.write_text(fixture.hex(" "))
    run = subprocess.run(
        [tool, f"--inhex={path}", *args], capture_output=True, text=True, timeout=30
    )
    if "inhex" in run.stderr and "unrecognized" in run.stderr:
        pytest.skip(f"{tool} has no --inhex")
    return run.stdout


def _pairs(text: str) -> dict[str, str]:
    """``KEY=value`` tokens of sg3_utils output."""
    return dict(re.findall(r"\b([A-Za-z_0-9]+)=(0x[0-9a-f]+|\d+)", text))


def test_sg_inq_agrees(tmp_path: Path) -> None:
    out = _sg("sg_inq", SCSI_DEBUG_INQUIRY, tmp_path)
    ours = P.decode_standard_inquiry(SCSI_DEBUG_INQUIRY)
    theirs = _pairs(out)
    names = {
        "PQual": "peripheral_qualifier", "PDT": "peripheral_device_type", "RMB": "rmb",
        "LU_CONG": "lu_cong", "version": "version", "NormACA": "normaca", "HiSUP": "hisup",
        "Resp_data_format": "response_data_format", "SCCS": "sccs", "ACC": "acc",
        "TPGS": "tpgs", "3PC": "third_party_copy", "Protect": "protect", "EncServ": "encserv",
        "MultiP": "multip", "Addr16": "addr16", "WBus16": "wbus16", "Sync": "sync",
        "CmdQue": "cmdque", "Linked": "linked", "IUS": "ius", "QAS": "qas",
    }  # fmt: skip
    checked = 0
    for key, ours_key in names.items():
        if key in theirs:
            assert int(theirs[key], 0) == ours[ours_key], key
            checked += 1
    assert checked >= 15
    assert f"Product identification: {ours['product_identification']}" in out
    assert f"Product revision level: {ours['product_revision_level']}" in out


def test_sg_vpd_agrees_on_device_identification(tmp_path: Path) -> None:
    out = _sg("sg_vpd", SCSI_DEBUG_VPD83, tmp_path)
    ds = P.decode_vpd(SCSI_DEBUG_VPD83)["designation_descriptors"]
    assert out.count("designator type:") == len(ds)
    naas = re.findall(r"^\s+0x([0-9a-f]{16})$", out, re.M)
    assert naas == [d["designator"] for d in ds if d["designator_type"] == 3]
    assert "Relative target port: 0x1" in out and "Target port group: 0x100" in out
    assert "naa.32222220000007CD" in out


def test_sg_vpd_agrees_on_block_pages(tmp_path: Path) -> None:
    b0 = P.decode_vpd(SCSI_DEBUG_VPD_B0)
    out = _sg("sg_vpd", SCSI_DEBUG_VPD_B0, tmp_path)
    assert f"Maximum transfer length: {b0['maximum_transfer_length']} blocks" in out
    assert f"Optimal transfer length: {b0['optimal_transfer_length']} blocks" in out
    count = b0["maximum_unmap_block_descriptor_count"]
    assert f"Maximum unmap block descriptor count: {count}" in out
    assert f"Unmap granularity alignment: {b0['unmap_granularity_alignment']}" in out
    b1_raw = P.encode_vpd(
        {"page_code": 0xB1, "medium_rotation_rate": 7200, "nominal_form_factor": 2, "zoned": 2,
         "wabereq": 1, "wacereq": 2, "fuab": 1, "vbuls": 1}
    )  # fmt: skip
    theirs = _pairs(_sg("sg_vpd", b1_raw, tmp_path))
    b1 = P.decode_vpd(b1_raw)
    for key in ("WABEREQ", "WACEREQ", "ZONED", "RBWZ", "BOCS", "FUAB", "VBULS"):
        if key in theirs:
            assert int(theirs[key]) == b1[key.lower()], key
    b2_raw = P.encode_vpd(
        {"page_code": 0xB2, "threshold_exponent": 12, "lbpu": 1, "lbpws": 1, "lbprz": 1,
         "anc_sup": 1, "provisioning_type": 2, "minimum_percentage": 3, "threshold_percentage": 7}
    )  # fmt: skip
    out = _sg("sg_vpd", b2_raw, tmp_path)
    b2 = P.decode_vpd(b2_raw)
    for label, key in (("LBPU", "lbpu"), ("LBPWS", "lbpws"), ("LBPWS10", "lbpws10"),
                       ("LBPRZ", "lbprz"), ("ANC_SUP", "anc_sup"), ("DP", "dp")):  # fmt: skip
        assert re.search(rf"\({label}\): {b2[key]}$", out, re.M), label
    assert f"Threshold exponent: {b2['threshold_exponent']}" in out
    assert "Provisioning type: 2" in out


def test_sg_vpd_agrees_on_extended_inquiry(tmp_path: Path) -> None:
    raw = P.encode_vpd(
        {"page_code": 0x86, "spt": 1, "grd_chk": 1, "ref_chk": 1, "headsup": 1, "simpsup": 1,
         "v_sup": 1, "luiclr": 1, "maximum_supported_sense_data_length": 252}
    )  # fmt: skip
    theirs = _pairs(_sg("sg_vpd", raw, tmp_path))
    ours = P.decode_vpd(raw)
    checked = 0
    for key, value in theirs.items():
        if key.lower() in ours:
            assert int(value, 0) == ours[key.lower()], key
            checked += 1
    assert checked >= 30


def test_sg_get_lba_status_agrees(tmp_path: Path) -> None:
    out = _sg("sg_get_lba_status", GET_LBA_STATUS, tmp_path, "--brief", "--maxlen=64")
    rows = re.findall(r"^0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\d+)", out, re.M)
    ours = P.decode_get_lba_status(GET_LBA_STATUS)["lba_status_descriptors"]
    assert [(int(a, 16), int(n, 16), int(s)) for a, n, s in rows] == [
        (d["logical_block_address"], d["number_of_logical_blocks"], d["provisioning_status"])
        for d in ours
    ]

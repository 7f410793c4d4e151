"""Vital product data pages (SPC-5 7.7, SBC-4 6.6): decode and encode by page code.

Fixed pages are field tables whose byte offsets count from the start of the
page, header included, exactly as the standards print them; the descriptor
lists (device identification) are walked by their own length bytes. A page
without a table decodes to its header plus ``raw`` hex, so nothing is lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from ..cdb import F, Layout
from ..errors import FieldValueError
from ..shapes import BOOL, HEX, TEXT, Choice, Items, Scalar, Shape, integer, record
from ._common import Data, as_bytes, from_hex, pack, text, unpack
from .inquiry import PERIPHERAL_DEVICE_TYPES, PERIPHERAL_QUALIFIERS

__all__ = [
    "ASSOCIATIONS",
    "CODE_SETS",
    "DESIGNATION_DESCRIPTOR_FIELDS",
    "DESIGNATOR_TYPES",
    "PROTOCOL_IDENTIFIERS",
    "VPD_FIELDS",
    "VPD_PAGE_NAMES",
    "decode_designation_descriptor",
    "decode_designation_descriptors",
    "decode_vpd",
    "encode_designation_descriptor",
    "encode_vpd",
]

#: Page code -> name (SPC-5 table 667, SBC-4 table 241).
VPD_PAGE_NAMES: dict[int, str] = {
    0x00: "supported_vpd_pages",
    0x80: "unit_serial_number",
    0x83: "device_identification",
    0x84: "software_interface_identification",
    0x85: "management_network_addresses",
    0x86: "extended_inquiry_data",
    0x87: "mode_page_policy",
    0x88: "scsi_ports",
    0x89: "ata_information",
    0x8A: "power_condition",
    0x8B: "device_constituents",
    0x8C: "cfa_profile_information",
    0x8D: "power_consumption",
    0x8F: "third_party_copy",
    0x90: "protocol_specific_logical_unit_information",
    0x91: "protocol_specific_port_information",
    0x92: "scsi_feature_sets",
    0xB0: "block_limits",
    0xB1: "block_device_characteristics",
    0xB2: "logical_block_provisioning",
    0xB3: "referrals",
    0xB4: "supported_block_lengths_and_protection_types",
    0xB5: "block_device_characteristics_extension",
    0xB6: "zoned_block_device_characteristics",
    0xB7: "block_limits_extension",
    0xB8: "format_presets",
    0xB9: "concurrent_positioning_ranges",
}

CODE_SETS: dict[str, int] = {"binary": 1, "ascii": 2, "utf8": 3}
ASSOCIATIONS: dict[str, int] = {"logical_unit": 0, "target_port": 1, "target_device": 2}
DESIGNATOR_TYPES: dict[str, int] = {
    "vendor_specific": 0x0,
    "t10_vendor_id": 0x1,
    "eui_64": 0x2,
    "naa": 0x3,
    "relative_target_port": 0x4,
    "target_port_group": 0x5,
    "logical_unit_group": 0x6,
    "md5_logical_unit": 0x7,
    "scsi_name_string": 0x8,
    "protocol_specific_port": 0x9,
    "uuid": 0xA,
}
#: SPC-5 table 444 (also used by TransportIDs).
PROTOCOL_IDENTIFIERS: dict[str, int] = {
    "fcp": 0x0,
    "spi": 0x1,
    "ssa": 0x2,
    "sbp": 0x3,
    "srp": 0x4,
    "iscsi": 0x5,
    "sas": 0x6,
    "adt": 0x7,
    "ata": 0x8,
    "uas": 0x9,
    "sop": 0xA,
    "pcie": 0xB,
    "none": 0xF,
}
NAA_TYPES: dict[str, int] = {
    "ieee_extended": 0x2,
    "locally_assigned": 0x3,
    "ieee_registered": 0x5,
    "ieee_registered_extended": 0x6,
}

VPD_HEADER = Layout(
    "VPD page header",
    4,
    [
        F("peripheral_qualifier", 0, 7, 3, values=PERIPHERAL_QUALIFIERS),
        F("peripheral_device_type", 0, 4, 5, values=PERIPHERAL_DEVICE_TYPES),
        F("page_code", 1),
        F("page_length", 2, 7, 16),
    ],
)

DESIGNATION_DESCRIPTOR = Layout(
    "designation descriptor",
    4,
    [
        F("protocol_identifier", 0, 7, 4, values=PROTOCOL_IDENTIFIERS),
        F("code_set", 0, 3, 4, values=CODE_SETS),
        F("piv", 1, 7, 1),
        F("association", 1, 5, 2, values=ASSOCIATIONS),
        F("designator_type", 1, 3, 4, values=DESIGNATOR_TYPES),
        F("designator_length", 3),
    ],
)

EXTENDED_INQUIRY = Layout(
    "Extended INQUIRY Data VPD page",
    20,
    [
        F("activate_microcode", 4, 7, 2),
        F("spt", 4, 5, 3),
        F("grd_chk", 4, 2, 1),
        F("app_chk", 4, 1, 1),
        F("ref_chk", 4, 0, 1),
        F("uask_sup", 5, 5, 1),
        F("group_sup", 5, 4, 1),
        F("prior_sup", 5, 3, 1),
        F("headsup", 5, 2, 1),
        F("ordsup", 5, 1, 1),
        F("simpsup", 5, 0, 1),
        F("wu_sup", 6, 3, 1),
        F("crd_sup", 6, 2, 1),
        F("nv_sup", 6, 1, 1),
        F("v_sup", 6, 0, 1),
        F("no_pi_chk", 7, 5, 1),
        F("p_i_i_sup", 7, 4, 1),
        F("luiclr", 7, 0, 1),
        F("lu_coll_type", 8, 7, 3),
        F("r_sup", 8, 4, 1),
        F("rtd_sup", 8, 3, 1),
        F("hssrelef", 8, 1, 1),
        F("cbcs", 8, 0, 1),
        F("multi_i_t_nexus_microcode_download", 9, 3, 4),
        F("extended_self_test_completion_minutes", 10, 7, 16),
        F("poa_sup", 12, 7, 1),
        F("hra_sup", 12, 6, 1),
        F("vsa_sup", 12, 5, 1),
        F("dms_valid", 12, 4, 1),
        F("maximum_supported_sense_data_length", 13),
        F("ibs", 14, 7, 1),
        F("ias", 14, 6, 1),
        F("sac", 14, 2, 1),
        F("nrd1", 14, 1, 1),
        F("nrd0", 14, 0, 1),
        F("maximum_inquiry_change_logs", 15, 7, 16),
        F("maximum_mode_page_change_logs", 17, 7, 16),
        F("dm_md_4", 19, 7, 1),
        F("dm_md_5", 19, 6, 1),
        F("dm_md_6", 19, 5, 1),
        F("dm_md_7", 19, 4, 1),
        F("dm_md_d", 19, 3, 1),
        F("dm_md_e", 19, 2, 1),
        F("dm_md_f", 19, 1, 1),
    ],
)

BLOCK_LIMITS = Layout(
    "Block Limits VPD page",
    64,
    [
        F("wsnz", 4, 0, 1),
        F("maximum_compare_and_write_length", 5),
        F("optimal_transfer_length_granularity", 6, 7, 16),
        F("maximum_transfer_length", 8, 7, 32),
        F("optimal_transfer_length", 12, 7, 32),
        F("maximum_prefetch_length", 16, 7, 32),
        F("maximum_unmap_lba_count", 20, 7, 32),
        F("maximum_unmap_block_descriptor_count", 24, 7, 32),
        F("optimal_unmap_granularity", 28, 7, 32),
        F("ugavalid", 32, 7, 1),
        F("unmap_granularity_alignment", 32, 6, 31),
        F("maximum_write_same_length", 36, 7, 64),
        F("maximum_atomic_transfer_length", 44, 7, 32),
        F("atomic_alignment", 48, 7, 32),
        F("atomic_transfer_length_granularity", 52, 7, 32),
        F("maximum_atomic_transfer_length_with_atomic_boundary", 56, 7, 32),
        F("maximum_atomic_boundary_size", 60, 7, 32),
    ],
)

BLOCK_DEVICE_CHARACTERISTICS = Layout(
    "Block Device Characteristics VPD page",
    64,
    [
        F("medium_rotation_rate", 4, 7, 16, values={"not_reported": 0, "non_rotating": 1}),
        F("product_type", 6),
        F("wabereq", 7, 7, 2),
        F("wacereq", 7, 5, 2),
        F(
            "nominal_form_factor",
            7,
            3,
            4,
            values={
                "not_reported": 0,
                "5.25_inch": 1,
                "3.5_inch": 2,
                "2.5_inch": 3,
                "1.8_inch": 4,
                "less_than_1.8_inch": 5,
            },
        ),
        F("mact", 8, 6, 1),
        F("zoned", 8, 5, 2),
        F("rbwz", 8, 3, 1),
        F("bocs", 8, 2, 1),
        F("fuab", 8, 1, 1),
        F("vbuls", 8, 0, 1),
        F("depopulation_time", 12, 7, 32),
    ],
)

LOGICAL_BLOCK_PROVISIONING = Layout(
    "Logical Block Provisioning VPD page",
    8,
    [
        F("threshold_exponent", 4),
        F("lbpu", 5, 7, 1),
        F("lbpws", 5, 6, 1),
        F("lbpws10", 5, 5, 1),
        F("lbprz", 5, 4, 3),
        F("anc_sup", 5, 1, 1),
        F("dp", 5, 0, 1),
        F("minimum_percentage", 6, 7, 5),
        F(
            "provisioning_type",
            6,
            2,
            3,
            values={"fully_provisioned": 0, "resource_provisioned": 1, "thin_provisioned": 2},
        ),
        F("threshold_percentage", 7),
    ],
)


#: What ``decode_designation_descriptor`` returns: the table, the designator, and the
#: readable forms ``_interpret`` adds for the designator types that define them.
DESIGNATION_DESCRIPTOR_FIELDS = record(
    "designation descriptor",
    DESIGNATION_DESCRIPTOR,
    {
        "designator": HEX,
        "designator_text": TEXT,
        "t10_vendor_identification": TEXT,
        "vendor_specific_identifier": Scalar("text or integer"),
        "vendor_specific_identifier_extension": integer(64),
        "ieee_company_id": integer(24),
        "naa": integer(4),
        "naa_name": TEXT,
        "relative_target_port_identifier": integer(16),
        "target_port_group": integer(16),
        "logical_unit_group": integer(16),
        "uuid_type": integer(4),
        "truncated": BOOL,
    },
)


# ------------------------------------------------------- designation descriptors


def _be(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def _interpret(d: dict[str, Any], des: bytes) -> None:
    """Add the readable forms of a designator, where its type defines one."""
    kind = d.get("designator_type")
    if d.get("code_set") in (2, 3) and kind not in (1, 8):
        d["designator_text"] = des.decode("utf-8", "replace").rstrip("\0").strip()
    if kind == 1:  # T10 vendor ID based
        d["t10_vendor_identification"] = text(des[:8])
        d["vendor_specific_identifier"] = text(des[8:])
        d["designator_text"] = des.decode("ascii", "replace").rstrip("\0").strip()
    elif kind == 2 and len(des) in (8, 12, 16):  # EUI-64 based
        d["ieee_company_id"] = _be(des[8:11] if len(des) == 16 else des[:3])
        d["designator_text"] = "eui." + des.hex().upper()
    elif kind == 3 and des:  # NAA
        naa = des[0] >> 4
        d["naa"] = naa
        for name, code in NAA_TYPES.items():
            if code == naa:
                d["naa_name"] = name
        if naa in (5, 6) and len(des) >= 8:
            v = _be(des[:8])
            d["ieee_company_id"] = (v >> 36) & 0xFFFFFF
            d["vendor_specific_identifier"] = v & ((1 << 36) - 1)
            if naa == 6 and len(des) >= 16:
                d["vendor_specific_identifier_extension"] = _be(des[8:16])
        elif naa == 2 and len(des) >= 8:
            d["ieee_company_id"] = _be(des[2:5])
        d["designator_text"] = "naa." + des.hex().upper()
    elif kind == 4 and len(des) >= 4:
        d["relative_target_port_identifier"] = _be(des[2:4])
    elif kind == 5 and len(des) >= 4:
        d["target_port_group"] = _be(des[2:4])
    elif kind == 6 and len(des) >= 4:
        d["logical_unit_group"] = _be(des[2:4])
    elif kind == 8:
        d["designator_text"] = des.decode("utf-8", "replace").rstrip("\0")
    elif kind == 0xA and len(des) >= 18:
        d["uuid_type"] = des[0] >> 4
        d["designator_text"] = str(uuid.UUID(bytes=des[2:18]))


def decode_designation_descriptor(data: Data, offset: int = 0) -> tuple[dict[str, Any], int]:
    """One designation descriptor at ``offset``: (fields, offset of the next one)."""
    raw = as_bytes(data)
    d = unpack(DESIGNATION_DESCRIPTOR, raw, offset)
    if not (d.get("piv") and d.get("association") in (1, 2)):
        d.pop("protocol_identifier_name", None)  # PROTOCOL IDENTIFIER means nothing then
    length = d.get("designator_length")
    if length is None:
        return d, len(raw)
    des = raw[offset + 4 : offset + 4 + length]
    if len(des) < length:
        d["truncated"] = True
    d["designator"] = des.hex()
    _interpret(d, des)
    return d, offset + 4 + length


def decode_designation_descriptors(data: Data, offset: int = 0) -> list[dict[str, Any]]:
    """Every designation descriptor from ``offset`` to the end of ``data``."""
    raw = as_bytes(data)
    out = []
    while offset < len(raw):
        d, offset = decode_designation_descriptor(raw, offset)
        out.append(d)
    return out


def encode_designation_descriptor(values: Mapping[str, Any]) -> bytes:
    """A designation descriptor from ``designator`` (hex or bytes) or, for text, ``designator_text``.

    A SCSI name string given as text is NUL terminated and padded to a
    multiple of four bytes, as SPC-5 requires.
    """
    if values.get("designator") is not None:
        des = from_hex(values["designator"], "designator")
    elif values.get("designator_text") is not None:
        des = str(values["designator_text"]).encode("utf-8")
        if _code(DESIGNATION_DESCRIPTOR, "designator_type", values) == 8:
            des += b"\0" * (4 - len(des) % 4)
    else:
        raise FieldValueError("a designation descriptor needs designator or designator_text")
    if len(des) > 255:
        raise FieldValueError(f"a designator holds at most 255 bytes, got {len(des)}")
    return pack(DESIGNATION_DESCRIPTOR, values, designator_length=len(des)) + des


def _code(layout: Layout, name: str, values: Mapping[str, Any]) -> int:
    value = values.get(name)
    return 0 if value is None else layout.coerce(name, value)


# ----------------------------------------------------------------- page bodies


def _dec_supported(page: bytes) -> dict[str, Any]:
    return {"supported_vpd_page_list": list(page[4:])}


def _enc_supported(values: Mapping[str, Any]) -> bytes:
    pages = list(values.get("supported_vpd_page_list", ()))
    if any(not (isinstance(p, int) and 0 <= p <= 0xFF) for p in pages):
        raise FieldValueError(f"supported_vpd_page_list={pages!r}: page codes are 0..255")
    return bytes(pages)


def _dec_serial(page: bytes) -> dict[str, Any]:
    return {"product_serial_number": text(page[4:])}


def _enc_serial(values: Mapping[str, Any]) -> bytes:
    serial = values.get("product_serial_number", "")
    try:
        return str(serial).encode("ascii")
    except UnicodeEncodeError as exc:
        raise FieldValueError(f"product_serial_number={serial!r} is not ASCII") from exc


def _dec_ident(page: bytes) -> dict[str, Any]:
    return {"designation_descriptors": decode_designation_descriptors(page, 4)}


def _enc_ident(values: Mapping[str, Any]) -> bytes:
    return b"".join(
        encode_designation_descriptor(d) for d in values.get("designation_descriptors", ())
    )


def _table(layout: Layout) -> tuple[Callable[[bytes], dict[str, Any]], Callable[..., bytes]]:
    def dec(page: bytes) -> dict[str, Any]:
        out = unpack(layout, page)
        if len(page) > layout.length:
            out["additional_parameters"] = page[layout.length :].hex()
        return out

    def enc(values: Mapping[str, Any]) -> bytes:
        extra = from_hex(values.get("additional_parameters", b""), "additional_parameters")
        return pack(layout, values)[4:] + extra

    return dec, enc


def _dec_lbp(page: bytes) -> dict[str, Any]:
    out = unpack(LOGICAL_BLOCK_PROVISIONING, page)
    if len(page) > 8:
        out["provisioning_group_descriptor"] = decode_designation_descriptor(page, 8)[0]
    return out


def _enc_lbp(values: Mapping[str, Any]) -> bytes:
    body = pack(LOGICAL_BLOCK_PROVISIONING, values)[4:]
    group = values.get("provisioning_group_descriptor")
    return body + (encode_designation_descriptor(group) if group else b"")


_PAGES: dict[int, tuple[Callable[[bytes], dict[str, Any]], Callable[..., bytes]]] = {
    0x00: (_dec_supported, _enc_supported),
    0x80: (_dec_serial, _enc_serial),
    0x83: (_dec_ident, _enc_ident),
    0x86: _table(EXTENDED_INQUIRY),
    0xB0: _table(BLOCK_LIMITS),
    0xB1: _table(BLOCK_DEVICE_CHARACTERISTICS),
    0xB2: (_dec_lbp, _enc_lbp),
}


_HEADER_FIELDS = record("VPD page header", VPD_HEADER, {"page_name": TEXT})
_TRUNCATED = {"truncated": BOOL}

#: The body each page decoder of ``_PAGES`` returns (besides the header).
_PAGE_FIELDS: dict[int, Mapping[str, Shape]] = {
    0x00: {"supported_vpd_page_list": Items(integer(8))},
    0x80: {"product_serial_number": TEXT},
    0x83: {"designation_descriptors": Items(DESIGNATION_DESCRIPTOR_FIELDS)},
    0x86: record("", EXTENDED_INQUIRY, {"additional_parameters": HEX}).fields,
    0xB0: record("", BLOCK_LIMITS, {"additional_parameters": HEX}).fields,
    0xB1: record("", BLOCK_DEVICE_CHARACTERISTICS, {"additional_parameters": HEX}).fields,
    0xB2: record(
        "",
        LOGICAL_BLOCK_PROVISIONING,
        {"provisioning_group_descriptor": DESIGNATION_DESCRIPTOR_FIELDS},
    ).fields,
}

#: What ``decode_vpd`` returns, by the PAGE CODE asked for (the page names its own). A
#: page without a table is its header and ``raw``; what a vendor makes of it is not
#: known, so other names are not refused.
VPD_FIELDS = Choice(
    ("page_code",),
    {
        code: record(
            f"{VPD_PAGE_NAMES[code]} VPD page ({code:02X}h)",
            _HEADER_FIELDS.fields,
            body,
            _TRUNCATED,
        )
        for code, body in _PAGE_FIELDS.items()
    },
    default=record(
        "a VPD page without a table", _HEADER_FIELDS.fields, {"raw": HEX}, _TRUNCATED, open=True
    ),
)


def decode_vpd(data: Data) -> dict[str, Any]:
    """A VPD page, chosen by its own PAGE CODE byte; unknown pages keep their body as ``raw`` hex."""
    raw = as_bytes(data)
    out = unpack(VPD_HEADER, raw)
    code = out.get("page_code")
    if code is None:
        if raw:
            out["truncated"] = True
        return out
    if code in VPD_PAGE_NAMES:
        out["page_name"] = VPD_PAGE_NAMES[code]
    length = out.get("page_length")
    if length is None:
        out["truncated"] = True
        return out
    page = raw[: 4 + length]
    codec = _PAGES.get(code)
    out.update(codec[0](page) if codec else {"raw": page[4:].hex()})
    if 4 + length > len(raw):
        out["truncated"] = True
    return out


def encode_vpd(values: Mapping[str, Any]) -> bytes:
    """A VPD page from named fields (a decoded dict works); ``page_code`` picks the page.

    PAGE LENGTH is computed. Pages without a table take their body from ``raw``.
    """
    if "page_code" not in values:
        raise FieldValueError("encode_vpd needs a page_code")
    code = VPD_HEADER.coerce("page_code", values["page_code"])
    codec = _PAGES.get(code)
    body = codec[1](values) if codec else from_hex(values.get("raw", b""), "raw")
    if len(body) > 0xFFFF:
        raise FieldValueError(f"VPD page {code:02X}h body of {len(body)} bytes is too long")
    return pack(VPD_HEADER, values, page_length=len(body)) + body

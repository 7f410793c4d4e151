"""Standard INQUIRY data (SPC-5 6.7.2): decode what a device says it is, encode it for a simulated one.

The first 58 bytes are bit fields (one table, obsolete SPI and SCSI-2 bits
included, so a real device's bytes survive a decode/encode cycle); the ASCII
identification fields and the version descriptors are handled beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..cdb import F, Layout
from ..errors import FieldValueError
from ..shapes import BOOL, HEX, TEXT, Items, ascii_text, integer, record
from ._common import Data, as_bytes, from_hex, pack, put_text, text, unpack

__all__ = [
    "PERIPHERAL_DEVICE_TYPES",
    "PERIPHERAL_QUALIFIERS",
    "STANDARD_INQUIRY_FIELDS",
    "VERSION_DESCRIPTOR_FAMILIES",
    "decode_standard_inquiry",
    "encode_standard_inquiry",
    "version_descriptor_name",
]

#: SPC-5 table 61 (the names other peripheral device types go by in sg3_utils, snake_cased).
PERIPHERAL_DEVICE_TYPES: dict[str, int] = {
    "direct_access_block": 0x00,
    "sequential_access": 0x01,
    "printer": 0x02,
    "processor": 0x03,
    "write_once": 0x04,
    "cd_dvd": 0x05,
    "scanner": 0x06,
    "optical_memory": 0x07,
    "medium_changer": 0x08,
    "communications": 0x09,
    "storage_array_controller": 0x0C,
    "enclosure_services": 0x0D,
    "simplified_direct_access": 0x0E,
    "optical_card_reader_writer": 0x0F,
    "bridge_controller": 0x10,
    "object_based_storage": 0x11,
    "automation_drive_interface": 0x12,
    "security_manager": 0x13,
    "host_managed_zoned_block": 0x14,
    "well_known_logical_unit": 0x1E,
    "unknown": 0x1F,
}

PERIPHERAL_QUALIFIERS: dict[str, int] = {
    "connected": 0,
    "not_connected": 1,
    "not_supported": 3,
}

STANDARD_INQUIRY = Layout(
    "standard INQUIRY data",
    58,
    [
        F("peripheral_qualifier", 0, 7, 3, values=PERIPHERAL_QUALIFIERS),
        F("peripheral_device_type", 0, 4, 5, values=PERIPHERAL_DEVICE_TYPES),
        F("rmb", 1, 7, 1),
        F("lu_cong", 1, 6, 1),
        F("hot_pluggable", 1, 5, 2),
        F("version", 2),
        F("aerc", 3, 7, 1),  # obsolete
        F("trmtsk", 3, 6, 1),  # obsolete
        F("normaca", 3, 5, 1),
        F("hisup", 3, 4, 1),
        F("response_data_format", 3, 3, 4),
        F("additional_length", 4),
        F("sccs", 5, 7, 1),
        F("acc", 5, 6, 1),
        F("tpgs", 5, 5, 2),
        F("third_party_copy", 5, 3, 1, title="3PC"),
        F("protect", 5, 0, 1),
        F("bque", 6, 7, 1),  # obsolete
        F("encserv", 6, 6, 1),
        F("vs_6", 6, 5, 1, title="VS"),
        F("multip", 6, 4, 1),
        F("mchngr", 6, 3, 1),  # obsolete
        F("ackreqq", 6, 2, 1),  # obsolete
        F("addr32", 6, 1, 1),  # obsolete
        F("addr16", 6, 0, 1),  # SPI
        F("reladr", 7, 7, 1),  # obsolete
        F("wbus32", 7, 6, 1),  # obsolete
        F("wbus16", 7, 5, 1),  # SPI
        F("sync", 7, 4, 1),  # SPI
        F("linked", 7, 3, 1),  # obsolete
        F("trandis", 7, 2, 1),  # obsolete
        F("cmdque", 7, 1, 1),
        F("vs_7", 7, 0, 1, title="VS"),
        F("clocking", 56, 3, 2),  # SPI
        F("qas", 56, 1, 1),  # SPI
        F("ius", 56, 0, 1),  # SPI
    ],
)

#: (name, offset, size, padding) of the text fields. The vendor specific area
#: is not an ASCII field in SPC; devices (scsi_debug among them) NUL-pad it.
_TEXT_FIELDS: tuple[tuple[str, int, int, bytes], ...] = (
    ("vendor_identification", 8, 8, b" "),
    ("product_identification", 16, 16, b" "),
    ("product_revision_level", 32, 4, b" "),
    ("vendor_specific", 36, 20, b"\0"),
)

_VD_START, _VD_COUNT = 58, 8
_VS_TAIL = 96  # vendor specific parameters run from here to the end

#: What ``decode_standard_inquiry`` returns.
STANDARD_INQUIRY_FIELDS = record(
    "standard INQUIRY data",
    STANDARD_INQUIRY,
    {name: ascii_text(size) for name, _, size, _ in _TEXT_FIELDS},
    {
        "version_descriptors": Items(
            record("version descriptor", {"code": integer(16), "standard": TEXT}), most=_VD_COUNT
        ),
        "vendor_specific_parameters": HEX,
        "truncated": BOOL,
    },
)

#: Version descriptor families: the "no version claimed" code of each standard
#: (codes of one standard share their upper 11 bits). From SPC-5 annex E as
#: sg3_utils tabulates it.
VERSION_DESCRIPTOR_FAMILIES: dict[int, str] = {
    0x0020: "SAM", 0x0040: "SAM-2", 0x0060: "SAM-3", 0x0080: "SAM-4", 0x00A0: "SAM-5",
    0x00C0: "SAM-6", 0x0120: "SPC", 0x0140: "MMC", 0x0160: "SCC", 0x0180: "SBC",
    0x01A0: "SMC", 0x01C0: "SES", 0x01E0: "SCC-2", 0x0200: "SSC", 0x0220: "RBC",
    0x0240: "MMC-2", 0x0260: "SPC-2", 0x0280: "OCRW", 0x02A0: "MMC-3", 0x02E0: "SMC-2",
    0x0300: "SPC-3", 0x0320: "SBC-2", 0x0340: "OSD", 0x0360: "SSC-2", 0x0380: "BCC",
    0x03A0: "MMC-4", 0x03C0: "ADC", 0x03E0: "SES-2", 0x0400: "SSC-3", 0x0420: "MMC-5",
    0x0440: "OSD-2", 0x0460: "SPC-4", 0x0480: "SMC-3", 0x04A0: "ADC-2", 0x04C0: "SBC-3",
    0x04E0: "MMC-6", 0x0500: "ADC-3", 0x0520: "SSC-4", 0x0560: "OSD-3", 0x0580: "SES-3",
    0x05A0: "SSC-5", 0x05C0: "SPC-5", 0x05E0: "SFSC", 0x0600: "SBC-4", 0x0620: "ZBC",
    0x0640: "ADC-4", 0x0660: "ZBC-2", 0x0680: "SES-4", 0x06A0: "ZBC-3", 0x06C0: "SBC-5",
    0x06E0: "SPC-6", 0x0700: "SPC-7", 0x0720: "SBC-6", 0x08C0: "FCP", 0x08E0: "SBP-2",
    0x0900: "FCP-2", 0x0940: "SRP", 0x0960: "iSCSI", 0x0980: "SBP-3", 0x09A0: "SRP-2",
    0x0A00: "FCP-3", 0x0A40: "FCP-4", 0x0A80: "FCP-5", 0x0AA0: "SPI", 0x0AE0: "SPI-2",
    0x0B00: "SPI-3", 0x0B40: "SPI-4", 0x0B60: "SPI-5", 0x0BE0: "SAS", 0x0C00: "SAS-1.1",
    0x0C20: "SAS-2", 0x0C40: "SAS-2.1", 0x0C60: "SAS-3", 0x0C80: "SAS-4", 0x0CA0: "SAS-4.1",
    0x0CC0: "SAS-5", 0x1740: "UAS", 0x1780: "UAS-2", 0x17C0: "UAS-3", 0x1EA0: "SAT",
    0x1EC0: "SAT-2", 0x1EE0: "SAT-3", 0x1F00: "SAT-4", 0x1F20: "SAT-5", 0x1F40: "SAT-6",
    0x1F60: "SNT", 0x20A0: "SPL", 0x20C0: "SPL-2", 0x20E0: "SPL-3", 0x2100: "SPL-4",
    0x2120: "SPL-5", 0x21E0: "SOP", 0x2200: "PQI", 0x2240: "PQI-2",
}  # fmt: skip


def version_descriptor_name(code: int) -> str | None:
    """The standard a version descriptor claims (``0x05C0`` -> ``SPC-5``), if known."""
    return VERSION_DESCRIPTOR_FAMILIES.get(code & 0xFFE0)


def decode_standard_inquiry(data: Data) -> dict[str, Any]:
    """Standard INQUIRY data as named fields; a short response gives the fields it holds.

    ``truncated`` is present (True) when the ADDITIONAL LENGTH promises more
    than arrived, which is routine for a 36-byte allocation length.
    """
    raw = as_bytes(data)
    if len(raw) >= 5:
        end = 5 + raw[4]
        truncated = end > len(raw)
        raw = raw[:end]
    else:
        truncated = bool(raw)
    out = unpack(STANDARD_INQUIRY, raw)
    for name, offset, size, _ in _TEXT_FIELDS:
        if len(raw) > offset:
            out[name] = text(raw[offset : offset + size])
    if len(raw) > _VD_START:
        codes = []
        for k in range(_VD_COUNT):
            off = _VD_START + 2 * k
            if off + 2 > len(raw):
                break
            code = int.from_bytes(raw[off : off + 2], "big")
            if code:
                codes.append({"code": code, "standard": version_descriptor_name(code)})
        out["version_descriptors"] = codes
    if len(raw) > _VS_TAIL:
        out["vendor_specific_parameters"] = raw[_VS_TAIL:].hex()
    if truncated:
        out["truncated"] = True
    return out


def encode_standard_inquiry(values: Mapping[str, Any]) -> bytes:
    """Standard INQUIRY data from named fields (a decoded dict works).

    The length is ``5 + additional_length`` when given, otherwise 96 bytes
    (what Linux's scsi_debug returns) plus any vendor specific parameters;
    ADDITIONAL LENGTH is then filled in.
    """
    tail = from_hex(values.get("vendor_specific_parameters", b""), "vendor_specific_parameters")
    additional = values.get("additional_length")
    length = 5 + additional if additional is not None else _VS_TAIL + len(tail)
    if length > 260:
        raise FieldValueError(f"additional_length={length - 5} does not fit one byte")
    buf = bytearray(max(length, _VS_TAIL + len(tail)))
    buf[:58] = pack(STANDARD_INQUIRY, values, additional_length=length - 5)
    for name, offset, size, pad in _TEXT_FIELDS:
        buf[offset : offset + size] = put_text(values.get(name, ""), size, name, pad)
    descriptors = list(values.get("version_descriptors", ()))
    if len(descriptors) > _VD_COUNT:
        raise FieldValueError(
            f"at most {_VD_COUNT} version descriptors fit, got {len(descriptors)}"
        )
    for k, vd in enumerate(descriptors):
        code = vd["code"] if isinstance(vd, Mapping) else vd
        if not 0 <= code <= 0xFFFF:
            raise FieldValueError(f"version descriptor {code!r} does not fit 16 bits")
        buf[_VD_START + 2 * k : _VD_START + 2 * k + 2] = code.to_bytes(2, "big")
    buf[_VS_TAIL : _VS_TAIL + len(tail)] = tail
    return bytes(buf[:length])

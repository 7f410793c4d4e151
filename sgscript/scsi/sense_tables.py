"""Sense data's layouts and words: data, and the walker that applies a layout.

``sense.py`` parses and builds sense data with these tables; ``sense_descriptors.py``
decodes and describes the descriptors they name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .status import SenseKey

__all__ = ["DESCRIPTOR_TYPES", "MAX_SENSE_LENGTH"]

MAX_SENSE_LENGTH = 252  # SPC-5 4.4.1: additional sense length is at most 244

FIXED_CURRENT, FIXED_DEFERRED, DESC_CURRENT, DESC_DEFERRED, VENDOR = 0x70, 0x71, 0x72, 0x73, 0x7F

# ----------------------------------------------------------------- layouts
# A field is (name, byte offset, size in bytes, mask). Mask _INT: the bytes as a big-endian
# unsigned int; _RAW: the bytes themselves; else a mask on one byte, giving a bool for a
# single bit and the shifted value for wider ones. A field past the end of the data is None.
_INT, _RAW = 0, -1
_Field = tuple[str, int, int, int]

_FIXED: tuple[_Field, ...] = (  # SPC-5 4.4.3
    ("valid", 0, 1, 0x80),
    ("filemark", 2, 1, 0x80),
    ("eom", 2, 1, 0x40),
    ("ili", 2, 1, 0x20),
    ("sdat_ovfl", 2, 1, 0x10),
    ("sense_key", 2, 1, 0x0F),
    ("information", 3, 4, _INT),
    ("command_specific", 8, 4, _INT),
    ("asc", 12, 1, _INT),
    ("ascq", 13, 1, _INT),
    ("fru", 14, 1, _INT),
    ("sks", 15, 3, _RAW),
)

_DESC_HEADER: tuple[_Field, ...] = (  # SPC-5 4.4.2
    ("sense_key", 1, 1, 0x0F),
    ("asc", 2, 1, _INT),
    ("ascq", 3, 1, _INT),
    ("sdat_ovfl", 4, 1, 0x80),
)

# Descriptor type -> (SPC-5 name, additional length the layout needs, fields). Offsets count
# from the descriptor's first byte. Variable parts are decoded by _VARIABLE below.
DESCRIPTOR_TYPES: Mapping[int, tuple[str, int, tuple[_Field, ...]]] = {
    0x00: ("Information", 0x0A, (("valid", 2, 1, 0x80), ("information", 4, 8, _INT))),
    0x01: ("Command-specific information", 0x0A, (("command_specific", 4, 8, _INT),)),
    0x02: ("Sense key specific", 0x06, (("sksv", 4, 1, 0x80), ("sks", 4, 3, _RAW))),
    0x03: ("Field replaceable unit", 0x02, (("fru", 3, 1, _INT),)),
    0x04: (
        "Stream commands",
        0x02,
        (("filemark", 3, 1, 0x80), ("eom", 3, 1, 0x40), ("ili", 3, 1, 0x20)),
    ),
    0x05: ("Block commands", 0x02, (("ili", 3, 1, 0x20),)),
    0x06: (
        "OSD object identification",
        0x1E,
        (
            ("not_initiated_functions", 8, 4, _INT),
            ("completed_functions", 12, 4, _INT),
            ("partition_id", 16, 8, _INT),
            ("object_id", 24, 8, _INT),
        ),
    ),
    0x07: ("OSD response integrity check value", 0x20, (("check_value", 2, 32, _RAW),)),
    0x08: ("OSD attribute identification", 0x06, ()),
    0x09: (
        "ATA status return",
        0x0C,
        (
            ("extend", 2, 1, 0x01),
            ("error", 3, 1, _INT),
            ("device", 12, 1, _INT),
            ("status", 13, 1, _INT),
        ),
    ),
    0x0A: (
        "Another progress indication",
        0x06,
        (
            ("sense_key", 2, 1, 0x0F),
            ("asc", 3, 1, _INT),
            ("ascq", 4, 1, _INT),
            ("progress", 6, 2, _INT),
        ),
    ),
    0x0B: ("User data segment referral", 0x02, (("not_all_referrals", 2, 1, 0x01),)),
    0x0C: (
        "Forwarded sense data",
        0x02,
        (("fsdt", 2, 1, 0x80), ("sense_data_source", 2, 1, 0x0F), ("status", 3, 1, _INT)),
    ),
    0x0D: (  # SBC-4; SBC-3 padded it to additional length 1Eh, both are accepted
        "Direct-access block device",
        0x16,
        (
            ("valid", 2, 1, 0x80),
            ("ili", 2, 1, 0x20),
            ("sksv", 4, 1, 0x80),
            ("sks", 4, 3, _RAW),
            ("fru", 7, 1, _INT),
            ("information", 8, 8, _INT),
            ("command_specific", 16, 8, _INT),
        ),
    ),
    0x0E: (
        "Device designation",
        0x06,
        (
            ("usage_reason", 3, 1, _INT),
            ("protocol_identifier", 4, 1, 0xF0),
            ("code_set", 4, 1, 0x0F),
            ("piv", 5, 1, 0x80),
            ("association", 5, 1, 0x30),
            ("designator_type", 5, 1, 0x0F),
            ("designator_length", 7, 1, _INT),
        ),
    ),
    0x0F: ("Microcode activation", 0x06, (("activation_time", 6, 2, _INT),)),
}

# Sense key -> what its sense-key specific bytes hold (SPC-5 4.4.2.4).
_SKS_KIND: Mapping[int, str] = {
    SenseKey.NO_SENSE: "progress_indication",
    SenseKey.NOT_READY: "progress_indication",
    SenseKey.RECOVERED_ERROR: "actual_retry_count",
    SenseKey.MEDIUM_ERROR: "actual_retry_count",
    SenseKey.HARDWARE_ERROR: "actual_retry_count",
    SenseKey.ILLEGAL_REQUEST: "field_pointer",
    SenseKey.COPY_ABORTED: "segment_pointer",
    SenseKey.UNIT_ATTENTION: "unit_attention_queue_overflow",
}

# How summary() labels the information field, by sense key.
_INFO_LABEL: Mapping[int, str] = {
    SenseKey.RECOVERED_ERROR: "LBA",
    SenseKey.MEDIUM_ERROR: "LBA",
    SenseKey.HARDWARE_ERROR: "LBA",
    SenseKey.MISCOMPARE: "offset",
}

# Words sg3_utils uses in its descriptor dumps.
_TPG_STATES: Mapping[int, str] = {
    0x0: "active/optimized",
    0x1: "active/non optimized",
    0x2: "standby",
    0x3: "unavailable",
    0xE: "offline",
    0xF: "transitioning between states",
}
_USAGE_REASONS = (
    "Unknown",
    "resend this and further commands to:",
    "resend this command to:",
    "new subsidiary lu added to this administrative lu:",
    "administrative lu associated with a preferred binding:",
)
_CODE_SETS = {1: "Binary", 2: "ASCII", 3: "UTF-8"}
_ASSOCIATIONS = (
    "Addressed logical unit",
    "Target port",
    "Target device that contains addressed lu",
)
_DESIGNATOR_TYPES = (
    "Vendor specific [0x0]",
    "T10 vendor identification",
    "EUI-64 based",
    "NAA",
    "Relative target port",
    "Target port group",
    "Logical unit group",
    "MD5 logical unit identifier",
    "SCSI name string",
    "Protocol specific port identifier",
    "UUID identifier",
)


def _extract(data: bytes, table: Iterable[_Field]) -> dict[str, Any]:
    """Apply a layout table; fields that do not fit in ``data`` come out as None."""
    out: dict[str, Any] = {}
    for name, offset, size, mask in table:
        if offset + size > len(data):
            out[name] = None
        elif mask == _RAW:
            out[name] = data[offset : offset + size]
        elif mask == _INT:
            out[name] = int.from_bytes(data[offset : offset + size], "big")
        elif mask & (mask - 1) == 0:
            out[name] = bool(data[offset] & mask)
        else:
            out[name] = (data[offset] & mask) >> ((mask & -mask).bit_length() - 1)
    return out


def _hex(data: bytes) -> str:
    return data.hex(" ")


def _percent_text(progress: int) -> str:
    """Progress as sg3_utils prints it: integer arithmetic, two decimals."""
    whole = progress * 100 // 65536
    hundredths = (progress * 100 % 65536) // 656
    return f"{whole}.{hundredths:02d}%"

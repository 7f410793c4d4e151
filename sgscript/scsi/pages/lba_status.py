"""GET LBA STATUS parameter data (SBC-4 5.7.2): which extents are mapped, deallocated or anchored."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..cdb import F, Layout
from ..shapes import BOOL, Items, record
from ._common import Data, as_bytes, pack, unpack

__all__ = [
    "GET_LBA_STATUS_FIELDS",
    "PROVISIONING_STATUS",
    "decode_get_lba_status",
    "encode_get_lba_status",
]

#: PROVISIONING STATUS (SBC-4 table 70); 3 and 4 were added in sbc4r12.
PROVISIONING_STATUS: dict[str, int] = {
    "mapped": 0,  # mapped or unknown
    "deallocated": 1,
    "anchored": 2,
    "mapped_known": 3,
    "unknown": 4,
}
COMPLETION_CONDITIONS: dict[str, int] = {
    "not_reported": 0,
    "allocation_length": 1,
    "scan_length": 2,
    "capacity": 3,
}

HEADER = Layout(
    "GET LBA STATUS parameter data header",
    8,
    [
        F("parameter_data_length", 0, 7, 32),
        F("completion_condition", 7, 3, 3, values=COMPLETION_CONDITIONS),
        F("rtp", 7, 0, 1),
    ],
)
LBA_STATUS_DESCRIPTOR = Layout(
    "LBA status descriptor",
    16,
    [
        F("logical_block_address", 0, 7, 64),
        F("number_of_logical_blocks", 8, 7, 32),
        F("lba_accessibility", 12, 7, 4),
        F("provisioning_status", 12, 3, 4, values=PROVISIONING_STATUS),
        F("additional_status", 13),
    ],
)

#: What ``decode_get_lba_status`` returns.
GET_LBA_STATUS_FIELDS = record(
    "GET LBA STATUS parameter data",
    HEADER,
    {
        "lba_status_descriptors": Items(record(LBA_STATUS_DESCRIPTOR.name, LBA_STATUS_DESCRIPTOR)),
        "truncated": BOOL,
    },
)


def decode_get_lba_status(data: Data) -> dict[str, Any]:
    """The header and every whole LBA status descriptor.

    PARAMETER DATA LENGTH counts from byte 4 (since sbc3r25), so the data
    ends at ``4 + parameter_data_length``.
    """
    raw = as_bytes(data)
    out = unpack(HEADER, raw)
    length = out.get("parameter_data_length")
    if length is None:
        return {**out, "truncated": True} if raw else out
    end = min(4 + length, len(raw))
    out["lba_status_descriptors"] = [
        unpack(LBA_STATUS_DESCRIPTOR, raw, k) for k in range(8, end - 15, 16)
    ]
    if 4 + length > len(raw) or (end - 8) % 16:
        out["truncated"] = True
    return out


def encode_get_lba_status(
    values: Mapping[str, Any] | Iterable[Mapping[str, Any]],
) -> bytes:
    """GET LBA STATUS data from ``lba_status_descriptors`` (or a plain list of them)."""
    if isinstance(values, Mapping):
        header, descriptors = values, values.get("lba_status_descriptors", ())
    else:
        header, descriptors = {}, values
    body = b"".join(pack(LBA_STATUS_DESCRIPTOR, d) for d in descriptors)
    return pack(HEADER, header, parameter_data_length=len(body) + 4) + body

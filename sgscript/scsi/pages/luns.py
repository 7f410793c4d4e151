"""REPORT LUNS parameter data (SPC-5 6.35.2) and the SAM-5 LUN formats.

An 8-byte LUN is a structured value, not a number: its first two bits pick an
addressing method. Each reported LUN is given as the number a person means
(the LUN inside its addressing method), the 8 bytes in hex, the whole 64-bit
value, and the integer Linux shows as the L of H:C:T:L.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import FieldValueError
from ..shapes import BOOL, HEX, TEXT, Items, integer, record
from ._common import Data, as_bytes, be, from_hex

__all__ = [
    "LUN_FIELDS",
    "REPORT_LUNS_FIELDS",
    "decode_lun",
    "decode_report_luns",
    "encode_lun",
    "encode_report_luns",
    "linux_lun",
]

_METHODS = ("peripheral", "flat", "logical_unit", "extended")

#: What ``decode_lun`` returns (the method's own parts only where it has them).
LUN_FIELDS = record(
    "LUN",
    {
        "hex": HEX,
        "value": integer(64),
        "address_method": TEXT,
        "lun": integer(),
        "linux_lun": integer(),
        "bus_identifier": integer(6),
        "target": integer(6),
        "bus_number": integer(3),
    },
)
#: What ``decode_report_luns`` returns.
REPORT_LUNS_FIELDS = record(
    "REPORT LUNS parameter data",
    {"lun_list_length": integer(32), "luns": Items(LUN_FIELDS), "truncated": BOOL},
)


def linux_lun(raw: bytes) -> int:
    """The kernel's ``scsilun_to_int``: the 2-byte levels packed low level first."""
    return sum(int.from_bytes(raw[i : i + 2], "big") << (i * 8) for i in range(0, 8, 2))


def decode_lun(raw: Data) -> dict[str, Any]:
    """One 8-byte LUN: addressing method, the LUN within it, and raw forms."""
    raw = as_bytes(raw)[:8].ljust(8, b"\0")
    b0, b1 = raw[0], raw[1]
    out: dict[str, Any] = {"hex": raw.hex(), "value": int.from_bytes(raw, "big")}
    method = b0 >> 6
    lun: int | None = None
    if raw == b"\xff" * 8:
        name = "not_specified"
    elif method == 0:
        name = "peripheral"
        out["bus_identifier"] = b0 & 0x3F
        lun = b1
    elif method == 1:
        name = "flat"
        lun = ((b0 & 0x3F) << 8) | b1
    elif method == 2:
        name = "logical_unit"
        out["target"] = b0 & 0x3F
        out["bus_number"] = b1 >> 5
        lun = b1 & 0x1F
    else:
        length, eam = (b0 >> 4) & 3, b0 & 0xF
        if length == 0 and eam == 1:
            name, lun = "well_known", b1
        elif length == 1 and eam == 2:
            name, lun = "extended_flat_space", int.from_bytes(raw[1:4], "big")
        elif length == 2 and eam == 2:
            name, lun = "long_extended_flat_space", int.from_bytes(raw[1:6], "big")
        else:
            name = "extended"
    out["address_method"] = name
    out["lun"] = lun
    out["linux_lun"] = linux_lun(raw)
    return out


def encode_lun(lun: int | str | bytes | Mapping[str, Any]) -> bytes:
    """Eight LUN bytes: peripheral method below 256, flat below 16384 (as SAM-5 advises).

    Bytes, hex strings and decoded dicts (their ``hex``) pass through unchanged.
    """
    if isinstance(lun, Mapping):
        if "hex" in lun:
            return encode_lun(from_hex(lun["hex"], "hex"))
        if "value" in lun:
            return encode_lun(lun["value"].to_bytes(8, "big"))
        lun = lun.get("lun")  # type: ignore[assignment]  # whatever it is: checked below
    if isinstance(lun, bytes | bytearray | str):
        raw = from_hex(lun, "lun")
        if len(raw) != 8:
            raise FieldValueError(f"a LUN is 8 bytes, got {len(raw)}")
        return raw
    if not isinstance(lun, int) or lun < 0:
        raise FieldValueError(f"LUN {lun!r} is not a non-negative integer")
    if lun < 0x100:
        return bytes([0, lun]) + bytes(6)
    if lun < 0x4000:
        return bytes([0x40 | (lun >> 8), lun & 0xFF]) + bytes(6)
    if lun < 1 << 24:
        return bytes([0xD2]) + lun.to_bytes(3, "big") + bytes(4)
    raise FieldValueError(f"LUN {lun} needs the long extended flat space; give the 8 bytes")


def decode_report_luns(data: Data) -> dict[str, Any]:
    """REPORT LUNS data: LUN LIST LENGTH and every whole LUN that arrived."""
    raw = as_bytes(data)
    length = be(raw, 0, 4)
    if length is None:
        return {"truncated": True} if raw else {}
    end = 8 + length
    luns = [decode_lun(raw[k : k + 8]) for k in range(8, min(end, len(raw)) - 7, 8)]
    out: dict[str, Any] = {"lun_list_length": length, "luns": luns}
    if end > len(raw):
        out["truncated"] = True
    return out


def encode_report_luns(luns: Iterable[Any] | Mapping[str, Any]) -> bytes:
    """REPORT LUNS data for these LUNs (numbers, 8-byte values, decoded entries, or a decoded dict)."""
    if isinstance(luns, Mapping):
        luns = luns.get("luns", ())
    body = b"".join(encode_lun(lun) for lun in luns)
    return len(body).to_bytes(4, "big") + bytes(4) + body

"""REPORT SUPPORTED OPERATION CODES and REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS data (SPC-5 6.36, 6.37).

The all-commands reply is a list of command descriptors, each followed by a
command timeouts descriptor when its CTDP bit is set, so the list describes
itself and the RCTD bit of the request is not needed to walk it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..cdb import F, Layout
from ..errors import FieldValueError
from ..shapes import BOOL, HEX, Items, integer, record
from ._common import Data, as_bytes, be, from_hex, pack, unpack

__all__ = [
    "RSOC_ALL_FIELDS",
    "RSOC_ONE_FIELDS",
    "RSTMF_FIELDS",
    "SUPPORT_VALUES",
    "decode_rsoc_all",
    "decode_rsoc_one",
    "decode_rstmf",
    "encode_rsoc_all",
    "encode_rsoc_one",
    "encode_rstmf",
]

#: The SUPPORT field of the one-command format (SPC-5 table 241).
SUPPORT_VALUES: dict[str, int] = {
    "not_available": 0,
    "not_supported": 1,
    "supported": 3,
    "supported_vendor_specific": 5,
}

COMMAND_DESCRIPTOR = Layout(
    "command descriptor",
    8,
    [
        F("operation_code", 0),
        F("service_action", 2, 7, 16),
        F("rwcdlp", 5, 6, 1),
        F("mlu", 5, 5, 2),
        F("cdlp", 5, 3, 2),
        F("ctdp", 5, 1, 1),
        F("servactv", 5, 0, 1),
        F("cdb_length", 6, 7, 16),
    ],
)
TIMEOUTS_DESCRIPTOR = Layout(
    "command timeouts descriptor",
    12,
    [
        F("descriptor_length", 0, 7, 16),
        F("command_specific", 3),
        F("nominal_command_processing_timeout", 4, 7, 32),
        F("recommended_command_timeout", 8, 7, 32),
    ],
)
ONE_COMMAND = Layout(
    "one_command parameter data",
    4,
    [
        F("rwcdlp", 0, 0, 1),
        F("ctdp", 1, 7, 1),
        F("mlu", 1, 6, 2),
        F("cdlp", 1, 4, 2),
        F("support", 1, 2, 3, values=SUPPORT_VALUES),
        F("cdb_size", 2, 7, 16),
    ],
)
RSTMF = Layout(
    "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS parameter data",
    16,
    [
        F("ats", 0, 7, 1),
        F("atss", 0, 6, 1),
        F("cacas", 0, 5, 1),
        F("ctss", 0, 4, 1),
        F("lurs", 0, 3, 1),
        F("qts", 0, 2, 1),
        F("trs", 0, 1, 1),
        F("ws", 0, 0, 1),
        F("qaes", 1, 2, 1),
        F("qtss", 1, 1, 1),
        F("itnrs", 1, 0, 1),
        F("additional_data_length", 3),
        F("tmftmov", 4, 0, 1),
        F("atts", 6, 7, 1),
        F("atsts", 6, 6, 1),
        F("cacats", 6, 5, 1),
        F("ctsts", 6, 4, 1),
        F("lurts", 6, 3, 1),
        F("qtts", 6, 2, 1),
        F("qaets", 7, 2, 1),
        F("qtsts", 7, 1, 1),
        F("itnrts", 7, 0, 1),
        F("long_tmf_timeout", 8, 7, 32),
        F("short_tmf_timeout", 12, 7, 32),
    ],
)

_TIMEOUTS_FIELDS = record(TIMEOUTS_DESCRIPTOR.name, TIMEOUTS_DESCRIPTOR)
#: What ``decode_rsoc_all`` returns.
RSOC_ALL_FIELDS = record(
    "all_commands parameter data",
    {
        "command_data_length": integer(32),
        "command_descriptors": Items(
            record(
                COMMAND_DESCRIPTOR.name,
                COMMAND_DESCRIPTOR,
                {"command_timeouts_descriptor": _TIMEOUTS_FIELDS},
            )
        ),
        "truncated": BOOL,
    },
)
#: What ``decode_rsoc_one`` returns.
RSOC_ONE_FIELDS = record(
    ONE_COMMAND.name,
    ONE_COMMAND,
    {"cdb_usage_data": HEX, "command_timeouts_descriptor": _TIMEOUTS_FIELDS, "truncated": BOOL},
)
#: What ``decode_rstmf`` returns.
RSTMF_FIELDS = record(RSTMF.name, RSTMF)


def decode_rsoc_all(data: Data) -> dict[str, Any]:
    """The all_commands format: COMMAND DATA LENGTH and every command descriptor."""
    raw = as_bytes(data)
    length = be(raw, 0, 4)
    if length is None:
        return {"truncated": True} if raw else {}
    end = min(4 + length, len(raw))
    out: dict[str, Any] = {"command_data_length": length}
    descriptors = []
    offset = 4
    while offset + COMMAND_DESCRIPTOR.length <= end:
        d = unpack(COMMAND_DESCRIPTOR, raw, offset)
        offset += COMMAND_DESCRIPTOR.length
        if d["ctdp"]:
            if offset + TIMEOUTS_DESCRIPTOR.length > end:
                descriptors.append(d)
                break
            d["command_timeouts_descriptor"] = unpack(TIMEOUTS_DESCRIPTOR, raw, offset)
            offset += TIMEOUTS_DESCRIPTOR.length
        descriptors.append(d)
    out["command_descriptors"] = descriptors
    if 4 + length > len(raw) or offset < end:
        out["truncated"] = True
    return out


def decode_rsoc_one(data: Data) -> dict[str, Any]:
    """The one_command format: SUPPORT, CDB USAGE DATA (hex) and the optional timeouts."""
    raw = as_bytes(data)
    out = unpack(ONE_COMMAND, raw)
    size = out.get("cdb_size")
    if size is None:
        if raw:
            out["truncated"] = True
        return out
    usage = raw[4 : 4 + size]
    out["cdb_usage_data"] = usage.hex()
    truncated = len(usage) < size
    if out.get("ctdp"):
        timeouts = unpack(TIMEOUTS_DESCRIPTOR, raw, 4 + size)
        truncated = truncated or len(raw) < 4 + size + TIMEOUTS_DESCRIPTOR.length
        if timeouts:
            out["command_timeouts_descriptor"] = timeouts
    if truncated:
        out["truncated"] = True
    return out


def _timeouts(d: Mapping[str, Any]) -> bytes:
    if not d.get("ctdp"):
        return b""
    return pack(
        TIMEOUTS_DESCRIPTOR, d.get("command_timeouts_descriptor") or {}, descriptor_length=10
    )


def encode_rsoc_all(descriptors: Iterable[Mapping[str, Any]] | Mapping[str, Any]) -> bytes:
    """all_commands data from command descriptors (or a decoded dict).

    A descriptor with ``ctdp`` gets its ``command_timeouts_descriptor`` (zeros if absent).
    """
    rows: Iterable[Mapping[str, Any]] = (
        descriptors.get("command_descriptors", ())
        if isinstance(descriptors, Mapping)
        else descriptors
    )
    body = b"".join(pack(COMMAND_DESCRIPTOR, d) + _timeouts(d) for d in rows)
    return len(body).to_bytes(4, "big") + body


def encode_rsoc_one(values: Mapping[str, Any]) -> bytes:
    """one_command data from ``support``, ``cdb_usage_data`` (hex or bytes) and optional timeouts."""
    usage = from_hex(values.get("cdb_usage_data", b""), "cdb_usage_data")
    if len(usage) > 0xFFFF:
        raise FieldValueError(f"cdb_usage_data of {len(usage)} bytes is too long")
    return pack(ONE_COMMAND, values, cdb_size=len(usage)) + usage + _timeouts(values)


def decode_rstmf(data: Data) -> dict[str, Any]:
    """Supported task management functions; the extended part when ADDITIONAL DATA LENGTH says so."""
    raw = as_bytes(data)
    if len(raw) >= 4:
        raw = raw[: 4 + raw[3]]
    return unpack(RSTMF, raw)


def encode_rstmf(values: Mapping[str, Any], *, extended: bool | None = None) -> bytes:
    """RSTMF data: 4 bytes, or 16 with the timeouts (REPD) when ``extended`` or a timeout is given."""
    if extended is None:
        extended = bool(values.get("additional_data_length")) or any(
            values.get(k) is not None for k in ("long_tmf_timeout", "short_tmf_timeout", "tmftmov")
        )
    raw = pack(RSTMF, values, additional_data_length=12 if extended else 0)
    return raw if extended else raw[:4]

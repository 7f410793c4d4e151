"""Persistent reservations data (SPC-5 6.16, 6.17): PERSISTENT RESERVE IN replies, OUT lists.

PR IN has four reply shapes, one per service action; each is decoded (for
checking a device) and encoded (for the simulated one). PR OUT has two
parameter list shapes: the basic one (every service action but REGISTER AND
MOVE) and REGISTER AND MOVE's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..cdb import F, Layout
from ..errors import FieldValueError
from ..shapes import BOOL, HEX, TEXT, Choice, Items, integer, record
from ._common import Data, as_bytes, be, from_hex, pack, unpack
from .vpd import PROTOCOL_IDENTIFIERS

__all__ = [
    "PR_IN_FIELDS",
    "PR_IN_SERVICE_ACTIONS",
    "PR_OUT_PARAMETERS",
    "PR_SCOPES",
    "PR_TYPES",
    "decode_pr_in",
    "decode_pr_out_parameters",
    "decode_read_full_status",
    "decode_read_keys",
    "decode_read_reservation",
    "decode_register_and_move_parameters",
    "decode_report_capabilities",
    "decode_transport_id",
    "encode_pr_in",
    "encode_pr_out_parameters",
    "encode_read_full_status",
    "encode_read_keys",
    "encode_read_reservation",
    "encode_register_and_move_parameters",
    "encode_report_capabilities",
]

#: PERSISTENT RESERVATION TYPE codes (SPC-5 table 179).
PR_TYPES: dict[str, int] = {
    "write_exclusive": 1,
    "exclusive_access": 3,
    "write_exclusive_registrants_only": 5,
    "exclusive_access_registrants_only": 6,
    "write_exclusive_all_registrants": 7,
    "exclusive_access_all_registrants": 8,
}
PR_SCOPES: dict[str, int] = {"lu_scope": 0}
PR_IN_SERVICE_ACTIONS: dict[str, int] = {
    "read_keys": 0,
    "read_reservation": 1,
    "report_capabilities": 2,
    "read_full_status": 3,
}

_GEN_LEN = Layout(
    "PR IN header", 8, [F("prgeneration", 0, 7, 32), F("additional_length", 4, 7, 32)]
)
_RESERVATION = Layout(
    "READ RESERVATION reservation",
    16,
    [
        F("reservation_key", 0, 7, 64),
        F("scope", 13, 7, 4, values=PR_SCOPES),
        F("type", 13, 3, 4, values=PR_TYPES),
    ],
)
REPORT_CAPABILITIES = Layout(
    "REPORT CAPABILITIES parameter data",
    8,
    [
        F("length", 0, 7, 16),
        F("rlr_c", 2, 7, 1),
        F("crh", 2, 4, 1),
        F("sip_c", 2, 3, 1),
        F("atp_c", 2, 2, 1),
        F("ptpl_c", 2, 0, 1),
        F("tmv", 3, 7, 1),
        F("allow_commands", 3, 6, 3),
        F("ptpl_a", 3, 0, 1),
        F("wr_ex_ar", 4, 7, 1),
        F("ex_ac_ro", 4, 6, 1),
        F("wr_ex_ro", 4, 5, 1),
        F("ex_ac", 4, 3, 1),
        F("wr_ex", 4, 1, 1),
        F("ex_ac_ar", 5, 0, 1),
    ],
)
_FULL_STATUS = Layout(
    "full status descriptor",
    24,
    [
        F("reservation_key", 0, 7, 64),
        F("all_tg_pt", 12, 1, 1),
        F("r_holder", 12, 0, 1),
        F("scope", 13, 7, 4, values=PR_SCOPES),
        F("type", 13, 3, 4, values=PR_TYPES),
        F("relative_target_port_identifier", 18, 7, 16),
        F("additional_descriptor_length", 20, 7, 32),
    ],
)
PR_OUT_BASIC = Layout(
    "PERSISTENT RESERVE OUT parameter list",
    24,
    [
        F("reservation_key", 0, 7, 64),
        F("service_action_reservation_key", 8, 7, 64),
        F("spec_i_pt", 20, 3, 1),
        F("all_tg_pt", 20, 2, 1),
        F("aptpl", 20, 0, 1),
    ],
)
PR_OUT_REGISTER_AND_MOVE = Layout(
    "REGISTER AND MOVE parameter list",
    24,
    [
        F("reservation_key", 0, 7, 64),
        F("service_action_reservation_key", 8, 7, 64),
        F("unreg", 17, 1, 1),
        F("aptpl", 17, 0, 1),
        F("relative_target_port_identifier", 18, 7, 16),
        F("transportid_parameter_data_length", 20, 7, 32),
    ],
)
_TRANSPORT_ID = Layout(
    "TransportID",
    2,
    [F("format_code", 0, 7, 2), F("protocol_identifier", 0, 3, 4, values=PROTOCOL_IDENTIFIERS)],
)

#: What ``decode_transport_id`` returns (the port name of the protocols it reads).
TRANSPORT_ID_FIELDS = record(
    "TransportID",
    _TRANSPORT_ID,
    {"transport_id": HEX, "n_port_name": HEX, "sas_address": HEX, "iscsi_name": TEXT},
)
_TRUNCATED = {"truncated": BOOL}
#: What ``decode_pr_in`` returns, by the CDB's SERVICE ACTION (another has no decoder).
PR_IN_FIELDS = Choice(
    ("service_action",),
    {
        0: record(
            "READ KEYS parameter data",
            _GEN_LEN,
            {"reservation_keys": Items(integer(64))},
            _TRUNCATED,
        ),
        1: record("READ RESERVATION parameter data", _GEN_LEN, _RESERVATION, _TRUNCATED),
        2: record(REPORT_CAPABILITIES.name, REPORT_CAPABILITIES),
        3: record(
            "READ FULL STATUS parameter data",
            _GEN_LEN,
            {
                "full_status_descriptors": Items(
                    record(_FULL_STATUS.name, _FULL_STATUS, TRANSPORT_ID_FIELDS.fields)
                )
            },
            _TRUNCATED,
        ),
    },
)
#: What ``encode_pr_out_parameters`` takes: the basic list, and the TransportIDs (hex)
#: sent with SPEC_I_PT.
PR_OUT_PARAMETERS = record(PR_OUT_BASIC.name, PR_OUT_BASIC, {"transport_ids": Items(HEX)})


def _clip(raw: bytes, head: dict[str, Any], header: int = 8) -> tuple[bytes, bool]:
    length = head.get("additional_length")
    if length is None:
        return b"", bool(raw)
    return raw[header : header + length], header + length > len(raw)


# ------------------------------------------------------------------ TransportID


def decode_transport_id(data: Data) -> dict[str, Any]:
    """A TransportID (SPC-5 7.6.4): protocol, and the port name for FC, SAS and iSCSI."""
    raw = as_bytes(data)
    out = unpack(_TRANSPORT_ID, raw)
    out["transport_id"] = raw.hex()
    proto = out.get("protocol_identifier")
    if proto == 0 and len(raw) >= 16:
        out["n_port_name"] = raw[8:16].hex()
    elif proto == 6 and len(raw) >= 12:
        out["sas_address"] = raw[4:12].hex()
    elif proto == 5 and len(raw) >= 4:
        name = raw[4 : 4 + int.from_bytes(raw[2:4], "big")]
        out["iscsi_name"] = name.decode("utf-8", "replace").rstrip("\0")
    return out


def _transport_id_length(raw: bytes, offset: int) -> int:
    """A TransportID's length: 24 bytes, or 4 + ADDITIONAL LENGTH for iSCSI."""
    if offset < len(raw) and raw[offset] & 0x0F == 5:
        extra = be(raw, offset + 2, 2)
        return 4 + (extra or 0)
    return 24


# ----------------------------------------------------------------- PR IN data


def decode_read_keys(data: Data) -> dict[str, Any]:
    """READ KEYS: PRgeneration and every registered reservation key."""
    raw = as_bytes(data)
    if not raw:
        return {}
    out = unpack(_GEN_LEN, raw)
    body, truncated = _clip(raw, out)
    out["reservation_keys"] = [
        int.from_bytes(body[k : k + 8], "big") for k in range(0, len(body) - 7, 8)
    ]
    if truncated:
        out["truncated"] = True
    return out


def decode_read_reservation(data: Data) -> dict[str, Any]:
    """READ RESERVATION: PRgeneration and, when one is held, its key, scope and type."""
    raw = as_bytes(data)
    out = unpack(_GEN_LEN, raw)
    body, truncated = _clip(raw, out)
    if body:
        out.update(unpack(_RESERVATION, body))
    if truncated:
        out["truncated"] = True
    return out


def decode_report_capabilities(data: Data) -> dict[str, Any]:
    """REPORT CAPABILITIES: what the device server supports, type mask included."""
    return unpack(REPORT_CAPABILITIES, as_bytes(data))


def decode_read_full_status(data: Data) -> dict[str, Any]:
    """READ FULL STATUS: one descriptor per registration, with its TransportID."""
    raw = as_bytes(data)
    if not raw:
        return {}
    out = unpack(_GEN_LEN, raw)
    body, truncated = _clip(raw, out)
    descriptors = []
    offset = 0
    while offset < len(body):
        d = unpack(_FULL_STATUS, body, offset)
        extra = d.get("additional_descriptor_length")
        if extra is None:
            truncated = True
            break
        tid = body[offset + 24 : offset + 24 + extra]
        d.update(decode_transport_id(tid))
        descriptors.append(d)
        offset += 24 + extra
    out["full_status_descriptors"] = descriptors
    if truncated or offset > len(body):
        out["truncated"] = True
    return out


def _service_action(value: int | str) -> int:
    sa = PR_IN_SERVICE_ACTIONS.get(value, -1) if isinstance(value, str) else value
    if sa not in PR_IN_SERVICE_ACTIONS.values():
        raise FieldValueError(f"no PERSISTENT RESERVE IN data format for service action {value!r}")
    return sa


_PR_IN_DECODERS: dict[int, Callable[[Data], dict[str, Any]]] = {
    0: decode_read_keys,
    1: decode_read_reservation,
    2: decode_report_capabilities,
    3: decode_read_full_status,
}


def decode_pr_in(data: Data, service_action: int | str) -> dict[str, Any]:
    """PERSISTENT RESERVE IN data for this service action (number or name)."""
    return _PR_IN_DECODERS[_service_action(service_action)](data)


def _key(value: Any) -> bytes:
    if not isinstance(value, int) or not 0 <= value < 1 << 64:
        raise FieldValueError(f"reservation key {value!r} is not a 64-bit unsigned integer")
    return value.to_bytes(8, "big")


def encode_read_keys(values: Mapping[str, Any]) -> bytes:
    """READ KEYS data from ``prgeneration`` and ``reservation_keys``."""
    body = b"".join(_key(k) for k in values.get("reservation_keys", ()))
    return pack(_GEN_LEN, values, additional_length=len(body)) + body


def encode_read_reservation(values: Mapping[str, Any]) -> bytes:
    """READ RESERVATION data; a reservation is included when ``type`` is given (nonzero)."""
    held = values.get("type") not in (None, 0)
    body = pack(_RESERVATION, values) if held else b""
    return pack(_GEN_LEN, values, additional_length=len(body)) + body


def encode_report_capabilities(values: Mapping[str, Any]) -> bytes:
    """REPORT CAPABILITIES data (LENGTH is always 8)."""
    return pack(REPORT_CAPABILITIES, values, length=8)


def _encode_transport_id(values: Mapping[str, Any]) -> bytes:
    if values.get("transport_id") is not None:
        return from_hex(values["transport_id"], "transport_id")
    raise FieldValueError("a full status descriptor needs its transport_id (hex)")


def _any_transport_id(value: Any) -> bytes:
    """A TransportID given as a decoded dict, hex, or bytes."""
    if isinstance(value, Mapping):
        return _encode_transport_id(value)
    return from_hex(value, "transport_id")


def encode_read_full_status(values: Mapping[str, Any]) -> bytes:
    """READ FULL STATUS data from ``prgeneration`` and ``full_status_descriptors``."""
    parts = []
    for d in values.get("full_status_descriptors", ()):
        tid = _encode_transport_id(d)
        parts.append(pack(_FULL_STATUS, d, additional_descriptor_length=len(tid)) + tid)
    body = b"".join(parts)
    return pack(_GEN_LEN, values, additional_length=len(body)) + body


_PR_IN_ENCODERS: dict[int, Callable[[Mapping[str, Any]], bytes]] = {
    0: encode_read_keys,
    1: encode_read_reservation,
    2: encode_report_capabilities,
    3: encode_read_full_status,
}


def encode_pr_in(values: Mapping[str, Any], service_action: int | str) -> bytes:
    """PERSISTENT RESERVE IN data for this service action (number or name)."""
    return _PR_IN_ENCODERS[_service_action(service_action)](values)


# --------------------------------------------------------------- PR OUT lists


def encode_pr_out_parameters(
    values: Mapping[str, Any] | None = None,
    /,
    *,
    transport_ids: Iterable[Any] = (),
    **fields: Any,
) -> bytes:
    """The basic PERSISTENT RESERVE OUT parameter list (24 bytes).

    Fields come from ``values`` and/or keywords (``reservation_key``,
    ``service_action_reservation_key``, ``spec_i_pt``, ``all_tg_pt``,
    ``aptpl``). With SPEC_I_PT set, ``transport_ids`` (hex, bytes or
    decoded TransportID dicts) follow behind their total length.
    """
    merged = {**(values or {}), **fields}
    tids = [_any_transport_id(t) for t in merged.get("transport_ids") or transport_ids]
    if tids and not merged.get("spec_i_pt"):
        raise FieldValueError("TransportIDs are only sent with spec_i_pt=1")
    out = pack(PR_OUT_BASIC, merged)
    if merged.get("spec_i_pt"):
        body = b"".join(tids)
        out += len(body).to_bytes(4, "big") + body
    return out


def decode_pr_out_parameters(data: Data) -> dict[str, Any]:
    """A basic PR OUT parameter list (what a simulated device receives)."""
    raw = as_bytes(data)
    if not raw:
        return {}
    out = unpack(PR_OUT_BASIC, raw)
    if out.get("spec_i_pt") and len(raw) >= 28:
        length = int.from_bytes(raw[24:28], "big")
        out["transportid_parameter_data_length"] = length
        body, offset, tids = raw[28 : 28 + length], 0, []
        while offset < len(body):
            size = _transport_id_length(body, offset)
            tids.append(decode_transport_id(body[offset : offset + size]))
            offset += size
        out["transport_ids"] = tids
        if 28 + length > len(raw) or offset > len(body):
            out["truncated"] = True
    elif len(raw) < PR_OUT_BASIC.length:
        out["truncated"] = True
    return out


def encode_register_and_move_parameters(
    values: Mapping[str, Any] | None = None, /, **fields: Any
) -> bytes:
    """The REGISTER AND MOVE parameter list: keys, UNREG, APTPL, target port, TransportID."""
    merged = {**(values or {}), **fields}
    tid = _any_transport_id(merged.get("transport_id", b""))
    return pack(PR_OUT_REGISTER_AND_MOVE, merged, transportid_parameter_data_length=len(tid)) + tid


def decode_register_and_move_parameters(data: Data) -> dict[str, Any]:
    """A REGISTER AND MOVE parameter list (what a simulated device receives)."""
    raw = as_bytes(data)
    out = unpack(PR_OUT_REGISTER_AND_MOVE, raw)
    length = out.get("transportid_parameter_data_length")
    if length is not None:
        out.update(decode_transport_id(raw[24 : 24 + length]))
        if 24 + length > len(raw):
            out["truncated"] = True
    elif raw:
        out["truncated"] = True
    return out

"""Sense data a target would return: ``build_sense``, the reverse of ``parse_sense``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .sense_tables import (
    _SKS_KIND,
    DESC_CURRENT,
    DESC_DEFERRED,
    FIXED_CURRENT,
    FIXED_DEFERRED,
    MAX_SENSE_LENGTH,
    _hex,
)
from .status import SenseKey
from .usage import UsageError

__all__ = ["build_sense"]


def build_sense(
    key: int | str,
    asc: int,
    ascq: int,
    *,
    descriptor: bool = False,
    deferred: bool = False,
    information: int | None = None,
    command_specific: int | None = None,
    field_pointer: tuple[int, int | None, bool] | None = None,
    progress: float | None = None,
    retry_count: int | None = None,
    segment_pointer: tuple[int, int | None, bool] | None = None,
    overflow: bool | None = None,
    fru: int | None = None,
    filemark: bool = False,
    eom: bool = False,
    ili: bool = False,
    sdat_ovfl: bool = False,
    extra_descriptors: Iterable[bytes] = (),
) -> bytes:
    """Sense data a target would return: fixed format (18 bytes) or descriptor format.

    ``field_pointer`` is ``(byte, bit or None, cd)`` for ILLEGAL REQUEST (cd True: the
    CDB); ``segment_pointer`` is ``(byte, bit or None, sd)`` for COPY ABORTED; ``progress``
    a fraction 0..1 for NO SENSE/NOT READY; ``retry_count`` for RECOVERED/MEDIUM/HARDWARE
    ERROR; ``overflow`` for UNIT ATTENTION. At most one of them, matching the key, because
    the sense key decides what the three bytes mean. ``extra_descriptors`` are appended
    as given (descriptor format only). The result round-trips through ``parse_sense``.
    """
    try:
        sense_key = SenseKey.parse(key) if isinstance(key, str) else SenseKey(key)
    except ValueError as exc:
        raise UsageError(f"not a sense key: {key!r} ({exc})") from None
    for name, value in (("asc", asc), ("ascq", ascq), ("fru", fru)):
        if value is not None and not 0 <= value <= 0xFF:
            raise UsageError(f"{name} must be 0..255, got {value}")
    sks = _build_sks(sense_key, field_pointer, progress, retry_count, segment_pointer, overflow)
    width = 8 if descriptor else 4
    for name, value in (("information", information), ("command_specific", command_specific)):
        if value is not None and not 0 <= value < 1 << (8 * width):
            hint = "" if descriptor else " (descriptor format holds 8 bytes)"
            raise UsageError(f"{name} 0x{value:x} does not fit in {width} bytes{hint}")
    if descriptor:
        return _build_descriptor(
            sense_key,
            asc,
            ascq,
            deferred,
            information,
            command_specific,
            sks,
            fru,
            filemark,
            eom,
            ili,
            sdat_ovfl,
            tuple(extra_descriptors),
        )
    if extra_descriptors:
        raise UsageError("extra_descriptors need descriptor=True")
    out = bytearray(18)
    out[0] = (FIXED_DEFERRED if deferred else FIXED_CURRENT) | (
        0x80 if information is not None else 0
    )
    out[2] = sense_key | filemark << 7 | eom << 6 | ili << 5 | sdat_ovfl << 4
    out[3:7] = (information or 0).to_bytes(4, "big")
    out[7] = 10
    out[8:12] = (command_specific or 0).to_bytes(4, "big")
    out[12], out[13], out[14] = asc, ascq, fru or 0
    if sks is not None:
        out[15:18] = sks
    return bytes(out)


def _build_sks(
    key: SenseKey,
    field_pointer: tuple[int, int | None, bool] | None,
    progress: float | None,
    retry_count: int | None,
    segment_pointer: tuple[int, int | None, bool] | None,
    overflow: bool | None,
) -> bytes | None:
    given: dict[str, Any] = {  # each kind's own value type, checked below
        "field_pointer": field_pointer,
        "progress_indication": progress,
        "actual_retry_count": retry_count,
        "segment_pointer": segment_pointer,
        "unit_attention_queue_overflow": overflow,
    }
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        return None
    kind = _SKS_KIND.get(key)
    if len(given) > 1 or kind is None or kind not in given:
        raise UsageError(
            f"sense key {key.name} carries {kind or 'no sense-key specific data'}; "
            f"got {', '.join(given)}"
        )
    value = given[kind]
    if kind in ("field_pointer", "segment_pointer"):
        byte, bit, flag = value
        if not 0 <= byte <= 0xFFFF or (bit is not None and not 0 <= bit <= 7):
            raise UsageError(f"{kind} byte must be 0..65535 and bit 0..7, got {value!r}")
        b0 = 0x80 | (0x40 if kind == "field_pointer" else 0x20) * bool(flag)
        b0 |= 0 if bit is None else 0x08 | bit
        return bytes([b0]) + byte.to_bytes(2, "big")
    if kind == "progress_indication":
        if not 0 <= value <= 1:
            raise UsageError(f"progress is a fraction 0..1, got {value!r}")
        return b"\x80" + min(0xFFFF, round(value * 65536)).to_bytes(2, "big")
    if kind == "actual_retry_count":
        if not 0 <= value <= 0xFFFF:
            raise UsageError(f"retry_count must be 0..65535, got {value}")
        return b"\x80" + value.to_bytes(2, "big")
    return bytes([0x80 | bool(value), 0, 0])


def _build_descriptor(
    key: SenseKey,
    asc: int,
    ascq: int,
    deferred: bool,
    information: int | None,
    command_specific: int | None,
    sks: bytes | None,
    fru: int | None,
    filemark: bool,
    eom: bool,
    ili: bool,
    sdat_ovfl: bool,
    extra: tuple[bytes, ...],
) -> bytes:
    body = bytearray()
    if information is not None:
        body += b"\x00\x0a\x80\x00" + information.to_bytes(8, "big")
    if command_specific is not None:
        body += b"\x01\x0a\x00\x00" + command_specific.to_bytes(8, "big")
    if sks is not None:
        body += b"\x02\x06\x00\x00" + sks + b"\x00"
    if fru is not None:
        body += bytes([0x03, 0x02, 0x00, fru])
    if filemark or eom:
        body += bytes([0x04, 0x02, 0x00, filemark << 7 | eom << 6 | ili << 5])
    elif ili:
        body += b"\x05\x02\x00\x20"
    for d in extra:
        if len(d) < 2 or d[1] != len(d) - 2:
            raise UsageError(f"descriptor {_hex(bytes(d[:2]))} has a wrong additional length")
        body += d
    if len(body) > MAX_SENSE_LENGTH - 8:
        raise UsageError(f"descriptors take {len(body)} bytes, at most 244 fit")
    code = DESC_DEFERRED if deferred else DESC_CURRENT
    return bytes([code, key, asc, ascq, sdat_ovfl << 7, 0, 0, len(body)]) + bytes(body)

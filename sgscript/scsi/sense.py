"""Sense data, both ways: ``parse_sense`` (bytes to a ``Sense``) and ``build_sense`` (the reverse).

Fixed (70h/71h) and descriptor (72h/73h) format decode to one ``Sense`` whose common fields
(information, command-specific information, sense-key specific, FRU, filemark/EOM/ILI) are
filled the same way from either, so callers never look at the format. Layouts are tables
(``sense_tables.py``); the code walks them. The sense-key specific bytes and the
descriptors decode in ``sense_descriptors.py``; ``build_sense`` is in ``sense_build.py``. Words follow
``sg_decode_sense`` so a log line reads like the tool engineers already know.

Input is untrusted device output: a short buffer decodes as far as it goes and says so
(``truncated``, ``notes``); only a buffer that is not sense data at all raises ``UsageError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .asc import additional_sense_text, asc_text
from .sense_build import build_sense
from .sense_descriptors import (
    Descriptor,
    ReferralSegment,
    SenseKeySpecific,
    _ata_status,
    _decode_sks,
    _describe_descriptor,
    _designation,
    _jsonable,
    _osd_attributes,
    _progress,
    _referrals,
)
from .sense_tables import (
    _DESC_HEADER,
    _FIXED,
    _INFO_LABEL,
    DESC_CURRENT,
    DESC_DEFERRED,
    DESCRIPTOR_TYPES,
    FIXED_CURRENT,
    FIXED_DEFERRED,
    MAX_SENSE_LENGTH,
    VENDOR,
    _extract,
    _hex,
    _percent_text,
)
from .status import SenseKey
from .usage import UsageError

__all__ = [
    "DESCRIPTOR_TYPES",
    "MAX_SENSE_LENGTH",
    "Descriptor",
    "ReferralSegment",
    "Sense",
    "SenseKeySpecific",
    "build_sense",
    "parse_sense",
]


def _forwarded(d: bytes, _key: int) -> dict[str, Any]:
    data = d[4:]
    try:
        inner = parse_sense(data) if data else None
    except UsageError:
        inner = None
    return {"sense_data": data, "sense": inner}


def _sks_field(values: Mapping[str, Any], key: int) -> SenseKeySpecific | None:
    raw = values.get("sks")
    return _decode_sks(raw, key) if raw is not None and values.get("sksv") else None


# Descriptor type -> decoder of its variable part: (descriptor bytes, sense key) -> fields.
_VARIABLE = {
    0x08: _osd_attributes,
    0x09: _ata_status,
    0x0A: _progress,
    0x0B: _referrals,
    0x0C: _forwarded,
    0x0E: _designation,
}


def _decode_descriptor(body: bytes, key: int, cut: bool) -> Descriptor:
    spec = DESCRIPTOR_TYPES.get(body[0])
    if spec is None:
        return Descriptor(body[0], body, {}, cut)
    _name, need, table = spec
    values = _extract(body, table)
    if body[0] in _VARIABLE:
        values.update(_VARIABLE[body[0]](body, key))
    if "sks" in values:
        values["sense_key_specific"] = _sks_field(values, key)
    return Descriptor(body[0], body, values, cut or len(body) < 2 + need)


# -------------------------------------------------------------------- Sense


@dataclass(frozen=True)
class Sense:
    """Decoded sense data. Build one with ``parse_sense``.

    Common fields are filled from either format: for descriptor format, ``information``,
    ``command_specific``, ``sense_key_specific``, ``fru`` and the filemark/EOM/ILI bits
    come from the first descriptor that carries them (00h-05h, 0Dh). ``information`` is
    meaningful when ``valid`` is set (the VALID bit of the fixed header or of the
    descriptor it came from). ``sense_key`` is None only for the vendor format (7Fh).
    """

    raw: bytes
    response_code: int
    descriptor_format: bool
    deferred: bool
    sense_key: int | None
    asc: int | None = None
    ascq: int | None = None
    valid: bool = False
    information: int | None = None
    command_specific: int | None = None
    filemark: bool = False
    eom: bool = False
    ili: bool = False
    sdat_ovfl: bool = False
    fru: int | None = None
    sense_key_specific: SenseKeySpecific | None = None
    descriptors: tuple[Descriptor, ...] = ()
    additional_length: int | None = None
    truncated: bool = False
    notes: tuple[str, ...] = ()

    # ------------------------------------------------------------ naming

    @property
    def current(self) -> bool:
        return not self.deferred

    @property
    def vendor_format(self) -> bool:
        return self.response_code == VENDOR

    @property
    def key_title(self) -> str:
        """``Medium Error``: the sense key as sg3_utils words it."""
        if self.sense_key is None:
            return "Vendor specific sense data"
        return SenseKey(self.sense_key).title

    @property
    def key_name(self) -> str:
        """``MEDIUM_ERROR``: the name expectations and exception classes use."""
        if self.sense_key is None:
            return "VENDOR_FORMAT"
        return SenseKey(self.sense_key).name

    @property
    def asc_text(self) -> str | None:
        """The additional sense in words (sg3_utils' wording for unassigned codes)."""
        if self.asc is None or self.ascq is None:
            return None
        return additional_sense_text(self.asc, self.ascq)

    # ------------------------------------------------------------ text

    def summary(self) -> str:
        """One line for exception messages: ``Medium Error, Unrecovered read error, LBA 0x1000``."""
        if self.vendor_format:
            return f"Vendor specific sense data: {_hex(self.raw[:18])}"
        parts = [self.key_title + (" (deferred)" if self.deferred else "")]
        if self.asc_text is not None:
            parts.append(self.asc_text)
        if self.information is not None and (self.valid or self.descriptor_format):
            label = _INFO_LABEL.get(self.sense_key or 0, "info")
            parts.append(f"{label} 0x{self.information:x}")
        sks = self.sense_key_specific
        if sks is not None and sks.kind == "field_pointer":
            where = "" if sks.cd else "parameter data "
            bit = f" bit {sks.bit_pointer}" if sks.bpv else ""
            parts.append(f"field pointer {where}byte {sks.field_pointer}{bit}")
        elif sks is not None and sks.kind == "progress_indication":
            parts.append(f"progress {_percent_text(sks.progress or 0)}")
        if self.truncated:
            parts.append("sense data truncated")
        return ", ".join(parts)

    def describe(self) -> str:
        """Several lines in the words and layout of ``sg_decode_sense``."""
        if self.vendor_format:
            rows = [self.raw[i : i + 16] for i in range(0, len(self.raw), 16)]
            return "\n".join(
                ["Vendor specific sense buffer, in hex:"] + [f" {_hex(r)}" for r in rows]
            )
        form = "Descriptor format" if self.descriptor_format else "Fixed format"
        when = "<<<deferred>>>" if self.deferred else "current"
        lines = [f"{form}, {when}; Sense key: {self.key_title}"]
        if self.sdat_ovfl:
            lines.append("<<<Sense data overflow (SDAT_OVFL)>>>")
        if self.asc is not None and self.ascq is not None:
            known = asc_text(self.asc, self.ascq) is not None
            lines.append(("Additional sense: " if known else "") + (self.asc_text or ""))
        if self.descriptor_format:
            for d in self.descriptors:
                lines.extend(_describe_descriptor(d, self.sense_key or 0))
        else:
            lines.extend(self._describe_fixed())
        lines.extend(f"  >> {note}" for note in self.notes)
        return "\n".join(line.rstrip() for line in lines)

    def _describe_fixed(self) -> list[str]:
        raw, lines = self.raw, []
        if self.asc == 0 and self.ascq == 0x1D and len(raw) >= 12:  # SAT ATA PASS-THROUGH
            if self.sense_key != SenseKey.RECOVERED_ERROR:
                lines.append("  >> expected Sense key: Recovered Error ??")
            count_more = "+" if raw[8] & 0x40 else ""
            lba_more = "+" if raw[8] & 0x20 else ""
            lines.append(
                f"  error=0x{raw[3]:x}, status=0x{raw[4]:x}, device=0x{raw[5]:x}, "
                f"count(7:0)=0x{raw[6]:x}{count_more}"
            )
            lines.append(
                f"  extend={int(bool(raw[8] & 0x80))}, log_index=0x{raw[8] & 0x0F:x}, "
                f"lba_high,mid,low(7:0)=0x{raw[11]:x},0x{raw[10]:x},0x{raw[9]:x}{lba_more}"
            )
            return lines
        info_line = ""
        if self.information is not None:
            if self.valid:
                info_line = f"  Info fld=0x{self.information:x} [{self.information}] "
            elif self.information:
                info_line = f"  Valid=0, Info fld=0x{self.information:x} [{self.information}] "
        flags = "".join(
            f" {n}"
            for n, on in (("FMK", self.filemark), ("EOM", self.eom), ("ILI", self.ili))
            if on
        )
        if info_line or flags:
            lines.append(info_line + flags)
        if self.fru:
            lines.append(f"  Field replaceable unit code: {self.fru}")
        sks = self.sense_key_specific
        if sks is not None:
            if sks.kind == "field_pointer":
                lines.append(f"  Sense Key Specific: {sks.text()}")
            elif sks.kind == "actual_retry_count":
                lines.append(f"  Actual retry count: 0x{sks.raw[1]:02x}{sks.raw[2]:02x}")
            elif sks.kind == "segment_pointer":
                lines.append(f"  Segment pointer: {sks.text()}")
            elif sks.kind == "reserved":
                lines.append(f"  Sense_key: 0x{self.sense_key or 0:x} unexpected")
            else:
                lines.append(f"  {sks.text()}")
        return lines

    # ------------------------------------------------------------ data

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready: numbers as numbers (``asc: 0x29`` in a spec compares with
        them, ``save:`` keeps them), bytes as spaced hex, descriptors as dicts; the words a
        person reads are ``summary``, ``asc_text`` and ``describe()``."""
        return {
            "raw": _hex(self.raw),
            "response_code": self.response_code,
            "format": "vendor"
            if self.vendor_format
            else ("descriptor" if self.descriptor_format else "fixed"),
            "descriptor_format": self.descriptor_format,
            "deferred": self.deferred,
            "current": self.current,
            "sense_key": self.sense_key,
            "sense_key_name": self.key_name,
            "sense_key_title": self.key_title,
            "asc": self.asc,
            "ascq": self.ascq,
            "asc_text": self.asc_text,
            "valid": self.valid,
            "information": _jsonable(self.information),
            "command_specific": _jsonable(self.command_specific),
            "filemark": self.filemark,
            "eom": self.eom,
            "ili": self.ili,
            "sdat_ovfl": self.sdat_ovfl,
            "fru": self.fru,
            "sense_key_specific": None
            if self.sense_key_specific is None
            else self.sense_key_specific.to_dict(),
            "descriptors": [d.to_dict() for d in self.descriptors],
            "additional_length": self.additional_length,
            "truncated": self.truncated,
            "notes": list(self.notes),
            "summary": self.summary(),
        }


# ------------------------------------------------------------------ parsing


def parse_sense(raw: bytes | bytearray | memoryview) -> Sense:
    """Decode sense data as returned by a device (REQUEST SENSE, or autosense with status).

    Raises ``UsageError`` for input that is not sense data: empty, a response code other
    than 70h-73h/7Fh, or too short to hold the sense key. Anything else decodes as far as
    the bytes go; a buffer shorter than its additional sense length is ``truncated``, and
    bytes past it are ignored, as sg3_utils and the Linux mid-layer do.
    """
    if isinstance(raw, str):
        raise UsageError("sense data must be bytes, not str: convert hex with bytes.fromhex()")
    data = bytes(raw)
    if not data:
        raise UsageError("no sense data: the buffer is empty")
    code = data[0] & 0x7F
    if code == VENDOR:
        note = "vendor specific format (7Fh): nothing past the response code is standard"
        return Sense(data, code, False, False, None, notes=(note,))
    if not FIXED_CURRENT <= code <= DESC_DEFERRED:
        raise UsageError(
            f"not sense data: response code 0x{code:02x} (expected 70h-73h, or 7Fh), "
            f"starts {_hex(data[:8])}"
        )
    descriptor = code >= DESC_CURRENT
    key_at = 1 if descriptor else 2
    if len(data) <= key_at:
        raise UsageError(
            f"sense data too short: {len(data)} byte(s); the sense key is in byte {key_at}"
        )
    notes: list[str] = []
    if len(data) >= 8:
        additional = data[7]
        limit = min(len(data), 8 + additional, MAX_SENSE_LENGTH)
        truncated = len(data) < 8 + additional
        if truncated:
            notes.append(
                f"truncated: additional sense length {additional} means {8 + additional} "
                f"bytes, only {len(data)} present"
            )
    else:
        additional, limit, truncated = None, len(data), True
        notes.append(f"truncated: {len(data)} byte(s), shorter than the 8-byte header")
    common = {"raw": data, "response_code": code, "descriptor_format": descriptor}
    common["deferred"] = code in (FIXED_DEFERRED, DESC_DEFERRED)
    if descriptor:
        return _parse_descriptor(data[:limit], common, additional, truncated, notes)
    return _parse_fixed(data[:limit], common, additional, truncated, notes)


def _parse_fixed(
    data: bytes, common: dict[str, Any], additional: int | None, truncated: bool, notes: list[str]
) -> Sense:
    f = _extract(data, _FIXED)
    key = f["sense_key"]
    sks_raw = f["sks"]
    sks = _decode_sks(sks_raw, key) if sks_raw is not None and sks_raw[0] & 0x80 else None
    return Sense(
        **common,
        sense_key=key,
        asc=f["asc"],
        ascq=f["ascq"],
        valid=bool(f["valid"]),
        information=f["information"],
        command_specific=f["command_specific"],
        filemark=bool(f["filemark"]),
        eom=bool(f["eom"]),
        ili=bool(f["ili"]),
        sdat_ovfl=bool(f["sdat_ovfl"]),
        fru=f["fru"],
        sense_key_specific=sks,
        additional_length=additional,
        truncated=truncated,
        notes=tuple(notes),
    )


def _parse_descriptor(
    data: bytes, common: dict[str, Any], additional: int | None, truncated: bool, notes: list[str]
) -> Sense:
    h = _extract(data, _DESC_HEADER)
    key = h["sense_key"]
    descriptors: list[Descriptor] = []
    off = 8
    while off < len(data):
        end = off + 2 + data[off + 1] if off + 1 < len(data) else len(data) + 1
        if end > len(data):
            notes.append(f"descriptor 0x{data[off]:02x} at byte {off} is cut off")
        descriptors.append(_decode_descriptor(data[off:end], key, end > len(data)))
        off = end
    out: dict[str, Any] = {"valid": False, "filemark": False, "eom": False, "ili": False}
    for d in descriptors:
        _promote(d, key, out)
    return Sense(
        **common,
        sense_key=key,
        asc=h["asc"],
        ascq=h["ascq"],
        sdat_ovfl=bool(h["sdat_ovfl"]),
        descriptors=tuple(descriptors),
        additional_length=additional,
        truncated=truncated,
        notes=tuple(notes),
        **out,
    )


def _promote(d: Descriptor, key: int, out: dict[str, Any]) -> None:
    """Lift a descriptor's common fields to the Sense; the first descriptor to carry one wins."""
    f = d.fields
    if d.type == 0x0D and f.get("information") is not None and not f["valid"]:
        f = {k: v for k, v in f.items() if k != "information"}  # 0Dh: VALID gates information
    if d.type in (0x00, 0x0D) and f.get("information") is not None and "information" not in out:
        out["information"], out["valid"] = f["information"], bool(f["valid"])
    for name in ("command_specific", "fru", "sense_key_specific"):
        if d.type in (0x01, 0x02, 0x03, 0x0D) and f.get(name) is not None and name not in out:
            out[name] = f[name]
    if d.type in (0x04, 0x05, 0x0D):
        for name in ("filemark", "eom", "ili"):
            out[name] = out[name] or bool(f.get(name))

"""Sense data, both ways: ``parse_sense`` (bytes to a ``Sense``) and ``build_sense`` (the reverse).

Fixed (70h/71h) and descriptor (72h/73h) format decode to one ``Sense`` whose common fields
(information, command-specific information, sense-key specific, FRU, filemark/EOM/ILI) are
filled the same way from either, so callers never look at the format. Layouts are tables
(``_FIXED``, ``_DESC_HEADER``, ``DESCRIPTOR_TYPES``); the code walks them. Words follow
``sg_decode_sense`` so a log line reads like the tool engineers already know.

Input is untrusted device output: a short buffer decodes as far as it goes and says so
(``truncated``, ``notes``); only a buffer that is not sense data at all raises ``UsageError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

from .asc import additional_sense_text, asc_text
from .status import ScsiStatus, SenseKey
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
# Fields that read better in hex in to_dict().
_HEX_FIELDS = frozenset(
    {"information", "command_specific", "first_lba", "last_lba", "lba", "partition_id"}
    | {"object_id", "not_initiated_functions", "completed_functions", "response_code"}
    | {"asc", "ascq", "error", "status", "device"}
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


# ------------------------------------------------------------ value types


@dataclass(frozen=True)
class SenseKeySpecific:
    """The three sense-key specific bytes, decoded by what the sense key says they hold.

    ``kind`` is one of ``field_pointer`` (ILLEGAL REQUEST), ``actual_retry_count``
    (RECOVERED/MEDIUM/HARDWARE ERROR), ``progress_indication`` (NO SENSE, NOT READY),
    ``segment_pointer`` (COPY ABORTED), ``unit_attention_queue_overflow`` (UNIT ATTENTION)
    or ``reserved`` (any other key: only ``raw`` is meaningful). Fields a kind does not use
    are None. Only built when SKSV is set: without it the bytes mean nothing.
    """

    kind: str
    raw: bytes
    cd: bool | None = None  # field pointer: True = CDB byte, False = parameter data byte
    sd: bool | None = None  # segment pointer: True = relative to a segment descriptor
    bpv: bool | None = None
    bit_pointer: int | None = None  # as sent; meaningful only when bpv
    field_pointer: int | None = None  # byte number (field or segment pointer)
    retry_count: int | None = None
    progress: int | None = None  # numerator over 65536
    overflow: bool | None = None

    @property
    def fraction(self) -> float | None:
        """Progress as a fraction 0..1 (None unless this is a progress indication)."""
        return None if self.progress is None else self.progress / 65536

    @property
    def percent(self) -> float | None:
        return None if self.progress is None else self.progress * 100 / 65536

    def text(self) -> str:
        """sg3_utils' words, e.g. ``Error in Command: byte 2 bit 0``."""
        bit = f" bit {self.bit_pointer}" if self.bpv else ""
        if self.kind == "field_pointer":
            where = "Command" if self.cd else "Data parameters"
            return f"Error in {where}: byte {self.field_pointer}{bit}"
        if self.kind == "segment_pointer":
            where = "segment descriptor" if self.sd else "parameter list"
            return f"Relative to start of {where}, byte {self.field_pointer}{bit}"
        if self.kind == "actual_retry_count":
            return f"Actual retry count: {self.retry_count}"
        if self.kind == "progress_indication":
            return f"Progress indication: {_percent_text(self.progress or 0)}"
        if self.kind == "unit_attention_queue_overflow":
            return f"Unit attention condition queue: overflow flag is {int(bool(self.overflow))}"
        return f"reserved: {_hex(self.raw)}"

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: _jsonable(f.name, getattr(self, f.name)) for f in fields(self)}
        out = {k: v for k, v in out.items() if v is not None}
        if self.progress is not None:
            out["fraction"] = self.fraction
            out["percent"] = self.percent
        return out


def _decode_sks(raw: bytes, sense_key: int) -> SenseKeySpecific:
    b0, value = raw[0], int.from_bytes(raw[1:3], "big")
    kind = _SKS_KIND.get(sense_key, "reserved")
    bits: dict[str, Any] = {
        "bpv": bool(b0 & 0x08),
        "bit_pointer": b0 & 0x07,
        "field_pointer": value,
    }
    if kind == "field_pointer":
        return SenseKeySpecific(kind, raw, cd=bool(b0 & 0x40), **bits)
    if kind == "segment_pointer":
        return SenseKeySpecific(kind, raw, sd=bool(b0 & 0x20), **bits)
    if kind == "actual_retry_count":
        return SenseKeySpecific(kind, raw, retry_count=value)
    if kind == "progress_indication":
        return SenseKeySpecific(kind, raw, progress=value)
    if kind == "unit_attention_queue_overflow":
        return SenseKeySpecific(kind, raw, overflow=bool(b0 & 0x01))
    return SenseKeySpecific(kind, raw)


class ReferralSegment(NamedTuple):
    """One user data segment of a referral descriptor (SBC-4): LBAs and where to send them."""

    first_lba: int
    last_lba: int
    target_port_groups: tuple[tuple[int, int], ...]  # (asymmetric access state, group)


@dataclass(frozen=True)
class Descriptor:
    """One sense data descriptor: its type, its bytes, and the fields decoded from them.

    ``fields`` holds the values named in ``DESCRIPTOR_TYPES`` (None where the descriptor is
    too short for them) plus the variable parts; they read as attributes too
    (``d.information``). Vendor specific (80h-FFh) and unknown types keep only ``raw``.
    """

    type: int
    raw: bytes
    fields: Mapping[str, Any]
    truncated: bool = False  # shorter than its layout, or cut off by the end of the data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "fields":
            raise AttributeError(name)
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(f"{self.name} descriptor has no field {name!r}") from None

    def __hash__(self) -> int:
        return hash((self.type, self.raw))

    @property
    def name(self) -> str:
        if self.type in DESCRIPTOR_TYPES:
            return DESCRIPTOR_TYPES[self.type][0]
        return "Vendor specific" if self.type >= 0x80 else "Reserved"

    @property
    def vendor_specific(self) -> bool:
        return self.type >= 0x80

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": f"0x{self.type:02x}", "name": self.name}
        out.update({k: _jsonable(k, v) for k, v in self.fields.items() if k != "sks"})
        out["truncated"] = self.truncated
        out["raw"] = _hex(self.raw)
        return out


def _osd_attributes(d: bytes, _key: int) -> dict[str, Any]:
    attrs = tuple(
        (int.from_bytes(d[i : i + 4], "big"), int.from_bytes(d[i + 4 : i + 8], "big"))
        for i in range(8, len(d) - 7, 8)
    )
    return {"attributes": attrs}


def _ata_status(d: bytes, _key: int) -> dict[str, Any]:
    if len(d) < 14:
        return {"count": None, "lba": None}
    if d[2] & 0x01:  # EXTEND: 16-bit count, 48-bit LBA from the interleaved register pairs
        lba_bytes = (d[10], d[8], d[6], d[11], d[9], d[7])
        return {"count": d[4] << 8 | d[5], "lba": int.from_bytes(bytes(lba_bytes), "big")}
    return {"count": d[5], "lba": d[11] << 16 | d[9] << 8 | d[7]}


def _progress(d: bytes, _key: int) -> dict[str, Any]:
    return {"fraction": int.from_bytes(d[6:8], "big") / 65536 if len(d) >= 8 else None}


def _referrals(d: bytes, _key: int) -> dict[str, Any]:
    segments: list[ReferralSegment] = []
    off = 4
    while off + 20 <= len(d):
        groups = d[off + 3]
        end = off + 20 + 4 * groups
        if end > len(d):
            return {"segments": tuple(segments), "segments_truncated": True}
        tpgs = tuple(
            (d[i] & 0x0F, int.from_bytes(d[i + 2 : i + 4], "big")) for i in range(off + 20, end, 4)
        )
        first = int.from_bytes(d[off + 4 : off + 12], "big")
        last = int.from_bytes(d[off + 12 : off + 20], "big")
        segments.append(ReferralSegment(first, last, tpgs))
        off = end
    return {"segments": tuple(segments), "segments_truncated": off < len(d)}


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


def _designation(d: bytes, _key: int) -> dict[str, Any]:
    length = d[7] if len(d) > 7 else 0
    return {"designator": d[8 : 8 + length]}


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
        """Every field, JSON-ready: bytes and codes as hex strings, descriptors as dicts."""
        return {
            "raw": _hex(self.raw),
            "response_code": f"0x{self.response_code:02x}",
            "format": "vendor"
            if self.vendor_format
            else ("descriptor" if self.descriptor_format else "fixed"),
            "descriptor_format": self.descriptor_format,
            "deferred": self.deferred,
            "current": self.current,
            "sense_key": self.sense_key,
            "sense_key_name": self.key_name,
            "sense_key_title": self.key_title,
            "asc": None if self.asc is None else f"0x{self.asc:02x}",
            "ascq": None if self.ascq is None else f"0x{self.ascq:02x}",
            "asc_text": self.asc_text,
            "valid": self.valid,
            "information": _jsonable("information", self.information),
            "command_specific": _jsonable("command_specific", self.command_specific),
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


def _jsonable(name: str, value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return f"0x{value:x}" if name in _HEX_FIELDS else value
    if isinstance(value, (bytes, bytearray)):
        return _hex(bytes(value))
    if isinstance(value, Sense | SenseKeySpecific | Descriptor):
        return value.to_dict()
    if isinstance(value, ReferralSegment):
        return {
            "first_lba": f"0x{value.first_lba:x}",
            "last_lba": f"0x{value.last_lba:x}",
            "target_port_groups": [
                {"state": s, "state_text": _TPG_STATES.get(s, f"unknown: 0x{s:x}"), "group": g}
                for s, g in value.target_port_groups
            ],
        }
    if isinstance(value, float | str):
        return value
    if isinstance(value, tuple | list):
        return [_jsonable(name, v) for v in value]
    return repr(value)


# ------------------------------------------------------- descriptor words


def _hex_block(data: bytes, indent: str = "    ") -> list[str]:
    return [indent + _hex(data[i : i + 24]) for i in range(0, len(data), 24)]


def _describe_descriptor(d: Descriptor, key: int) -> list[str]:
    """One descriptor in sg3_utils' words (``sg_get_sense_descriptors_str``)."""
    f, head = d.fields, "  Descriptor type: "
    short = f"{head}{_DESC_WORDS.get(d.type, '')}   >> descriptor too short"
    if d.type in DESCRIPTOR_TYPES and d.truncated and d.type not in (0x06, 0x07, 0x08):
        return [short, *_hex_block(d.raw[2:])]
    t = d.type
    if t == 0x00:
        valid = "" if f["valid"] else "Valid=0 (-> vendor specific) "
        return [f"{head}Information: {valid}0x{f['information']:016x}"]
    if t == 0x01:
        return [f"{head}Command specific: 0x{f['command_specific']:016x}"]
    if t == 0x02:
        return [f"{head}Sense key specific: " + _sks_words(f, key)]
    if t == 0x03:
        return [f"{head}Field replaceable unit code: 0x{f['fru']:x}"]
    if t == 0x04:
        words = [
            w
            for w, on in (
                ("FILEMARK", f["filemark"]),
                ("End Of Medium (EOM)", f["eom"]),
                ("Incorrect Length Indicator (ILI)", f["ili"]),
            )
            if on
        ]
        return [f"{head}Stream commands: " + "".join(words)]
    if t == 0x05:
        return [
            f"{head}Block commands: Incorrect Length Indicator (ILI) "
            + ("set" if f["ili"] else "clear")
        ]
    if t == 0x09:
        lba = f"0x{f['lba']:012x}" if f["extend"] else f"0x{f['lba']:06x}"
        return [
            f"{head}ATA Status Return: extend={int(f['extend'])} error=0x{f['error']:x}",
            f"        count=0x{f['count']:x} lba={lba} device=0x{f['device']:x} "
            f"status=0x{f['status']:x}",
        ]
    if t == 0x0A:
        return [
            f"{head}Another progress indication: {_percent_text(f['progress'])}",
            f"        [sense_key=0x{f['sense_key']:x} asc,ascq=0x{f['asc']:x},0x{f['ascq']:x}]",
        ]
    if t == 0x0B:
        lines = [
            f"{head}User data segment referral:",
            f"   Not all referrals: {int(f['not_all_referrals'])}",
        ]
        for n, seg in enumerate(f["segments"], 1):
            lines += [
                f"    Descriptor {n}",
                f"      first uds LBA: 0x{seg.first_lba:x}",
                f"      last uds LBA:  0x{seg.last_lba:x}",
            ]
            lines += [
                f"        tpg: {g}  state: {_TPG_STATES.get(s, f'unknown: 0x{s:x}')}"
                for s, g in seg.target_port_groups
            ]
        if f["segments_truncated"]:
            lines.append(f"    Descriptor {len(f['segments']) + 1}")
            lines.append("      truncated descriptor, stop")
        return lines
    if t == 0x0C:
        src = f["sense_data_source"]
        source = (
            "Extended copy command source device"
            if src == 0
            else f"Extended copy command destination device {src - 1}"
            if src <= 7
            else f"unknown [{src}]"
        )
        lines = [
            f"{head}Forwarded sense data",
            f"    FSDT: {'set' if f['fsdt'] else 'clear'}",
            f"    Sense data source: {source}",
            f"    Forwarded status: {ScsiStatus.text(f['status']).title()}",
        ]
        if f["sense_data"]:
            inner = f["sense"].describe() if f["sense"] else "\n".join(_hex_block(f["sense_data"]))
            lines += [" vvvvvvvvvvvvvvvv", *inner.splitlines(), " ^^^^^^^^^^^^^^^^"]
        return lines
    if t == 0x0D:
        lines = [f"{head}Direct-access block device"]
        if f["ili"]:
            lines.append("    ILI (incorrect length indication) set")
        if f["sksv"]:
            lines.append("    Sense key specific: " + _sks_words(f, key))
        lines.append(f"    Field replaceable unit code: 0x{f['fru']:x}")
        if f["valid"]:
            lines.append(f"    Information: 0x{f['information']:016x}")
        lines.append(f"    Command specific: 0x{f['command_specific']:016x}")
        return lines
    if t == 0x0E:
        reason = f["usage_reason"]
        why = _USAGE_REASONS[reason] if reason < len(_USAGE_REASONS) else f"reserved[{reason}]"
        kind, cs, assoc = f["designator_type"], f["code_set"], f["association"]
        desig = f["designator"]
        if kind == 0x0A and cs == 1 and len(desig) == 18 and desig[0] >> 4 == 1:
            u = desig[2:].hex()  # locally assigned UUID, printed the RFC 4122 way
            value = f"Locally assigned UUID: {u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"
        elif cs in (2, 3):
            value = desig.decode("utf-8", "replace")
        else:
            value = "0x" + desig.hex()
        return [
            f"{head}Device designation",
            f"    Usage reason: {why}",
            f"    {_ASSOCIATIONS[assoc] if assoc < 3 else f'Reserved [0x{assoc:x}]'}:",
            f"      designator type: "
            f"{_DESIGNATOR_TYPES[kind] if kind < len(_DESIGNATOR_TYPES) else f'Reserved [0x{kind:x}]'},"
            f"  code set: {_CODE_SETS.get(cs, f'Reserved [0x{cs:x}]')}",
            f"        {value}",
        ]
    if t == 0x0F:
        secs = f["activation_time"]
        return [f"{head}Microcode activation time: " + (f"{secs} seconds" if secs else "unknown")]
    if t in (0x06, 0x07, 0x08):
        return [f"{head}{_DESC_WORDS[t]}", *_hex_block(d.raw[2:])]
    unknown = f"Vendor specific [0x{t:x}]" if t >= 0x80 else f"Unknown [0x{t:x}]"
    return [f"{head}{unknown}", *_hex_block(d.raw[2:])]


_DESC_WORDS = {
    0x00: "Information:",
    0x01: "Command specific:",
    0x02: "Sense key specific:",
    0x03: "Field replaceable unit code:",
    0x04: "Stream commands:",
    0x05: "Block commands:",
    0x06: "OSD object identification",
    0x07: "OSD response integrity check value",
    0x08: "OSD attribute identification",
    0x09: "ATA Status Return:",
    0x0A: "Another progress indication:",
    0x0B: "User data segment referral:",
    0x0C: "Forwarded sense data",
    0x0D: "Direct-access block device",
    0x0E: "Device designation",
    0x0F: "Microcode activation",
}


def _sks_words(f: Mapping[str, Any], key: int) -> str:
    sks: SenseKeySpecific | None = f["sense_key_specific"]
    if sks is None:  # SKSV clear: sg3_utils still decodes; so do we, from the raw bytes
        sks = _decode_sks(f["sks"], key)
    if sks.kind == "field_pointer":
        return f"Field pointer:\n        {sks.text()}"
    if sks.kind == "segment_pointer":
        return f"Segment pointer:\n        {sks.text()}"
    if sks.kind == "unit_attention_queue_overflow":
        return (
            f"Unit attention condition queue:\n        overflow flag is {int(bool(sks.overflow))}"
        )
    if sks.kind == "reserved":
        return f"Sense_key: 0x{key:x} unexpected"
    return sks.text()


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


# ----------------------------------------------------------------- building


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

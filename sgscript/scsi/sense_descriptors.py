"""Sense-key specific bytes and sense data descriptors (types 00h-0Fh): values, decoders, words.

``SenseKeySpecific`` and ``Descriptor`` are what a ``Sense`` (``sense.py``) carries; the
decoders here read one descriptor's variable part, and ``_describe_descriptor`` writes one
in ``sg_decode_sense``'s words. The forwarded sense descriptor (0Ch) nests whole sense
data, so its decoder lives with the parser in ``sense.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

from .sense_tables import (
    _ASSOCIATIONS,
    _CODE_SETS,
    _DESIGNATOR_TYPES,
    _SKS_KIND,
    _TPG_STATES,
    _USAGE_REASONS,
    DESCRIPTOR_TYPES,
    _hex,
    _percent_text,
)
from .status import ScsiStatus

__all__ = ["Descriptor", "ReferralSegment", "SenseKeySpecific"]


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
        out = {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}
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
        out: dict[str, Any] = {"type": self.type, "name": self.name}
        out.update({k: _jsonable(v) for k, v in self.fields.items() if k != "sks"})
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


def _designation(d: bytes, _key: int) -> dict[str, Any]:
    length = d[7] if len(d) > 7 else 0
    return {"designator": d[8 : 8 + length]}


def _jsonable(value: Any) -> Any:
    """A decoded value as JSON has it: numbers stay numbers, bytes become spaced hex."""
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, (bytes, bytearray)):
        return _hex(bytes(value))
    # Sense (a forwarded one), SenseKeySpecific, Descriptor: by their method, since
    # sense.py imports this module and Sense cannot be named here without a cycle.
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, ReferralSegment):
        return {
            "first_lba": value.first_lba,
            "last_lba": value.last_lba,
            "target_port_groups": [
                {"state": s, "state_text": _TPG_STATES.get(s, f"unknown: 0x{s:x}"), "group": g}
                for s, g in value.target_port_groups
            ],
        }
    if isinstance(value, float | str):
        return value
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
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

"""Mode parameter lists (SPC-5 7.5, SBC-4 6.5): MODE SENSE data in, MODE SELECT lists out.

A mode parameter list is a header (4 bytes for the 6-byte commands, 8 for the
10-byte ones), block descriptors (8 bytes, or 16 with LONGLBA), then pages.
Known pages are field tables whose offsets count from the page's first byte,
as SPC and SBC print them. Every page also keeps its body as ``raw`` hex and
the encoder writes the named fields over it, so a page read from a device,
edited, and sent back with MODE SELECT changes only the fields that were
edited: reserved and unknown bits go back as the device reported them, which
is what keeps a device from refusing the list for a "changed" field it does
not let anyone change.

Block descriptors are decoded in the direct-access (SBC) short form, whose
first four bytes are the NUMBER OF LOGICAL BLOCKS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..cdb import F, Layout
from ..errors import FieldValueError
from ..shapes import BOOL, HEX, TEXT, AnyOf, Choice, Items, Record, Shape, integer, record
from ._common import Data, as_bytes, from_hex, overlay, pack, unpack

__all__ = [
    "MODE_PAGES",
    "MODE_PAGE_NAMES",
    "MODE_SELECT6_PARAMETERS",
    "MODE_SELECT10_PARAMETERS",
    "MODE_SENSE6_FIELDS",
    "MODE_SENSE10_FIELDS",
    "decode_mode_page",
    "decode_mode_parameters",
    "decode_mode_select6",
    "decode_mode_select10",
    "decode_mode_sense6",
    "decode_mode_sense10",
    "encode_mode_page",
    "encode_mode_parameters",
    "encode_mode_select6",
    "encode_mode_select10",
    "encode_mode_sense6",
    "encode_mode_sense10",
]

HEADER_6 = Layout(
    "mode parameter header(6)",
    4,
    [
        F("mode_data_length", 0),
        F("medium_type", 1),
        F("device_specific_parameter", 2),
        F("block_descriptor_length", 3),
    ],
)
HEADER_10 = Layout(
    "mode parameter header(10)",
    8,
    [
        F("mode_data_length", 0, 7, 16),
        F("medium_type", 2),
        F("device_specific_parameter", 3),
        F("longlba", 4, 0, 1),
        F("block_descriptor_length", 6, 7, 16),
    ],
)
#: The direct-access DEVICE-SPECIFIC PARAMETER bits (SBC-4 table 226).
_WP, _DPOFUA = 0x80, 0x10

SHORT_BLOCK_DESCRIPTOR = Layout(
    "short LBA mode parameter block descriptor",
    8,
    [F("number_of_logical_blocks", 0, 7, 32), F("logical_block_length", 5, 7, 24)],
)
LONG_BLOCK_DESCRIPTOR = Layout(
    "long LBA mode parameter block descriptor",
    16,
    [F("number_of_logical_blocks", 0, 7, 64), F("logical_block_length", 12, 7, 32)],
)

PAGE_0 = Layout(
    "page_0 header",
    2,
    [F("ps", 0, 7, 1), F("spf", 0, 6, 1), F("page_code", 0, 5, 6), F("page_length", 1)],
)
SUB_PAGE = Layout(
    "sub_page header",
    4,
    [
        F("ps", 0, 7, 1),
        F("spf", 0, 6, 1),
        F("page_code", 0, 5, 6),
        F("subpage_code", 1),
        F("page_length", 2, 7, 16),
    ],
)

_MRIE = {
    "no_reporting": 0,
    "asynchronous_event_reporting": 1,
    "generate_unit_attention": 2,
    "conditionally_generate_recovered_error": 3,
    "unconditionally_generate_recovered_error": 4,
    "generate_no_sense": 5,
    "only_report_on_request": 6,
}

#: (page code, subpage code) -> (name, table). Offsets include the page header.
MODE_PAGES: dict[tuple[int, int], tuple[str, Layout]] = {
    (0x01, 0): (
        "read_write_error_recovery",
        Layout(
            "Read-Write Error Recovery mode page",
            12,
            [
                F("awre", 2, 7, 1),
                F("arre", 2, 6, 1),
                F("tb", 2, 5, 1),
                F("rc", 2, 4, 1),
                F("eer", 2, 3, 1),
                F("per", 2, 2, 1),
                F("dte", 2, 1, 1),
                F("dcr", 2, 0, 1),
                F("read_retry_count", 3),
                F("correction_span", 4),  # obsolete
                F("head_offset_count", 5),  # obsolete
                F("data_strobe_offset_count", 6),  # obsolete
                F("lbpere", 7, 7, 1),
                F("mwr", 7, 6, 2),
                F("write_retry_count", 8),
                F("recovery_time_limit", 10, 7, 16),
            ],
        ),
    ),
    (0x08, 0): (
        "caching",
        Layout(
            "Caching mode page",
            20,
            [
                F("ic", 2, 7, 1),
                F("abpf", 2, 6, 1),
                F("cap", 2, 5, 1),
                F("disc", 2, 4, 1),
                F("size", 2, 3, 1),
                F("wce", 2, 2, 1),
                F("mf", 2, 1, 1),
                F("rcd", 2, 0, 1),
                F("demand_read_retention_priority", 3, 7, 4),
                F("write_retention_priority", 3, 3, 4),
                F("disable_pre_fetch_transfer_length", 4, 7, 16),
                F("minimum_pre_fetch", 6, 7, 16),
                F("maximum_pre_fetch", 8, 7, 16),
                F("maximum_pre_fetch_ceiling", 10, 7, 16),
                F("fsw", 12, 7, 1),
                F("lbcss", 12, 6, 1),
                F("dra", 12, 5, 1),
                F("vendor_specific", 12, 4, 2),
                F("sync_prog", 12, 2, 2),
                F("nv_dis", 12, 0, 1),
                F("number_of_cache_segments", 13),
                F("cache_segment_size", 14, 7, 16),
                F("non_cache_segment_size", 17, 7, 24),  # obsolete
            ],
        ),
    ),
    (0x0A, 0): (
        "control",
        Layout(
            "Control mode page",
            12,
            [
                F("tst", 2, 7, 3),
                F("tmf_only", 2, 4, 1),
                F("dpicz", 2, 3, 1),
                F("d_sense", 2, 2, 1),
                F("gltsd", 2, 1, 1),
                F("rlec", 2, 0, 1),
                F("queue_algorithm_modifier", 3, 7, 4),
                F("nuar", 3, 3, 1),
                F("qerr", 3, 2, 2),
                F("vs", 4, 7, 1),
                F("rac", 4, 6, 1),
                F("ua_intlck_ctrl", 4, 5, 2),
                F("swp", 4, 3, 1),
                F("ato", 5, 7, 1),
                F("tas", 5, 6, 1),
                F("atmpe", 5, 5, 1),
                F("rwwp", 5, 4, 1),
                F("sblp", 5, 3, 1),
                F("autoload_mode", 5, 2, 3),
                F("busy_timeout_period", 8, 7, 16),
                F("extended_self_test_completion_time", 10, 7, 16),
            ],
        ),
    ),
    (0x0A, 1): (
        "control_extension",
        Layout(
            "Control Extension mode page",
            32,
            [
                F("dlc", 4, 3, 1),
                F("tcmos", 4, 2, 1),
                F("scsip", 4, 1, 1),
                F("ialuae", 4, 0, 1),
                F("initial_command_priority", 5, 3, 4),
                F("maximum_sense_data_length", 6),
            ],
        ),
    ),
    (0x1A, 0): (
        "power_condition",
        Layout(
            "Power Condition mode page",
            40,
            [
                F("pm_bg_precedence", 2, 7, 2),
                F("standby_y", 2, 0, 1),
                F("idle_c", 3, 3, 1),
                F("idle_b", 3, 2, 1),
                F("idle_a", 3, 1, 1),
                F("standby_z", 3, 0, 1),
                F("idle_a_condition_timer", 4, 7, 32),
                F("standby_z_condition_timer", 8, 7, 32),
                F("idle_b_condition_timer", 12, 7, 32),
                F("idle_c_condition_timer", 16, 7, 32),
                F("standby_y_condition_timer", 20, 7, 32),
                F("ccf_idle", 39, 7, 2),
                F("ccf_standby", 39, 5, 2),
                F("ccf_stopped", 39, 3, 2),
            ],
        ),
    ),
    (0x1C, 0): (
        "informational_exceptions_control",
        Layout(
            "Informational Exceptions Control mode page",
            12,
            [
                F("perf", 2, 7, 1),
                F("ebf", 2, 5, 1),
                F("ewasc", 2, 4, 1),
                F("dexcpt", 2, 3, 1),
                F("test", 2, 2, 1),
                F("ebackerr", 2, 1, 1),
                F("logerr", 2, 0, 1),
                F("mrie", 3, 3, 4, values=_MRIE),
                F("interval_timer", 4, 7, 32),
                F("report_count", 8, 7, 32),
            ],
        ),
    ),
}

#: Names of the pages kept as raw bytes (and of the decoded ones).
MODE_PAGE_NAMES: dict[tuple[int, int], str] = {
    (0x02, 0): "disconnect_reconnect",
    (0x03, 0): "format_device",
    (0x04, 0): "rigid_disk_geometry",
    (0x07, 0): "verify_error_recovery",
    (0x0A, 2): "application_tag",
    (0x0A, 3): "command_duration_limit_a",
    (0x0A, 4): "command_duration_limit_b",
    (0x0A, 5): "io_advice_hints_grouping",
    (0x0A, 6): "background_operation_control",
    (0x18, 0): "protocol_specific_logical_unit",
    (0x19, 0): "protocol_specific_port",
    (0x1A, 1): "power_consumption",
    (0x1C, 1): "background_control",
    (0x1C, 2): "logical_block_provisioning",
    **{key: name for key, (name, _) in MODE_PAGES.items()},
}


# ---------------------------------------------------------------------- shapes
#
# What the decoders return and the encoders take, from the tables above. A page's
# fields follow from its own page code; MODE SENSE asks for one page, or all (3Fh).

_ALL_PAGES, _ALL_SUBPAGES = 0x3F, 0xFF


def _page_fields(key: tuple[int, int] | None, *, decoded: bool) -> Record:
    """One page: the header, ``raw``, its table's fields (a known page), ``page_name``
    (a decoded page has it; a page to send may name itself by it), what only a decoded
    page has (``truncated``)."""
    extra: dict[str, Shape] = {"page_name": TEXT}
    if decoded:
        extra["truncated"] = BOOL
    head = record("", SUB_PAGE, {"raw": HEX}, extra).fields
    if key is None or key not in MODE_PAGES:
        return record("a mode page without a table", head)
    return record(f"{_page_label(key)} mode page", head, MODE_PAGES[key][1])


def _page_label(key: tuple[int, int]) -> str:
    """``caching (08h)``, ``control_extension (0Ah/01h)``."""
    code = f"{key[0]:02X}h" + (f"/{key[1]:02X}h" if key[1] else "")
    return f"{MODE_PAGES[key][0]} ({code})"


def _any_page(keys: list[tuple[int, int]], *, decoded: bool) -> AnyOf:
    options = {_page_label(key): _page_fields(key, decoded=decoded) for key in keys}
    return AnyOf({**options, "other pages": _page_fields(None, decoded=decoded)})


def _pages_asked_for() -> Choice:
    """The pages MODE SENSE returns, by its PAGE CODE and SUBPAGE CODE. A page without a
    table (a vendor's) is not known before the run: other names are not refused."""
    known = sorted(MODE_PAGES)
    options: dict[tuple[int, int], Shape] = {key: _page_fields(key, decoded=True) for key in known}
    every = _any_page(known, decoded=True)
    options[_ALL_PAGES, 0] = options[_ALL_PAGES, _ALL_SUBPAGES] = every
    for code in sorted({code for code, _ in known}):
        same = [key for key in known if key[0] == code]
        options[code, _ALL_SUBPAGES] = _any_page(same, decoded=True)
    return Choice(
        ("page_code", "subpage_code"),
        options,
        default=Record(
            "a mode page without a table", _page_fields(None, decoded=True).fields, open=True
        ),
    )


def _parameters(header: Layout, *, decoded: bool) -> Record:
    long = header is HEADER_10
    n = 10 if long else 6
    short = record(SHORT_BLOCK_DESCRIPTOR.name, SHORT_BLOCK_DESCRIPTOR)
    descriptor: Shape = (
        AnyOf(
            {
                "short LBA": short,
                "long LBA": record(LONG_BLOCK_DESCRIPTOR.name, LONG_BLOCK_DESCRIPTOR),
            }
        )
        if long
        else short
    )
    pages: Shape = _pages_asked_for() if decoded else _any_page(sorted(MODE_PAGES), decoded=False)
    computed = () if decoded else ("mode_data_length", "block_descriptor_length")
    return record(
        f"MODE SENSE({n}) parameter data" if decoded else f"MODE SELECT({n}) parameter list",
        header,
        {"wp": integer(1), "dpofua": integer(1)},
        {"block_descriptors": Items(descriptor), "mode_pages": Items(pages)},
        {"truncated": BOOL} if decoded else {},
        skip=computed,
    )


#: What ``decode_mode_sense6``/``10`` return.
MODE_SENSE6_FIELDS = _parameters(HEADER_6, decoded=True)
MODE_SENSE10_FIELDS = _parameters(HEADER_10, decoded=True)
#: What ``encode_mode_select6``/``10`` take (MODE DATA LENGTH and BLOCK DESCRIPTOR LENGTH
#: are computed).
MODE_SELECT6_PARAMETERS = _parameters(HEADER_6, decoded=False)
MODE_SELECT10_PARAMETERS = _parameters(HEADER_10, decoded=False)


# ---------------------------------------------------------------------- pages


def decode_mode_page(data: Data, offset: int = 0) -> tuple[dict[str, Any], int]:
    """One mode page at ``offset``: (fields, offset of the next page)."""
    raw = as_bytes(data)
    spf = offset < len(raw) and bool(raw[offset] & 0x40)
    header = SUB_PAGE if spf else PAGE_0
    page = unpack(header, raw, offset)
    if not spf and "page_code" in page:
        page = {**page, "subpage_code": 0}
    length = page.get("page_length")
    if length is None:
        page["truncated"] = True
        return page, len(raw)
    start, end = offset + header.length, offset + header.length + length
    body = raw[start:end]
    key = (page["page_code"], page["subpage_code"])
    if key in MODE_PAGE_NAMES:
        page["page_name"] = MODE_PAGE_NAMES[key]
    known = MODE_PAGES.get(key)
    if known is not None:
        fields = unpack(known[1], raw[offset:end])
        page.update(fields)
    page["raw"] = body.hex()
    if end > len(raw):
        page["truncated"] = True
    return page, end


def encode_mode_page(values: Mapping[str, Any], *, select: bool = False) -> bytes:
    """One mode page from named fields over its ``raw`` body (see the module notes).

    ``page_length`` is kept when given (a device expects its own length back);
    otherwise it is the length of ``raw``, or of the page's table. With
    ``select`` the PS bit is cleared, as MODE SELECT requires.
    """
    if "page_code" not in values and "page_name" in values:  # {page_name: caching, wce: 1}
        named = {name: key for key, (name, _) in MODE_PAGES.items()}
        key = named.get(str(values["page_name"]))
        if key is None:
            raise FieldValueError(
                f"no mode page named {values['page_name']!r} (known: {', '.join(sorted(named))})"
            )
        values = {**values, "page_code": key[0], "subpage_code": key[1]}
    if "page_code" not in values:
        raise FieldValueError("a mode page needs a page_code (or a page_name)")
    page_code = PAGE_0.coerce("page_code", values["page_code"])
    subpage = SUB_PAGE.coerce("subpage_code", values.get("subpage_code") or 0)
    spf = 1 if subpage else PAGE_0.coerce("spf", values.get("spf") or 0)
    header = SUB_PAGE if spf else PAGE_0
    known = MODE_PAGES.get((page_code, subpage))
    base = from_hex(values.get("raw", b""), "raw")
    length = values.get("page_length")
    if length is None:
        length = len(base) if base or known is None else known[1].length - header.length
    limit = 0xFFFF if spf else 0xFF
    if not isinstance(length, int) or not 0 <= length <= limit:
        raise FieldValueError(f"page_length={length!r} does not fit (0..{limit})")
    hdr = pack(
        header,
        values,
        page_code=page_code,
        subpage_code=subpage,
        spf=spf,
        page_length=length,
        **({"ps": 0} if select else {}),
    )
    page = hdr + base[:length].ljust(length, b"\0")
    if known is not None:
        table = known[1]
        whole = overlay(table, page, values)
        page = (whole + page[table.length :])[: len(page)]
    return page


# ---------------------------------------------------------- parameter lists


def decode_mode_parameters(data: Data, *, mode10: bool, select: bool = False) -> dict[str, Any]:
    """A mode parameter list: header, ``block_descriptors``, ``mode_pages``.

    MODE SENSE data ends where MODE DATA LENGTH says; a MODE SELECT list
    (``select``) has that field reserved, so it runs to the end of ``data``.
    """
    raw = as_bytes(data)
    if not raw:
        return {}
    header = HEADER_10 if mode10 else HEADER_6
    out = unpack(header, raw)
    if "device_specific_parameter" in out:
        dsp = out["device_specific_parameter"]
        out["wp"] = int(bool(dsp & _WP))
        out["dpofua"] = int(bool(dsp & _DPOFUA))
    mdl = out.get("mode_data_length")
    total = len(raw) if mdl is None or select else mdl + (2 if mode10 else 1)
    truncated = total > len(raw) or "block_descriptor_length" not in out
    raw = raw[:total]
    bdl = out.get("block_descriptor_length", 0)
    size = 16 if out.get("longlba") else 8
    layout = LONG_BLOCK_DESCRIPTOR if size == 16 else SHORT_BLOCK_DESCRIPTOR
    start = header.length
    end_bd = min(start + bdl, len(raw))
    out["block_descriptors"] = [
        layout.decode(raw, k) for k in range(start, end_bd - size + 1, size)
    ]
    pages = []
    offset = start + bdl
    while offset < len(raw):
        page, offset = decode_mode_page(raw, offset)
        pages.append(page)
        truncated = truncated or page.get("truncated", False)
    out["mode_pages"] = pages
    if truncated and raw:
        out["truncated"] = True
    return out


def decode_mode_sense6(data: Data) -> dict[str, Any]:
    """MODE SENSE(6) data."""
    return decode_mode_parameters(data, mode10=False)


def decode_mode_sense10(data: Data) -> dict[str, Any]:
    """MODE SENSE(10) data."""
    return decode_mode_parameters(data, mode10=True)


def decode_mode_select6(data: Data) -> dict[str, Any]:
    """A MODE SELECT(6) parameter list (what a simulated device receives)."""
    return decode_mode_parameters(data, mode10=False, select=True)


def decode_mode_select10(data: Data) -> dict[str, Any]:
    """A MODE SELECT(10) parameter list (what a simulated device receives)."""
    return decode_mode_parameters(data, mode10=True, select=True)


def encode_mode_parameters(
    values: Mapping[str, Any], *, mode10: bool, select: bool = False, disk: bool = True
) -> bytes:
    """A mode parameter list from a header dict, ``block_descriptors`` and ``mode_pages``.

    For MODE SENSE data (``select=False``) MODE DATA LENGTH is computed. For a
    MODE SELECT list it is zero (reserved there), every page's PS bit is
    cleared, and for a direct-access device (``disk``) the whole
    DEVICE-SPECIFIC PARAMETER is zeroed, as SBC-4 reserves it for MODE
    SELECT. ``wp`` and ``dpofua`` given as fields win over the byte.
    """
    header = HEADER_10 if mode10 else HEADER_6
    longlba = bool(values.get("longlba")) and mode10
    if values.get("longlba") and not mode10:
        raise FieldValueError("long LBA block descriptors need the 10-byte mode commands")
    layout = LONG_BLOCK_DESCRIPTOR if longlba else SHORT_BLOCK_DESCRIPTOR
    descriptors = b"".join(pack(layout, d) for d in values.get("block_descriptors", ()))
    pages = b"".join(encode_mode_page(p, select=select) for p in values.get("mode_pages", ()))
    dsp = header.coerce("device_specific_parameter", values.get("device_specific_parameter") or 0)
    for name, bit in (("wp", _WP), ("dpofua", _DPOFUA)):
        if values.get(name) is not None:
            dsp = dsp | bit if values[name] else dsp & ~bit
    if select and disk:
        dsp = 0
    total = header.length + len(descriptors) + len(pages)
    mdl = 0 if select else total - (2 if mode10 else 1)
    if total > (0xFFFF + 2 if mode10 else 0xFF + 1) or len(descriptors) > 0xFFFF:
        raise FieldValueError(f"mode parameter list of {total} bytes is too long")
    forced = {
        "mode_data_length": mdl,
        "device_specific_parameter": dsp,
        "block_descriptor_length": len(descriptors),
    }
    if mode10:
        forced["longlba"] = int(longlba)
    return pack(header, values, **forced) + descriptors + pages


def encode_mode_sense6(values: Mapping[str, Any]) -> bytes:
    """MODE SENSE(6) data (for a simulated device)."""
    return encode_mode_parameters(values, mode10=False)


def encode_mode_sense10(values: Mapping[str, Any]) -> bytes:
    """MODE SENSE(10) data (for a simulated device)."""
    return encode_mode_parameters(values, mode10=True)


def encode_mode_select6(values: Mapping[str, Any], *, disk: bool = True) -> bytes:
    """A MODE SELECT(6) parameter list, e.g. from edited MODE SENSE(6) data."""
    return encode_mode_parameters(values, mode10=False, select=True, disk=disk)


def encode_mode_select10(values: Mapping[str, Any], *, disk: bool = True) -> bytes:
    """A MODE SELECT(10) parameter list, e.g. from edited MODE SENSE(10) data."""
    return encode_mode_parameters(values, mode10=True, select=True, disk=disk)

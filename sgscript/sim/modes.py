"""Mode pages of the simulated disk: MODE SENSE(6)/(10), MODE SELECT(6)/(10) (SPC-5 6.13-6.16, 7.5).

Four pages, each with default, changeable, current and saved values:

| page | default | changeable | effect of the current value |
|---|---|---|---|
| 01h read-write error recovery | AWRE, ARRE, 11 read / 11 write retries | AWRE ARRE TB PER DTE DCR, retry counts, recovery time limit | none (no real medium) |
| 08h caching | WCE=1 | WCE RCD DRA | none beyond MODE SENSE (the cache is write-through underneath) |
| 0Ah control | D_SENSE from ``descriptor_sense``, QAM 1, TST 000b | D_SENSE SWP GLTSD TAS | D_SENSE picks the sense format; SWP write-protects the medium; TAS: commands another nexus's task management aborts end TASK ABORTED (``sim/tasks.py``) |
| 1Ch informational exceptions | DEXCPT=1 | PERF EWASC DEXCPT TEST LOGERR MRIE, interval timer, report count | TEST=1 with MRIE 6 and DEXCPT=0: REQUEST SENSE reports 5Dh/FFh |

Every page is savable (PS=1).  MODE SELECT checks the whole list before it
changes anything: a changed bit that is not changeable, an unknown page or a
wrong page length is INVALID FIELD IN PARAMETER LIST with the parameter
pointer on it; a list that stops inside a header, descriptor or page is a
PARAMETER LIST LENGTH ERROR.  Block descriptors may only restate the
capacity (or 0) and the block length: changing the geometry is refused.
When current values change, every other I_T nexus gets MODE PARAMETERS
CHANGED; SP=1 also saves every page.  A logical unit reset (through the
reset hook of ``lu.py``) brings the current values back to the saved ones.
"""

from __future__ import annotations

from typing import Any

from ..scsi.pages import encode_mode_page, encode_mode_parameters
from ..scsi.pages.mode import MODE_PAGES
from .core import C, Fail, Request
from .lu import LogicalUnit, handles

__all__ = ["CHANGEABLE", "DEFAULTS", "ModeState", "mode_state"]

Key = tuple[int, int]

#: Default values of the disk's pages, by field name (SPC-5 and SBC-4 tables).
DEFAULTS: dict[Key, dict[str, int]] = {
    (0x01, 0): {"awre": 1, "arre": 1, "read_retry_count": 11, "write_retry_count": 11},
    (0x08, 0): {"wce": 1},
    (0x0A, 0): {
        "queue_algorithm_modifier": 1,  # unrestricted reordering
        "busy_timeout_period": 0xFFFF,  # unlimited
        "extended_self_test_completion_time": 60,
    },
    (0x1C, 0): {"dexcpt": 1},
}

#: The fields MODE SELECT may change, per page.
CHANGEABLE: dict[Key, tuple[str, ...]] = {
    (0x01, 0): ("awre", "arre", "tb", "per", "dte", "dcr", "read_retry_count",
                "write_retry_count", "recovery_time_limit"),
    (0x08, 0): ("wce", "rcd", "dra"),
    (0x0A, 0): ("d_sense", "swp", "gltsd", "tas"),
    (0x1C, 0): ("perf", "ewasc", "dexcpt", "test", "logerr", "mrie", "interval_timer",
                "report_count"),
}  # fmt: skip

PAGES: tuple[Key, ...] = tuple(sorted(DEFAULTS))

#: MODE SENSE PC values.
CURRENT, CHANGEABLE_VALUES, DEFAULT, SAVED = range(4)

_WP, _DPOFUA = 0x80, 0x10


def _page(key: Key, values: dict[str, int]) -> bytes:
    return encode_mode_page({"page_code": key[0], "subpage_code": key[1], "ps": 1, **values})


def _mask(key: Key) -> bytes:
    layout = MODE_PAGES[key][1]
    return _page(key, {n: layout.by_name[n].field.maximum for n in CHANGEABLE[key]})


class ModeState:
    """The four sets of values of one logical unit's mode pages (whole pages, header included)."""

    def __init__(self, lu: LogicalUnit) -> None:
        defaults = {key: dict(values) for key, values in DEFAULTS.items()}
        defaults[(0x0A, 0)]["d_sense"] = int(lu.config.descriptor_sense)
        self.default: dict[Key, bytes] = {key: _page(key, v) for key, v in defaults.items()}
        self.changeable: dict[Key, bytes] = {key: _mask(key) for key in PAGES}
        self.saved: dict[Key, bytes] = dict(self.default)
        self.current: dict[Key, bytes] = dict(self.default)

    def values(self, pc: int) -> dict[Key, bytes]:
        return (self.current, self.changeable, self.default, self.saved)[pc]

    def on_reset(self, lu: LogicalUnit) -> None:
        """A logical unit reset: the current values become the saved ones (SPC-5 7.5.1)."""
        self.current = dict(self.saved)
        _apply(lu, self)


def mode_state(lu: LogicalUnit) -> ModeState:
    state = lu.state.get("mode")
    if state is None:
        state = lu.state["mode"] = ModeState(lu)
    return state


def _field(page: bytes, key: Key, name: str) -> int:
    return MODE_PAGES[key][1].decode(page)[name]


def _apply(lu: LogicalUnit, state: ModeState) -> None:
    """Make the current values take effect on the rest of the model."""
    control = state.current[(0x0A, 0)]
    lu.state["d_sense"] = bool(_field(control, (0x0A, 0), "d_sense"))
    lu.write_protect = lu.config.write_protect or bool(_field(control, (0x0A, 0), "swp"))
    lu.state["tas"] = bool(_field(control, (0x0A, 0), "tas"))
    ie = MODE_PAGES[(0x1C, 0)][1].decode(state.current[(0x1C, 0)])
    lu.state["ie_test"] = bool(ie["test"] and ie["mrie"] == 6 and not ie["dexcpt"])
    lu.state["wce"] = bool(_field(state.current[(0x08, 0)], (0x08, 0), "wce"))


# --------------------------------------------------------------- MODE SENSE


def _selected(req: Request) -> list[Key]:
    page, sub = req.f("page_code"), req.f("subpage_code")
    if page == 0x3F:
        if sub not in (0x00, 0xFF):
            raise req.invalid("subpage_code")
        return list(PAGES)  # only subpage 00h pages exist, so 00h and FFh agree
    keys = [key for key in PAGES if key[0] == page]
    if not keys:
        raise req.invalid("page_code")
    if sub == 0xFF:
        return keys
    if (page, sub) not in DEFAULTS:
        raise req.invalid("subpage_code")
    return [(page, sub)]


def _mode_sense(lu: LogicalUnit, req: Request, *, ten: bool) -> bytes:
    pc = req.f("pc")
    keys = _selected(req)
    state = mode_state(lu)
    pages = state.values(pc)
    values: dict[str, Any] = {
        "mode_pages": [
            {"page_code": k[0], "subpage_code": k[1], "ps": 1, "raw": pages[k][2:]} for k in keys
        ],
        "device_specific_parameter": 0
        if pc == CHANGEABLE_VALUES
        else (_DPOFUA if lu.config.dpofua else 0) | (_WP if lu.write_protect else 0),
    }
    if not req.f("dbd"):
        long = ten and bool(req.f("llbaa"))
        if pc == CHANGEABLE_VALUES:  # the geometry is not changeable
            descriptor = {"number_of_logical_blocks": 0, "logical_block_length": 0}
        else:
            count = lu.blocks if long else min(lu.blocks, 0xFFFFFFFF)
            descriptor = {"number_of_logical_blocks": count, "logical_block_length": lu.block_size}
        values["block_descriptors"] = [descriptor]
        values["longlba"] = int(long)
    return encode_mode_parameters(values, mode10=ten)


@handles("ModeSense6")
def mode_sense6(lu: LogicalUnit, req: Request) -> bytes:
    return _mode_sense(lu, req, ten=False)


@handles("ModeSense10")
def mode_sense10(lu: LogicalUnit, req: Request) -> bytes:
    return _mode_sense(lu, req, ten=True)


# -------------------------------------------------------------- MODE SELECT


def _bad(byte: int, bit: int | None = None) -> Fail:
    return Fail(C.INVALID_FIELD_IN_PARAMETER_LIST, param_field=(byte, bit))


def _short() -> Fail:
    return Fail(C.PARAMETER_LIST_LENGTH_ERROR)


def _check_descriptors(lu: LogicalUnit, data: bytes, start: int, length: int, long: bool) -> None:
    """Block descriptors may restate the geometry (or give 0 blocks), never change it."""
    size = 16 if long else 8
    count_bytes, bl_offset, bl_bytes = (8, 12, 4) if long else (4, 5, 3)
    for off in range(start, start + length, size):
        count = int.from_bytes(data[off : off + count_bytes], "big")
        if count not in (0, lu.blocks, min(lu.blocks, 0xFFFFFFFF)):
            raise _bad(off)
        if (
            int.from_bytes(data[off + bl_offset : off + bl_offset + bl_bytes], "big")
            != lu.block_size
        ):
            raise _bad(off + bl_offset)


def _parse_pages(state: ModeState, data: bytes, offset: int) -> dict[Key, bytes]:
    """The pages of a MODE SELECT list, checked against the changeable masks."""
    new: dict[Key, bytes] = {}
    end = len(data)
    while offset < end:
        if end - offset < 2:
            raise _short()
        spf = bool(data[offset] & 0x40)
        page = data[offset] & 0x3F
        if spf:
            if end - offset < 4:
                raise _short()
            sub, plen, hsize = (
                data[offset + 1],
                int.from_bytes(data[offset + 2 : offset + 4], "big"),
                4,
            )
        else:
            sub, plen, hsize = 0, data[offset + 1], 2
        key = (page, sub)
        known = any(k[0] == page for k in PAGES)
        if not known:
            raise _bad(offset, 5)  # PAGE CODE
        if key not in state.current:
            raise _bad(offset + 1)  # SUBPAGE CODE
        if spf:
            raise _bad(offset, 6)  # SPF: a subpage 00h page is in page_0 format
        current = state.current[key]
        if plen != len(current) - 2:
            raise _bad(offset + 1)
        if offset + hsize + plen > end:
            raise _short()
        body = data[offset + hsize : offset + hsize + plen]
        mask = state.changeable[key]
        for i, (got, have, may) in enumerate(zip(body, current[2:], mask[2:], strict=True)):
            wrong = (got ^ have) & ~may
            if wrong:
                raise _bad(offset + hsize + i, wrong.bit_length() - 1)
        new[key] = current[:2] + body
        offset += hsize + plen
    return new


def _mode_select(lu: LogicalUnit, req: Request, *, ten: bool) -> None:
    state = mode_state(lu)
    length = req.f("parameter_list_length")
    if req.f("rtd"):
        if length:
            raise req.invalid("parameter_list_length")
        new = dict(state.default)
    elif length == 0:
        new = {}
    else:
        if not req.f("pf"):
            raise req.invalid("pf")  # only SPC-format pages exist here
        data = req.data_out[:length]
        hlen = 8 if ten else 4
        if len(data) < length or length < hlen:
            raise _short()
        if data[2 if ten else 1]:
            raise _bad(2 if ten else 1)  # MEDIUM TYPE: 00h for a disk
        long = ten and bool(data[4] & 0x01)
        bdl = int.from_bytes(data[6:8], "big") if ten else data[3]
        if bdl % (16 if long else 8):
            raise _bad(6 if ten else 3)
        if hlen + bdl > length:
            raise _short()
        _check_descriptors(lu, data, hlen, bdl, long)
        new = _parse_pages(state, data, hlen + bdl)
    merged = {**state.current, **new}
    changed = merged != state.current
    state.current = merged
    if req.f("sp"):
        state.saved = dict(merged)
    if changed:
        _apply(lu, state)
        lu.unit_attention(C.MODE_PARAMETERS_CHANGED, exclude=req.nexus)


@handles("ModeSelect6")
def mode_select6(lu: LogicalUnit, req: Request) -> None:
    _mode_select(lu, req, ten=False)


@handles("ModeSelect10")
def mode_select10(lu: LogicalUnit, req: Request) -> None:
    _mode_select(lu, req, ten=True)

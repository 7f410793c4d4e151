"""Log pages of the simulated disk: LOG SENSE and LOG SELECT (SPC-5 6.8, 6.9, 7.3; SBC-4 6.4).

| page | parameters |
|---|---|
| 00h supported log pages (subpage FFh: pages and subpages) | the list |
| 02h write / 03h read error counters | 0000h..0006h; TOTAL BYTES PROCESSED (0005h) counts what was written / read |
| 0Ch logical block provisioning (thin disks) | 0001h available, 0002h used LBA mapping resources (blocks) |
| 0Dh temperature | 0000h 38 C, 0001h reference 65 C |
| 10h self-test results | 0001h..0014h, the self-tests SEND DIAGNOSTIC ran, newest first |
| 19h general statistics and performance | 0001h: read and write commands, blocks received and transmitted |
| 2Fh informational exceptions | 0000h: 5Dh/FFh while the mode page 1Ch test is on, else 00h/00h; temperature |

Only cumulative values (PC 01b) are live; threshold and default pages carry
the same parameters with zero values.  Nothing is savable (DS=1; SP=1 is
INVALID FIELD IN CDB).  LOG SELECT with PCR=1, or with no parameter list
for cumulative values, resets the counters; a parameter list may name the
disk's pages but may not set a parameter (INVALID FIELD IN PARAMETER LIST
at that parameter).  The counters are kept by the READ/WRITE handlers in a
``Stats`` object, cheap enough for the hot path.
"""

from __future__ import annotations

from collections.abc import Callable

from .core import C, Fail, Request
from .lu import LogicalUnit, handles

__all__ = ["LOG_PAGES", "Stats", "stats"]


class Stats:
    """What the medium-access handlers count (LOG SENSE pages 02h, 03h, 19h)."""

    __slots__ = ("blocks_read", "blocks_written", "reads", "writes")

    def __init__(self) -> None:
        self.reads = self.writes = self.blocks_read = self.blocks_written = 0


def stats(lu: LogicalUnit) -> Stats:
    st = lu.state.get("stats")
    if st is None:
        st = lu.state["stats"] = Stats()
    return st


TEMPERATURE, REFERENCE_TEMPERATURE = 38, 65

#: Parameter control byte: FORMAT AND LINKING 00b (bounded counter) or 11b (binary list).
_COUNTER, _BINARY = 0x00, 0x03

Param = tuple[int, int, bytes]  # parameter code, control byte, value


def _param(code: int, control: int, value: bytes) -> bytes:
    return code.to_bytes(2, "big") + bytes([control, len(value)]) + value


def _u64(n: int) -> bytes:
    return n.to_bytes(8, "big")


def _error_counters(lu: LogicalUnit, write: bool) -> list[Param]:
    st = stats(lu)
    processed = (st.blocks_written if write else st.blocks_read) * lu.block_size
    return [(code, _COUNTER, _u64(processed if code == 5 else 0)) for code in range(7)]


def _provisioning(lu: LogicalUnit) -> list[Param]:
    used = lu.storage.mapped_count()
    free = lu.blocks - used
    scope = b"\x01\x00\x00\x00"  # SCOPE 01b: dedicated to this logical unit
    return [
        (0x0001, _BINARY, min(free, 0xFFFFFFFF).to_bytes(4, "big") + scope),
        (0x0002, _BINARY, min(used, 0xFFFFFFFF).to_bytes(4, "big") + scope),
    ]


def _temperature(lu: LogicalUnit) -> list[Param]:
    return [
        (0x0000, _BINARY, bytes([0, TEMPERATURE])),
        (0x0001, _BINARY, bytes([0, REFERENCE_TEMPERATURE])),
    ]


def _self_tests(lu: LogicalUnit) -> list[Param]:
    done: list[tuple[int, int]] = lu.state.get("self_tests", [])
    out = []
    for k in range(20):
        value = bytearray(16)
        if k < len(done):
            code, number = done[k]
            value[0] = code << 5  # SELF-TEST RESULTS 0h: completed without error
            value[1] = number & 0xFF
            value[4:12] = b"\xff" * 8  # ADDRESS OF FIRST FAILURE: none
        out.append((k + 1, _BINARY, bytes(value)))
    return out


def _statistics(lu: LogicalUnit) -> list[Param]:
    st = stats(lu)
    value = _u64(st.reads) + _u64(st.writes) + _u64(st.blocks_written) + _u64(st.blocks_read)
    return [(0x0001, _BINARY, value + bytes(32))]


def _informational_exceptions(lu: LogicalUnit) -> list[Param]:
    asc, ascq = (0x5D, 0xFF) if lu.state.get("ie_test") else (0, 0)
    return [(0x0000, _BINARY, bytes([asc, ascq, TEMPERATURE]))]


#: Page code -> parameters (subpage 00h only), in page order.
LOG_PAGES: dict[int, Callable[[LogicalUnit], list[Param]]] = {
    0x02: lambda lu: _error_counters(lu, write=True),
    0x03: lambda lu: _error_counters(lu, write=False),
    0x0C: _provisioning,
    0x0D: _temperature,
    0x10: _self_tests,
    0x19: _statistics,
    0x2F: _informational_exceptions,
}
#: Pages whose counters LOG SELECT resets.
COUNTER_PAGES = frozenset({0x02, 0x03, 0x19})


def _pages(lu: LogicalUnit) -> list[int]:
    return [code for code in LOG_PAGES if code != 0x0C or lu.config.thin]


def _page(code: int, body: bytes, subpage: int = 0) -> bytes:
    head = (0x80 | (0x40 if subpage else 0) | code).to_bytes(1, "big")  # DS=1: not savable
    return head + bytes([subpage]) + len(body).to_bytes(2, "big") + body


@handles("LogSense")
def log_sense(lu: LogicalUnit, req: Request) -> bytes:
    if req.f("sp"):
        raise req.invalid("sp")  # log parameters are not savable
    if req.f("ppc"):
        raise req.invalid("ppc")  # obsolete
    code, sub = req.f("page_code"), req.f("subpage_code")
    pages = _pages(lu)
    if code == 0x00:
        if sub == 0x00:
            return _page(0, bytes([0, *pages]))
        if sub == 0xFF:
            pairs = [(0x00, 0x00), (0x00, 0xFF), *((p, 0) for p in pages)]
            return _page(0, b"".join(bytes(p) for p in pairs), subpage=0xFF)
        raise req.invalid("subpage_code")
    if code not in pages:
        raise req.invalid("page_code")
    if sub:
        raise req.invalid("subpage_code")
    params = LOG_PAGES[code](lu)
    pointer = req.f("parameter_pointer")
    if pointer > params[-1][0]:
        raise req.invalid("parameter_pointer")
    live = req.f("pc") == 1
    body = b"".join(
        _param(p, control, value if live else bytes(len(value)))
        for p, control, value in params
        if p >= pointer
    )
    return _page(code, body)


def _reset(lu: LogicalUnit) -> None:
    lu.state["stats"] = Stats()


@handles("LogSelect")
def log_select(lu: LogicalUnit, req: Request) -> None:
    if req.f("sp"):
        raise req.invalid("sp")
    length = req.f("parameter_list_length")
    code, sub = req.f("page_code"), req.f("subpage_code")
    if req.f("pcr"):
        if length:
            raise req.invalid("parameter_list_length")
        _reset(lu)
        return None
    pages = _pages(lu)
    if not length:
        if code and code not in pages:
            raise req.invalid("page_code")
        if sub:
            raise req.invalid("subpage_code")
        if req.f("pc") in (1, 3) and (code == 0 or code in COUNTER_PAGES):
            _reset(lu)
        return None
    if code:
        raise req.invalid("page_code")  # with a parameter list the pages name themselves
    if sub:
        raise req.invalid("subpage_code")
    data = req.data_out[:length]
    if len(data) < length:
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    offset = 0
    while offset < len(data):
        if len(data) - offset < 4:
            raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
        if data[offset] & 0x3F not in pages or data[offset + 1]:
            raise Fail(C.INVALID_FIELD_IN_PARAMETER_LIST, param_field=(offset, 5))
        page_length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        if offset + 4 + page_length > len(data):
            raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
        if page_length:  # no parameter of these pages is settable
            raise Fail(C.INVALID_FIELD_IN_PARAMETER_LIST, param_field=(offset + 4, None))
        offset += 4
    return None

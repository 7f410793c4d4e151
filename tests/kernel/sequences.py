"""Scripted command sequences that hold the simulated disk to real targets, as data.

One sequence, run in order against ``sim:`` and against a real device, gives
one ``Answer`` per step: status, sense key, ASC/ASCQ and a short view of the
data-in.  Each step also carries the answer the standards require (``expect``,
``want``), so the same tables serve three tests:

- ``tests/test_sim_sequences.py``: ``sim:`` alone gives the standard's answers
  (the normal unit-test run, no kernel);
- ``tests/kernel/test_differential.py``: ``sim:`` and scsi_debug / QEMU's
  scsi-hd give the same answers, except where a listed difference says why;
- ``tests/kernel/test_two_initiators.py``: the same for reservations, over two
  I_T nexuses (two ``sim:`` channels; two iSCSI sessions to tgtd).

A listed difference is ``Difference(target, step, answer, reason)``: the real
target answers ``answer`` there, for ``reason``.  ``compare`` reports steps
that differ without being listed, and listed ones that no longer differ, so
the list stays true.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sgscript import Channel
from sgscript.scsi.catalog import lookup
from sgscript.scsi.cdb import Command, Direction
from sgscript.scsi.pages import (
    decode_mode_sense6,
    decode_read_capacity10,
    decode_read_capacity16,
    decode_read_keys,
    decode_read_reservation,
    decode_report_luns,
    decode_standard_inquiry,
    encode_pr_out_parameters,
    encode_unmap_parameters,
)
from sgscript.scsi.sense import parse_sense
from sgscript.scsi.status import ScsiStatus, SenseKey
from sgscript.transport.base import Io
from sgscript.transport.linux.codes import HostStatus

__all__ = [
    "BLOCKS",
    "BLOCK_SIZE",
    "DIFF_STEPS",
    "LAST_LBA",
    "PR_STEPS",
    "SIM_DIFF",
    "SIM_PR",
    "Answer",
    "Difference",
    "RawCdb",
    "Step",
    "clear_unit_attentions",
    "compare",
    "run_steps",
    "table",
    "unmet",
]

#: Both lane disks, the tgtd LUN and the sim targets: 64 MiB of 512-byte blocks.
BLOCKS = 131072
BLOCK_SIZE = 512
LAST_LBA = BLOCKS - 1
SIM_DIFF = f"sim:diff?blocks={BLOCKS}&block_size={BLOCK_SIZE}"
SIM_PR = f"sim:pr?blocks={BLOCKS}&block_size={BLOCK_SIZE}"

#: Where the differential writes: away from the blocks the other lane tests use (0..255).
AREA = 8192


# ----------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Answer:
    """What a target answered to one step, reduced to what the standards fix."""

    status: str  # ScsiStatus name, or "host DID_..." / "error ..." when it never got one
    sense: tuple[str, int, int] | None = None  # sense key name, ASC, ASCQ
    data: Any = None  # the step's view of the data-in (None: not looked at)

    def __str__(self) -> str:
        text = self.status
        if self.sense is not None:
            key, asc, ascq = self.sense
            text += f" {key} {asc:02X}h/{ascq:02X}h"
        if self.data is not None:
            text += f" data={self.data}"
        return text


def GOOD(data: Any = None) -> Answer:
    return Answer("GOOD", None, data)


def CHECK(key: str, asc: int, ascq: int = 0) -> Answer:
    return Answer("CHECK_CONDITION", (key, asc, ascq))


CONFLICT = Answer("RESERVATION_CONFLICT")
#: The standard's answers by the names SPC-5 / SBC-4 give them.
INVALID_OPCODE = CHECK("ILLEGAL_REQUEST", 0x20)
LBA_OUT_OF_RANGE = CHECK("ILLEGAL_REQUEST", 0x21)
INVALID_FIELD_IN_CDB = CHECK("ILLEGAL_REQUEST", 0x24)
NOT_READY_INIT_REQUIRED = CHECK("NOT_READY", 0x04, 0x02)
MISCOMPARE = CHECK("MISCOMPARE", 0x1D)
RESERVATIONS_PREEMPTED = CHECK("UNIT_ATTENTION", 0x2A, 0x03)
RESERVATIONS_RELEASED = CHECK("UNIT_ATTENTION", 0x2A, 0x04)
REGISTRATIONS_PREEMPTED = CHECK("UNIT_ATTENTION", 0x2A, 0x05)


def answer_of(io: Io, view: Callable[[bytes], Any] | None) -> Answer:
    if io.os_error is not None:
        return Answer(f"error {io.os_error.strerror or io.os_error}")
    if io.timed_out:
        return Answer("timed out")
    if io.host_status:
        return Answer(f"host {HostStatus(io.host_status).name}")
    try:
        status = ScsiStatus(io.status).name
    except ValueError:
        status = f"status {io.status:#04x}"
    sense = io.sense
    if status == "CHECK_CONDITION" and sense is not None and sense.sense_key is not None:
        return Answer(status, (SenseKey(sense.sense_key).name, sense.asc or 0, sense.ascq or 0))
    if status == "GOOD" and view is not None:
        return Answer(status, None, view(io.data))
    return Answer(status)


# ------------------------------------------------------------------- data views


def blocks(data: bytes) -> str:
    """Block data in a line: zeros, or a digest that equal data shares."""
    if not data.strip(b"\0"):
        return f"zeros({len(data)})"
    return f"sha256:{hashlib.sha256(data).hexdigest()[:12]}({len(data)})"


def pattern(lba: int, count: int, tag: bytes) -> bytes:
    """Each block holds its own LBA then ``tag``: a misplaced block cannot pass for another."""
    out = bytearray()
    for n in range(lba, lba + count):
        block = n.to_bytes(8, "big") + tag * (BLOCK_SIZE // len(tag))
        out += block[:BLOCK_SIZE]
    return bytes(out)


def inquiry_view(data: bytes) -> tuple[int, ...]:
    """The standard INQUIRY fields that every direct-access disk must report alike."""
    f = decode_standard_inquiry(data)
    return tuple(
        f[k]
        for k in ("peripheral_qualifier", "peripheral_device_type", "rmb", "response_data_format")
    )


def vpd_list_view(data: bytes) -> tuple[int, bool, bool]:
    """Supported VPD pages: the page code echoed, and the two pages SPC-5 makes mandatory."""
    pages = set(data[4 : 4 + int.from_bytes(data[2:4], "big")])
    return data[1], 0x00 in pages, 0x83 in pages


def luns_view(data: bytes) -> tuple[int, ...]:
    return tuple(sorted(int(lun["lun"]) for lun in decode_report_luns(data)["luns"]))


def capacity10_view(data: bytes) -> tuple[int, int]:
    f = decode_read_capacity10(data)
    return f["returned_logical_block_address"], f["logical_block_length_in_bytes"]


def capacity16_view(data: bytes) -> tuple[int, ...]:
    f = decode_read_capacity16(data)
    return tuple(
        f[k]
        for k in (
            "returned_logical_block_address",
            "logical_block_length_in_bytes",
            "prot_en",
            "logical_blocks_per_physical_block_exponent",
            "lbpme",
            "lbprz",
        )
    )


def sense_data_view(data: bytes) -> tuple[str, int, int] | str:
    """REQUEST SENSE parameter data: the sense key and ASC/ASCQ it reports."""
    if not data:
        return "none"
    s = parse_sense(data)
    return SenseKey(s.sense_key or 0).name, s.asc or 0, s.ascq or 0


def caching_page_view(data: bytes) -> tuple[int, int] | str:
    """MODE SENSE(6) for page 08h: which page came back, and its length (12h, SBC-4)."""
    pages = decode_mode_sense6(data)["mode_pages"]
    if len(pages) != 1:
        return f"{len(pages)} pages"
    return pages[0]["page_code"], pages[0]["page_length"]


def keys_view(data: bytes) -> tuple[str, ...]:
    """READ KEYS: the registered keys, in any order (the standard fixes none)."""
    return tuple(sorted(f"{k:#x}" for k in decode_read_keys(data)["reservation_keys"]))


def reservation_view(data: bytes) -> tuple[str, int] | str:
    """READ RESERVATION: the holder's key and the type, or "none"."""
    f = decode_read_reservation(data)
    if not f.get("additional_length"):
        return "none"
    return f"{f['reservation_key']:#x}", f["type"]


# ------------------------------------------------------------------------- steps


class RawCdb(Command, register=False):
    """A CDB the catalog cannot build: an unassigned operation code, a set obsolete bit."""

    opcode = 0xFF  # placeholder; the bytes given replace the whole CDB
    length = 6

    def __init__(self, cdb: str, data_in: int = 0) -> None:
        super().__init__(data_in=data_in or None)
        self.raw = bytes.fromhex(cdb)

    @property
    def cdb(self) -> bytes:
        return self.raw

    @property
    def direction(self) -> Direction:  # type: ignore[override]
        return Direction.IN if self.options.data_in else Direction.NONE

    def describe(self) -> str:
        return f"RawCdb({self.raw.hex(' ')})"


@dataclass(frozen=True)
class Step:
    """One command of a sequence, from one initiator, with the standard's answer."""

    name: str
    command: str  # catalog name, or "raw" (``fields["cdb"]``, ``fields["data_in"]``)
    fields: Mapping[str, Any] = field(default_factory=dict)
    expect: Answer = field(default_factory=GOOD)  # status and sense the standard requires
    view: Callable[[bytes], Any] | None = None  # what of the data-in is compared
    want: Any = None  # the view the standard requires (None: compared between targets only)
    device: str = "a"
    why: str = ""  # the clause behind ``expect`` when it is not obvious

    def build(self) -> Command:
        if self.command == "raw":
            return RawCdb(**self.fields)
        return lookup(self.command)(**self.fields)

    @property
    def expected(self) -> Answer:
        """``expect`` with the data view the standard fixes, when it fixes one."""
        if self.want is None or self.expect.status != "GOOD":
            return Answer(self.expect.status, self.expect.sense)
        return GOOD(self.want)


def S(name: str, command: str, expect: Answer | None = None, **kw: Any) -> Step:
    """A row of a sequence table: ``S(name, "Read10", LBA_OUT_OF_RANGE, lba=..., ...)``."""
    opts = {k: kw.pop(k) for k in ("view", "want", "device", "why") if k in kw}
    return Step(name, command, kw, expect or GOOD(), **opts)


def run_steps(
    steps: Iterable[Step],
    channels: Mapping[str, Channel],
    durations: dict[str, float] | None = None,
) -> dict[str, Answer]:
    """Run ``steps`` in order, each on its device's channel; every answer by step name."""
    answers: dict[str, Answer] = {}
    for step in steps:
        if step.name in answers:
            raise ValueError(f"two steps named {step.name!r}")
        io = channels[step.device].execute(step.build(), check=False)
        answers[step.name] = answer_of(io, step.view)
        if durations is not None:
            durations[step.name] = io.duration
    return answers


def clear_unit_attentions(ch: Channel, tries: int = 8) -> list[Answer]:
    """TEST UNIT READY until no unit attention is pending; the ones consumed.

    Real disks carry unit attentions from whatever ran before (power on,
    resets by other tests); a sequence starts from none pending.
    """
    seen = []
    for _ in range(tries):
        answer = answer_of(ch.execute(lookup("TestUnitReady")(), check=False), None)
        if answer.sense is None or answer.sense[0] != "UNIT_ATTENTION":
            return seen
        seen.append(answer)
    return seen


# ------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class Difference:
    """Where a real target legitimately answers otherwise than ``sim:``, and why."""

    target: str
    step: str
    answer: str  # what the real target answers there (``str(Answer)``)
    reason: str


def compare(
    sim: Mapping[str, Answer],
    real: Mapping[str, Answer],
    target: str,
    listed: Iterable[Difference],
    steps: Iterable[Step] = (),
) -> list[str]:
    """Everything that makes ``real`` disagree with ``sim`` beyond the listed differences."""
    known = {d.step: d for d in listed if d.target == target}
    names = {s.name for s in steps} or set(sim)
    problems = [f"listed difference for unknown step {s!r}" for s in known if s not in names]
    for name, ours in sim.items():
        theirs = real[name]
        diff = known.get(name)
        if diff is None:
            if theirs != ours:
                problems.append(f"{name}: sim answered {ours}, {target} {theirs}")
        elif theirs == ours:
            problems.append(
                f"{name}: listed as a difference ({diff.reason}) but both answered {ours}"
            )
        elif str(theirs) != diff.answer:
            problems.append(
                f"{name}: {target} answered {theirs}, the list says {diff.answer} ({diff.reason})"
            )
    return problems


def table(
    steps: Iterable[Step],
    sim: Mapping[str, Answer],
    real: Mapping[str, Answer],
    durations: Mapping[str, float] | None = None,
) -> str:
    """Step by step: what sim: and the real target answered (and how long the real one took)."""
    rows = []
    for s in steps:
        ms = f"{durations[s.name] * 1e3:8.1f} ms | " if durations else ""
        rows.append(f"{ms}{s.name:52} | {sim[s.name]!s:44} | {real[s.name]}\n")
    return "".join(rows)


def unmet(steps: Iterable[Step], answers: Mapping[str, Answer]) -> Iterator[str]:
    """Steps whose answer is not the one the standard requires."""
    for step in steps:
        got = answers[step.name]
        want = step.expected
        if got.status != want.status or got.sense != want.sense:
            yield f"{step.name}: expected {want}, got {got}" + (
                f" ({step.why})" if step.why else ""
            )
        elif want.data is not None and got.data != want.data:
            yield f"{step.name}: expected data {want.data}, got {got.data}"


# ------------------------------------------------------------ the differential

_A = AREA
_PAT = pattern(_A, 8, b"sgscript")
_PAT_END = pattern(LAST_LBA - 3, 4, b"lastlba!")
_WS = pattern(_A + 32, 1, b"wrtsame!")

#: One initiator, one disk of BLOCKS blocks: the answers SPC-5 and SBC-4 require.
DIFF_STEPS: tuple[Step, ...] = (
    S("TestUnitReady", "TestUnitReady"),
    S("Inquiry", "Inquiry", allocation_length=96, view=inquiry_view, want=(0, 0, 0, 2)),
    S(
        "Inquiry EVPD=0 with a page code",
        "Inquiry",
        INVALID_FIELD_IN_CDB,
        page_code=0x80,
        allocation_length=96,
        why="SPC-4 INQUIRY: a PAGE CODE other than zero with EVPD=0 is an invalid field",
    ),
    S(
        "Inquiry VPD 00h",
        "Inquiry",
        evpd=1,
        page_code=0x00,
        allocation_length=252,
        view=vpd_list_view,
        want=(0x00, True, True),
    ),
    S(
        "Inquiry unsupported VPD page",
        "Inquiry",
        INVALID_FIELD_IN_CDB,
        evpd=1,
        page_code=0xDE,
        allocation_length=252,
        why="SPC-4 INQUIRY: a VPD page the device server does not implement",
    ),
    S("ReportLuns", "ReportLuns", allocation_length=256, view=luns_view, want=(0,)),
    S(
        "ReportLuns reserved SELECT REPORT",
        "ReportLuns",
        INVALID_FIELD_IN_CDB,
        select_report=0x05,
        allocation_length=256,
        why="SPC-4 REPORT LUNS: SELECT REPORT 05h is reserved; a reserved code value is an error",
    ),
    S(
        "ReadCapacity10",
        "ReadCapacity10",
        view=capacity10_view,
        want=(LAST_LBA, BLOCK_SIZE),
    ),
    S("ReadCapacity16", "ReadCapacity16", allocation_length=32, view=capacity16_view),
    S("invalid operation code", "raw", INVALID_OPCODE, cdb="c7 00 00 00 00 00"),
    S(
        "TestUnitReady NACA=1",
        "TestUnitReady",
        INVALID_FIELD_IN_CDB,
        control=0x04,
        why="SAM-5 CONTROL byte: NACA=1 where ACA is not supported (INQUIRY NORMACA=0)",
    ),
    # -- medium access
    S("Write10 pattern", "Write10", lba=_A, data=_PAT),
    S("Read10 pattern", "Read10", lba=_A, transfer_length=8, view=blocks, want=blocks(_PAT)),
    S("Write16 up to the last LBA", "Write16", lba=LAST_LBA - 3, data=_PAT_END),
    S(
        "Read16 up to the last LBA",
        "Read16",
        lba=LAST_LBA - 3,
        transfer_length=4,
        view=blocks,
        want=blocks(_PAT_END),
    ),
    S("Read10 past the last LBA", "Read10", LBA_OUT_OF_RANGE, lba=BLOCKS, transfer_length=1),
    S(
        "Read16 across the last LBA",
        "Read16",
        LBA_OUT_OF_RANGE,
        lba=LAST_LBA,
        transfer_length=2,
    ),
    S(
        "Write10 past the last LBA",
        "Write10",
        LBA_OUT_OF_RANGE,
        lba=BLOCKS,
        data=bytes(BLOCK_SIZE),
    ),
    S(
        "Read10 RDPROTECT=1 without protection information",
        "Read10",
        INVALID_FIELD_IN_CDB,
        lba=_A,
        transfer_length=1,
        rdprotect=1,
        why="SBC-4 READ(10): RDPROTECT other than 000b on a logical unit without protection "
        "information (READ CAPACITY(16) PROT_EN=0) is an invalid field",
    ),
    S("Verify10", "Verify10", lba=_A, verification_length=8),
    S("Verify10 BYTCHK=1 equal", "Verify10", lba=_A, data=_PAT),
    S(
        "Verify10 BYTCHK=1 miscompare",
        "Verify10",
        MISCOMPARE,
        lba=_A,
        data=pattern(_A, 1, b"mismatch"),
    ),
    S(
        "Verify10 past the last LBA",
        "Verify10",
        LBA_OUT_OF_RANGE,
        lba=BLOCKS,
        verification_length=1,
    ),
    S("SynchronizeCache10", "SynchronizeCache10"),
    S(
        "SynchronizeCache10 past the last LBA",
        "SynchronizeCache10",
        LBA_OUT_OF_RANGE,
        lba=BLOCKS,
        number_of_logical_blocks=1,
    ),
    # -- sense and mode
    S(
        "RequestSense",
        "RequestSense",
        allocation_length=18,
        view=sense_data_view,
        want=("NO_SENSE", 0, 0),
    ),
    S(
        "ModeSense6 caching page",
        "ModeSense6",
        page_code=0x08,
        allocation_length=252,
        view=caching_page_view,
        want=(0x08, 0x12),
    ),
    S(
        "ModeSense6 unsupported page",
        "ModeSense6",
        INVALID_FIELD_IN_CDB,
        page_code=0x2E,
        allocation_length=252,
        why="SPC-4 MODE SENSE(6): a mode page the logical unit does not implement",
    ),
    # -- thin provisioning
    S("Write10 before UNMAP", "Write10", lba=_A + 16, data=pattern(_A + 16, 8, b"unmapped")),
    S("Unmap", "Unmap", data=encode_unmap_parameters([(_A + 16, 8)])),
    S(
        "Read10 after UNMAP",
        "Read10",
        lba=_A + 16,
        transfer_length=8,
        view=blocks,
        want="zeros(4096)",
    ),
    S(
        "Write10 before WRITE SAME UNMAP",
        "Write10",
        lba=_A + 24,
        data=pattern(_A + 24, 8, b"wsunmap!"),
    ),
    S(
        "WriteSame16 UNMAP",
        "WriteSame16",
        lba=_A + 24,
        number_of_logical_blocks=8,
        unmap=1,
        data=bytes(BLOCK_SIZE),
    ),
    S(
        "Read10 after WRITE SAME UNMAP",
        "Read10",
        lba=_A + 24,
        transfer_length=8,
        view=blocks,
        want="zeros(4096)",
    ),
    S("WriteSame10 pattern", "WriteSame10", lba=_A + 32, number_of_logical_blocks=4, data=_WS),
    S(
        "Read10 after WRITE SAME",
        "Read10",
        lba=_A + 32,
        transfer_length=4,
        view=blocks,
        want=blocks(_WS * 4),
    ),
    # -- SPC-2 reservations, one initiator: accepted, nothing to conflict with
    S("Reserve6", "Reserve6"),
    S(
        "Read10 while reserved by itself",
        "Read10",
        lba=_A,
        transfer_length=1,
        view=blocks,
        want=blocks(_PAT[:BLOCK_SIZE]),
    ),
    S("Release6", "Release6"),
    # -- stopped
    # IMMED: scsi_debug holds a START STOP UNIT without it for a second
    S("StartStopUnit stop", "StartStopUnit", start=0, immed=1),
    S(
        "TestUnitReady while stopped",
        "TestUnitReady",
        NOT_READY_INIT_REQUIRED,
        why="SBC-4 START STOP UNIT: once stopped, TEST UNIT READY and medium access get "
        "NOT READY, INITIALIZING COMMAND REQUIRED until a START",
    ),
    S("Read10 while stopped", "Read10", NOT_READY_INIT_REQUIRED, lba=_A, transfer_length=1),
    S(
        "RequestSense while stopped",
        "RequestSense",
        allocation_length=18,
        view=sense_data_view,
        want=("NOT_READY", 0x04, 0x02),
        why="SPC-4 REQUEST SENSE: with no pending sense data, it reports the not-ready state",
    ),
    S(
        "Inquiry while stopped",
        "Inquiry",
        allocation_length=96,
        view=inquiry_view,
        want=(0, 0, 0, 2),
    ),
    S("StartStopUnit start", "StartStopUnit", start=1, immed=1),
    S("TestUnitReady after start", "TestUnitReady"),
)

#: Run after DIFF_STEPS whatever happened: the disk is left started for the tests after.
DIFF_CLEANUP: tuple[Step, ...] = (S("cleanup start", "StartStopUnit", start=1),)


# ------------------------------------------------------- two initiators: reservations

KEY_A = 0xA1A1_0000_0000_00A1
KEY_B = 0xB2B2_0000_0000_00B2


def _prout(action: str, key: int = 0, sa_key: int = 0, type: str | int = 0) -> dict[str, Any]:
    return {
        "service_action": action,
        "type": type,
        "data": encode_pr_out_parameters(
            reservation_key=key, service_action_reservation_key=sa_key
        ),
    }


def _prin(action: str, view: Callable[[bytes], Any]) -> dict[str, Any]:
    return {"service_action": action, "allocation_length": 256, "view": view}


def PR(name: str, device: str, action: str, expect: Answer | None = None, **kw: Any) -> Step:
    """A PERSISTENT RESERVE OUT row: ``PR(name, "a", "reserve", key=KEY_A, type=...)``."""
    why = kw.pop("why", "")
    return S(name, "PersistentReserveOut", expect, device=device, why=why, **_prout(action, **kw))


def KEYS(name: str, device: str, keys: tuple[int, ...]) -> Step:
    want = tuple(sorted(f"{k:#x}" for k in keys))
    return S(name, "PersistentReserveIn", device=device, want=want, **_prin("read_keys", keys_view))


def HOLDER(name: str, device: str, holder: tuple[int, int] | None, why: str = "") -> Step:
    want = "none" if holder is None else (f"{holder[0]:#x}", holder[1])
    return S(
        name,
        "PersistentReserveIn",
        device=device,
        want=want,
        why=why,
        **_prin("read_reservation", reservation_view),
    )


def READ(name: str, device: str, expect: Answer | None = None) -> Step:
    return S(name, "Read10", expect, device=device, lba=0, transfer_length=1)


def WRITE(name: str, device: str, expect: Answer | None = None) -> Step:
    return S(name, "Write10", expect, device=device, lba=1, data=pattern(1, 1, device.encode() * 8))


def TUR(name: str, device: str, expect: Answer | None = None, **kw: Any) -> Step:
    return S(name, "TestUnitReady", expect, device=device, **kw)


WE, EA = "write_exclusive", "exclusive_access"
WE_RO, EA_RO = "write_exclusive_registrants_only", "exclusive_access_registrants_only"
WE_AR, EA_AR = "write_exclusive_all_registrants", "exclusive_access_all_registrants"

#: Two initiators (devices "a" and "b") on one logical unit: SPC-2 reservations, then
#: persistent reservations; the statuses SPC-5 5.14 (and SPC-2 5.5.1) require.
PR_STEPS: tuple[Step, ...] = (
    # -- SPC-2 RESERVE(6) / RELEASE(6)
    S("a Reserve6", "Reserve6"),
    READ("b Read10 while a reserves", "b", CONFLICT),
    TUR("b TestUnitReady while a reserves", "b", CONFLICT),
    S(
        "b Inquiry while a reserves",
        "Inquiry",
        device="b",
        allocation_length=96,
        view=inquiry_view,
        want=(0, 0, 0, 2),
    ),
    S("b ReportLuns while a reserves", "ReportLuns", device="b", allocation_length=256),
    S("b Reserve6 while a reserves", "Reserve6", CONFLICT, device="b"),
    S(
        "b Release6 while a reserves",
        "Release6",
        device="b",
        why="SPC-2 RELEASE(6): a release from another initiator leaves the reservation, GOOD",
    ),
    READ("b Read10 after its Release6", "b", CONFLICT),
    READ("a Read10 while it reserves", "a"),
    WRITE("a Write10 while it reserves", "a"),
    S("a Release6", "Release6"),
    READ("b Read10 after a releases", "b"),
    # -- SPC-2 RESERVE(10) / RELEASE(10)
    S("a Reserve10", "Reserve10"),
    WRITE("b Write10 while a reserves(10)", "b", CONFLICT),
    S("a Release10", "Release10"),
    WRITE("b Write10 after a releases(10)", "b"),
    # -- persistent reservations: registration
    KEYS("a ReadKeys none", "a", ()),
    PR("a Register", "a", "register", sa_key=KEY_A),
    PR("b Register", "b", "register", sa_key=KEY_B),
    KEYS("a ReadKeys both", "a", (KEY_A, KEY_B)),
    PR(
        "b Register with a wrong key",
        "b",
        "register",
        CONFLICT,
        key=KEY_A,
        sa_key=KEY_B,
        why="SPC-4 5.7.7: REGISTER with a RESERVATION KEY that is not the registered one",
    ),
    # -- write exclusive
    PR("a Reserve WE", "a", "reserve", key=KEY_A, type=WE),
    HOLDER("b ReadReservation WE", "b", (KEY_A, 1)),
    WRITE("b Write10 under WE", "b", CONFLICT),
    READ("b Read10 under WE", "b"),
    TUR("b TestUnitReady under WE", "b"),
    WRITE("a Write10 under its WE", "a"),
    PR("b Reserve WE held by a", "b", "reserve", CONFLICT, key=KEY_B, type=WE),
    PR(
        "b Release WE held by a",
        "b",
        "release",
        key=KEY_B,
        type=WE,
        why="SPC-4 5.7.11.2: RELEASE from a registrant that is not the holder: GOOD, no effect",
    ),
    WRITE("b Write10 under WE after its Release", "b", CONFLICT),
    PR("a Release WE", "a", "release", key=KEY_A, type=WE),
    TUR("a TestUnitReady after its WE release", "a"),
    TUR(
        "b TestUnitReady after WE released",
        "b",
        why="SPC-4 5.7.11.2 d): releasing a write exclusive reservation sets no unit attention",
    ),
    WRITE("b Write10 after WE released", "b"),
    # -- exclusive access
    PR("a Reserve EA", "a", "reserve", key=KEY_A, type=EA),
    READ("b Read10 under EA", "b", CONFLICT),
    TUR("b TestUnitReady under EA", "b"),
    S(
        "b Inquiry under EA",
        "Inquiry",
        device="b",
        allocation_length=96,
        view=inquiry_view,
        want=(0, 0, 0, 2),
    ),
    READ("a Read10 under its EA", "a"),
    PR("a Release EA", "a", "release", key=KEY_A, type=EA),
    TUR("a TestUnitReady after its EA release", "a"),
    # -- registrants only
    PR("a Reserve WE_RO", "a", "reserve", key=KEY_A, type=WE_RO),
    WRITE("b Write10 under WE_RO, registered", "b"),
    PR("b Unregister under WE_RO", "b", "register", key=KEY_B, sa_key=0),
    WRITE("b Write10 under WE_RO, unregistered", "b", CONFLICT),
    READ("b Read10 under WE_RO, unregistered", "b"),
    PR("b Register again", "b", "register", sa_key=KEY_B),
    PR("a Release WE_RO", "a", "release", key=KEY_A, type=WE_RO),
    TUR(
        "b TestUnitReady after WE_RO released",
        "b",
        RESERVATIONS_RELEASED,
        why="SPC-4 5.7.11.2 c): releasing a registrants-only reservation tells the other "
        "registrants RESERVATIONS RELEASED",
    ),
    PR("a Reserve EA_RO", "a", "reserve", key=KEY_A, type=EA_RO),
    READ("b Read10 under EA_RO, registered", "b"),
    PR("a Release EA_RO", "a", "release", key=KEY_A, type=EA_RO),
    TUR("b TestUnitReady after EA_RO released", "b", RESERVATIONS_RELEASED),
    # -- all registrants
    PR("a Reserve EA_AR", "a", "reserve", key=KEY_A, type=EA_AR),
    HOLDER(
        "b ReadReservation EA_AR",
        "b",
        (0, 8),
        why="SPC-4 READ RESERVATION: an all-registrants reservation reports key 0",
    ),
    READ("b Read10 under EA_AR, registered", "b"),
    PR("b Release EA_AR as a holder", "b", "release", key=KEY_B, type=EA_AR),
    TUR("a TestUnitReady after EA_AR released", "a", RESERVATIONS_RELEASED),
    # -- preempt
    PR("a Reserve WE again", "a", "reserve", key=KEY_A, type=WE),
    PR("b Preempt a", "b", "preempt", key=KEY_B, sa_key=KEY_A, type=WE),
    TUR(
        "a TestUnitReady after preempted",
        "a",
        REGISTRATIONS_PREEMPTED,
        why="SPC-4 5.7.11.4.3: a registrant that lost its registration gets REGISTRATIONS PREEMPTED",
    ),
    WRITE("a Write10 after preempted", "a", CONFLICT),
    KEYS("a ReadKeys after preempt", "a", (KEY_B,)),
    HOLDER("a ReadReservation after preempt", "a", (KEY_B, 1)),
    PR("b Release WE after preempt", "b", "release", key=KEY_B, type=WE),
    # -- clear
    PR("a Register after preempt", "a", "register", sa_key=KEY_A),
    PR("b Reserve WE before clear", "b", "reserve", key=KEY_B, type=WE),
    PR("a Clear", "a", "clear", key=KEY_A),
    TUR(
        "b TestUnitReady after clear",
        "b",
        RESERVATIONS_PREEMPTED,
        why="SPC-4 5.7.11.6: CLEAR tells every other registrant RESERVATIONS PREEMPTED",
    ),
    KEYS("b ReadKeys after clear", "b", ()),
    HOLDER("b ReadReservation after clear", "b", None),
    WRITE("b Write10 after clear", "b"),
    # -- unregister
    PR("a Register before unregister", "a", "register", sa_key=KEY_A),
    PR("a Unregister", "a", "register", key=KEY_A, sa_key=0),
    KEYS("a ReadKeys after unregister", "a", ()),
    PR(
        "a Reserve unregistered",
        "a",
        "reserve",
        CONFLICT,
        key=KEY_A,
        type=WE,
        why="SPC-4 5.7.9: RESERVE from an unregistered I_T nexus",
    ),
    # -- preempt and abort (last: a target without it leaves state the reset clears)
    PR("a Register for preempt-and-abort", "a", "register", sa_key=KEY_A),
    PR("b Register for preempt-and-abort", "b", "register", sa_key=KEY_B),
    PR("a Reserve WE for preempt-and-abort", "a", "reserve", key=KEY_A, type=WE),
    PR("b PreemptAndAbort a", "b", "preempt_and_abort", key=KEY_B, sa_key=KEY_A, type=WE),
    TUR("a TestUnitReady after preempt-and-abort", "a", REGISTRATIONS_PREEMPTED),
    KEYS("b ReadKeys after preempt-and-abort", "b", (KEY_B,)),
)

#: Run before and after PR_STEPS, answers ignored: no registration or reservation is left.
PR_RESET: tuple[Step, ...] = (
    S("reset a Release6", "Release6"),
    S("reset b Release6", "Release6", device="b"),
    PR("reset a Register", "a", "register_and_ignore_existing_key", sa_key=KEY_A),
    PR("reset a Clear", "a", "clear", key=KEY_A),
)

"""Property and mutation fuzzing of the pure SCSI layer: sense, CDBs, response and page decoders.

Everything here decodes what a device (or a user pasting hex) hands over, so it
must take any bytes: the only exception allowed out is the package's own
``UsageError`` ("this is not sense data"), a result is always JSON-ready (the
logs write it), and whatever has an encoder survives encode -> decode -> encode.
Valid inputs come from the simulated disk and from the encoders, then are mutated
(truncated, length fields that lie, bytes poked, appended, repeated).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fuzz_support import budget, mutated
from hypothesis import example, given
from hypothesis import strategies as st

from sgscript import Channel, sim
from sgscript.scsi import pages as P
from sgscript.scsi.catalog import catalog, decode_cdb, lookup
from sgscript.scsi.cdb import Command
from sgscript.scsi.errors import UsageError
from sgscript.scsi.sense import Sense, build_sense, parse_sense
from sgscript.scsi.status import SenseKey

pytestmark = pytest.mark.slow  # the fuzz suite: seconds per test

CATALOG: dict[str, type[Command]] = catalog()
NAMES = sorted(CATALOG)


def _json_ready(value: Any) -> None:
    """What the JSON Lines log and ``--json`` print: no bytes, no objects, no NaN."""
    json.dumps(value, allow_nan=False)


# ------------------------------------------------------------------ sense data

_SKS = {  # sense key -> a sense-key specific keyword build_sense takes for it
    SenseKey.ILLEGAL_REQUEST: ("field_pointer", st.tuples(st.integers(0, 0xFFFF), st.none() | st.integers(0, 7), st.booleans())),
    SenseKey.NOT_READY: ("progress", st.floats(0, 1)),
    SenseKey.NO_SENSE: ("progress", st.floats(0, 1)),
    SenseKey.MEDIUM_ERROR: ("retry_count", st.integers(0, 0xFFFF)),
    SenseKey.RECOVERED_ERROR: ("retry_count", st.integers(0, 0xFFFF)),
    SenseKey.HARDWARE_ERROR: ("retry_count", st.integers(0, 0xFFFF)),
    SenseKey.COPY_ABORTED: ("segment_pointer", st.tuples(st.integers(0, 0xFFFF), st.none() | st.integers(0, 7), st.booleans())),
    SenseKey.UNIT_ATTENTION: ("overflow", st.booleans()),
}  # fmt: skip

#: Descriptors build_sense does not make itself: referral, forwarded sense, ATA, 0Dh, 0Eh, vendor.
_EXTRA_DESCRIPTORS = st.sampled_from(
    [
        bytes([0x0B, 26, 0, 1]) + bytes(7) + b"\x10" + bytes(7) + b"\x20" + bytes([0, 0, 0, 1, 0x0E, 0, 0, 5]),
        bytes([0x0C, 20, 0x81, 2]) + build_sense("MEDIUM_ERROR", 0x11, 0, information=9),
        bytes([0x09, 12, 1, 4, 0, 1, 2, 3, 4, 5, 6, 7, 0xE0, 0x51]),
        bytes([0x0D, 0x16, 0xA0, 0, 0x80, 0, 2, 5]) + (7).to_bytes(8, "big") + bytes(8),
        bytes([0x0E, 10, 0, 1, 0x13, 0x0A, 0, 4]) + b"abcd",
        bytes([0x0A, 6, 2, 4, 4, 0, 0x80, 0]),
        bytes([0x06, 0x1E]) + bytes(0x1E),
        bytes([0x08, 10]) + bytes(10),
        bytes([0x0F, 6]) + bytes([0, 0, 0, 0, 0, 30]),
        bytes([0x85, 3, 1, 2, 3]),
    ]
)  # fmt: skip


@st.composite
def valid_sense(draw: st.DrawFn) -> bytes:
    """Sense data a standards-conforming target returns, through ``build_sense``."""
    key = draw(st.sampled_from(list(SenseKey)))
    descriptor = draw(st.booleans())
    width = 64 if descriptor else 32
    kw: dict[str, Any] = {
        "descriptor": descriptor,
        "deferred": draw(st.booleans()),
        "information": draw(st.none() | st.integers(0, (1 << width) - 1)),
        "command_specific": draw(st.none() | st.integers(0, (1 << width) - 1)),
        "fru": draw(st.none() | st.integers(0, 255)),
        "filemark": draw(st.booleans()),
        "eom": draw(st.booleans()),
        "ili": draw(st.booleans()),
        "sdat_ovfl": draw(st.booleans()),
    }
    if key in _SKS and draw(st.booleans()):
        name, values = _SKS[key]
        kw[name] = draw(values)
    if descriptor:
        kw["extra_descriptors"] = draw(st.lists(_EXTRA_DESCRIPTORS, max_size=3))
    return build_sense(key, draw(st.integers(0, 255)), draw(st.integers(0, 255)), **kw)


def _check_sense(data: bytes) -> Sense | None:
    """Decode as ``sgscript sense`` and the reactor do; only UsageError may come out."""
    try:
        sense = parse_sense(data)
    except UsageError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    summary = sense.summary()
    assert isinstance(summary, str) and summary and "\n" not in summary
    assert sense.describe()
    _json_ready(sense.to_dict())
    assert sense.raw == data
    return sense


@budget(300)
@given(st.binary(max_size=300))
@example(b"\x72\x00\x00\x00\x00\x00\x00\xff\x0c\x00")  # forwarded sense, empty
@example(b"\xf0")  # fixed format, one byte: too short for the sense key
def test_sense_decodes_any_bytes(data: bytes) -> None:
    _check_sense(data)


@budget(300)
@given(st.sampled_from([0x70, 0x71, 0x72, 0x73, 0xF0, 0xF2, 0x7F]), st.binary(max_size=260))
def test_sense_decodes_any_body_behind_a_valid_response_code(code: int, body: bytes) -> None:
    _check_sense(bytes([code]) + body)


@budget(300)
@given(mutated(valid_sense()))
def test_sense_decodes_mutated_valid_sense(data: bytes) -> None:
    _check_sense(data)


@budget(200)
@given(valid_sense())
def test_built_sense_round_trips(data: bytes) -> None:
    sense = _check_sense(data)
    assert sense is not None and not sense.truncated
    assert sense.sense_key == data[1 if sense.descriptor_format else 2] & 0x0F
    assert (sense.asc, sense.ascq) == (
        (data[2], data[3]) if sense.descriptor_format else (data[12], data[13])
    )
    again = parse_sense(sense.raw)
    assert again == sense


def test_sense_key_specific_field_pointer_round_trips() -> None:
    data = build_sense("ILLEGAL_REQUEST", 0x24, 0, field_pointer=(2, 1, True), descriptor=True)
    sense = parse_sense(data)
    assert sense.sense_key_specific is not None
    assert (sense.sense_key_specific.field_pointer, sense.sense_key_specific.bit_pointer) == (2, 1)
    assert "field pointer byte 2 bit 1" in sense.summary()


# ------------------------------------------------------------------------ CDBs


@st.composite
def commands(draw: st.DrawFn) -> Command:
    """A catalog command with random values in every settable field (the edges likely)."""
    cls = CATALOG[draw(st.sampled_from(NAMES))]
    values = {}
    for slot in cls.layout.slots:
        f = slot.field
        if f.fixed or not draw(st.booleans()):
            continue
        values[f.name] = draw(st.integers(0, f.maximum) | st.sampled_from((0, 1, f.maximum)))
    return cls(**values)


@budget(300)
@given(st.binary(min_size=1, max_size=40))
def test_cdb_decode_of_any_bytes(raw: bytes) -> None:
    try:
        cmd = decode_cdb(raw)
    except UsageError as exc:
        assert str(exc)
        return
    assert cmd.cdb == cmd.layout.encode(cmd.values)
    again = decode_cdb(cmd.cdb)
    assert type(again) is type(cmd) and again.field_values() == cmd.field_values()
    assert cmd.describe()


@budget(300)
@given(st.sampled_from(NAMES), st.binary(max_size=32))
def test_cdb_decode_of_a_known_opcode_with_any_body(name: str, body: bytes) -> None:
    test_cdb_decode_of_any_bytes.hypothesis.inner_test(bytes([CATALOG[name].opcode]) + body)  # type: ignore[attr-defined]


@budget(300)
@given(commands())
def test_cdb_encode_decode_round_trip(cmd: Command) -> None:
    """Every CDB the catalog builds decodes back to the same command and values."""
    back = decode_cdb(cmd.cdb)
    assert type(back) is type(cmd)
    assert back.field_values() == cmd.field_values()
    assert back.cdb == cmd.cdb


# ----------------------------------------------------- responses and pages


def _sim_responses() -> dict[str, list[tuple[Command, bytes]]]:
    """Valid data-in for every command with a decoder, as the simulated disk returns it."""
    sim.forget_targets()
    ch = Channel.open("sim:fuzzvalid")
    out: dict[str, list[tuple[Command, bytes]]] = {}

    def send(name: str, **kw: Any) -> bytes:
        cmd = lookup(name)(**kw)
        io = ch.execute(cmd, wait=True, check=False)
        if io.failure is None and io.data:
            out.setdefault(name, []).append((cmd, bytes(io.data)))
        return bytes(io.data or b"")

    try:
        prout = lookup("PersistentReserveOut")
        key = P.encode_pr_out_parameters(service_action_reservation_key=0x1122334455667788)
        ch.execute(prout(service_action="register", data=key), wait=True, check=False)
        send("Inquiry", allocation_length=255)
        for page in send("Inquiry", evpd=1, page_code=0, allocation_length=255)[4:]:
            send("Inquiry", evpd=1, page_code=page, allocation_length=255)
        for page in (0x3F, 0x08, 0x0A, 0x1C, 0x01):
            send("ModeSense6", page_code=page, allocation_length=255)
            send("ModeSense10", page_code=page, allocation_length=4096, llbaa=1)
        for sa in range(4):
            send("PersistentReserveIn", service_action=sa, allocation_length=4096)
        send("ReportSupportedOperationCodes", allocation_length=8192, rctd=1)
        send(
            "ReportSupportedOperationCodes",
            reporting_options=1,
            requested_operation_code=0x28,
            allocation_length=64,
        )
        send("ReportSupportedTaskManagementFunctions", allocation_length=16, repd=1)
        send("GetLbaStatus", allocation_length=4096)
        send("RequestSense", allocation_length=252)
        send("ReportLuns", allocation_length=4096)
        send("ReadCapacity10")
        send("ReadCapacity16", allocation_length=32)
    finally:
        ch.close()
        sim.forget_targets()
    return out


SIM = _sim_responses()
SIM_CASES = [(name, cmd, data) for name, pairs in SIM.items() for cmd, data in pairs]
#: Extra valid descriptor-format sense for REQUEST SENSE (the sim's is fixed format).
SIM_CASES.append(
    (
        "RequestSense",
        lookup("RequestSense")(desc=1),
        build_sense("NOT_READY", 4, 1, progress=0.25, descriptor=True),
    )
)


def test_the_simulated_disk_gave_a_valid_response_to_each_decoder() -> None:
    """The mutation fuzzers below start from these; a missing one would fuzz nothing."""
    assert set(SIM) >= set(P.DECODERS), set(P.DECODERS) - set(SIM)
    for name, cmd, data in SIM_CASES:
        got = cmd.decode_response(data)
        assert got and got.get("truncated") is not True, (name, data.hex())


def _check_decoded(cmd: Command, data: bytes) -> dict[str, Any]:
    got = P.decode_response(cmd, data)
    assert isinstance(got, dict)
    _json_ready(got)
    return got


@budget(300)
@given(commands(), st.binary(max_size=600))
def test_every_response_decoder_takes_any_bytes(cmd: Command, data: bytes) -> None:
    """Garbage from a device decodes to what it can; it never raises (the runner saves from it)."""
    _check_decoded(cmd, data)


@budget(400)
@given(st.sampled_from(SIM_CASES), st.data())
@example(("RequestSense", lookup("RequestSense")(), b"\x70"), None)  # a 1-byte REQUEST SENSE reply
@example(("RequestSense", lookup("RequestSense")(), b"\x00\x00"), None)  # not sense data at all
def test_every_response_decoder_takes_mutated_valid_data(
    case: Any, data: st.DataObject | None
) -> None:
    _name, cmd, valid = case
    _check_decoded(cmd, valid if data is None else data.draw(mutated(valid)))


@pytest.mark.parametrize(("name", "cmd", "data"), SIM_CASES, ids=[c[0] for c in SIM_CASES])
def test_every_prefix_of_a_valid_response_decodes(name: str, cmd: Command, data: bytes) -> None:
    """A reply cut short by the allocation length decodes to what arrived, flagged truncated."""
    for n in range(len(data)):
        got = _check_decoded(cmd, data[:n])
        if n:
            assert got.get("truncated") is True or _fixed_size(cmd), (name, n, got)


def _fixed_size(cmd: Command) -> bool:
    """Replies of one fixed size, with no length field to say they were cut short."""
    name = type(cmd).__name__
    if name == "PersistentReserveIn":
        return cmd.service_action == 2  # REPORT CAPABILITIES
    return name in ("ReadCapacity10", "ReadCapacity16", "ReportSupportedTaskManagementFunctions")


# Decoder -> encoder pairs that claim "a decoded dict goes straight back in".
ROUND_TRIPS: list[
    tuple[str, Callable[[bytes], dict[str, Any]], Callable[[dict[str, Any]], bytes]]
] = [
    ("standard_inquiry", P.decode_standard_inquiry, P.encode_standard_inquiry),
    ("vpd", P.decode_vpd, P.encode_vpd),
    ("read_capacity10", P.decode_read_capacity10, P.encode_read_capacity10),
    ("read_capacity16", P.decode_read_capacity16, P.encode_read_capacity16),
    ("report_luns", P.decode_report_luns, P.encode_report_luns),
    ("mode_sense6", P.decode_mode_sense6, P.encode_mode_sense6),
    ("mode_sense10", P.decode_mode_sense10, P.encode_mode_sense10),
    ("read_keys", P.decode_read_keys, P.encode_read_keys),
    ("read_reservation", P.decode_read_reservation, P.encode_read_reservation),
    ("report_capabilities", P.decode_report_capabilities, P.encode_report_capabilities),
    ("read_full_status", P.decode_read_full_status, P.encode_read_full_status),
    ("rsoc_all", P.decode_rsoc_all, P.encode_rsoc_all),
    ("rsoc_one", P.decode_rsoc_one, P.encode_rsoc_one),
    ("rstmf", P.decode_rstmf, P.encode_rstmf),
    ("get_lba_status", P.decode_get_lba_status, P.encode_get_lba_status),
    ("unmap", P.decode_unmap_parameters, P.encode_unmap_parameters),
    ("pr_out", P.decode_pr_out_parameters, P.encode_pr_out_parameters),
]
_BY_NAME = {name: (dec, enc) for name, dec, enc in ROUND_TRIPS}
_SOURCE = {  # round-trip name -> the catalog command (and fields) whose sim reply feeds it
    "standard_inquiry": lambda c: type(c).__name__ == "Inquiry" and not c.evpd,
    "vpd": lambda c: type(c).__name__ == "Inquiry" and c.evpd,
    "read_capacity10": lambda c: type(c).__name__ == "ReadCapacity10",
    "read_capacity16": lambda c: type(c).__name__ == "ReadCapacity16",
    "report_luns": lambda c: type(c).__name__ == "ReportLuns",
    "mode_sense6": lambda c: type(c).__name__ == "ModeSense6",
    "mode_sense10": lambda c: type(c).__name__ == "ModeSense10",
    "read_keys": lambda c: type(c).__name__ == "PersistentReserveIn" and c.service_action == 0,
    "read_reservation": lambda c: (
        type(c).__name__ == "PersistentReserveIn" and c.service_action == 1
    ),
    "report_capabilities": lambda c: (
        type(c).__name__ == "PersistentReserveIn" and c.service_action == 2
    ),
    "read_full_status": lambda c: (
        type(c).__name__ == "PersistentReserveIn" and c.service_action == 3
    ),
    "rsoc_all": lambda c: (
        type(c).__name__ == "ReportSupportedOperationCodes" and not c.reporting_options
    ),
    "rsoc_one": lambda c: (
        type(c).__name__ == "ReportSupportedOperationCodes" and c.reporting_options
    ),
    "rstmf": lambda c: type(c).__name__ == "ReportSupportedTaskManagementFunctions",
    "get_lba_status": lambda c: type(c).__name__ == "GetLbaStatus",
}
VALID_PAGES = [
    (name, data) for name, pick in _SOURCE.items() for _n, cmd, data in SIM_CASES if pick(cmd)
] + [
    ("unmap", P.encode_unmap_parameters([(0, 8), (2**40, 0xFFFFFFFF)])),
    (
        "pr_out",
        P.encode_pr_out_parameters(reservation_key=5, service_action_reservation_key=7, aptpl=1),
    ),
]


def test_every_round_trip_has_a_valid_sample() -> None:
    assert {name for name, _ in VALID_PAGES} == set(_BY_NAME)


@pytest.mark.parametrize(("name", "data"), VALID_PAGES, ids=[n for n, _ in VALID_PAGES])
def test_valid_pages_encode_back_to_the_same_bytes(name: str, data: bytes) -> None:
    decode, encode = _BY_NAME[name]
    assert encode(decode(data)) == data


@budget(400)
@given(st.sampled_from(VALID_PAGES), st.data())
def test_decoded_mutations_re_encode_stably(case: tuple[str, bytes], data: st.DataObject) -> None:
    """decode -> encode -> decode is stable on whatever a mutated page decodes to.

    The encoder may refuse a decoded dict (a length that does not fit) with a
    UsageError, but what it does encode must decode to the same fields again.
    """
    name, valid = case
    decode, encode = _BY_NAME[name]
    raw = data.draw(mutated(valid))
    first = decode(raw)
    _json_ready(first)
    if first.get("truncated"):
        return  # a cut-off reply is not claimed to round-trip
    try:
        again = encode(first)
    except UsageError:
        return
    second = decode(again)
    assert encode(second) == again, (name, raw.hex())


def test_request_sense_reply_cut_before_the_sense_key_decodes() -> None:
    """Found by the fuzzer: REQUEST SENSE with allocation length 1 raised UsageError from
    the decoder (and so from ``expect: {fields: ...}`` and ``save:``); now it is flagged."""
    cmd = lookup("RequestSense")(allocation_length=1)
    got = cmd.decode_response(b"\x70")
    assert got["truncated"] is True and got["raw"] == "70"
    assert "sense key" in got["notes"][0]
    garbage = cmd.decode_response(b"\x00\x01\x02")
    assert "truncated" not in garbage and "not sense data" in garbage["notes"][0]

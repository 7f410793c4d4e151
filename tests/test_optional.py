"""``optional: true``: judged after ``expect:``, and every form SPC allows for "not supported"."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgscript import load_scenario, run_scenario
from sgscript.runner.step import _not_supported
from sgscript.scsi.commands import Inquiry, LogSense, ModeSense10, PersistentReserveIn, Read10
from sgscript.transport.base import Io

pytestmark = pytest.mark.usefixtures("fresh_sim")


def test_expect_comes_first_and_unsupported_pages_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        """\
sgscript: 1
devices: {a: "sim:lu_opt"}
on_failure: continue
steps:
  - name: the answer this test expects is the "not supported" one
    command: {PersistentReserveIn: {service_action: 0x1F, allocation_length: 8}}
    optional: true
    expect: {sense: {key: ILLEGAL_REQUEST, asc: 0x24, field_pointer: {byte: 1, bit: 4}}}
  - name: a vendor VPD page
    command: {Inquiry: {evpd: 1, page_code: 0xC0, allocation_length: 255}}
    optional: true
  - name: a mode page the disk lacks
    command: {ModeSense10: {page_code: 0x3E, allocation_length: 255}}
    optional: true
  - name: a real mistake is not hidden
    command: {Read10: {lba: 0x7FFFFFFF, transfer_length: 1}}
    optional: true
"""
    )
    result = run_scenario(load_scenario(str(path)), seed=1)
    expected, vpd, mode, mistake = result.steps
    assert expected.status == "passed"  # before: skipped, the expected answer swallowed
    assert vpd.status == "skipped" and "not supported by the device" in vpd.message
    assert mode.status == "skipped"
    assert mistake.status == "failed"  # LBA out of range is not "not supported"


def _answered(command: object, sense: bytes) -> Io:
    io = Io(command)  # type: ignore[arg-type]
    io.status = 0x02
    io.sense_raw = sense
    return io


def _fixed(asc: int, sks: bytes = b"\x00\x00\x00") -> bytes:
    return bytes([0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, 0, 0]) + sks


@pytest.mark.parametrize(
    ("command", "sense", "supported"),
    [
        (Read10(lba=0, transfer_length=1), _fixed(0x20), False),  # no such opcode
        (PersistentReserveIn(service_action=0x1F), _fixed(0x24, b"\xc0\x00\x01"), False),
        (PersistentReserveIn(service_action=0x1F), _fixed(0x24), False),  # no field pointer
        (Inquiry(evpd=1, page_code=0xC0), _fixed(0x24, b"\xc0\x00\x02"), False),
        (LogSense(page_code=0x33), _fixed(0x24, b"\xc0\x00\x02"), False),
        (ModeSense10(page_code=0x3E), _fixed(0x24), False),
        (Inquiry(evpd=0, page_code=0x80), _fixed(0x24, b"\xc0\x00\x02"), True),  # a bad CDB
        (Read10(lba=0, transfer_length=1), _fixed(0x24), True),  # selects nothing
        (Read10(lba=0, transfer_length=1), _fixed(0x21), True),  # out of range
        (PersistentReserveIn(service_action=0), _fixed(0x24, b"\xc0\x00\x08"), True),
    ],
)
def test_the_forms_of_not_supported(command: object, sense: bytes, supported: bool) -> None:
    assert _not_supported(_answered(command, sense)) is not supported


def test_a_raw_cdb_is_judged_by_the_command_it_is(tmp_path: Path) -> None:
    path = tmp_path / "raw.yaml"
    path.write_text(
        'sgscript: 1\ndevices: {a: "sim:lu_rawopt"}\nsteps:\n'
        '  - {name: READ LONG(16), cdb: "9e 11 00 00 00 00 00 00 00 00 00 00 00 00 00 00",'
        " optional: true}\n"
    )
    (step,) = run_scenario(load_scenario(str(path)), seed=1).steps
    assert step.status == "skipped" and "not supported" in step.message

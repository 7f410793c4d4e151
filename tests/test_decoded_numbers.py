"""Decoded response fields are numbers where the standard has numbers.

A spec compares them with YAML integers (``asc: 0x29``) and ``save:`` keeps them
for arithmetic; the words a person reads (the sense summary, ``asc_text``) are
separate fields, and the console prints those.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sgscript import sim
from sgscript.cli import main
from sgscript.scsi import commands as K
from sgscript.scsi.sense import build_sense, parse_sense

STOPPED = """\
sgscript: 1
name: request_sense_numbers
devices:
  a: {target: "sim:request_sense_numbers"}
defaults: {device: a}
steps:
  - {name: take the power-on unit attention, command: TestUnitReady, expect: any}
  - name: stop the unit
    command: {StartStopUnit: {start: 0}}
  - name: REQUEST SENSE says not ready, initializing command required
    command: {RequestSense: {allocation_length: 18}}
    expect: {fields: {sense_key: 2, asc: 0x04, ascq: 0x02, response_code: 0x70}}
    save: {asc: asc, ascq: ascq}
  - name: the saved ASC is a number to compute with
    command: TestUnitReady
    repeat: "${asc - 3}"
    expect: {sense: {key: NOT_READY, asc: 0x04, ascq: 0x02}}
  - name: start it again
    command: {StartStopUnit: {start: 1}}
"""


@pytest.fixture(autouse=True)
def _fresh_sim() -> None:
    sim.forget_targets()


def test_request_sense_fields_compare_with_yaml_integers_and_save_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "stopped.yaml"
    spec.write_text(STOPPED)
    log = tmp_path / "run.jsonl"
    code = main(["run", str(spec), "--log", str(log)])
    out = capsys.readouterr().out
    assert code == 0, out
    steps = [json.loads(line) for line in log.read_text().splitlines()]
    saved = next(r["saved"] for r in steps if r["type"] == "step" and r["path"] == "3")
    assert saved == {"asc": 0x04, "ascq": 0x02}


def test_request_sense_decodes_information_and_codes_as_integers() -> None:
    raw = build_sense(3, 0x11, 0x00, information=0x1000, descriptor=True)
    got = K.RequestSense().decode_response(raw)
    assert (got["response_code"], got["asc"], got["ascq"], got["information"]) == (
        0x72,
        0x11,
        0x00,
        0x1000,
    )
    assert got["asc_text"] == "Unrecovered read error"  # the words stay words
    assert [d["type"] for d in got["descriptors"]] == [0x00]
    assert got["descriptors"][0]["information"] == 0x1000


def test_sense_as_json_keeps_numbers_numbers() -> None:
    """What reports (the JSON Lines failure detail, ``sgscript sense --json``) carry: no
    field that is a number in the sense data reads as a hex string."""

    def strings_like_numbers(value: object) -> list[str]:
        if isinstance(value, dict):
            return [s for k, v in value.items() if k != "raw" for s in strings_like_numbers(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings_like_numbers(v)]
        return [value] if isinstance(value, str) and value.startswith("0x") else []

    ata = bytes.fromhex("72 01 00 1d 00 00 00 0e 09 0c 01 00 00 00 00 00 00 00 00 00 50 00")
    every_kind = bytes.fromhex(  # information, command specific, SKS, FRU, progress, referral
        "72 01 03 02 80 00 00 4c 00 0a 80 00 11 22 33 44 55 66 77 bb"
        " 01 0a 00 00 33 44 55 66 77 bb cc ff 02 06 00 00 80 01 01 00 03 02 00 45"
        " 0a 06 02 01 02 00 32 01 05 02 00 20"
        " 0b 1a 01 00 00 00 00 01 01 02 03 04 05 06 07 08 01 02 03 04 55 06 07 08 02 00 12 34"
    )
    for raw in (build_sense(5, 0x24, 0, field_pointer=(1, 4, True)), ata, every_kind):
        d = parse_sense(raw).to_dict()
        assert d["descriptors"] or d["sense_key_specific"]
        assert strings_like_numbers(d) == [], d

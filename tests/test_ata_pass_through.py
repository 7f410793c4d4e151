"""ATA PASS-THROUGH(12)/(16) move the data SAT-4 says: PROTOCOL, T_DIR, BYTE_BLOCK, T_TYPE
and T_LENGTH (and the COUNT or FEATURES field it names) decide direction and length.

IDENTIFY DEVICE is the case a SATL qualification needs first: PIO data-in of one
512-byte block, written as fields, not as a raw CDB.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from sgscript import Channel, sim
from sgscript.cli import main
from sgscript.scsi import commands as K
from sgscript.scsi.cdb import Direction
from sgscript.sim import targets
from sgscript.sim.lu import builtin_handlers

IDENTIFY = "{protocol: 4, t_dir: 1, byte_block: 1, t_length: 2, count: 1, command: 0xEC}"

SPEC = f"""\
sgscript: 1
name: identify_device
devices:
  a: {{target: "sim:ata_identify"}}
defaults: {{device: a}}
steps:
  - name: IDENTIFY DEVICE through ATA PASS-THROUGH(16)
    command: {{AtaPassThrough16: {IDENTIFY}}}
    expect: {{data: {{hex: "5a 0c"}}}}
  - name: and through ATA PASS-THROUGH(12), SAT-2's field name
    command: {{AtaPassThrough12: {IDENTIFY.replace("byte_block", "byt_blok")}}}
    expect: {{data: {{hex: "5a 0c"}}}}
"""

# A SATL's answer on sim: (the simulated disk itself is SCSI, not ATA behind a SATL).
PLUGIN = """\
from sgscript.hookspecs import hookimpl


def identify(unit, request):
    words = bytearray(512)
    words[0:2] = bytes([0x5A, 0x0C])  # word 0, little-endian: a fixed ATA device
    return bytes(words)


@hookimpl
def sgscript_sim_handlers():
    return {"AtaPassThrough12": identify, "AtaPassThrough16": identify}
"""


@pytest.fixture(autouse=True)
def _fresh_sim() -> None:
    sim.forget_targets()


def test_plan_shows_identify_device_reading_512_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "identify.yaml"
    spec.write_text(SPEC)
    assert main(["plan", str(spec)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "AtaPassThrough" in line]
    assert len(rows) == 2 and all(" in 512 " in row for row in rows), rows


def test_identify_device_runs_and_its_data_in_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "satl_identify.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = tmp_path / "identify.yaml"
    spec.write_text(SPEC)
    log = tmp_path / "run.jsonl"
    code = main(["run", str(spec), "-p", "satl_identify", "--log", str(log), "--log-commands"])
    out = capsys.readouterr().out
    assert code == 0, out
    commands = [json.loads(x) for x in log.read_text().splitlines() if '"command"' in x]
    assert [c["data_in"] for c in commands if c["type"] == "command"] == [512, 512]


def test_commands_says_the_fields_decide_the_direction(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["commands", "AtaPassThrough16"]) == 0
    out = capsys.readouterr().out
    assert "data in or out, as the fields say" in out
    assert "transfer: T_LENGTH names FEATURES or COUNT" in out
    assert main(["commands", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert (
        rows["AtaPassThrough12"]["direction"] == rows["AtaPassThrough16"]["direction"] == "fields"
    )


@pytest.mark.usefixtures("fresh_sim")
def test_identify_device_through_the_python_api_reads_one_block() -> None:
    ch = Channel.open("sim:ata_api")
    lu = targets()["ata_api"].lu(0)
    seen: list[int] = []

    def identify(unit: object, request: sim.Request) -> bytes:
        seen.append(request.allocation)
        return bytes(512)

    lu.answer_with(handlers={**builtin_handlers(), "AtaPassThrough16": identify})
    cmd = K.AtaPassThrough16(
        protocol="pio_data_in", t_dir=1, byte_block=1, t_length="count", count=1, command=0xEC
    )
    assert cmd.direction is Direction.IN and cmd.data_length(4096) == 512
    ch.execute(K.TestUnitReady(), check=False)  # the power-on unit attention
    io = ch.execute(cmd)
    assert len(io.data) == 512 and seen == [512]

"""The JSON Lines log against its published schema (schemas/sgscript-log.schema.json).

Every record of real runs — passing, failing, a device that breaks, a device
that will not open, an interrupted run, ``--log-commands`` with timeouts and
transport errors — must validate, and the records must say what happened:
a timed-out command has status ``timeout`` (no SCSI status), an interrupted
scenario has status ``interrupted``.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sgscript import sim
from sgscript.cli import main
from sgscript.report.jsonl import JsonlReporter
from sgscript.runner import run_scenario
from sgscript.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schemas" / "sgscript-log.schema.json"
SHIPPED = ROOT / "sgscript" / "report" / "sgscript-log.schema.json"


@pytest.fixture(autouse=True)
def _fresh_sim() -> None:
    sim.forget_targets()


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def records(path: Path, validator: Any) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        record = json.loads(line)
        errors = sorted(validator.iter_errors(record), key=lambda e: e.path)
        assert not errors, f"line {n} ({record.get('type')}): {errors[0].message}"
        out.append(record)
    assert out[0]["type"] == "run" and out[-1]["type"] == "end"
    return out


def spec(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"sgscript: 1\nname: {name}\n{body}")
    return str(path)


PASS = """\
devices: {a: "sim:schema_pass"}
steps:
  - {name: ready, device: a, command: TestUnitReady}
  - {name: reads, device: a, command: {Read10: {lba: 0, transfer_length: 1}}, repeat: 20}
  - {name: capacity, device: a, command: ReadCapacity10, save: {last: returned_logical_block_address}}
  - parallel:
      - {name: p1, device: a, command: TestUnitReady, repeat: 3}
      - {name: p2, device: a, command: TestUnitReady}
  - {name: nap, sleep: 1ms}
"""
FAIL = """\
devices: {a: "sim:schema_fail"}
on_failure: continue
steps:
  - {name: wrong, device: a, command: TestUnitReady, expect: fail}
  - {name: past the end, device: a, command: {Read16: {lba: 99999999, transfer_length: 1}}, repeat: 3}
"""
BROKEN = """\
devices: {a: {target: "sim:schema_gone", options: {gone_after: 30}}}
steps:
  - {name: soak, device: a, command: TestUnitReady, repeat: 100, queue_depth: 4, expect: any}
finally:
  - {name: cleanup, device: a, command: TestUnitReady, expect: any}
"""
HUNG = """\
devices: {a: {target: "sim:schema_hung", timeout: 50ms, options: {hang: [TestUnitReady]}}}
steps:
  - {name: silent, device: a, command: TestUnitReady, repeat: 2, expect: any}
  - {name: also silent, device: a, command: TestUnitReady}
"""


@pytest.mark.parametrize("log_commands", [False, True])
def test_every_record_of_real_runs_validates(
    tmp_path: Path, validator: Any, log_commands: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = [
        spec(tmp_path, "passing", PASS),
        spec(tmp_path, "failing", FAIL),
        spec(tmp_path, "broken", BROKEN),
        spec(tmp_path, "hung", HUNG),
        spec(
            tmp_path,
            "unopenable",
            'devices: {a: "/dev/sg-none"}\nsteps: [{device: a, command: TestUnitReady}]\n',
        ),
    ]
    log = tmp_path / "run.jsonl"
    argv = ["run", *specs, "--seed", "3", "--log", str(log)]
    code = main(argv + (["--log-commands"] if log_commands else []))
    capsys.readouterr()
    assert code == 3
    recs = records(log, validator)
    by_name = {r["name"]: r for r in recs if r["type"] == "scenario"}
    assert [
        by_name[n]["status"] for n in ("passing", "failing", "broken", "hung", "unopenable")
    ] == ["passed", "failed", "error", "failed", "error"]
    commands = [r for r in recs if r["type"] == "command"] or [
        c for r in recs if r["type"] == "step" for c in r.get("commands", [])
    ]
    statuses = {c["status"] for c in commands}
    assert {"GOOD", "CHECK_CONDITION", "timeout", "transport_error"} <= statuses
    for c in commands:
        if c["status"] == "timeout":  # before: "status": "GOOD", "timed_out": true
            assert c["timed_out"] is True and "sense" not in c
        if c["status"] == "transport_error":
            assert c["error"]


def test_an_interrupted_run_validates_and_says_interrupted(tmp_path: Path, validator: Any) -> None:
    class Term:
        n = 0

        def command_done(self, path: str, io: Any, failure: Any) -> None:
            self.n += 1
            if self.n == 50:
                os.kill(os.getpid(), signal.SIGTERM)

    scenario = load_scenario(
        spec(
            tmp_path,
            "long",
            'devices: {a: "sim:schema_long"}\n'
            "steps:\n  - {name: soak, device: a, command: TestUnitReady, repeat: 1000000}\n"
            "  - {name: never, device: a, command: TestUnitReady}\n"
            "finally:\n  - {name: cleanup, device: a, command: TestUnitReady}\n",
        )
    )
    log = tmp_path / "run.jsonl"
    jsonl = JsonlReporter(log, log_commands=True)
    try:
        result = run_scenario(scenario, seed=1, reporter=[jsonl, Term()])
    finally:
        jsonl.close()
    assert result.interrupted
    recs = records(log, validator)
    scen = next(r for r in recs if r["type"] == "scenario")
    # before: "status": "passed", "interrupted": true
    assert (scen["status"], scen["interrupted"], scen["signal"]) == ("interrupted", True, "SIGTERM")
    steps = {r["name"]: r["status"] for r in recs if r["type"] == "step"}
    assert steps == {"soak": "interrupted", "cleanup": "passed"}
    assert [s["status"] for s in scen["steps"]] == ["interrupted", "interrupted", "passed"]
    assert recs[-1]["interrupted"] is True and recs[-1]["signal"] == "SIGTERM"


def test_the_schema_ships_in_the_package_and_is_documented() -> None:
    assert SHIPPED.read_text() == SCHEMA.read_text()
    doc = (ROOT / "docs" / "log.md").read_text()
    schema = json.loads(SCHEMA.read_text())
    for kind in schema["$defs"]:
        assert f"`{kind}`" in doc, f"docs/log.md does not describe the {kind} record"

"""Opening a device: ``unit_attention: clear | keep``, shown by ``plan`` and reported apart.

Before, the runner sent up to four TEST UNIT READYs and a READ CAPACITY that nothing
showed and no spec could turn off, so a drive's power-on UNIT ATTENTION could never
be asserted.  Now what opening sends is the device's ``unit_attention`` (``clear``, the
default, as before; ``keep``: nothing), ``plan`` shows it and every report has it as an
``open`` record, which is not a step in any count.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sgscript import sim
from sgscript.cli import main
from sgscript.runner import run_scenario
from sgscript.scenario.load import load_scenario
from sgscript.sim.target import get_target

SPEC = """\
sgscript: 1
name: power_on
devices:
  a: {target: "sim:open_prep", unit_attention: MODE}
steps:
  - {name: the power-on is reported, command: TestUnitReady,
     expect: {sense: {key: UNIT_ATTENTION, asc: 0x29}}}
  - {name: once, command: TestUnitReady}
"""


@pytest.fixture(autouse=True)
def _fresh_sim() -> None:
    sim.forget_targets()


def spec(tmp_path: Path, mode: str = "keep", text: str = SPEC) -> Path:
    path = tmp_path / "power_on.yaml"
    path.write_text(text.replace("MODE", mode))
    return path


@pytest.mark.parametrize(("mode", "status"), [("keep", "passed"), ("clear", "failed")])
def test_keep_leaves_the_power_on_unit_attention_to_the_first_step(
    tmp_path: Path, mode: str, status: str
) -> None:
    result = run_scenario(load_scenario(spec(tmp_path, mode)), seed=1)
    assert result.steps[0].status == status
    (opened,) = result.preparation
    if mode == "keep":
        assert (opened.count, opened.command) == (0, None)
        assert opened.message.startswith("nothing sent (unit_attention: keep)")
    else:  # cleared at open: the step that expected it got GOOD
        assert opened.count == 3 and "cleared UNIT ATTENTION" in opened.message
        assert "expected sense" in result.steps[0].failures[0].message


def test_plan_shows_what_opening_each_device_sends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two = (
        SPEC.replace(
            '  a: {target: "sim:open_prep", unit_attention: MODE}',
            '  a: {target: "sim:open_prep?block_size=4096", unit_attention: keep}\n'
            '  b: {target: "sim:open_prep", initiator: b}',
        )
        + "  - {device: b, command: TestUnitReady}\n"
    )
    two = two.replace("steps:", "defaults: {device: a}\nsteps:")
    assert main(["plan", str(spec(tmp_path, text=two))]) == 0
    rows = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert rows[2:4] == [
        "open.a a (sim:open_prep?block_size=4096) nothing sent (unit_attention: keep) - -"
        " block size 4096 assumed",
        "open.b b (sim:open_prep) TEST UNIT READY until GOOD (at most 4), READ CAPACITY(10) - -",
    ]
    assert rows[4].startswith("1 a ")  # then the steps


def test_the_run_reports_the_preparation_apart_from_the_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = spec(
        tmp_path,
        "clear",
        SPEC.replace("expect: {sense: {key: UNIT_ATTENTION, asc: 0x29}}", "expect: good"),
    )
    log, junit = tmp_path / "log.jsonl", tmp_path / "junit.xml"
    assert main(["validate", str(path)]) == 0
    assert "ok (2 steps)" in capsys.readouterr().out
    assert main(["run", str(path), "--log", str(log), "--junit", str(junit)]) == 0
    out = capsys.readouterr().out
    opened = next(line for line in out.splitlines() if line.startswith("  open a: "))
    assert "TEST UNIT READY: cleared UNIT ATTENTION (Unit Attention, Power on" in opened
    assert opened.endswith("TEST UNIT READY: GOOD; READ CAPACITY(10): 512-byte blocks")
    assert re.findall(r"\[\s*(\d+)/(\d+)\]", out)[-1] == ("2", "2")  # not a step
    records = [json.loads(line) for line in log.read_text().splitlines()]
    types = [r["type"] for r in records]
    assert types[:4] == ["run", "scenario_start", "open", "step"]
    record = records[2]
    assert (record["path"], record["kind"], record["count"]) == ("open.a", "open", 3)
    assert record["command"] == "TestUnitReady, ReadCapacity10"
    scenario = records[-2]
    assert [p["path"] for p in scenario["preparation"]] == ["open.a"]
    assert len(scenario["steps"]) == 2
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["open.a"] == record["message"]


def test_keep_learns_the_block_size_from_the_scenario_s_read_capacity(tmp_path: Path) -> None:
    get_target("open_4k", {"block_size": "4096"})  # a 4096-byte disk the spec does not describe
    text = """\
sgscript: 1
devices:
  a: {target: "sim:open_4k", unit_attention: keep}
steps:
  - {command: TestUnitReady, expect: {sense: UNIT_ATTENTION}}
  - {command: {Read10: {transfer_length: 1}}, expect: {received: 512}}
  - {command: ReadCapacity10}
  - {command: {Read10: {transfer_length: 1}}, expect: {received: 4096}}
"""
    result = run_scenario(load_scenario(spec(tmp_path, text=text)), seed=1)
    assert [s.status for s in result.steps] == ["passed"] * 4, [s.message for s in result.steps]
    assert "block size 512 assumed" in result.preparation[0].message
    assert "device a: block size 4096, from step 3's answer" in result.notes

"""``validate``, ``run`` and JUnit count the same steps.

A step is what sends commands, resets or sleeps, ``finally:`` included; a
``parallel:`` group only holds steps and is not one itself. A spec validated as
"ok (6 steps)" must run as "6 steps" with six JUnit testcases, or the numbers
a reviewer compares cannot be trusted.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sgscript import sim
from sgscript.cli import main

SPEC = """\
sgscript: 1
name: counted
devices:
  a: {target: "sim:step_count"}
defaults: {device: a}
steps:
  - {name: take the power-on unit attention, command: TestUnitReady, expect: any}
  - parallel:
      - - {name: read, command: {Read10: {transfer_length: 1}}, repeat: 10}
        - {name: read again, command: {Read10: {lba: 1, transfer_length: 1}}}
      - - {name: poll, command: TestUnitReady, repeat: 5}
  - {name: wait a little, sleep: 1ms}
finally:
  - {name: ready at the end, command: TestUnitReady}
"""


@pytest.fixture(autouse=True)
def _fresh_sim() -> None:
    sim.forget_targets()


def test_validate_run_and_junit_count_the_same_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, junit = tmp_path / "counted.yaml", tmp_path / "junit.xml"
    spec.write_text(SPEC)
    assert main(["validate", str(spec)]) == 0
    validated = capsys.readouterr().out
    assert main(["run", str(spec), "--junit", str(junit)]) == 0
    ran = capsys.readouterr().out
    assert f"{spec}: ok (6 steps" in validated
    assert "counted: PASSED  6 steps," in ran
    assert re.findall(r"\[\s*(\d+)/(\d+)\]", ran)[-1] == ("6", "6")  # the progress counter
    assert ET.parse(junit).getroot().get("tests") == "6"

"""JUnit testcase names are unique within their testsuite.

CI servers (GitLab, Jenkins, GitHub test reporters) merge testcases of one suite
that share a name, so two unnamed ``TestUnitReady on a`` steps would show as one
test and a failure of either could hide behind the other's pass.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sgscript import sim
from sgscript.cli import main

SPEC = """\
sgscript: 1
name: unnamed_steps
devices:
  a: {target: "sim:junit_names"}
defaults: {device: a}
steps:
  - {command: TestUnitReady, expect: any}
  - {name: read one block, command: {Read10: {transfer_length: 1}}}
  - command: TestUnitReady
  - {command: TestUnitReady, repeat: 2}
finally:
  - command: TestUnitReady
"""


@pytest.fixture(autouse=True)
def _fresh_sim() -> None:
    sim.forget_targets()


def junit_names(tmp_path: Path, spec_text: str) -> list[str]:
    spec, junit = tmp_path / "spec.yaml", tmp_path / "junit.xml"
    spec.write_text(spec_text)
    assert main(["run", str(spec), "--junit", str(junit)]) in (0, 1)
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    return [case.get("name", "") for case in suite.iter("testcase")]


def test_steps_that_share_a_name_get_their_step_path_in_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert junit_names(tmp_path, SPEC) == [
        "1 TestUnitReady on a",
        "read one block",  # a name of its own stays as it is
        "3 TestUnitReady on a",
        "4 TestUnitReady on a",
        "finally.1 TestUnitReady on a",
    ]


def test_a_step_named_like_a_prefixed_name_does_not_collide_with_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SPEC.replace("{name: read one block,", "{name: 3 TestUnitReady on a,")
    names = junit_names(tmp_path, text)
    assert len(set(names)) == len(names) == 5
    assert names[1] == "2 3 TestUnitReady on a" and names[2] == "3 TestUnitReady on a"

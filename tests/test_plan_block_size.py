"""``sgscript plan`` sizes data in the block size the device will have.

A ``sim:`` disk gets its block size from its target string or its ``options:``
(the string wins, as when it opens); the plan's DATA column must say what the run
will move, or a 4096-byte-block plan reads as eight times too small.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sgscript.cli import main

SPEC = """\
sgscript: 1
name: four_k
devices:
  a: {{target: "{target}"{options}}}
defaults: {{device: a}}
steps:
  - name: read one block
    command: {{Read10: {{transfer_length: 1}}}}
  - name: write two blocks
    command: {{Write16: {{lba: 8, transfer_length: 2}}}}
    data: {{pattern: zeros}}
"""


def plan_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: str, **spec: str
) -> list[str]:
    path = tmp_path / "spec.yaml"
    options = spec.get("options", "")
    path.write_text(
        SPEC.format(target=spec["target"], options=f", options: {options}" if options else "")
    )
    assert main(["plan", str(path), *argv]) == 0
    out = capsys.readouterr().out
    rows = [row for row in out.splitlines() if "Read10(" in row or "Write16(" in row]
    return [m.group(0) for row in rows if (m := re.search(r"\b(in|out) \d+\b", row))]


@pytest.mark.parametrize(
    "spec",
    [
        {"target": "sim:plan_bs?block_size=4096"},
        {"target": "sim:plan_bs?bs=4096&blocks=8192"},
        {"target": "sim:plan_bs", "options": "{block_size: 4096}"},
        {"target": "sim:plan_bs", "options": "{block_size: 4k}"},
        {"target": "sim:plan_bs?bs=4k", "options": "{block_size: 512}"},  # the string wins
    ],
    ids=repr,
)
def test_plan_shows_data_in_the_devices_block_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: dict[str, str]
) -> None:
    assert plan_data(tmp_path, capsys, **spec) == ["in 4096", "out 8192"]


def test_plan_of_a_binding_uses_the_bound_sim_targets_block_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bound = plan_data(tmp_path, capsys, "--device", "a=sim:other?block_size=4096", target="sim:x")
    assert bound == ["in 4096", "out 8192"]
    assert plan_data(tmp_path, capsys, target="sim:x") == ["in 512", "out 1024"]

"""One ``sim:`` name is one disk for a whole command line (and a Python process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import sgscript.sim as sim
from sgscript import load_scenario, run_scenario
from sgscript.cli import main


@pytest.fixture(autouse=True)
def fresh_targets() -> Iterator[None]:
    sim.forget_targets()
    yield
    sim.forget_targets()


WRITE = """\
sgscript: 1
devices: {a: "sim:lu0"}
steps:
  - name: write 8 blocks
    command: {Write10: {lba: 100, transfer_length: 8}}
    data: {pattern: lba, seed: 5}
"""

READ = """\
sgscript: 1
devices: {a: "sim:lu0"}
steps:
  - name: read them back
    command: {Read10: {lba: 100, transfer_length: 8}}
    expect: {data: {pattern: lba, seed: 5}}
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_later_spec_reads_what_an_earlier_one_wrote_on_the_same_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    writer, reader = write(tmp_path, "write.yaml", WRITE), write(tmp_path, "read.yaml", READ)
    assert main(["run", writer, reader, "--seed", "1"]) == 0
    assert "2 scenarios: 2 passed" in capsys.readouterr().out
    # each command line starts with fresh disks: alone, the reader finds nothing written
    assert main(["run", reader, "--seed", "1"]) == 1
    # and another name is another disk
    elsewhere = write(tmp_path, "elsewhere.yaml", READ.replace("sim:lu0", "sim:lu1"))
    assert main(["run", writer, elsewhere, "--seed", "1"]) == 1


def test_specs_that_disagree_on_a_disk_are_refused_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = write(tmp_path, "write.yaml", WRITE)
    other = write(tmp_path, "small.yaml", READ.replace('"sim:lu0"', '"sim:lu0?blocks=1000"'))
    assert main(["run", writer, other]) == 2
    out, err = capsys.readouterr()
    assert "PASS" not in out and "write 8 blocks" not in out
    assert f"{other}:2:14: devices.a: sim:lu0 is one disk for the whole command line:" in err
    assert f"{writer} makes it with blocks=262144, this opens it with blocks=1000" in err
    lun = write(tmp_path, "lun.yaml", READ.replace('"sim:lu0"', '"sim:lu0?luns=2&lun=1"'))
    assert main(["run", lun]) == 1  # alone it opens: it makes the disk with two LUNs
    assert main(["run", writer, lun]) == 2
    assert "makes it with luns=1, so it has no LUN 1" in capsys.readouterr().err


def test_fault_options_are_each_scenarios_own(tmp_path: Path) -> None:
    """The disk carries over; the medium errors one spec injects do not."""
    faulty = WRITE.replace('"sim:lu0"', '{target: "sim:lu0", options: {medium_error: "200-207"}}')
    faulty += "  - {name: bad block, command: {Read10: {lba: 200, transfer_length: 1}},"
    faulty += " expect: {sense: MEDIUM_ERROR}}\n"
    clean = READ + "  - {name: no bad block, command: {Read10: {lba: 200, transfer_length: 1}}}\n"
    writer, reader = write(tmp_path, "write.yaml", faulty), write(tmp_path, "read.yaml", clean)
    assert main(["run", writer, reader, "--seed", "1"]) == 0
    sim.forget_targets()
    # in one Python process, run_scenario calls share the disk the same way
    first = run_scenario(load_scenario(writer), seed=1)
    second = run_scenario(load_scenario(reader), seed=1)
    assert (first.status, second.status) == ("passed", "passed"), second.steps[-1].message

"""A failure prints the one command line that runs that scenario again, and it does."""

from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

import sgscript.sim as sim
from sgscript import load_scenario, run_scenario
from sgscript.cli import main

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def fresh_targets() -> Iterator[None]:
    sim.forget_targets()
    yield
    sim.forget_targets()


# In-range random LBAs the spec wrongly expects refused: each failure shows the CDB it
# sent, so the same failure means the same random LBAs.
RANDOM = """\
sgscript: 1
name: random reads
devices: {a: "sim:lu_random"}
vars: {n: 2, top: 100}
steps:
  - {name: ready, command: TestUnitReady}
  - name: random reads past the end
    command: {Read10: {lba: {random: [0, "${top}"]}, transfer_length: 1}}
    repeat: "${n}"
    on_failure: continue
    expect: {sense: ILLEGAL_REQUEST}
"""

OTHER = """\
sgscript: 1
name: other
devices: {b: "sim:lu_other"}
vars: {m: 1}
steps:
  - {name: ready, command: TestUnitReady}
"""


def write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(text)
    return name


def reproduce_lines(out: str) -> list[str]:
    return re.findall(r"^  reproduce: (.*)$", out, flags=re.M)


def cdbs(out: str) -> list[str]:
    return re.findall(r"command #\d+: .*CDB ([0-9a-f ]+)$", out, flags=re.M)


def test_a_failure_prints_the_line_that_reproduces_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    spec, other = write(tmp_path, "random.yaml", RANDOM), write(tmp_path, "other.yaml", OTHER)
    argv = ["run", other, spec, "-k", "ready or 'random reads'", "--var", "n=5"]
    argv += ["--var", "m=2", "--device", "a=sim:lu_bound", "--device", "b=sim:lu_b"]
    argv += ["--data-dir", "data", "--allow-destructive", "--max-transfer", "128MiB"]
    assert main(argv) == 1  # no --seed: one is chosen, and the line must carry it
    out = capsys.readouterr().out
    seed = re.search(r"^seed (\d+) ", out, flags=re.M)
    assert seed is not None
    (line,) = reproduce_lines(out)  # the failing scenario only; the other passed
    assert line == (
        f"sgscript run random.yaml --seed {seed[1]} -k 'ready or '\"'\"'random reads'\"'\"''"
        " --device a=sim:lu_bound --var n=5 --data-dir data --allow-destructive"
        " --max-transfer 128MiB"
    )
    first = cdbs(out)
    assert len(first) == 3  # the first failures in detail: their random LBAs
    args = shlex.split(line)
    assert args[:2] == ["sgscript", "run"] and args[6] == "ready or 'random reads'"
    sim.forget_targets()
    assert main(args[1:]) == 1
    again = capsys.readouterr().out
    assert cdbs(again) == first  # the same random LBAs, so the same failure
    assert reproduce_lines(again) == [line]


WRITER = """\
sgscript: 1
name: writer
devices: {a: "sim:lu_shared"}
steps:
  - {name: write, command: {Write10: {lba: 0, transfer_length: 1}}, data: {pattern: byte, value: 7}}
"""

READER = """\
sgscript: 1
name: reader
devices: {a: "sim:lu_shared"}
steps:
  - {name: read, command: {Read10: {lba: 0, transfer_length: 1}}, expect: {data: {pattern: byte, value: 8}}}
"""


def test_the_line_brings_the_earlier_specs_that_shared_its_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    writer, reader = write(tmp_path, "w.yaml", WRITER), write(tmp_path, "r.yaml", READER)
    other = write(tmp_path, "other.yaml", OTHER)
    assert main(["run", writer, other, reader, "--seed", "9"]) == 1
    out = capsys.readouterr().out
    (line,) = reproduce_lines(out)
    assert line == "sgscript run w.yaml r.yaml --seed 9"  # not other.yaml: another disk
    got = re.findall(r"@0x000000 got +(.*)", out)
    assert got == ["07 " * 15 + "07"]  # it read what w.yaml wrote
    sim.forget_targets()
    assert main(shlex.split(line)[1:]) == 1
    assert re.findall(r"@0x000000 got +(.*)", capsys.readouterr().out) == got


def test_junit_and_the_log_carry_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = write(tmp_path, "random.yaml", RANDOM)
    assert main(["run", spec, "--seed", "4", "--junit", "j.xml", "--log", "l.jsonl"]) == 1
    line = "sgscript run random.yaml --seed 4"
    assert reproduce_lines(capsys.readouterr().out) == [line]
    (failure,) = ET.parse(tmp_path / "j.xml").getroot().iter("failure")
    assert (failure.text or "").splitlines()[-1] == f"reproduce: {line}"
    records = [json.loads(x) for x in (tmp_path / "l.jsonl").read_text().splitlines()]
    (scenario,) = [r for r in records if r["type"] == "scenario"]
    assert scenario["reproduce"] == line


def test_run_scenario_gives_the_line_of_what_it_was_given(tmp_path: Path) -> None:
    path = tmp_path / "random.yaml"
    path.write_text(RANDOM)
    result = run_scenario(
        load_scenario(str(path)),
        seed=5,
        select="random reads",
        bindings={"a": "sim:lu_api"},
        allow_destructive=True,
    )
    assert result.status == "failed"
    assert result.reproduce == (
        f"sgscript run {path} --seed 5 -k 'random reads' --device a=sim:lu_api --allow-destructive"
    )


def test_a_failing_pytest_item_reports_the_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", random=RANDOM)
    (pytester.path / "data").mkdir()
    result = pytester.runpytest(
        "--sgscript-seed", "3", "--sgscript-var", "n=4", "--sgscript-data-dir", "data"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["  reproduce: sgscript run random.yaml --seed 3 --var n=4 --data-dir data"]
    )


def test_a_device_that_does_not_open_says_how_to_try_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = write(tmp_path, "random.yaml", RANDOM)
    assert main(["run", spec, "--seed", "1", "--device", "a=/dev/sg-nonexistent-99"]) == 3
    err = capsys.readouterr().err
    assert "  reproduce: sgscript run random.yaml --seed 1 --device a=/dev/sg-nonexistent-99" in err

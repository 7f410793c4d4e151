"""Each command in the JSON Lines log says which of its step's commands it is.

``seq`` counts completions, and commands in flight together complete in any
order; ``index`` is the command's number in its step's repeat (what ``${index}``
was when its fields were built), so a failed command can be traced to the one
the spec describes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sgscript import sim
from sgscript.cli import main

SPEC = """\
sgscript: 1
name: numbered
devices:
  a: {target: "sim:jsonl_index?latency=uniform:10us:400us", queue_depth: 16}
defaults: {device: a}
steps:
  - {name: take the power-on unit attention, command: TestUnitReady, expect: any}
  - name: each read's LBA is its index
    command: {Read16: {lba: "${index}", transfer_length: 1}}
    repeat: 64
    queue_depth: 16
  - name: a read past the end, every eighth one
    command: {Read16: {lba: "${index + 262144 * (index % 8 == 3)}", transfer_length: 1}}
    repeat: 32
    queue_depth: 8
    on_failure: continue
"""


@pytest.fixture(autouse=True)
def _fresh_sim() -> None:
    sim.forget_targets()


def log_of(tmp_path: Path, *argv: str) -> list[dict[str, object]]:
    spec, log = tmp_path / "spec.yaml", tmp_path / "run.jsonl"
    spec.write_text(SPEC)
    main(["run", str(spec), "--log", str(log), "--seed", "5", *argv])
    return [json.loads(line) for line in log.read_text().splitlines()]


def _lba(cdb: object) -> int:
    return int(str(cdb)[4:20], 16)  # READ(16): bytes 2-9


def test_every_command_line_gives_its_index_in_the_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = log_of(tmp_path, "--log-commands")
    reads = [r for r in records if r["type"] == "command" and r["step"] == "2"]
    assert sorted(r["seq"] for r in reads) == list(range(64))  # type: ignore[type-var]
    assert sorted(r["index"] for r in reads) == list(range(64))  # type: ignore[type-var]
    assert all(_lba(r["cdb"]) == r["index"] for r in reads)  # the command the spec made


def test_a_failed_command_of_a_repeat_gives_its_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in ((), ("--log-commands",)):
        records = log_of(tmp_path, *argv)
        if argv:
            failed = [r for r in records if r["type"] == "command" and "failure" in r]
        else:
            step = next(r for r in records if r["type"] == "step" and r["path"] == "3")
            failed = step["commands"]  # type: ignore[assignment]
        assert sorted(r["index"] for r in failed) == [3, 11, 19, 27], argv
        assert all(r["failure"]["index"] == r["index"] for r in failed)

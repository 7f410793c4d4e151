"""Issue 8, audited: hostile cases the first round of fixes still let through.

Each test reproduces one case a hostile lab tried against the merged main and
asserts what the contract promises (exit code, nothing sent, records that tell
the truth).  Times are asserted as orders of magnitude only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sgscript import sim
from sgscript.cli import main


@pytest.fixture(autouse=True)
def _fresh_sim() -> None:
    sim.forget_targets()


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ------------------------------------------- control characters made by YAML escapes


@pytest.mark.parametrize(
    "escape",
    [r"\ud800", r"\r", r"\e[2J", r"\x1b]0;title\x07", r"\0", r"\x85", r"\x9b", r"\x7f", r"\b"],
)
def test_a_control_character_written_as_a_yaml_escape_is_refused_at_its_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], escape: str
) -> None:
    """The reader refuses a raw ESC or NUL; ``"\\e"`` or ``"\\ud800"`` made the same
    characters and reached the terminal (a ``\\r`` rewrites a FAIL line as PASS) or,
    for a lone surrogate, broke the console mid-run: no step line, JSONL and JUnit
    claiming an interruption that never happened."""
    spec = write(
        tmp_path / "esc.yaml",
        'sgscript: 1\ndevices: {a: "sim:esc"}\nsteps:\n'
        f'  - {{device: a, command: TestUnitReady, name: "x{escape}y"}}\n',
    )
    log = tmp_path / "run.jsonl"
    code = main(["run", spec, "--log", str(log)])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert re.search(re.escape(spec) + r":4:\d+: .*control character", err), err
    assert "Traceback" not in out + err
    assert not log.exists()  # refused before the reports: nothing sent
    assert not sim.targets()


def test_tabs_and_newlines_in_text_stay_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(
        tmp_path / "ok.yaml",
        'sgscript: 1\ndescription: "two\\nlines\\tand a tab"\ndevices: {a: "sim:ok"}\n'
        "steps:\n  - {device: a, command: TestUnitReady}\n",
    )
    assert main(["run", spec]) == 0, capsys.readouterr()

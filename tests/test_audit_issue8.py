"""Issue 8, audited: hostile cases the first round of fixes still let through.

Each test reproduces one case a hostile lab tried against the merged main and
asserts what the contract promises (exit code, nothing sent, records that tell
the truth).  Times are asserted as orders of magnitude only.
"""

from __future__ import annotations

import json
import os
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


# ------------------------------------ a target string is checked before anything is sent

WRITER = (
    'sgscript: 1\ndevices: {a: "sim:first"}\nsteps:\n'
    "  - {device: a, command: {Write10: {lba: 0, transfer_length: 1}}, data: {pattern: zeros}}\n"
)

BAD_TARGETS = [
    ('"simm:lu0"', "unknown target kind"),
    ('"sg:"', "names no device"),
    ('"sim:lu0?latency=bogus"', "not a duration"),
    ('"sim:lu0?nosuch=1"', "unknown sim option"),
    ('"sim:lu0?blocks=-5"', "blocks=-5"),
    ('"sim:lu0?block_size=7"', "block_size=7"),
    ('"sim:lu0?queue_depth=0"', "queue_depth=0"),
    ('"sim:lu0?lun=7"', "no LUN 7"),
    ('"sim:lu0?luns=999"', "luns=999"),
    ('"sim:lu0?every_nth=0:BUSY"', "at least 1"),
    ('"sim:lu0?gone_after=0"', "at least 1"),
    ("{target: sim:lu0, options: {latency: bogus}}", "not a duration"),
    ("{target: sim:lu0, options: {medium_error: [[5, 1]]}}", "ends before it starts"),
]


@pytest.mark.parametrize(("target", "why"), BAD_TARGETS)
def test_validate_refuses_a_target_that_run_would_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, why: str
) -> None:
    """``validate`` said ok for each of these; ``run`` refused them only on opening."""
    spec = write(
        tmp_path / "t.yaml",
        f"sgscript: 1\ndevices: {{a: {target}}}\nsteps:\n  - {{device: a, command: TestUnitReady}}\n",
    )
    code = main(["validate", spec])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert re.search(re.escape(spec) + r":2:\d+: .*" + re.escape(why), out + err), out + err


@pytest.mark.parametrize(("target", "why"), BAD_TARGETS)
def test_a_bad_target_in_a_later_spec_stops_the_run_before_the_first_spec_sends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, why: str
) -> None:
    """``run first.yaml second.yaml``: the first spec wrote its disk, then the second's
    target was refused with exit 2 ("nothing sent") and a JUnit file reading all green."""
    first = write(tmp_path / "first.yaml", WRITER)
    second = write(
        tmp_path / "second.yaml",
        f"sgscript: 1\ndevices: {{b: {target}}}\nsteps:\n  - {{device: b, command: TestUnitReady}}\n",
    )
    junit, log = tmp_path / "out.xml", tmp_path / "out.jsonl"
    code = main(["run", first, second, "--junit", str(junit), "--log", str(log)])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert re.search(re.escape(second) + r":2:\d+: .*" + re.escape(why), err), err
    assert not sim.targets()  # the first spec's disk was never made: nothing was sent
    assert not log.exists() and not junit.exists()


def test_a_bad_device_binding_is_refused_before_the_first_spec_sends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write(tmp_path / "first.yaml", WRITER)
    second = write(
        tmp_path / "second.yaml",
        'sgscript: 1\ndevices: {b: "sim:second"}\nsteps:\n  - {device: b, command: TestUnitReady}\n',
    )
    code = main(["run", first, second, "--device", "b=sim:second?latency=1e400s"])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert "latency=1e400s" in err and "duration" in err
    assert "seed" not in out  # refused before the run began
    assert not sim.targets()


# ------------------------- a plugin's real device in a later spec, refused before the first sends

LAB_PLUGIN = """
from fake_transport import FakeTransport
from sgscript.hookspecs import hookimpl

SENT = []


class Lab(FakeTransport):
    def submit(self, ios):
        SENT.extend(type(io.command).__name__ for io in ios)
        return super().submit(ios)


@hookimpl
def sgscript_open_target(target, options):
    return Lab(target) if target.startswith("lab:") else None
"""


def test_a_real_plugin_device_in_a_later_spec_is_refused_before_the_first_spec_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plugin targets were judged only when their own spec opened them: ``run a.yaml
    b.yaml`` let ``a.yaml`` write its disk, then exited 2 ("nothing was sent") with a
    JUnit file reading tests=1 failures=0 errors=0."""
    import importlib

    write(tmp_path / "plug" / "audit_lab_plugin.py", LAB_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path / "plug"))
    first = write(tmp_path / "first.yaml", WRITER)
    second = write(
        tmp_path / "second.yaml",
        WRITER.replace("{a: ", "{b: ")
        .replace("device: a", "device: b")
        .replace("sim:first", "lab:rack1"),
    )
    junit = tmp_path / "out.xml"
    code = main(["run", first, second, "-p", "audit_lab_plugin", "--junit", str(junit)])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert "--allow-destructive" in err and "device b (lab:rack1)" in err
    assert not sim.targets()  # the first spec never ran
    assert importlib.import_module("audit_lab_plugin").SENT == []
    assert not junit.exists()


# --------------------------------------------- an include fan-out is bounded, not only its depth


def test_a_fan_out_of_includes_is_refused_in_moments_not_hours(tmp_path: Path) -> None:
    """Sixteen 3-line files, each including the next three times, stayed under the depth
    bound and the step bound and expanded 3**15 includes: ``validate`` ran for hours."""
    import subprocess
    import sys
    import time

    for i in range(16):
        write(tmp_path / f"f{i}.yaml", "".join(f"- include: f{i + 1}.yaml\n" for _ in range(3)))
    write(tmp_path / "f16.yaml", "- {sleep: 0}\n")
    spec = write(
        tmp_path / "fan.yaml",
        'sgscript: 1\ndevices: {a: "sim:fan"}\nsteps:\n  - include: f0.yaml\n',
    )
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "sgscript", "validate", spec],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert time.monotonic() - start < 30
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "includes expanded" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert len(proc.stdout.splitlines()) < 20  # a few lines, not one per expansion


# ------------------------------------------ `sgscript devices` never echoes a drive's controls


def test_devices_shows_control_characters_from_the_drive_as_question_marks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """INQUIRY strings are the drive's bytes, exported by sysfs as they are: an ESC or CR
    in the vendor or model field went raw to the terminal listing the devices, and a
    DEVNAME with controls or ``..`` made the node path shown to the user."""
    node = tmp_path / "class" / "scsi_generic" / "sg0"
    write(node / "device" / "vendor", "ACME\x1b[2J\x1b]0;title\x07")
    write(node / "device" / "model", "REAL\rFAKE")
    write(node / "device" / "type", "0\n")
    write(node / "uevent", "MAJOR=21\nDEVNAME=../../tmp/sg0\x1b[31m\n")
    for argv in (["devices"], ["devices", "--json"]):
        assert main([*argv, "--sysfs-root", str(tmp_path)]) == 0
        out = capsys.readouterr().out
        assert "ACME?[2J?]0;title?" in out or "ACME?[2J?]0;title?" in json.dumps(json.loads(out))
        assert "\x1b" not in out and "\r" not in out and "\\u001b" not in out
        assert "/dev/sg0" in out and ".." not in out


# ------------------------------------------------ the vars together are bounded, not only each


def test_many_long_vars_are_refused_once_at_the_var_past_the_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each value stayed under 64k characters, but 30,000 of them (an 800 kB spec) took
    3 GB and 25 s and then ran; 300 are past the 16 MiB budget."""
    lines = "".join(f"  v{i}: \"${{'x' * 60000}}\"\n" for i in range(300))
    spec = write(
        tmp_path / "vars.yaml",
        f'sgscript: 1\nvars:\n{lines}devices: {{a: "sim:vars"}}\n'
        "steps:\n  - {device: a, command: TestUnitReady}\n",
    )
    for command in ("validate", "run", "plan"):
        code = main([command, spec])
        out, err = capsys.readouterr()
        assert code == 2, (command, out[-500:], err[-500:])
        problems = [ln for ln in (out + err).splitlines() if "characters of text" in ln]
        assert len(problems) == 1, (command, problems[:3])
        assert problems[0].startswith(f"{spec}:282:") and "vars.v279" in problems[0]
    assert not sim.targets()


# ------------------------------------------- --junit never replaces what is not a regular file


def test_junit_to_a_pipe_is_written_into_it_not_replaced_by_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The atomic write renamed a temporary file over the path: ``--junit /dev/stdout``
    replaced the /dev/stdout link and, as root, ``--junit /dev/null`` put a regular file
    in place of /dev/null.  A pipe stands in for those here."""
    import stat
    import threading

    spec = write(
        tmp_path / "ok.yaml",
        'sgscript: 1\ndevices: {a: "sim:pipe"}\nsteps:\n  - {device: a, command: TestUnitReady}\n',
    )
    fifo = tmp_path / "junit.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert main(["run", spec, "--junit", str(fifo)]) == 0, capsys.readouterr()
    reader.join(10)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still the pipe
    assert got and got[0].count(b"<testcase ") == 1 and got[0].count(b"<?xml") == 1
    assert not list(tmp_path.glob("junit.fifo.tmp*"))


def test_junit_through_a_symlink_writes_its_file_and_keeps_the_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(
        tmp_path / "ok.yaml",
        'sgscript: 1\ndevices: {a: "sim:link"}\nsteps:\n  - {device: a, command: TestUnitReady}\n',
    )
    (tmp_path / "results").mkdir()
    link = tmp_path / "junit.xml"
    link.symlink_to(tmp_path / "results" / "out.xml")
    assert main(["run", spec, "--junit", str(link)]) == 0, capsys.readouterr()
    assert link.is_symlink()
    assert b"<testcase " in (tmp_path / "results" / "out.xml").read_bytes()


# ------------------------------------------------ a report never overwrites the spec it reports


@pytest.mark.parametrize("option", ["--log", "--junit"])
@pytest.mark.parametrize("which", ["spec", "include"])
def test_a_report_path_naming_a_spec_or_include_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, which: str
) -> None:
    """``run a.yaml --log a.yaml`` replaced the spec with its own log, exit 0."""
    steps = write(tmp_path / "steps.yaml", "- {device: a, command: TestUnitReady}\n")
    spec = write(
        tmp_path / "a.yaml",
        'sgscript: 1\ndevices: {a: "sim:out"}\nsteps:\n  - include: steps.yaml\n',
    )
    before = {p: Path(p).read_text() for p in (spec, steps)}
    target = spec if which == "spec" else steps
    code = main(["run", spec, option, target])
    _, err = capsys.readouterr()
    assert code == 2, err
    assert f"{option} {target}: that is a spec or included file" in err
    assert {p: Path(p).read_text() for p in before} == before
    assert not sim.targets()


def test_log_and_junit_naming_one_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(
        tmp_path / "a.yaml",
        'sgscript: 1\ndevices: {a: "sim:out"}\nsteps:\n  - {device: a, command: TestUnitReady}\n',
    )
    out = str(tmp_path / "report")
    assert main(["run", spec, "--log", out, "--junit", out]) == 2
    assert "--log writes that file already" in capsys.readouterr().err

"""Issue 8, findings 5-9 (inputs): every file a spec names is confined, every input bounded,
every mistake one line ``FILE:LINE:COL: ...`` with exit 2 before anything is sent.

Times are asserted as orders of magnitude only (what took 30 s must take under 5 s).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from sgscript import sim
from sgscript.cli import main

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _fresh_sim() -> None:
    sim.forget_targets()


HEAD = 'sgscript: 1\ndevices:\n  a: "sim:inputs"\n'


def write(path: Path, text: str | bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def one_error(capsys: pytest.CaptureFixture[str], code: int, spec: str) -> str:
    """The single problem line of a refused spec (exit 2, no traceback)."""
    assert code == 2
    out, err = capsys.readouterr()
    text = out + err
    assert "Traceback" not in text
    lines = [ln for ln in text.splitlines() if ln.startswith(spec)]
    assert len(lines) == 1, text
    assert re.match(re.escape(spec) + r":\d+:\d+: ", lines[0]), lines[0]
    return lines[0]


# ----------------------------------------------------------- 5: confinement


SECRET = "root:x:0:0:TOP-SECRET-LINE:/root:/bin/bash\n"


def test_an_include_outside_the_spec_directory_is_refused_without_its_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = write(tmp_path / "elsewhere" / "shadow", SECRET)
    spec = write(tmp_path / "specs" / "s.yaml", HEAD + f"steps:\n  - include: {secret}\n")
    line = one_error(capsys, main(["validate", spec]), spec)
    assert f"{spec}:5:14:" in line and secret in line and "outside" in line
    assert "TOP-SECRET" not in line


def test_dotdot_and_symlinks_out_of_the_directory_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "secret.txt", SECRET)
    (tmp_path / "specs").mkdir()
    os.symlink(tmp_path / "secret.txt", tmp_path / "specs" / "link.bin")
    for name in ("../secret.txt", "link.bin"):
        spec = write(
            tmp_path / "specs" / "s.yaml",
            HEAD + "steps:\n  - command: {Write10: {lba: 0, transfer_length: 1}}\n"
            f"    data: {{file: {name}}}\n",
        )
        line = one_error(capsys, main(["run", spec]), spec)
        assert f"{spec}:6:18:" in line and name in line and "outside" in line
        assert "TOP-SECRET" not in line


def test_data_dir_names_another_allowed_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "data" / "block.bin", b"\xa5" * 512)
    spec = write(
        tmp_path / "specs" / "s.yaml",
        HEAD + "steps:\n  - command: {Write10: {lba: 0, transfer_length: 1}}\n"
        "    data: {file: block.bin}\n"
        "  - command: {Read10: {lba: 0, transfer_length: 1}}\n"
        "    expect: {data: {file: block.bin}}\n",
    )
    assert main(["validate", spec]) == 2
    assert "data file 'block.bin' not found" in capsys.readouterr().out
    assert main(["run", spec, "--data-dir", str(tmp_path / "data")]) == 0


def test_a_fifo_spec_or_include_is_refused_not_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "steps.yaml"
    os.mkfifo(fifo)
    start = time.monotonic()
    assert main(["validate", str(fifo)]) == 2
    assert "not a regular file (a FIFO)" in capsys.readouterr().out
    spec = write(tmp_path / "s.yaml", HEAD + "steps:\n  - include: steps.yaml\n")
    line = one_error(capsys, main(["run", spec]), spec)
    assert "not a regular file (a FIFO)" in line
    assert time.monotonic() - start < 60  # a FIFO blocks for ever: any bound shows it did not


# ------------------------------------------------- 7: control characters


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b"])
def test_a_control_character_is_one_line_at_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], char: str
) -> None:
    spec = write(tmp_path / "s.yaml", HEAD + f"steps:\n  - command: Test{char}UnitReady\n")
    line = one_error(capsys, main(["validate", spec]), spec)
    assert line.startswith(f"{spec}:5:18: unacceptable character #x{ord(char):04x}")
    inc = write(tmp_path / "inc.yaml", f"- command: Test{char}UnitReady\n")
    spec = write(tmp_path / "t.yaml", HEAD + "steps:\n  - include: inc.yaml\n")
    assert main(["run", spec]) == 2
    out, err = capsys.readouterr()
    assert f"{inc}:1:16: unacceptable character" in out + err and "Traceback" not in out + err


# ------------------------------------------------------- 6: spec size


@pytest.mark.slow
def test_a_huge_spec_is_refused_while_parsing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [HEAD.rstrip("\n"), "steps:"]
    lines += [f"  - {{command: TestUnitReady, name: s{i}}}" for i in range(97_000)]
    spec = write(tmp_path / "big.yaml", "\n".join(lines) + "\n")
    assert os.path.getsize(spec) < 4 << 20  # under the size limit: the node count refuses it
    start = time.process_time()  # CPU seconds: a busy machine does not count
    line = one_error(capsys, main(["validate", spec]), spec)
    assert "more than 100000 YAML nodes" in line
    assert time.process_time() - start < 15  # 26 s and 450 MB before


def test_aliases_that_expand_past_the_bound_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    laughs = ["x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    spec = write(tmp_path / "lol.yaml", HEAD + "\n".join(laughs) + "\nsteps: []\n")
    start = time.process_time()  # CPU seconds: a busy machine does not count
    line = one_error(capsys, main(["validate", spec]), spec)
    assert "after aliases" in line and time.process_time() - start < 5


def test_includes_nested_too_deep_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(20):
        write(tmp_path / f"i{i}.yaml", f"- include: i{i + 1}.yaml\n")
    write(tmp_path / "i20.yaml", "- command: TestUnitReady\n")
    spec = write(tmp_path / "s.yaml", HEAD + "steps:\n  - include: i0.yaml\n")
    assert main(["validate", spec]) == 2
    assert "includes nested more than 16 deep" in capsys.readouterr().out


# ------------------------------------------------ 6: expressions bounded


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("'x' * 10**8", "text too long"),
        ("'x' * 2**30", "text too long"),
        ("'%0999999999d' % 1", "text too long"),
        ("3**100000", "number too large"),
        ("1 << 100000", "number too large"),
    ],
)
def test_expressions_are_bounded_before_they_are_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], expr: str, message: str
) -> None:
    spec = write(
        tmp_path / "s.yaml",
        HEAD + f'vars:\n  v: "${{{expr}}}"\nsteps:\n  - command: TestUnitReady\n'
        '    name: "uses ${v}"\n',
    )
    start = time.process_time()  # CPU seconds: a busy machine does not count
    code = main(["run", spec])
    assert time.process_time() - start < 5
    line = one_error(capsys, code, spec)
    assert message in line and len(line) < 500


# ------------------------------------- 8: mistakes found before anything is sent


LBA_SPEC = HEAD + (
    "vars: {lba: 0, n: 1}\n"
    "steps:\n"
    "  - {command: {Write10: {lba: 0, transfer_length: 1}}, data: {pattern: zeros}}\n"
    "  - command: TestUnitReady\n"
    "    repeat: ${n}\n"
    '  - command: {Read10: {lba: "${lba}", transfer_length: 1}}\n'
)


@pytest.mark.parametrize(
    ("var", "where", "message"),
    [
        ("lba=-1", ":9:5: step 3: logical_block_address=-1 does not fit", "Read10"),
        ("lba=99999999999999999999999", ":9:5: step 3: logical_block_address=", "does not fit"),
        ("n=-1", ":7:5: step 2: repeat must be at least 0", "got -1"),
        ("n=100000000000000000000000", ":7:5: step 2: repeat is at most 1000000000", "got"),
    ],
)
def test_var_values_are_checked_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], var: str, where: str, message: str
) -> None:
    spec = write(tmp_path / "s.yaml", LBA_SPEC)
    log = tmp_path / "run.jsonl"
    line = one_error(capsys, main(["run", spec, "--var", var, "--log", str(log)]), spec)
    assert line.startswith(spec + where) and message in line
    assert not log.exists() or '"command"' not in log.read_text()  # nothing was sent
    line = one_error(capsys, main(["validate", spec, "--var", var]), spec)
    assert line.startswith(spec + where)


def test_values_saved_at_run_time_stay_step_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(
        tmp_path / "s.yaml",
        HEAD + "steps:\n  - command: ReadCapacity10\n"
        "    save: {last: returned_logical_block_address}\n"
        '  - command: {Read10: {lba: "${last + 2**33}", transfer_length: 1}}\n',
    )
    assert main(["validate", spec]) == 0
    assert main(["run", spec]) == 1
    assert "does not fit" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("{cdb: '12 00 00 00 24 00', data_in: 100000000000}", "data_in of 100000000000 bytes"),
        ("{command: {Read16: {lba: 0, transfer_length: 1000000}}}", "Read16's data of 512000000"),
        (
            "{command: {Write10: {lba: 0, transfer_length: 1}},"
            " data: {pattern: zeros, length: 10000000000}}",
            "data of 10000000000 bytes",
        ),
        ("{command: TestUnitReady, repeat: '${10**23}'}", "repeat is at most 1000000000"),
        ("{command: TestUnitReady, timeout: .inf}", "a duration is at most 7 days, got inf"),
        ("{command: TestUnitReady, timeout: .nan}", "a duration must be a number"),
        ("{command: TestUnitReady, timeout: 0}", "a timeout must be more than 0"),
        ("{sleep: .inf}", "a duration is at most 7 days"),
        ("{sleep: 99999999999999999999h}", "a duration is at most 7 days"),
    ],
)
def test_sizes_counts_and_durations_are_bounded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], step: str, message: str
) -> None:
    spec = write(tmp_path / "s.yaml", HEAD + f"steps:\n  - {step}\n")
    start = time.process_time()  # CPU seconds: a busy machine does not count
    assert message in one_error(capsys, main(["validate", spec]), spec)
    assert message in one_error(capsys, main(["run", spec]), spec)
    assert time.process_time() - start < 5


def test_max_transfer_raises_the_transfer_bound(tmp_path: Path) -> None:
    spec = write(
        tmp_path / "s.yaml",
        HEAD + "steps:\n  - {command: {Read10: {lba: 0, transfer_length: 256}}}\n",
    )
    assert main(["run", spec, "--max-transfer", "64k"]) == 2
    assert main(["run", spec, "--max-transfer", "128KiB"]) == 0


# --------------------------------------------------- 7: command line values


def test_deeply_nested_k_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write(tmp_path / "s.yaml", HEAD + "steps:\n  - command: TestUnitReady\n")
    for select in ("(" * 1000 + "x" + ")" * 1000, "not " * 1000 + "x", "x " * 5000):
        assert main(["run", spec, "-k", select]) == 2
        _, err = capsys.readouterr()
        assert err.count("\n") == 1 and "Traceback" not in err and "-k" in err


@pytest.mark.parametrize(
    "target",
    [
        "sim:lu0?latency=1e400s",
        "sim:lu0?latency=1e99999999s",
        "sim:lu0?latency=uniform:1ms:1e400s",
        "sim:lu0?blocks=" + "9" * 5000,
    ],
)
def test_sim_option_numbers_are_bounded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    spec = write(tmp_path / "s.yaml", HEAD + "steps:\n  - command: TestUnitReady\n")
    assert main(["run", spec, "--device", f"a={target}"]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "Traceback" not in err and "sim option" in err


# ------------------------------------------------------ 7: sysfs trees


def test_devices_survives_symlink_loops_fifos_and_endless_attributes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "sys"
    links = root / "class" / "scsi_generic"
    node = root / "devices" / "sg0"
    node.mkdir(parents=True)
    links.mkdir(parents=True)
    (links / "sg0").symlink_to(node)
    (node / "device").symlink_to(node / "device")  # a loop
    (node / "uevent").symlink_to("/dev/zero")  # never ends
    os.mkfifo(node / "vendor")
    start = time.process_time()  # CPU seconds: a busy machine does not count
    assert main(["devices", "--sysfs-root", str(root), "--json"]) == 0
    out = capsys.readouterr().out
    assert '"name": "sg0"' in out and '"hctl": null' in out
    (root / "class").rename(root / "old")
    (root / "class").symlink_to(root / "class")  # the class directory itself loops
    assert main(["devices", "--sysfs-root", str(root)]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "cannot list" in err
    assert time.process_time() - start < 5


# ------------------------------------------------------- the pytest plugin


def test_pytest_checks_vars_and_confines_files_like_the_cli(pytester: pytest.Pytester) -> None:
    (pytester.path / "data").mkdir()
    (pytester.path / "data" / "block.bin").write_bytes(b"\x5a" * 512)
    (pytester.path / "specs").mkdir()
    (pytester.path / "specs" / "w.yaml").write_text(
        HEAD + "vars: {lba: 0}\nsteps:\n"
        '  - command: {Write10: {lba: "${lba}", transfer_length: 1}}\n'
        "    data: {file: block.bin}\n"
    )
    data_dir = f"--sgscript-data-dir={pytester.path / 'data'}"
    pytester.runpytest("specs", data_dir).assert_outcomes(passed=1)
    result = pytester.runpytest("specs")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*w.yaml:7:18: *data file 'block.bin' not found*"])
    result = pytester.runpytest("specs", data_dir, "--sgscript-var=lba=-1")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*w.yaml:6:5: step 1: logical_block_address=-1 does not fit*"])

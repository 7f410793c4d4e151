"""The spec library in specs/: every spec loads, validates and passes on ``sim:``.

Also the acceptance points a user meets first, through the installed console
script: ``sgscript run specs/reserve_release.yaml`` passes with a readable
report (exit 0), a copy whose expectation is wrong fails and says why (exit 1),
a malformed copy is refused with FILE:LINE:COL (exit 2), and a spec written
without a hard-coded geometry runs unchanged on another disk (``--device``).
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sgscript.runner import ScenarioResult, run_scenario
from sgscript.scenario.load import load_scenario
from sgscript.sim import forget_targets

ROOT = Path(__file__).resolve().parent.parent
SPECS_DIR = ROOT / "specs"
SPECS = sorted(SPECS_DIR.glob("*.yaml"))
SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/sgscript.schema.json"
#: What a qualification engineer runs on a new drive (issue 5, "Spec library").
REQUIRED = {
    "reserve_release",
    "inquiry_vpd",
    "capacity",
    "write_read_verify",
    "errors",
    "unit_attention",
    "spc2_reservations",
    "persistent_reservations",
    "compare_and_write",
    "write_same_unmap",
    "mode_pages",
    "start_stop",
    "mixed_workload",
    "soak",
    "optional_commands",
}
#: Steps that are skipped on sim: because the sim does not implement the command.
SKIPPED_ON_SIM = {
    "optional_commands": {"REPORT IDENTIFYING INFORMATION", "READ ATTRIBUTE", "REPORT TIMESTAMP"},
}
SEED = 20260501


def sgscript(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The installed console script next to this interpreter (or ``python -m sgscript``)."""
    script = Path(sys.executable).with_name("sgscript")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "sgscript"]
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        argv + list(args), cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )


def failures(result: ScenarioResult) -> str:
    """The failed steps of a result with their messages, for an assertion message."""
    lines = [f"seed {result.seed}: {result.status} {result.message}".rstrip()]
    for step in result.steps:
        if step.status == "failed":
            lines.append(f"  {step.path} {step.name}: {step.message}".rstrip())
            lines += [f"    {f.message}" for f in step.failures[:3]]
    return "\n".join(lines)


@pytest.fixture(autouse=True)
def fresh_sim() -> Iterator[None]:
    forget_targets()
    yield
    forget_targets()


def test_the_library_has_what_a_qualification_engineer_runs() -> None:
    names = {path.stem for path in SPECS}
    assert names >= REQUIRED, f"missing: {sorted(REQUIRED - names)}"
    assert len(names) >= 13


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_says_what_it_proves_and_names_the_schema(path: Path) -> None:
    assert path.read_text().splitlines()[0] == SCHEMA_LINE
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert len(scenario.description.split()) >= 8, "a description says what the spec proves"
    for step in scenario.all_steps():
        if step.kind == "command":
            assert step.device in scenario.devices, step.name
    for device in scenario.devices.values():
        assert device.target.startswith("sim:"), "every spec runs on sim: by default"


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_passes_on_sim(path: Path) -> None:
    result = run_scenario(load_scenario(path), seed=SEED)
    assert result.status == "passed", failures(result)
    skipped = {s.name for s in result.steps if s.status == "skipped"}
    assert skipped == SKIPPED_ON_SIM.get(path.stem, set())
    assert result.commands > 0


def test_optional_steps_are_skipped_and_the_scenario_goes_on() -> None:
    result = run_scenario(load_scenario(SPECS_DIR / "optional_commands.yaml"), seed=SEED)
    by_name = {s.name: s for s in result.steps}
    assert by_name["READ ATTRIBUTE"].status == "skipped"
    assert "INVALID COMMAND OPERATION CODE" in by_name["READ ATTRIBUTE"].message.upper()
    assert by_name["REPORT SUPPORTED OPERATION CODES"].status == "passed"
    assert by_name["TEST UNIT READY (mandatory)"].status == "passed"


def test_a_drive_with_bad_blocks_fails_write_read_verify_at_the_step_that_hits_them() -> None:
    # The spec writes 4 x 64 blocks from LBA 16384; the "drive" cannot read 16400-16401.
    scenario = load_scenario(SPECS_DIR / "write_read_verify.yaml")
    result = run_scenario(
        scenario, bindings={"a": "sim:bad?medium_error=16400-16401&medium_repair=false"}, seed=SEED
    )
    assert result.status == "failed"
    failed = [s for s in result.steps if s.status == "failed"]
    assert [s.name for s in failed] == ["read it back"]
    detail = failed[0].failures[0]
    assert "Medium Error" in detail.got and "Unrecovered read error" in detail.got
    assert detail.cdb_hex.startswith("28 00 00 00 40 00")


def test_the_persistent_reservation_spec_catches_a_target_that_ignores_reservations() -> None:
    # Two initiators bound to two *different* logical units: b never sees a's reservation.
    scenario = load_scenario(SPECS_DIR / "persistent_reservations.yaml")
    result = run_scenario(scenario, bindings={"a": "sim:pr-a", "b": "sim:pr-b"}, seed=SEED)
    assert result.status == "failed"
    first = next(s for s in result.steps if s.status == "failed")
    assert first.name == "READ KEYS lists two keys"
    assert "additional_length=16" in first.failures[0].expected


def test_the_soak_loop_scales_with_its_commands_var() -> None:
    scenario = load_scenario(SPECS_DIR / "soak.yaml")
    assert scenario.vars["commands"] == 20000  # the default: quick, still a soak
    small = dataclasses.replace(scenario, vars={**scenario.vars, "commands": 1000})
    result = run_scenario(small, seed=SEED)
    assert result.status == "passed", failures(result)
    loop = [s for s in result.steps if s.name.startswith("soak ")]
    assert sum(s.count for s in loop) == 1000
    reads = next(s for s in loop if s.name == "soak reads")
    assert reads.latency is not None and reads.latency.max < 2.0


# ------------------------------------------------------------------ the command line


def test_cli_runs_reserve_release_and_reports_a_pass() -> None:
    proc = sgscript("run", "specs/reserve_release.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "reserve_release" in out
    assert re.search(r"seed\W+\d+", out), "the seed is printed so the run can be replayed"
    for step in ("a reserves the logical unit", "b is refused", "past the end", "a releases"):
        assert step in out
    assert "Traceback" not in proc.stderr


def wrong_copy(tmp_path: Path, old: str, new: str, name: str = "reserve_release.yaml") -> Path:
    text = (SPECS_DIR / name).read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


def test_cli_wrong_expectation_exits_1_and_says_why(tmp_path: Path) -> None:
    spec = wrong_copy(tmp_path, "{status: RESERVATION_CONFLICT}", "good")
    proc = sgscript("run", str(spec))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "b is refused" in out
    assert "RESERVATION CONFLICT" in out.upper()  # what came back
    assert "28 00 00 00 00 00 00 00 01 00" in out  # the CDB of b's READ(10)
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        # a YAML syntax error: an unclosed flow mapping
        ('{Read10: {lba: "${lba}", transfer_length: 1}}', '{Read10: {lba: "${lba}"', None, ""),
        # an unknown command, with a suggestion
        ("command: Reserve6", "command: Reserve7", 12, "Reserve6"),
        # a field the command does not have, with a suggestion
        ('"${lba}", transfer_length: 1}}', '"${lba}", transfer_lenght: 1}}', 15, "transfer_length"),
        # an expression over a variable nobody defined
        ('"${last_lba + 1}"', '"${last_lbb + 1}"', 23, "last_lbb"),
    ],
    ids=["yaml-syntax", "unknown-command", "unknown-field", "undefined-variable"],
)
def test_cli_malformed_spec_exits_2_with_file_line_col(
    tmp_path: Path, old: str, new: str, line: int | None, words: str
) -> None:
    spec = wrong_copy(tmp_path, old, new)
    proc = sgscript("run", str(spec))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    where = str(line) if line else r"\d+"
    at = re.escape(str(spec)) + rf":{where}:\d+: "
    assert re.search(at, proc.stderr), proc.stderr
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "PASS" not in proc.stdout  # nothing was sent


def test_cli_validate_accepts_every_spec() -> None:
    proc = sgscript("validate", *[str(p.relative_to(ROOT)) for p in SPECS])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cli_binds_a_spec_to_another_disk_unchanged() -> None:
    # capacity.yaml saves what READ CAPACITY says instead of hard-coding a size.
    proc = sgscript(
        "run", "specs/capacity.yaml", "--device", "a=sim:other?blocks=5000&block_size=4096"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sim:other" in proc.stdout


#: The counterparts of libiscsi's DPO/FUA tests: (spec under specs/, the test it counters).
DPO_FUA = [
    ("read/read10.yaml", "Read10.DpoFua"),
    ("read/read12.yaml", "Read12.DpoFua"),
    ("read/read16.yaml", "Read16.DpoFua"),
    ("write/write10.yaml", "Write10.DpoFua"),
    ("write/write12.yaml", "Write12.DpoFua"),
    ("write/write16.yaml", "Write16.DpoFua"),
    ("write/writeverify10.yaml", "WriteVerify10.Dpo"),
    ("write/writeverify12.yaml", "WriteVerify12.Dpo"),
    ("write/writeverify16.yaml", "WriteVerify16.Dpo"),
    ("write/orwrite.yaml", "OrWrite.DpoFua"),
    ("write/writeatomic16.yaml", "WriteAtomic16.DpoFua"),
    ("verify/verify10.yaml", "Verify10.Dpo"),
    ("verify/verify12.yaml", "Verify12.Dpo"),
    ("verify/verify16.yaml", "Verify16.Dpo"),
    ("caw/compareandwrite.yaml", "CompareAndWrite.DpoFua"),
]


@pytest.mark.parametrize(
    "option", ["dpofua=0", "dpofua=0&ignore_dpofua=1"], ids=["refused", "ignored"]
)
@pytest.mark.parametrize(("spec", "test"), DPO_FUA, ids=[t for _, t in DPO_FUA])
def test_dpo_fua_with_dpofua_0_is_read_one_way(spec: str, test: str, option: str) -> None:
    # SBC-4 only says a DPOFUA=0 device does not support the bits: refusing them (libiscsi's
    # reading) and ignoring them both pass, and either way the CDB usage data shows neither.
    scenario = load_scenario(SPECS_DIR / spec)
    bindings = {name: f"{d.target}?{option}" for name, d in scenario.devices.items()}
    result = run_scenario(scenario, bindings=bindings, seed=SEED, select=f"'libiscsi:{test}'")
    assert result.status == "passed", failures(result)
    ran = [s for s in result.steps if "DPOFUA=0" in s.name and s.status == "passed"]
    assert len(ran) == 2, [(s.name, s.status) for s in result.steps]  # the commands, the usage data
    assert "libiscsi" in scenario.description and "stricter than SBC-4" in " ".join(
        scenario.description.split()
    )

"""Negative cases from the field tables: every reserved CDB bit, set; the simulator checks them."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgscript import load_scenario, run_scenario
from sgscript.cli import main
from sgscript.scsi.catalog import standard_catalog
from sgscript.scsi.commands import Read10, TestUnitReady, Write10
from sgscript.scsi.negative import first_reserved, negative_cases, reserved_bits

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("fresh_sim")


def test_reserved_bits_are_the_bits_no_field_covers() -> None:
    # SBC-4 READ(10): byte 1 bits 1-0 obsolete, byte 6 bits 7-6 reserved
    assert reserved_bits(Read10) == ((1, 1), (1, 0), (6, 7), (6, 6))
    assert reserved_bits(Write10) == ((1, 2), (1, 1), (1, 0), (6, 7), (6, 6))
    assert len(reserved_bits(TestUnitReady)) == 32  # bytes 1-4
    assert first_reserved(Read10, bytes.fromhex("28 00 00 00 00 00 40 00 00 00")) == (6, 6)
    assert first_reserved(Read10, bytes.fromhex("28 18 00 00 00 10 00 00 01 00")) is None


def test_every_catalog_command_with_reserved_bits_gets_a_case_per_bit() -> None:
    catalog = standard_catalog()
    total = 0
    for name in catalog:
        cls = catalog.lookup(name)
        cases = negative_cases(cls)
        assert [(c.byte, c.bit) for c in cases] == list(reserved_bits(cls))
        for case in cases:
            assert first_reserved(cls, case.cdb) == (case.byte, case.bit)
            assert catalog.identify(case.cdb) is cls  # the bit does not make it another command
        total += len(cases)
    assert total > 2000


def test_the_simulator_refuses_a_reserved_bit_with_the_pointer(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        'sgscript: 1\ndevices: {a: "sim:lu_neg"}\nsteps:\n'
        '  - {cdb: "28 00 00 00 00 00 40 00 00 00", expect: {sense: {key: ILLEGAL_REQUEST,'
        " asc: 0x24, ascq: 0, field_pointer: {byte: 6, bit: 6}, cd: 1}}}\n"
    )
    assert run_scenario(load_scenario(str(spec)), seed=1).status == "passed"


def test_the_generated_suite_is_current_and_passes_strictly_on_sim(
    tmp_path: Path, no_installed_plugins: None
) -> None:
    shipped = ROOT / "specs" / "negative"
    fresh = tmp_path / "fresh"
    assert main(["negative", "-o", str(fresh)]) == 0
    names = sorted(p.name for p in fresh.iterdir())
    assert len(names) > 1  # split: each file under the YAML node bound
    assert names == sorted(p.name for p in shipped.glob("*.yaml"))
    for name in names:
        assert (shipped / name).read_text() == (fresh / name).read_text().replace(
            str(fresh), "specs/negative"
        ), f"regenerate: sgscript negative -o specs/negative ({name} is stale)"
    strict = tmp_path / "strict"
    assert main(["negative", "--strict", "-o", str(strict)]) == 0
    sent = 0
    for spec in sorted(strict.iterdir()):
        result = run_scenario(load_scenario(str(spec)), seed=1)
        assert result.status == "passed", spec.name
        sent += result.commands
    assert sent > 900  # the bits of every command the simulated disk reports were sent


def test_a_device_that_ignores_reserved_bits_passes_only_the_lenient_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sgscript.sim.lu.first_reserved", lambda cls, cdb: None)
    for args, status, failed in (([], "passed", 0), (["--strict"], "failed", 4)):
        assert main(["negative", "Read10", *args]) == 0
        spec = tmp_path / "s.yaml"
        spec.write_text(capsys.readouterr().out)
        result = run_scenario(load_scenario(str(spec)), seed=1)
        assert (result.status, result.failed_commands) == (status, failed)

"""Negative cases from the field tables: every reserved CDB bit set, every bounded field out of
range; the simulator checks both."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgscript import load_scenario, run_scenario
from sgscript.cli import main
from sgscript.scsi.catalog import standard_catalog
from sgscript.scsi.commands import Read10, StartStopUnit, TestUnitReady, Write10
from sgscript.scsi.negative import (
    code_cases,
    first_reserved,
    first_reserved_code,
    negative_cases,
    reserved_bits,
)
from sgscript.scsi.reserved_codes import RESERVED_CODES
from sgscript.sim import lu as lu_module
from sgscript.sim.core import Request

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
    assert any(name.startswith("reserved_codes_") for name in names)
    strict = tmp_path / "strict"
    assert main(["negative", "--strict", "-o", str(strict)]) == 0
    sent = {"bits": 0, "codes": 0}
    for spec in sorted(strict.iterdir()):
        result = run_scenario(load_scenario(str(spec)), seed=1)
        assert result.status == "passed", spec.name
        sent["codes" if spec.name.startswith("reserved_codes_") else "bits"] += result.commands
    assert sent["bits"] > 900  # the bits of every command the simulated disk reports were sent
    assert sent["codes"] > 40  # and the reserved codes of its bounded fields


def test_a_device_that_ignores_reserved_bits_passes_only_the_lenient_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sgscript.sim.lu.first_reserved", lambda cls, cdb: None)
    for args, status, failed in (([], "passed", 0), (["--strict"], "failed", 4)):
        assert main(["negative", "Read10", "--kind", "bits", *args]) == 0
        spec = tmp_path / "s.yaml"
        spec.write_text(capsys.readouterr().out)
        result = run_scenario(load_scenario(str(spec)), seed=1)
        assert (result.status, result.failed_commands) == (status, failed)


def test_every_reserved_code_row_is_a_field_of_the_catalog_outside_its_named_codes() -> None:
    catalog = standard_catalog()
    for row in RESERVED_CODES:
        field = catalog.lookup(row.command).layout.by_name[row.field].field
        assert row.ranges and all(0 <= a <= b <= field.maximum for a, b in row.ranges), row
        named = set((field.values or {}).values()) | ({field.default} if field.fixed else set())
        assert not any(row.reserves(code) for code in named), row  # a named code is defined
    # fields the standard gives a small table of its own, each row once
    keys = [(row.command, row.field) for row in RESERVED_CODES]
    assert len(keys) == len(set(keys))


def test_a_case_per_code_sent_sets_only_that_field() -> None:
    catalog = standard_catalog()
    total = 0
    for name in catalog:
        cls = catalog.lookup(name)
        cases = code_cases(cls, catalog)
        rows = [r for r in RESERVED_CODES if r.command == name]
        assert len(cases) == sum(len(r.sent) for r in rows)  # none left out in the catalog
        base = cls().bind(512)
        for case in cases:
            assert first_reserved(cls, case.cdb) is None  # no reserved bit comes with it
            changed = [k for k in range(cls.length) if case.cdb[k] != base[k]]
            first = case.byte * 8 + 7 - case.bit  # the field's bits, counted from the CDB's start
            assert set(changed) <= set(range(first // 8, (first + case.width - 1) // 8 + 1))
            if case.shared:  # another service action of the operation code: no command at all
                assert catalog.identify(case.cdb) is None
                assert name in case.commands and len(case.commands) == len(
                    catalog.with_opcode(cls.opcode)
                )
            else:
                assert catalog.identify(case.cdb) is cls
                assert first_reserved_code(cls, case.cdb) == (case.byte, case.bit)
        total += len(cases)
    assert total == sum(len(row.sent) for row in RESERVED_CODES)
    assert (
        first_reserved_code(StartStopUnit, StartStopUnit(power_condition="idle").bind(512)) is None
    )


def test_a_power_condition_case_expects_invalid_field_at_its_bits(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # SBC-4 POWER CONDITION: 4h is reserved (byte 4 bits 7-4); 5h is obsolete, not reserved
    cases = code_cases(StartStopUnit)
    assert [(c.code, c.byte, c.bit, c.cdb.hex(" ")) for c in cases] == [
        ("4h", 4, 7, "1b 00 00 00 41 00"),
        ("Fh", 4, 7, "1b 00 00 00 f1 00"),
    ]
    pointed = "asc: 0x24, ascq: 0, field_pointer: {byte: 4%s}, cd: 1}}"
    unpointed = "{sense: {key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field_pointer: null}}"
    for args, wanted in (
        (["--strict"], "expect: {sense: {key: ILLEGAL_REQUEST, " + pointed % ", bit: 7" + "}"),
        (
            [],
            "expect: {any_of: [{sense: {key: ILLEGAL_REQUEST, "
            + pointed % ""
            + f", {unpointed}]}}}}",
        ),
    ):
        assert main(["negative", "StartStopUnit", "--kind", "codes", *args]) == 0
        line = next(x for x in capsys.readouterr().out.splitlines() if "POWER CONDITION 4h" in x)
        assert line.endswith(wanted), line
        assert '"1b 00 00 00 41 00"' in line and "optional: true" in line
    # a reserved service action may also be refused as INVALID COMMAND OPERATION CODE
    assert main(["negative", "ReadCapacity16", "--kind", "codes"]) == 0
    out = capsys.readouterr().out
    assert (
        "requires: [\"device.supports('GetLbaStatus') or device.supports('ReadCapacity16')" in out
    )
    line = next(x for x in out.splitlines() if "9Eh SERVICE ACTION 00h byte 1 bit 4" in x)
    assert "{sense: {key: ILLEGAL_REQUEST, asc: 0x20, ascq: 0}}]}" in line


def test_a_device_that_ignores_a_reserved_code_fails_both_suites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    table = lu_module.builtin_handlers()
    real = table["StartStopUnit"]

    def ignores_the_power_condition(unit: lu_module.LogicalUnit, req: Request) -> bytes | None:
        if req.f("power_condition") in (0x4, 0xF):
            return None  # GOOD: the reserved code ignored, as SPC-5 does not allow
        return real(unit, req)

    table["StartStopUnit"] = ignores_the_power_condition
    monkeypatch.setattr("sgscript.builtin.sim.builtin_handlers", lambda: dict(table))
    monkeypatch.setattr("sgscript.sim.lu.first_reserved_code", lambda cls, cdb: None)
    for args in ([], ["--strict"]):
        assert main(["negative", "StartStopUnit", *args]) == 0
        spec = tmp_path / "s.yaml"
        spec.write_text(capsys.readouterr().out)
        result = run_scenario(load_scenario(str(spec)), seed=1)
        failed = sorted(
            s.name for s in result.steps if s.kind == "command" and s.status == "failed"
        )
        assert failed == [
            "StartStopUnit POWER CONDITION 4h byte 4 bit 7",
            "StartStopUnit POWER CONDITION Fh byte 4 bit 7",
        ]  # the reserved bits of the same command still pass: the sim checks those

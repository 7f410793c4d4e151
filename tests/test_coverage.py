"""``sgscript coverage``: libiscsi's tests against the specs' refs, clause refs as numbers;
directories of specs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sgscript.clauses import CLAUSE_REF, COMMAND_CLAUSES, REVISIONS, STANDARD_REF, SUITE_COMMANDS
from sgscript.cli import main
from sgscript.coverage import LIBISCSI, NOT_OVER_SG, all_tests, coverage, markdown
from sgscript.runner.session import expand_specs, load_all, plugin_manager
from sgscript.scsi.catalog import standard_catalog

ROOT = Path(__file__).resolve().parent.parent


def test_the_table_is_iscsi_test_cu_1_19s_230_tests() -> None:
    assert len(all_tests()) == 230 and len(all_tests(scsi_only=True)) == 215
    assert set(NOT_OVER_SG) == {s for s in LIBISCSI if s.startswith("iSCSI")}
    assert "Read10.BeyondEol" in all_tests() and "CompareAndWrite.DpoFua" in all_tests()


def test_refs_name_counterparts_clauses_and_typos(tmp_path: Path) -> None:
    spec = tmp_path / "read.yaml"
    spec.write_text(
        """\
sgscript: 1
refs: [SBC-4 5.16]
devices: {a: "sim:lu_cov"}
steps:
  - {command: {Read10: {lba: 0, transfer_length: 1}}, refs: [libiscsi:Read10.Simple]}
  - {command: {Read10: {lba: 0xFFFFFFFF, transfer_length: 1}}, expect: fail,
     refs: [libiscsi:Read10.BeyondEOL]}
  - {cdb: "00 00 00 00 00 00"}
"""
    )
    scenarios, problems = load_all([str(tmp_path)], plugin_manager([]))
    assert not problems
    result = coverage(scenarios)
    assert result.tests["Read10.Simple"] == [f"{spec} step 1"]
    assert result.clauses["Read10.Simple"] == ["SBC-4 5.16"]
    assert result.unknown == [
        f"{spec} step 2: libiscsi:Read10.BeyondEOL is no iscsi-test-cu 1.19.0 test"
        " (did you mean libiscsi:Read10.BeyondEol?)"
    ]
    assert result.commands == {"Read10": [str(spec)], "TestUnitReady": [str(spec)]}
    assert "Read10.Simple" not in result.missing and "Read10.BeyondEol" in result.missing


def test_the_command_line_and_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage", str(ROOT / "specs"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["scsi_tests"] == 215 and len(data["not_over_sg"]) == 15
    assert data["commands"]["PersistentReserveOut"]  # what the specs send
    assert main(["coverage", str(ROOT / "specs"), "--strict"]) == (1 if data["missing"] else 0)


def test_the_docs_page_is_generated_from_the_specs() -> None:
    scenarios, _ = load_all([str(ROOT / "specs")], plugin_manager([]))
    page = markdown(coverage(scenarios))
    relative = re.sub(re.escape(str(ROOT)) + "/", "", page)
    assert (ROOT / "docs" / "coverage.md").read_text() == relative, (
        "docs/coverage.md is stale: sgscript coverage --markdown specs > docs/coverage.md"
    )


def test_a_directory_stands_for_its_scenarios_not_its_fragments(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "one.yaml").write_text("sgscript: 1\nsteps: []\n")
    (tmp_path / "a.yml").write_text("sgscript: 1\nsteps: []\n")
    (tmp_path / "fragment.yaml").write_text("- {command: TestUnitReady}\n")
    assert expand_specs([str(tmp_path)]) == [
        str(tmp_path / "a.yml"),
        str(tmp_path / "b" / "one.yaml"),
    ]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no scenario"):
        expand_specs([str(tmp_path / "empty")])


def test_every_clause_ref_in_specs_is_a_number() -> None:
    scenarios, _ = load_all([str(ROOT / "specs")], plugin_manager([]))
    refs = {
        ref
        for scenario in scenarios
        for owner in (scenario, *scenario.all_steps())
        for ref in owner.refs
        if STANDARD_REF.match(ref)
    }
    assert refs and all(
        ref.split()[0] in {"SBC-4", "SPC-5", "SBC-2", "SPC-2", "SAM-5"} for ref in refs
    )
    assert sorted(r for r in refs if not CLAUSE_REF.fullmatch(r)) == []


def test_every_counterpart_cites_the_clause_of_the_command_it_tests() -> None:
    scenarios, _ = load_all([str(ROOT / "specs")], plugin_manager([]))
    assert coverage(scenarios).clause_problems == []


def test_a_command_name_or_a_missing_clause_is_a_clause_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "write.yaml"
    spec.write_text(
        """\
sgscript: 1
devices: {a: "sim:lu_clauses"}
steps:
  - {command: {Write10: {lba: 0, transfer_length: 1}}, data: {pattern: zeros},
     refs: [libiscsi:Write10.Simple, SBC-4 WRITE(10)]}
  - refs: [libiscsi:Write10.ZeroBlocks, SBC-4 5.40.1]
    group:
      - {command: {Write10: {lba: 0, transfer_length: 0}}}
      - {command: {Read16: {lba: 0, transfer_length: 1}}}
  - {command: {Read10: {lba: 0, transfer_length: 1}}, refs: [libiscsi:Read10.Simple, SBC-4 table 34]}
"""
    )
    scenarios, problems = load_all([str(spec)], plugin_manager([]))
    assert not problems
    assert coverage(scenarios).clause_problems == [
        f"{spec} step 1: 'SBC-4 WRITE(10)' is no clause number (write 'SBC-4 5.16' or"
        " 'SBC-4 table 34')",
        f"{spec} step 1: counters Write10.Simple and sends Write10, but cites no SBC-4 5.40",
        f"{spec} step 3: counters Read10.Simple and sends Read10, but cites no SBC-4 5.16",
    ]  # a subclause (5.40.1) cites its clause; READ(16) is not what Write10 tests are about
    assert main(["coverage", str(spec), "--strict"]) == 1
    assert "clause: " in capsys.readouterr().out


def test_the_clause_table_names_catalog_commands_and_iscsi_test_cu_suites() -> None:
    catalog = standard_catalog()
    assert all(name in catalog for name in COMMAND_CLAUSES)
    assert all(CLAUSE_REF.fullmatch(clause) for clause in COMMAND_CLAUSES.values())
    assert set(SUITE_COMMANDS) <= set(LIBISCSI)
    assert all(c in COMMAND_CLAUSES for commands in SUITE_COMMANDS.values() for c in commands)
    # each standard cited by number follows one draft
    cited = {clause.split()[0] for clause in COMMAND_CLAUSES.values()}
    assert cited - set(REVISIONS) == {"SPC-2"}  # obsolete since SPC-3: no draft to track
    assert COMMAND_CLAUSES["Read10"] == "SBC-4 5.16" and COMMAND_CLAUSES["Write10"] == "SBC-4 5.40"

"""``sgscript coverage``: libiscsi's tests against the specs' refs; directories of specs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sgscript.cli import main
from sgscript.coverage import LIBISCSI, NOT_OVER_SG, all_tests, coverage, markdown
from sgscript.runner.session import expand_specs, load_all, plugin_manager

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

"""The differential against iscsi-test-cu, without a kernel: its parser and its verdicts.

The lane (``tests/kernel/test_libiscsi_kernel.py``) trusts ``parse_cu`` to read
the peer's outcomes and ``compare`` to judge them against the counterparts;
both are held here to output iscsi-test-cu 1.19.0 really printed.
"""

from __future__ import annotations

from pathlib import Path

from kernel.libiscsi import compare, counterpart_outcomes, markdown, parse_cu
from kernel.libiscsi_known import DIFFERENCES, FIXED, NOT_RUN, SLICE, Disagreement

from sgscript.coverage import all_tests
from sgscript.runner import run_scenario
from sgscript.scenario.load import load_scenario_text

# Trimmed from a real run on scsi_debug (kernel lane, iscsi-test-cu 1.19.0).
OUTPUT = """\
Suite: CompareAndWrite
  Test: Simple ...passed
  Test: InvalidDataOutSize ...    [SKIPPED] LBPPB < 2. Skipping test
passed
Suite: ExtendedCopy
  Test: Simple ...    [SKIPPED] EXTENDEDCOPY is not implemented.
    [SKIPPED] EXTENDEDCOPY is not implemented.
passed
Suite: Inquiry
  Test: Standard ...    [FAILED] Invalid version in standard INQUIRY data. Version 7 found
FAILED
    1. test_inquiry_standard.c:73  - CU_FAIL("Invalid version in INQUIRY data")
Suite: Read10
  Test: ReadProtect ...    [FAILED] READ10 successful but should have failed
    [FAILED] READ10 successful but should have failed
FAILED
    1. test_read10_rdprotect.c:44  - CU_ASSERT_EQUAL(_r,0)
Suite: ModeSense6
  Test: Control-SWP ...passed    [FAILED] PRIN command: failed with sense. UNIT_ATTENTION
Suite: GetLBAStatus
  Test: Simple ...passed
  Test: BeyondEol ...
"""


def test_the_peers_outcomes_are_read_per_test() -> None:
    got = parse_cu(OUTPUT)
    assert {t: o for t, (o, _) in got.items()} == {
        "CompareAndWrite.Simple": "pass",
        "CompareAndWrite.InvalidDataOutSize": "skip",
        "ExtendedCopy.Simple": "skip",
        "Inquiry.Standard": "fail",
        "Read10.ReadProtect": "fail",
        "ModeSense6.Control-SWP": "pass",  # the [FAILED] after "passed" is a teardown's
        "GetLBAStatus.Simple": "pass",
        "GetLBAStatus.BeyondEol": "fail",  # the peer died in it: never a pass
    }
    assert got["Inquiry.Standard"][1].startswith("[FAILED] Invalid version")
    assert got["Read10.ReadProtect"][1].count("[FAILED]") == 1  # repeated lines said once
    assert got["ExtendedCopy.Simple"][1] == "EXTENDEDCOPY is not implemented."
    assert "stopped" in got["GetLBAStatus.BeyondEol"][1]


SPEC = """\
sgscript: 1
name: counterparts
devices: {a: "sim:diff"}
defaults: {device: a}
on_failure: continue
steps:
  - {name: passes, refs: ["libiscsi:TestUnitReady.Simple"], command: TestUnitReady}
  - name: fails
    refs: ["libiscsi:Read10.BeyondEol"]
    command: {Read10: {lba: 0, transfer_length: 1}}
    expect: {sense: {key: ILLEGAL_REQUEST}}
  - name: does not apply
    refs: ["libiscsi:Sanitize.Overwrite"]
    when: "1 == 0"
    command: TestUnitReady
  - {name: also names it and passes, refs: ["libiscsi:Read10.BeyondEol"], command: TestUnitReady}
"""


def test_a_counterpart_outcome_is_the_worst_of_the_records_naming_it() -> None:
    result = run_scenario(load_scenario_text(SPEC, "diff.yaml"), seed=1)
    got = counterpart_outcomes([result])
    assert {t: o for t, (o, _) in got.items()} == {
        "TestUnitReady.Simple": "pass",
        "Read10.BeyondEol": "fail",  # one record failed: a pass elsewhere does not hide it
        "Sanitize.Overwrite": "skip",  # NOT APPLICABLE is the peer's SKIP
    }


def test_every_difference_is_listed_and_a_listed_one_that_stopped_fails() -> None:
    peer = {
        "A.Same": ("pass", ""),
        "A.Listed": ("fail", "x"),
        "A.Stale": ("pass", ""),
        "A.New": ("fail", "y"),
    }
    ours = {
        "A.Same": ("pass", ""),
        "A.Listed": ("pass", ""),
        "A.Stale": ("pass", ""),
        "A.New": ("pass", ""),
    }
    known = {
        ("t", "A.Listed"): Disagreement("t", "A.Listed", "fail", "pass", "sgscript", "SPC-5 6.7"),
        ("t", "A.Stale"): Disagreement("t", "A.Stale", "fail", "pass", "target", "was so"),
    }
    rows = {r.test: r for r in compare("t", peer, ours, known, {})}
    assert rows["A.Same"].kind == "agree"
    assert rows["A.Listed"].kind == "sgscript"
    assert rows["A.Stale"].kind == "stale"
    assert rows["A.New"].kind == "unexplained"
    page = markdown(
        [
            {
                "target": "t",
                "seconds": {"libiscsi": 1, "sgscript": 2},
                "rows": [r.to_dict() for r in rows.values()],
            }
        ]
    )
    assert "| UNEXPLAINED | 1 |" in page and "A.New" in page


def test_the_lists_name_real_tests_and_the_slice_spans_the_families() -> None:
    known = set(all_tests(scsi_only=True))
    assert {d.test for d in DIFFERENCES} <= known
    assert all(d.target in ("scsi_debug", "qemu", "tgtd") for d in DIFFERENCES)
    assert all(d.who in ("sgscript", "target", "path") and d.why for d in DIFFERENCES)
    assert all(not any(ch in d.why for ch in "{}") for d in DIFFERENCES)  # every {t} filled
    assert len({(d.target, d.test) for d in DIFFERENCES}) == len(DIFFERENCES)
    assert set(SLICE) <= known and len(SLICE) >= 30
    assert len({t.split(".")[0] for t in SLICE}) >= 12  # across the command families
    assert {test for _, test in FIXED} <= known
    for rules in NOT_RUN.values():
        assert all(any(t.startswith(p) for t in known) for p, _ in rules)


def test_the_docs_table_comes_from_a_full_run_with_this_list() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "differential.md").read_text()
    stale = [f"{d.target} {d.test}" for d in DIFFERENCES if f"**{d.target}, {d.test}**" not in page]
    assert not stale, f"docs/differential.md predates {stale[:3]}: run tests/kernel/differential.sh"
    assert "UNEXPLAINED" not in page and "listed, no longer happens" not in page

"""Conditions (``when:``/``requires:``), NOT APPLICABLE, groups and requirement IDs, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sgscript import load_scenario, run_scenario
from sgscript.runner import ScenarioResult
from sgscript.scenario.load import SpecError
from sgscript.scenario.plan import Plan

pytestmark = pytest.mark.usefixtures("fresh_sim")


def spec(tmp_path: Path, body: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text("sgscript: 1\n" + body)
    return path


def run(path: Path, **kw: object) -> ScenarioResult:
    return run_scenario(load_scenario(str(path)), seed=7, **kw)  # type: ignore[arg-type]


def by_path(result: ScenarioResult) -> dict[str, object]:
    return {s.path: s for s in result.steps}


# ------------------------------------------------------------------ conditions


def test_a_false_when_makes_the_step_not_applicable_and_the_rest_runs(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_when"}
vars: {feature: 0}
steps:
  - {name: gated, command: TestUnitReady, when: "feature == 1"}
  - {name: after, command: TestUnitReady}
""",
    )
    result = run(path)
    gated, after = result.steps
    assert (gated.status, gated.count) == ("not_applicable", 0)
    assert gated.message == "when: feature == 1 is false"
    assert after.status == "passed"
    assert result.status == "passed"  # not applicable is never a failure


def test_when_reads_saved_values_so_a_later_step_branches_on_an_answer(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_branch?blocks=2048"}
steps:
  - {command: ReadCapacity10, save: {last: returned_logical_block_address}}
  - {name: small disk, command: TestUnitReady, when: "${last < 4096}"}
  - {name: big disk, command: TestUnitReady, when: "last >= 4096"}
""",
    )
    steps = by_path(run(path))
    assert steps["2"].status == "passed"  # type: ignore[attr-defined]
    assert steps["3"].status == "not_applicable"  # type: ignore[attr-defined]


def test_requires_probes_device_facts_once_and_names_the_failed_condition(tmp_path: Path) -> None:
    body = """\
devices: {a: "sim:%s"}
steps:
  - name: unmap
    requires: [device.lbpme, "0xB2 in device.vpd_pages", "device.supports('Unmap')"]
    command: {Unmap: {parameter_list_length: 24}}
    data: {hex: "0016 0010 00000000 0000000000000000 00000001 00000000"}
"""
    thin = run(spec(tmp_path, body % "lu_thin", "thin.yaml"))
    assert thin.steps[0].status == "passed"
    assert sum("probed for its facts" in n for n in thin.notes) == 1
    thick = run(spec(tmp_path, body % "lu_thick?thin=0", "thick.yaml"))
    assert thick.steps[0].status == "not_applicable"
    assert thick.steps[0].message == "requires: device.lbpme is false"


def test_a_condition_on_a_missing_fact_fails_its_step_and_says_what_exists(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_typo"}
steps:
  - {command: TestUnitReady, when: "device.supports('CompareAndWrit')"}
  - {command: TestUnitReady}
""",
    )
    result = run(path)
    assert result.status == "failed"
    assert "'CompareAndWrit'" in result.steps[0].message
    assert "CompareAndWrite" in result.steps[0].message  # the nearest command
    assert result.steps[1].status == "skipped"  # on_failure: stop
    typo = spec(
        tmp_path,
        'devices: {a: "sim:lu_t2"}\nsteps: [{command: TestUnitReady, when: "device.lbpmee"}]\n',
        "t.yaml",
    )
    with pytest.raises(
        SpecError, match=r"device.lbpmee: a device has no fact 'lbpmee' \(did you mean 'lbpme'\?\)"
    ):
        load_scenario(str(typo))


def test_a_scenario_that_does_not_apply_sends_nothing_not_even_finally(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
name: thick only
when: "not device.lbpme"
id: QUAL-7
devices: {a: "sim:lu_whole"}
steps:
  - {command: {Write10: {lba: 0, transfer_length: 1}}, data: {pattern: zeros}}
finally:
  - {command: TestUnitReady}
""",
    )
    result = run(path)
    assert result.status == "not_applicable"
    assert result.message == "when: not device.lbpme is false"
    assert [s.status for s in result.steps] == ["not_applicable", "not_applicable"]
    assert result.commands == 0
    assert result.id == "QUAL-7"


def test_not_applicable_in_every_report_and_exit_0(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_reports"}
steps:
  - {name: gated, command: TestUnitReady, when: "device.rmb == 1", id: REQ-1, refs: [SPC-5 6.7]}
""",
    )
    log, junit = tmp_path / "log.jsonl", tmp_path / "junit.xml"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sgscript",
            "run",
            str(path),
            "--log",
            str(log),
            "--junit",
            str(junit),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "N/A" in out.stdout and "[REQ-1; SPC-5 6.7]" in out.stdout
    step = next(r for r in map(json.loads, log.read_text().splitlines()) if r["type"] == "step")
    assert (step["status"], step["id"], step["refs"]) == ("not_applicable", "REQ-1", ["SPC-5 6.7"])
    case = ET.parse(junit).getroot().find(".//testcase")
    assert case is not None
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "NOT APPLICABLE: when: device.rmb == 1 is false"


# ------------------------------------------------------------------ groups


def test_a_group_walks_a_saved_response_list(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_vpd"}
steps:
  - {command: {Inquiry: {evpd: 1, page_code: 0, allocation_length: 255}},
     save: {pages: supported_vpd_page_list}}
  - name: each page
    group:
      - command: {Inquiry: {evpd: 1, page_code: "${page}", allocation_length: 255}}
        expect: {fields: {page_code: "${page}"}}
    for: {page: "${pages}"}
""",
    )
    result = run(path)
    steps = by_path(result)
    pages = steps["1"].saved["pages"]  # type: ignore[attr-defined]
    inner = steps["2.1"]
    assert inner.status == "passed" and inner.count == len(pages) > 3  # type: ignore[attr-defined]
    assert inner.passes == len(pages)  # type: ignore[attr-defined]
    assert steps["2"].count == len(pages)  # type: ignore[attr-defined]


def test_loop_variable_and_iteration_and_ranges(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_range"}
steps:
  - group:
      - {command: {Write10: {lba: "${lba}", transfer_length: 1}}, data: {pattern: lba}}
      - {command: {Read10: {lba: "${lba}", transfer_length: 1}}, expect: {data: {pattern: lba}},
         when: "iteration % 2 == 0"}
    for: {lba: {range: [10, 20, 3]}}
  - {command: {Read10: {lba: 13, transfer_length: 1}}, expect: {data: {pattern: lba}}}
""",
    )
    plan = Plan(load_scenario(str(path)), seed=7)
    rows = {r.path: r for r in plan.preview()}
    assert rows["1"].command == "group (2 steps, for lba in range(10, 20, 3))"
    assert rows["1"].repeat == 4 and rows["1.1"].command.startswith("Write10(lba=0xa")
    result = run(path)
    steps = by_path(result)
    assert steps["1.1"].count == 4  # type: ignore[attr-defined]
    assert steps["1.2"].count == 2 and steps["1.2"].status == "passed"  # type: ignore[attr-defined]
    assert steps["2"].status == "passed"  # 13 was written by the pass for lba 13


def test_a_failed_pass_fails_the_step_and_the_group_finally_still_runs(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_fail?blocks=100"}
steps:
  - name: walk off the end
    group:
      - {command: {Read10: {lba: "${lba}", transfer_length: 1}}}
    for: {lba: [0, 99, 100, 1]}
    finally:
      - {name: cleanup, command: TestUnitReady}
  - {name: never, command: TestUnitReady}
""",
    )
    result = run(path)
    steps = by_path(result)
    read = steps["1.1"]
    assert (read.status, read.count, read.failed) == ("failed", 3, 1)  # type: ignore[attr-defined]
    assert steps["1.finally.1"].status == "passed"  # type: ignore[attr-defined]
    assert steps["1"].status == "failed"  # type: ignore[attr-defined]
    assert steps["2"].status == "skipped"  # type: ignore[attr-defined]


def test_a_duration_group_soaks_until_time_is_up(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_soak"}
steps:
  - {group: [{command: TestUnitReady}], duration: 30ms, name: soak}
""",
    )
    result = run(path)
    soak = by_path(result)["1.1"]
    assert soak.status == "passed" and soak.passes > 1  # type: ignore[attr-defined]
    assert 0.03 <= result.duration < 60  # it ended, after its duration


def test_a_repeated_group_logs_one_record_per_pass(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_log"}
steps:
  - {group: [{name: tur, command: TestUnitReady}], repeat: 3}
""",
    )
    log = tmp_path / "log.jsonl"
    from sgscript.report.jsonl import JsonlReporter

    reporter = JsonlReporter(str(log))
    run(path, reporter=reporter)
    reporter.close()
    records = [json.loads(line) for line in log.read_text().splitlines()]
    passes = [r["iteration"] for r in records if r["type"] == "step" and r["name"] == "tur"]
    assert passes == [0, 1, 2]
    final = next(r for r in records if r["type"] == "scenario")
    tur = next(s for s in final["steps"] if s["name"] == "tur")
    assert (tur["count"], tur["passes"], tur["iteration"]) == (3, 3, None)


# ------------------------------------------------------------------ checked before running


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            '  - {command: TestUnitReady, when: "feture == 1"}\n',
            "steps[0].when: undefined name 'feture' (did you mean 'feature'?)",
        ),
        ('  - {command: TestUnitReady, when: "feature =="}\n', "bad condition"),
        (
            "  - {group: [{command: TestUnitReady}], for: {x: [1]}, repeat: 2}\n",
            "a group takes for: or repeat:, not both",
        ),
        (
            "  - {group: [{command: TestUnitReady}], for: {feature: [1]}}\n",
            "for: 'feature' is already a variable",
        ),
        (
            "  - {group: [{command: TestUnitReady}], for: {lba: [1]}}\n"
            '  - {command: {Read10: {lba: "${lba}", transfer_length: 1}}}\n',
            "undefined variable 'lba'",
        ),
    ],
)
def test_mistakes_in_conditions_and_groups_are_found_when_loading(
    tmp_path: Path, steps: str, message: str
) -> None:
    path = spec(tmp_path, 'devices: {a: "sim:lu_bad"}\nvars: {feature: 1}\nsteps:\n' + steps)
    with pytest.raises(SpecError) as info:
        load_scenario(str(path))
    assert message in str(info.value)


def test_k_selects_by_requirement_id_and_keeps_the_group(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_k"}
steps:
  - {name: one, command: TestUnitReady, id: REQ-1}
  - group:
      - {name: two, command: TestUnitReady, refs: "SBC-4 5.16"}
      - {name: three, command: TestUnitReady}
    finally: [{name: undo, command: TestUnitReady}]
""",
    )
    plan = Plan(load_scenario(str(path)), seed=1, select="'SBC-4 5.16'")
    assert [ps.path for ps in plan.steps()] == ["2", "2.1", "2.finally.1"]


def test_facts_name_the_mode_and_log_pages_and_dpofua(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_pages"}
steps:
  - {name: caching page, command: TestUnitReady, requires: ["0x08 in device.mode_pages"]}
  - {name: no such page, command: TestUnitReady, requires: ["0x3E in device.mode_pages"]}
  - {name: log pages, command: TestUnitReady, requires: ["0x0D in device.log_pages"]}
  - {name: dpofua, command: {Write10: {lba: 0, transfer_length: 1, fua: 1}},
     data: {pattern: zeros}, when: "device.dpofua == 1"}
""",
    )
    caching, missing, logs, fua = run(path).steps
    assert (caching.status, missing.status) == ("passed", "not_applicable")
    assert (logs.status, fua.status) == ("passed", "passed")


def test_device_in_a_groups_condition_is_the_one_device_its_steps_use(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_ga", b: {target: "sim:lu_gb?thin=0", initiator: host-b}}
steps:
  - {group: [{device: a, command: TestUnitReady}], requires: [device.lbpme], name: on a}
  - {group: [{device: b, command: TestUnitReady}], requires: [device.lbpme], name: on b}
  - group: [{device: a, command: TestUnitReady}, {device: b, command: TestUnitReady}]
    requires: [device.lbpme]
    name: on both
""",
    )
    on_a, _, on_b, _, both = run(path).steps[:5]
    assert (on_a.status, on_b.status) == ("passed", "not_applicable")
    assert both.status == "failed" and "use devices.NAME" in both.message

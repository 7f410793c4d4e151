"""``-k``: phrases without inner quotes, requirement IDs, and the steps a selected step needs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import sgscript.sim as sim
from sgscript import load_scenario, run_scenario
from sgscript.cli import main
from sgscript.scenario.plan import Plan, compile_selection
from sgscript.scsi.errors import UsageError


@pytest.fixture(autouse=True)
def fresh_targets() -> Iterator[None]:
    sim.forget_targets()
    yield
    sim.forget_targets()


def spec(tmp_path: Path, body: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text("sgscript: 1\n" + body)
    return path


def selected(path: Path, expr: str) -> list[str]:
    return [ps.path for ps in Plan(load_scenario(str(path)), seed=1, select=expr).steps()]


# ------------------------------------------------------------------ phrases


NAMES = ["unit_attention", "check the logical unit", "release the logical unit"]


@pytest.mark.parametrize(
    ("expr", "matches"),
    [
        ("logical unit", True),  # a phrase: no inner quotes needed
        ("LOGICAL   Unit", True),  # case and runs of spaces do not matter
        ("check the logical unit", True),
        ("unit logical", False),  # a phrase keeps its order
        ("'logical unit' and not release", True),
        ("logical unit and not release", True),
        ("logical unit and not check", False),
        ("not logical unit", False),
        ("(check the) or nothing", True),
    ],
)
def test_words_side_by_side_are_one_phrase(expr: str, matches: bool) -> None:
    match = compile_selection(expr)
    assert match(["scenario", NAMES[1]]) is matches


def test_a_phrase_selects_the_step_with_that_name(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_k_phrase"}
steps:
  - {name: check the logical unit, command: TestUnitReady}
  - {name: release the logical unit, command: TestUnitReady}
  - {name: unit attention, command: TestUnitReady}
""",
    )
    assert selected(path, "logical unit") == ["1", "2"]
    assert selected(path, "logical unit and not release") == ["1"]
    assert selected(path, "'logical unit' and not release") == ["1"]


def test_an_operator_word_is_part_of_a_name_only_when_quoted() -> None:
    assert compile_selection("read write")(["read write"])
    assert not compile_selection("read and write")(["read only"])
    assert compile_selection("'read and write'")(["read and write"])
    with pytest.raises(UsageError, match=r"expected a name, 'not' or '\(' at the end"):
        compile_selection("read and")


# ------------------------------------------------------------------ requirement IDs


def test_k_matches_requirement_ids_and_references(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
id: QUAL-042
refs: [SPC-5 6.6]
devices: {a: "sim:lu_k_ids"}
steps:
  - {name: one, command: TestUnitReady, id: REQ-1}
  - {name: two, command: TestUnitReady, refs: [SBC-4 5.16, "libiscsi:Read10.BeyondEol"]}
  - {name: three, command: TestUnitReady}
""",
    )
    assert selected(path, "REQ-1") == ["1"]
    assert selected(path, "SBC-4 5.16") == ["2"]  # a reference with a space, no inner quotes
    assert selected(path, "beyondeol") == ["2"]
    # the scenario's own ID and references select its steps
    assert selected(path, "QUAL-042 and not two") == ["1", "3"]
    assert selected(path, "SPC-5 6.6") == ["1", "2", "3"]


# ------------------------------------------------------------------ what a step needs


NEEDS = """\
devices: {a: "sim:lu_k_needs"}
steps:
  - {name: unit ready, command: TestUnitReady}
  - {name: read capacity, command: ReadCapacity10, save: {last_lba: returned_logical_block_address}}
  - {name: inquiry, command: Inquiry}
  - name: read the last block
    command: {Read16: {lba: "${last_lba}", transfer_length: 1}}
"""


def test_k_runs_the_step_that_saves_what_the_selected_step_reads(tmp_path: Path) -> None:
    path = spec(tmp_path, NEEDS)
    result = run_scenario(load_scenario(str(path)), seed=1, select="last block")
    assert result.status == "passed", [s.message for s in result.steps]
    assert [(s.path, s.status) for s in result.steps] == [("2", "passed"), ("4", "passed")]
    assert "-k also runs 2 (saves last_lba) for 4" in result.notes


def test_plan_and_list_say_what_k_added(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(spec(tmp_path, NEEDS))
    assert main(["plan", path, "-k", "last block"]) == 0
    out = capsys.readouterr().out
    assert "note: -k also runs 2 (saves last_lba) for 4" in out
    assert main(["run", path, "-k", "last block", "--list"]) == 0
    out = capsys.readouterr().out
    assert "read capacity" in out and "inquiry" not in out
    assert "note: -k also runs 2 (saves last_lba) for 4" in out
    assert main(["run", path, "-k", "last block"]) == 0
    assert "note: -k also runs 2 (saves last_lba) for 4" in capsys.readouterr().out


def test_a_step_k_names_itself_is_not_noted(tmp_path: Path) -> None:
    path = spec(tmp_path, NEEDS)
    plan = Plan(load_scenario(str(path)), seed=1, select="capacity or last block")
    assert [ps.path for ps in plan.steps()] == ["2", "4"]
    assert plan.notes == []


def test_the_latest_saver_counts_and_its_own_needs_follow(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_k_chain"}
vars: {blocks: 8}
steps:
  - {name: first size, command: ReadCapacity10, save: {n: returned_logical_block_address}}
  - {name: base, command: ReadCapacity10, save: {base: returned_logical_block_address}}
  - name: second size
    command: ReadCapacity16
    repeat: "${base - base + 1}"
    save: {n: returned_logical_block_address}
  - {name: unrelated, command: TestUnitReady}
  - {name: the answer, check: "n >= 0 and blocks == 8"}
""",
    )
    plan = Plan(load_scenario(str(path)), seed=1, select="answer")
    assert [ps.path for ps in plan.steps()] == ["2", "3", "5"]
    assert plan.notes == [
        "-k also runs 2 (saves base) for 3",
        "-k also runs 3 (saves n) for 5",
    ]


def test_a_group_pulled_in_brings_its_loop_needs_and_its_finally(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_k_group"}
steps:
  - {name: capacity, command: ReadCapacity10, save: {last: returned_logical_block_address}}
  - {name: other, command: TestUnitReady}
  - name: walk
    group:
      - {name: read one, command: {Read10: {lba: "${lba}", transfer_length: 1}}}
      - {name: remember, command: ReadCapacity10, save: {seen: returned_logical_block_address}}
    for: {lba: [0, "${last}"]}
    finally: [{name: sync, command: SynchronizeCache10}]
  - name: compare
    command: TestUnitReady
    expect: {check: "seen == last and status == 0"}
""",
    )
    plan = Plan(load_scenario(str(path)), seed=1, select="compare")
    assert [ps.path for ps in plan.steps()] == ["1", "3", "3.2", "3.finally.1", "4"]
    result = run_scenario(load_scenario(str(path)), seed=1, select="compare")
    assert result.status == "passed", [s.message for s in result.steps]


def test_values_data_conditions_and_counts_are_read_too(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_k_reads"}
steps:
  - {name: s1, command: ReadCapacity10, save: {depth: returned_logical_block_address}}
  - {name: s2, command: ReadCapacity10, save: {fill: returned_logical_block_address}}
  - {name: s3, command: ReadCapacity10, save: {gate: returned_logical_block_address}}
  - {name: s4, command: ReadCapacity10, save: {most: returned_logical_block_address}}
  - {name: s5, command: ReadCapacity10, save: {size: logical_block_length_in_bytes}}
  - name: target
    command: {Write10: {lba: 0, transfer_length: 1}}
    data: {pattern: byte, value: "${fill % 256}"}
    queue_depth: "${min(depth, 4) + 1}"
    when: "gate > 0"
    counts: [{match: good, at_most: "${most}"}]
  - name: read back
    command: {Read10: {lba: 0, transfer_length: 1}}
    expect: {received: "${size}"}
""",
    )
    plan = Plan(load_scenario(str(path)), seed=1, select="target")
    assert [ps.path for ps in plan.steps()] == ["1", "2", "3", "4", "6"]
    plan = Plan(load_scenario(str(path)), seed=1, select="read back")
    assert [ps.path for ps in plan.steps()] == ["5", "7"]


def test_a_sibling_parallel_branch_is_not_where_a_value_comes_from(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_k_par"}
steps:
  - {name: before, command: ReadCapacity10, save: {x: returned_logical_block_address}}
  - parallel:
      - {name: sibling, command: ReadCapacity10, save: {x: returned_logical_block_address}}
      - {name: reader, command: {Read10: {lba: "${x}", transfer_length: 1}}}
  - {name: after, command: {Read10: {lba: "${x}", transfer_length: 1}}}
""",
    )
    assert selected(path, "reader") == ["1", "2", "2.2.1"]
    assert selected(path, "after") == ["2", "2.1.1", "3"]  # after the group: all of it


def test_a_finally_step_brings_what_it_reads(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
devices: {a: "sim:lu_k_finally"}
steps:
  - {name: key, command: ReadCapacity10, save: {key: returned_logical_block_address}}
  - {name: work, command: TestUnitReady}
finally:
  - {name: undo, command: {Read10: {lba: "${key}", transfer_length: 1}}}
""",
    )
    result = run_scenario(load_scenario(str(path)), seed=1, select="work")
    assert result.status == "passed", [s.message for s in result.steps]
    assert [s.path for s in result.steps] == ["1", "2", "finally.1"]


DOC = Path(__file__).resolve().parent.parent / "docs" / "format.md"


def _block(text: str, start: str) -> str:
    at = text.index(start) + len(start)
    return text[at : text.index("```", at)]


def test_the_doc_example_of_k_is_what_sgscript_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = DOC.read_text()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "capacity.yaml").write_text(_block(text, "```yaml\n# capacity.yaml\n"))
    assert main(["run", "capacity.yaml", "-k", "last block", "--list"]) == 0
    shown = _block(text, '$ sgscript run capacity.yaml -k "last block" --list\n')
    assert capsys.readouterr().out.splitlines() == shown.splitlines()


def test_a_value_many_steps_read_names_the_first_few() -> None:
    from sgscript.scenario.plan.select import Pulled

    many = Pulled("2", ["last_lba"], [str(n) for n in range(3, 11)])
    assert many.note() == "-k also runs 2 (saves last_lba) for 3, 4, 5, 6, 7 and 3 more"

"""The expectation forms a qualification plan needs: any-of, sense sets and pointers, field
checks, received length, checks on the answer and on saved values, counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgscript import load_scenario, run_scenario
from sgscript.runner import ScenarioResult, StepResult

pytestmark = pytest.mark.usefixtures("fresh_sim")


def run_steps(tmp_path: Path, steps: str, device: str = "sim:lu_x?blocks=100") -> ScenarioResult:
    path = tmp_path / "s.yaml"
    path.write_text(
        f'sgscript: 1\ndevices: {{a: "{device}"}}\non_failure: continue\nsteps:\n' + steps
    )
    return run_scenario(load_scenario(str(path)), seed=3)


def message(step: StepResult) -> str:
    return "\n".join([step.message, *(f.message for f in step.failures)])


# ------------------------------------------------------------------ any_of


def test_any_of_passes_on_any_alternative_and_names_them_all_when_none_holds(
    tmp_path: Path,
) -> None:
    result = run_steps(
        tmp_path,
        """\
  - command: {Read10: {lba: 200, transfer_length: 1}}
    expect: {any_of: [good, {sense: {key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0}}]}
  - command: TestUnitReady
    expect: {any_of: [good, {status: BUSY}]}
  - command: {Read10: {lba: 200, transfer_length: 1}}
    expect: {any_of: [good, {status: BUSY}, {sense: MEDIUM_ERROR}]}
""",
    )
    out_of_range, ready, wrong = result.steps
    assert (out_of_range.status, ready.status, wrong.status) == ("passed", "passed", "failed")
    text = message(wrong)
    assert "expected one of: (GOOD); (status BUSY); (sense Medium Error)" in text
    assert "Logical block address out of range" in text


# ------------------------------------------------------------------ sense


def test_sense_sets_format_and_field_pointer(tmp_path: Path) -> None:
    inquiry = "command: {Inquiry: {evpd: 0, page_code: 1, allocation_length: 36}}"
    result = run_steps(
        tmp_path,
        f"""\
  - {inquiry}
    expect: {{sense: {{key: [ILLEGAL_REQUEST, ABORTED_COMMAND], asc: [0x24, 0x20], ascq: 0,
             field_pointer: {{byte: 2, bit: 7}}, cd: 1, format: fixed}}}}
  - {inquiry}
    expect: {{sense: {{key: ILLEGAL_REQUEST, field_pointer: 1}}}}
  - {inquiry}
    expect: {{sense: {{key: ILLEGAL_REQUEST, format: descriptor}}}}
  - command: {{Read10: {{lba: 200, transfer_length: 1}}}}
    expect: {{sense: {{key: ILLEGAL_REQUEST, field_pointer: null}}}}
  - command: {{Read10: {{lba: 200, transfer_length: 1}}}}
    expect: {{sense: {{key: ILLEGAL_REQUEST, field_pointer: 2}}}}
""",
    )
    statuses = [s.status for s in result.steps]
    assert statuses == ["passed", "failed", "failed", "passed", "failed"]
    assert "field pointer byte 1" in message(result.steps[1])
    assert "field pointer byte 2 bit 7" in message(result.steps[1])  # what came back
    assert "descriptor format" in message(result.steps[2])
    assert "got" in message(result.steps[2]) and "fixed format" in message(result.steps[2])
    assert "no sense-key specific data" in message(result.steps[4])


# ------------------------------------------------------------------ fields


def test_field_checks_compare_numbers_and_text_as_a_user_means(tmp_path: Path) -> None:
    result = run_steps(
        tmp_path,
        """\
  - command: {Inquiry: {allocation_length: 96}}
    expect:
      fields:
        version: {in: [5, 6, 7]}
        peripheral_device_type: {mask: 0x1F, value: 0}
        vendor_identification: {printable: true, length: 8, regex: "^SGS"}
        product_identification: "SIM DISK"
        cmdque: "0x1"
      received: {min: 36, max: 96}
      check: "response.additional_length + 5 == received and status == 0"
  - command: {Inquiry: {allocation_length: 96}}
    expect:
      fields:
        version: {not_in: [7]}
        vendor_identification: {length: {max: 4}}
        product_identification: {regex: "^HDD"}
        hisup: {mask: 0x1, value: 0}
  - command: {Inquiry: {allocation_length: 96}}
    expect: {received: 36}
  - command: {Inquiry: {allocation_length: 96}}
    expect: {check: "response.version == 5"}
""",
    )
    good, bad, short, check = result.steps
    assert good.status == "passed", message(good)
    text = message(bad)
    assert "version not in [7]" in text
    assert "vendor_identification of length <= 4" in text
    assert "product_identification matching /^HDD/" in text
    assert "hisup & 0x1 == 0x0" in text and "got" in text
    assert "expected received=36 (0x24), got received 96" in message(short)
    assert "expected check response.version == 5, got false (GOOD)" in message(check)


def test_a_control_character_in_an_identification_field_is_not_printable(
    tmp_path: Path,
) -> None:
    from sgscript.verify.builtin import _field_fails

    assert _field_fails({"printable": True}, "SEAGATE ") is None
    assert _field_fails({"printable": True}, "SEA\x07GATE") == "printable ASCII (20h..7Eh)"
    assert _field_fails({"min": 1}, "0x29") is None  # a decoder's hex text is a number
    assert _field_fails({"mask": 0xF0, "value": 0x20}, 0x2F) is None


# ------------------------------------------------------------------ counts and check steps


def test_counts_judge_the_tallies_when_the_step_ends(tmp_path: Path) -> None:
    result = run_steps(
        tmp_path,
        """\
  - command: {Read10: {lba: "${index * 30}", transfer_length: 1}}
    repeat: 5
    queue_depth: 2
    expect: {any_of: [good, {sense: ILLEGAL_REQUEST}]}
    counts:
      - {match: good, at_least: 3, at_most: 4}
      - {match: {sense: ILLEGAL_REQUEST}, at_least: 1}
  - command: {Read10: {lba: "${index * 30}", transfer_length: 1}}
    repeat: 5
    expect: any
    counts:
      - {match: {sense: ILLEGAL_REQUEST}, at_most: 0}
""",
    )
    fine, too_many = result.steps
    assert fine.status == "passed", message(fine)
    assert too_many.status == "failed"
    assert (
        "counts: expected at most 0 command(s) matching sense ILLEGAL_REQUEST, got 1 of 5"
        in too_many.message
    )


def test_a_check_step_asserts_saved_values_without_sending_anything(tmp_path: Path) -> None:
    result = run_steps(
        tmp_path,
        """\
  - {command: ReadCapacity16, save: {last: returned_logical_block_address, lbpme: lbpme}}
  - {name: size, check: "last + 1 == 100 and lbpme in [0, 1]", id: QUAL-3}
  - {name: too big, check: "${last > 1000}"}
""",
    )
    _, size, big = result.steps
    assert (size.status, size.count, size.id) == ("passed", 0, "QUAL-3")
    assert (big.status, big.message) == ("failed", "check ${last > 1000} is false")
    assert result.commands == 1
    with pytest.raises(Exception, match=r"steps\[0\]\.check: undefined name 'nope'"):
        run_steps(tmp_path, '  - {check: "nope == 1"}\n')


def test_counts_over_a_group_tally_every_pass_of_every_step(tmp_path: Path) -> None:
    result = run_steps(
        tmp_path,
        """\
  - name: enough busy answers
    group:
      - {command: TestUnitReady, repeat: 3, expect: {any_of: [good, {status: BUSY}]}}
      - {command: {Inquiry: {allocation_length: 36}}, expect: {any_of: [good, {status: BUSY}]}}
    repeat: 4
    counts:
      - {match: {status: BUSY}, at_least: 4, at_most: 8}
  - name: too few
    group: [{command: TestUnitReady, expect: {any_of: [good, {status: BUSY}]}}]
    repeat: 2
    counts: [{match: {status: BUSY}, at_least: 3}]
""",
        device="sim:lu_gc?busy_every=3",
    )
    enough, few = result.steps[0], result.steps[3]
    assert (enough.name, enough.status, enough.count) == ("enough busy answers", "passed", 16)
    assert few.name == "too few" and few.status == "failed"
    assert "counts: expected at least 3 command(s) matching status BUSY, got 1 of 2" in few.message

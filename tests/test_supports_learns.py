"""``device.supports()`` learns from the device's answers: a disk without a command list.

QEMU's scsi-hd reports no REPORT SUPPORTED OPERATION CODES list, so its facts
cannot say what it lacks; a qualification plan asks it once (a step with
``optional: true``) and the rest of the scenario is NOT APPLICABLE when the
answer is "not supported", as libiscsi's tests skip. The sim's ``without``
option makes such a disk.
"""

from __future__ import annotations

import pytest

from sgscript.runner import run_scenario
from sgscript.scenario.load import load_scenario_text
from sgscript.scsi.errors import UsageError

SPEC = """\
sgscript: 1
name: learns
devices: {{a: "{target}"}}
defaults: {{device: a}}
on_failure: continue
steps:
  - name: before asking
    check: "device.supports('{cmd}') == {before}"
  - name: ask once
    command: {ask}
    optional: true
  - name: the rest
    requires: "device.supports('{cmd}')"
    command: {ask}
  - name: another command of the same disk
    requires: "device.supports('ReadCapacity16')"
    command: ReadCapacity16
"""


def _run(target: str, cmd: str, ask: str, before: bool) -> dict[str, tuple[str, str]]:
    text = SPEC.format(target=target, cmd=cmd, ask=ask, before=before)
    result = run_scenario(load_scenario_text(text, "learns.yaml"), seed=1)
    return {s.name: (s.status, s.message) for s in result.steps}


ORWRITE = "{OrWrite16: {lba: 0, transfer_length: 0}}"
GET_LBA_STATUS = "{GetLbaStatus: {starting_logical_block_address: 0, allocation_length: 24}}"


def test_a_command_answered_as_not_supported_is_unsupported_for_the_rest_of_the_run() -> None:
    got = _run(
        "sim:learn1?without=OrWrite16,ReportSupportedOperationCodes", "OrWrite16", ORWRITE, True
    )
    assert got["before asking"][0] == "passed"  # no list: it may have it
    assert got["ask once"][0] == "skipped"  # 20h/00h, optional
    assert got["the rest"] == (
        "not_applicable",
        "requires: device.supports('OrWrite16') is false",
    )
    assert got["another command of the same disk"][0] == "passed"


def test_a_service_action_refused_at_its_field_is_that_command_alone() -> None:
    # 9Eh answers READ CAPACITY(16); GET LBA STATUS (9Eh/12h) is refused at the service action
    target = "sim:learn2?without=GetLbaStatus,ReportSupportedOperationCodes"
    got = _run(target, "GetLbaStatus", GET_LBA_STATUS, True)
    assert got["ask once"][0] == "skipped"
    assert got["the rest"][0] == "not_applicable"
    assert got["another command of the same disk"][0] == "passed"  # 9Eh/10h still there


def test_a_disk_with_a_list_says_so_before_anything_is_sent() -> None:
    got = _run("sim:learn3?without=OrWrite16", "OrWrite16", ORWRITE, False)
    assert got["before asking"][0] == "passed"
    assert got["the rest"][0] == "not_applicable"


def test_a_supported_command_stays_supported() -> None:
    got = _run("sim:learn4?without=ReportSupportedOperationCodes", "OrWrite16", ORWRITE, True)
    assert got["ask once"][0] == "passed"
    assert got["the rest"][0] == "passed"


def test_without_names_catalog_commands() -> None:
    text = SPEC.format(
        target="sim:learn5?without=OrWrite61", cmd="OrWrite16", ask=ORWRITE, before=True
    )
    with pytest.raises(UsageError, match="OrWrite61"):
        run_scenario(load_scenario_text(text, "learns.yaml"), seed=1)


def test_the_facts_probe_learns_that_the_command_list_itself_is_missing() -> None:
    text = SPEC.format(
        target="sim:learn6?without=ReportSupportedOperationCodes",
        cmd="ReportSupportedOperationCodes",
        ask="{ReportSupportedOperationCodes: {allocation_length: 64}}",
        before=False,  # the probe asked for the list: refused at the service action
    )
    result = run_scenario(load_scenario_text(text, "learns.yaml"), seed=1)
    got = {s.name: s.status for s in result.steps}
    assert got == {
        "before asking": "passed",
        "ask once": "skipped",
        "the rest": "not_applicable",
        "another command of the same disk": "passed",
    }


def test_device_tasks_names_what_the_path_can_send() -> None:
    from sgscript.transport.linux.sg import SgTransport

    # through sg, only SG_SCSI_RESET's two: a spec asks before it needs another
    assert sorted(f.value for f in SgTransport.task_functions) == ["lun_reset", "target_reset"]
    text = SPEC.format(target="sim:learn7", cmd="Read10", ask="TestUnitReady", before=True).replace(
        "device.supports('Read10') == True", "'it_nexus_reset' in device.tasks"
    )
    result = run_scenario(load_scenario_text(text, "learns.yaml"), seed=1)
    assert result.steps[0].status == "passed", result.steps[0].message


def test_a_disk_without_a_command_lacks_it_for_every_nexus() -> None:
    # a second initiator's opening re-reads the handlers: the disk still lacks SANITIZE
    text = """\
sgscript: 1
devices:
  a: {target: "sim:learn8?without=Sanitize", initiator: host-a}
  b: {target: "sim:learn8?without=Sanitize", initiator: host-b}
defaults: {device: a}
steps:
  - {device: b, command: TestUnitReady, expect: any}
  - {name: ask, command: {Sanitize: {service_action: overwrite, parameter_list_length: 0}},
     expect: {sense: {key: ILLEGAL_REQUEST, asc: 0x20, ascq: 0}}}
  - {name: after, check: "not devices.a.supports('Sanitize')"}
"""
    result = run_scenario(load_scenario_text(text, "learns.yaml"), seed=1)
    assert [s.status for s in result.steps] == ["passed"] * 3, [s.message for s in result.steps]

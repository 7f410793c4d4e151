"""The spec library through the real sg driver: the files that pass on ``sim:``, rebound.

Each spec runs exactly as ``sgscript run SPEC --device a=/dev/sgN`` would run it
(``run_scenario`` with bindings), against scsi_debug and QEMU's scsi-hd, and the
reservation specs against the two-initiator rig (tgtd behind two iSCSI
sessions, devices a and b). A spec passes unchanged, or fails at exactly the
steps ``EXPECTED`` lists, each with the reason: there the real target answers
otherwise than the standard requires, or lacks what the spec is about (the
spec is right to fail it). A spec with listed steps runs with ``on_failure:
continue`` so each of them is checked, not only the first; a report per run
(spec-SPEC-TARGET.txt) goes to the lane's out dir.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sgscript.runner import ScenarioResult, run_scenario
from sgscript.scenario.load import load_scenario

pytestmark = pytest.mark.kernel

SPECS = Path(__file__).resolve().parents[2] / "specs"
SEED = 5150

#: Specs for one disk, run on scsi_debug and on QEMU's scsi-hd.
ONE_DISK = (
    "capacity",
    "inquiry_vpd",
    "write_read_verify",
    "errors",
    "compare_and_write",
    "write_same_unmap",
    "mode_pages",
    "start_stop",
    "optional_commands",
    "mixed_workload",
)
#: Specs for two initiators on one logical unit, run on the tgtd rig.
TWO_INITIATORS = (
    "reserve_release",
    "persistent_reservations",
    "spc2_reservations",
    "persistent_reservation_uas",
    "unit_attention",
)


@dataclass(frozen=True)
class Expected:
    """Where a spec fails on a target, and why; the spec keeps the standard's answer.

    ``survey``: run every step (``on_failure: continue``) so each listed step is
    checked; otherwise the spec runs as written and its first listed step, a
    guard ("the drive supports X"), stops it.
    """

    steps: dict[str, str]
    survey: bool = True
    #: The spec does not apply there (its requires:/when: say why): the reason's words.
    not_applicable: str = ""


_NACA = (
    "{} ignores NACA=1 although INQUIRY says NORMACA=0; SAM-5 (CONTROL byte) makes it INVALID "
    "FIELD IN CDB"
)
_VERIFY_RANGE = (
    "{} completes VERIFY with BYTCHK=0 without checking the range; SBC-4 VERIFY(16) requires "
    "LOGICAL BLOCK ADDRESS OUT OF RANGE"
)
_QEMU_BYTCHK = (
    "QEMU's scsi-hd rejects VERIFY with BYTCHK=01b (INVALID FIELD IN CDB): only scsi-block "
    "passes it to a host disk"
)
_QEMU_STOP = "QEMU's scsi-hd ignores START STOP UNIT: it stays ready when stopped (KERNEL-LANE.md)"
_SDEBUG_UA_TO_SELF = (
    "scsi_debug sets MODE PARAMETERS CHANGED (2Ah/01h) for the I_T nexus that sent the MODE "
    "SELECT; SPC-5 MODE SELECT excepts that nexus"
)
_TGTD = "tgtd 1.0.85, see tests/kernel/test_two_initiators.py: "

#: (spec, target) -> where the spec fails there and why. A target/spec pair not listed
#: must pass unchanged.
EXPECTED: dict[tuple[str, str], Expected] = {
    ("inquiry_vpd", "scsi_debug"): Expected(
        {
            "a page code with EVPD=0 is an invalid field": "scsi_debug ignores PAGE CODE when "
            "EVPD=0; SPC-5 INQUIRY makes it INVALID FIELD IN CDB",
        }
    ),
    ("inquiry_vpd", "qemu"): Expected(
        {
            "VPD 80h unit serial number": "the lane's QEMU disk has no serial= property, so no "
            "unit serial number page (optional in SPC-5; the spec requires it)",
        }
    ),
    ("errors", "scsi_debug"): Expected(
        {
            "READ(16) at the largest LBA there is": "scsi_debug answers GOOD: its range check "
            "adds the transfer length to the LBA, which wraps past 64 bits; SBC-4 READ(16) "
            "requires LOGICAL BLOCK ADDRESS OUT OF RANGE",
            "VERIFY(16) one block past the last LBA": _VERIFY_RANGE.format("scsi_debug"),
            "READ(10) with RDPROTECT=1 on a disk without protection information": "scsi_debug "
            "ignores RDPROTECT on a disk without protection information; SBC-4 READ(10) makes "
            "it INVALID FIELD IN CDB",
            "TEST UNIT READY with NACA=1 where INQUIRY says NormACA=0 (SAM-5 CONTROL byte)": (
                _NACA.format("scsi_debug")
            ),
        }
    ),
    ("errors", "qemu"): Expected(
        {
            "VERIFY(16) one block past the last LBA": _VERIFY_RANGE.format("QEMU's scsi-hd"),
            "TEST UNIT READY with NACA=1 where INQUIRY says NormACA=0 (SAM-5 CONTROL byte)": (
                _NACA.format("QEMU's scsi-hd")
            ),
        }
    ),
    ("write_read_verify", "qemu"): Expected(
        {
            "VERIFY with BYTCHK=1 and the same data is GOOD": _QEMU_BYTCHK,
            "VERIFY with BYTCHK=1 and other data is a MISCOMPARE": _QEMU_BYTCHK,
        }
    ),
    # scsi_debug implements COMPARE AND WRITE, but its VPD B0h says MAXIMUM COMPARE AND
    # WRITE LENGTH 0, which SBC-4 defines as "not supported"; QEMU's scsi-hd has none
    # (optional in SBC-4) and its B0h says so: the spec's requires: makes it NOT APPLICABLE.
    ("compare_and_write", "scsi_debug"): Expected(
        {}, not_applicable="device.max_compare_and_write_length >= 1 is false"
    ),
    ("compare_and_write", "qemu"): Expected(
        {}, not_applicable="device.max_compare_and_write_length >= 1 is false"
    ),
    ("write_same_unmap", "scsi_debug"): Expected(
        {
            "an UNMAP with an empty parameter list does nothing and is GOOD": "scsi_debug "
            "refuses PARAMETER LIST LENGTH 0 (INVALID FIELD IN CDB); SBC-4 UNMAP: zero means "
            "no data is sent and is not an error",
        }
    ),
    # QEMU's scsi-hd sets LBPRZ=0 (unmapped blocks may read anything, as SBC-4 allows; the
    # lane's drive has discard=ignore): the spec, for drives that read zeros, does not apply.
    ("write_same_unmap", "qemu"): Expected(
        {}, not_applicable="device.lbpme == 1 and device.lbprz == 1 is false"
    ),
    ("mode_pages", "scsi_debug"): Expected(
        {
            "MODE SENSE(6) shows WCE=0": _SDEBUG_UA_TO_SELF,
            "MODE SENSE(10) shows WCE=1": _SDEBUG_UA_TO_SELF,
            "changing a field that is not changeable (write retention priority) is refused": (
                "scsi_debug copies the caching page without checking its own changeable values "
                "(only WCE); SPC-5 MODE SELECT requires INVALID FIELD IN PARAMETER LIST"
            ),
            "a caching page with the wrong page length is refused": _SDEBUG_UA_TO_SELF
            + " (for the MODE SELECT before, which it accepted)",
            "the refused MODE SELECTs changed nothing": "follows from the accepted change of "
            "the write retention priority",
        }
    ),
    ("mode_pages", "qemu"): Expected(
        {
            "MODE SENSE(6) control page": "QEMU's scsi-hd has no control mode page (0Ah)",
            "MODE SENSE(6) informational exceptions control page": "QEMU's scsi-hd has no "
            "informational exceptions control mode page (1Ch)",
        }
    ),
    ("start_stop", "qemu"): Expected(
        {
            "TEST UNIT READY is NOT READY, initializing command required": _QEMU_STOP,
            "READ is NOT READY too": _QEMU_STOP,
            "REQUEST SENSE reports the not-ready state": _QEMU_STOP,
        }
    ),
    ("spc2_reservations", "tgtd"): Expected(
        {
            "b cannot write under RESERVE(10)": _TGTD + "no RESERVE(10)/RELEASE(10) (invalid "
            "operation code: those steps are skipped as optional), so nothing is reserved",
        }
    ),
    ("persistent_reservation_uas", "tgtd"): Expected(
        {
            "the releaser is not told (tgtd: RESERVATIONS RELEASED)": _TGTD + "the releaser of "
            "a write exclusive reservation gets RESERVATIONS RELEASED; SPC-5 sets none",
            "b is told RESERVATIONS RELEASED (tgtd: nothing)": _TGTD + "no unit attention "
            "when a registrants-only reservation is released",
            "a is told RESERVATIONS RELEASED (tgtd: nothing)": _TGTD + "no unit attention "
            "when an all-registrants reservation is released",
            "a is told REGISTRATIONS PREEMPTED (tgtd: RESERVATIONS PREEMPTED, 2Ah/03h)": _TGTD
            + "RESERVATIONS PREEMPTED where SPC-5 requires REGISTRATIONS PREEMPTED",
            "b preempts and aborts a (tgtd: INVALID FIELD IN CDB)": _TGTD + "no PREEMPT AND "
            "ABORT service action",
            "a is told REGISTRATIONS PREEMPTED after PREEMPT AND ABORT (tgtd: nothing)": _TGTD
            + "follows from the refused PREEMPT AND ABORT",
        }
    ),
    ("unit_attention", "tgtd"): Expected(
        {
            "a turns the write cache off (MODE SELECT(6), caching page, WCE=0)": "tgtd's "
            "current caching page has other fields set that it does not let change, so the "
            "spec's page (those fields 0) is INVALID FIELD IN PARAMETER LIST, as SPC-5 "
            "requires: the MODE PARAMETERS CHANGED part cannot run there (the reset part "
            "passes)",
        },
        survey=False,
    ),
}
#: Vars scaled down in the lane (TCG is slow; the spec's defaults are for real disks).
LANE_VARS = {"mixed_workload": {"reads": 400, "writes": 200}}


def run_bound(spec: str, target: str, bindings: dict[str, str]) -> ScenarioResult:
    scenario = load_scenario(SPECS / f"{spec}.yaml")
    expected = EXPECTED.get((spec, target))
    changes: dict[str, Any] = {}
    if expected is not None and expected.survey:
        changes["on_failure"] = "continue"
    if spec in LANE_VARS:
        changes["vars"] = {**scenario.vars, **LANE_VARS[spec]}
    if changes:
        scenario = dataclasses.replace(scenario, **changes)
    # the lane's disks are scratch disks: the specs write them (see test_safety_kernel.py)
    return run_scenario(scenario, bindings=bindings, seed=SEED, allow_destructive=True)


def report(result: ScenarioResult) -> str:
    lines = [
        f"{result.name} on {result.devices}: {result.status} in {result.duration:.2f} s, "
        f"{result.commands} commands, seed {result.seed} {result.message}".rstrip()
    ]
    for step in result.steps:
        lines.append(f"  [{step.status:7}] {step.path:6} {step.name}  {step.message}".rstrip())
        lines += [f"             {f.message}" for f in step.failures[:2]]
    return "\n".join(lines)


def check(result: ScenarioResult, spec: str, target: str, kernel_out: Path) -> None:
    text = report(result)
    (kernel_out / f"spec-{spec}-{target}.txt").write_text(text + "\n")
    expected = EXPECTED.get((spec, target))
    if expected is not None and expected.not_applicable:
        assert result.status == "not_applicable", text
        assert expected.not_applicable in result.message, text
        assert result.commands == 0, text  # only the probe's read-only commands were sent
        return
    listed = set(expected.steps) if expected is not None else set()
    failed = {s.name for s in result.steps if s.status == "failed"}
    assert result.status == ("failed" if listed else "passed"), text
    unexpected = sorted(failed - listed)
    vanished = sorted(listed - failed)
    assert not unexpected and not vanished, (
        f"{spec} on {target}: failed where not listed {unexpected}; "
        f"listed but did not fail {vanished}\n{text}"
    )


@pytest.mark.parametrize("spec", ONE_DISK)
def test_spec_on_a_real_disk(spec: str, sg_node: tuple[str, str], kernel_out: Path) -> None:
    target, path = sg_node
    result = run_bound(spec, target, {"a": path})
    check(result, spec, target, kernel_out)


@pytest.mark.parametrize("spec", TWO_INITIATORS)
def test_spec_on_two_initiators(spec: str, iscsi_pair: tuple[str, str], kernel_out: Path) -> None:
    path_a, path_b = iscsi_pair
    result = run_bound(spec, "tgtd", {"a": path_a, "b": path_b})
    check(result, spec, "tgtd", kernel_out)

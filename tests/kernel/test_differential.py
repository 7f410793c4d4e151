"""The simulated disk held to real ones: one scripted sequence, the same answers.

``sequences.DIFF_STEPS`` runs against ``sim:`` (configured like the lane's
disks: 64 MiB of 512-byte blocks) and against scsi_debug and QEMU's scsi-hd.
Status, sense key, ASC/ASCQ and the compared data must agree step by step,
except where ``DIFFERENCES`` says what the real target answers and why.
Where the real target is the one that departs from the standard, the reason
names the clause; the sim keeps the standard's answer
(``tests/test_sim_sequences.py`` holds it to that).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from sequences import (
    DIFF_CLEANUP,
    DIFF_STEPS,
    SIM_DIFF,
    Answer,
    Difference,
    Step,
    clear_unit_attentions,
    compare,
    run_steps,
    table,
)

from sgscript import Channel
from sgscript.sim.target import forget_targets

pytestmark = pytest.mark.kernel

_STOP = "QEMU's scsi-hd ignores START STOP UNIT: it stays ready when stopped (KERNEL-LANE.md)"
_VERIFY = (
    "QEMU's scsi-hd rejects VERIFY with BYTCHK=01b (only scsi-block passes it to a host disk), "
    "so it compares nothing"
)

_NACA = (
    "{} ignores NACA=1 although its INQUIRY data says NORMACA=0; SAM-5 (CONTROL byte) makes "
    "it INVALID FIELD IN CDB"
)

#: Where a real target answers otherwise than sim:, what it answers, and why. Where the
#: real target departs from the standard, the reason says so and sim: keeps the standard.
DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        "scsi_debug",
        "Inquiry EVPD=0 with a page code",
        "GOOD",
        "scsi_debug ignores PAGE CODE when EVPD=0; SPC-4 INQUIRY makes it INVALID FIELD IN CDB",
    ),
    Difference("scsi_debug", "TestUnitReady NACA=1", "GOOD", _NACA.format("scsi_debug")),
    Difference("qemu", "TestUnitReady NACA=1", "GOOD", _NACA.format("QEMU's scsi-hd")),
    Difference(
        "scsi_debug",
        "Read10 RDPROTECT=1 without protection information",
        "GOOD",
        "scsi_debug ignores RDPROTECT on a disk without protection information "
        "(KERNEL-LANE.md); SBC-4 READ(10) makes it INVALID FIELD IN CDB",
    ),
    Difference(
        "scsi_debug",
        "Verify10 past the last LBA",
        "GOOD",
        "scsi_debug completes VERIFY with BYTCHK=0 before checking the range; SBC-4 VERIFY(10) "
        "requires LOGICAL BLOCK ADDRESS OUT OF RANGE",
    ),
    Difference(
        "qemu",
        "ReadCapacity16",
        "GOOD data=(131071, 512, 0, 0, 1, 0)",
        "LBPRZ=0: QEMU's scsi-hd does not promise zeros from unmapped blocks, which SBC-4 "
        "allows; sim: (like scsi_debug) sets LBPRZ=1",
    ),
    Difference(
        "qemu",
        "Read10 after UNMAP",
        "GOOD data=sha256:ab61f9cc8a84(4096)",
        "with LBPRZ=0 an unmapped block may read back anything (SBC-4 thin provisioning); the "
        "lane's QEMU drive has discard=ignore, so the old data stays",
    ),
    Difference(
        "qemu", "Verify10 BYTCHK=1 equal", "CHECK_CONDITION ILLEGAL_REQUEST 24h/00h", _VERIFY
    ),
    Difference(
        "qemu", "Verify10 BYTCHK=1 miscompare", "CHECK_CONDITION ILLEGAL_REQUEST 24h/00h", _VERIFY
    ),
    Difference(
        "qemu",
        "Verify10 past the last LBA",
        "GOOD",
        "QEMU's scsi-hd completes VERIFY with BYTCHK=0 without checking the range; SBC-4 "
        "VERIFY(10) requires LOGICAL BLOCK ADDRESS OUT OF RANGE",
    ),
    Difference(
        "qemu",
        "SynchronizeCache10 past the last LBA",
        "GOOD",
        "QEMU's scsi-hd flushes the whole cache without checking the range; SBC-4 "
        "SYNCHRONIZE CACHE(10) requires LOGICAL BLOCK ADDRESS OUT OF RANGE",
    ),
    Difference("qemu", "TestUnitReady while stopped", "GOOD", _STOP),
    Difference("qemu", "Read10 while stopped", "GOOD", _STOP),
    Difference("qemu", "RequestSense while stopped", "GOOD data=('NO_SENSE', 0, 0)", _STOP),
)


def run_with_cleanup(
    ch: Channel, steps: Iterable[Step], durations: dict[str, float] | None = None
) -> dict[str, Answer]:
    clear_unit_attentions(ch)
    try:
        return run_steps(steps, {"a": ch}, durations)
    finally:
        run_steps(DIFF_CLEANUP, {"a": ch})
        clear_unit_attentions(ch)


@pytest.fixture(scope="module")
def sim_answers() -> Mapping[str, Answer]:
    forget_targets()
    try:
        with Channel.open(SIM_DIFF, initiator="differential") as ch:
            return run_with_cleanup(ch, DIFF_STEPS)
    finally:
        forget_targets()


def test_sim_answers_like_the_real_disk(
    sg_node: tuple[str, str], sim_answers: Mapping[str, Answer], kernel_out: Path
) -> None:
    name, path = sg_node
    durations: dict[str, float] = {}
    with Channel.open(path, timeout=20) as ch:
        real = run_with_cleanup(ch, DIFF_STEPS, durations)
    report = table(DIFF_STEPS, sim_answers, real, durations)
    (kernel_out / f"differential-{name}.txt").write_text(report)
    problems = compare(sim_answers, real, name, DIFFERENCES, DIFF_STEPS)
    assert not problems, f"sim: and {name} disagree:\n" + "\n".join(problems)

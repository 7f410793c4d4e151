"""The reserved-bit suite on the real targets: what each does with a reserved CDB bit set.

Sent: the commands that change neither medium nor state, the commands that write
blocks (the lane's disks are scratch disks; each test after this one writes what it
reads), and the state changes this test undoes after the run (START STOP UNIT,
PREVENT ALLOW MEDIUM REMOVAL, RESERVE/RELEASE): a device that ignores the bit carries
the command out. Not sent: FORMAT UNIT, SANITIZE, WRITE LONG (it can leave a block
unreadable), REASSIGN BLOCKS, copy and ATA pass-through, and the rest of what
changes state (MODE SELECT, PERSISTENT RESERVE OUT, diagnostics, ...).  The lenient suite is run (SPC-5 lets a device
ignore reserved bits and need not name the field); what it still fails — INVALID
FIELD IN CDB pointing at another bit — is listed in ``EXPECTED`` with the
target's name: a listed difference that stops happening fails too.  How many
bits the device refuses with the pointer at the bit (the strict suite) goes to
the report, ``negative-TARGET.txt``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sgscript.runner import run_scenario
from sgscript.scenario.load import load_scenario
from sgscript.scsi.catalog import standard_catalog
from sgscript.scsi.commands import Unmap
from sgscript.scsi.negative import reserved_bits

pytestmark = pytest.mark.kernel

_UNMAP_EMPTY = (
    "scsi_debug refuses UNMAP with PARAMETER LIST LENGTH 0 at byte 7, which SBC-4 5.35 makes no"
    " error (no data is sent): each case is refused there, before its reserved bit is looked at"
)

#: (target, step) -> why the target's answer is not what SPC-5 allows.
EXPECTED: dict[tuple[str, str], str] = {
    ("scsi_debug", f"Unmap byte {byte} bit {bit}"): _UNMAP_EMPTY
    for byte, bit in reserved_bits(Unmap)
}


#: Commands that change the medium or state and are sent all the same (see above).
WRITES = (
    *("Write6", "Write10", "Write12", "Write16", "Write32"),
    *("WriteAndVerify10", "WriteAndVerify12", "WriteAndVerify16", "WriteAndVerify32"),
    *("WriteSame10", "WriteSame16", "WriteSame32", "Unmap"),
    *("CompareAndWrite", "OrWrite16", "WriteAtomic16"),
)
UNDONE = (
    "StartStopUnit",
    "PreventAllowMediumRemoval",
    *("Reserve6", "Release6", "Reserve10", "Release10"),
)


def _sent() -> list[str]:
    catalog = standard_catalog()
    return [
        name
        for name in catalog
        if (
            not (catalog.lookup(name).changes_media or catalog.lookup(name).changes_state)
            or name in WRITES
            or name in UNDONE
        )
        and name != "GetLbaStatus"  # scsi_debug on Linux 6.1 oopses in GET LBA STATUS
    ]


def _undo(path: str) -> None:
    """Start the unit, allow removal, release reservations: what a case may have done."""
    from sgscript import Channel
    from sgscript.scsi.commands import (
        PreventAllowMediumRemoval,
        Release6,
        Release10,
        StartStopUnit,
        TestUnitReady,
    )

    with Channel.open(path) as channel:
        for command in (
            StartStopUnit(start=1),
            PreventAllowMediumRemoval(prevent=0),
            Release6(),
            Release10(),
            *[TestUnitReady()] * 3,  # take the unit attentions these leave
        ):
            channel.execute(command, wait=True, check=False)


def test_reserved_bits_on_a_real_disk(
    sg_node: tuple[str, str], kernel_out: Path, tmp_path: Path
) -> None:
    target, path = sg_node
    text = subprocess.run(
        [sys.executable, "-m", "sgscript", "negative", "--kind", "bits", "--strict", *_sent()],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    spec = tmp_path / "reserved_bits.yaml"
    spec.write_text(text)
    # One strict run (each case is a step: its failure detail keeps the sense), sorted as
    # the lenient suite judges: the pointer elsewhere fails it, the rest SPC-5 allows.
    try:
        result = run_scenario(
            load_scenario(spec), bindings={"a": path}, seed=7, allow_destructive=True
        )
    finally:
        _undo(path)
    cases = [s for s in result.steps if s.kind == "command"]
    exact = [s for s in cases if s.status == "passed"]
    wrong = {s.name: s for s in cases if s.status == "failed" and _points_elsewhere(s)}
    unsent = sum(1 for s in cases if s.status == "not_applicable")
    skipped = sum(1 for s in cases if s.status == "skipped")
    lines = [
        f"{target}: {sum(1 for s in cases if s.count)} cases sent, {unsent} not applicable"
        f" (commands it does not report), {skipped} answered as not supported;"
        f" {len(exact)} refused with the field pointer at the bit, {len(wrong)} with it"
        " elsewhere (a failure), the rest ignored or refused naming no field (SPC-5 allows)"
    ]
    for name, step in sorted(wrong.items()):
        lines.append(f"  {name}: {step.failures[0].message.splitlines()[0]}")
    (kernel_out / f"negative-{target}.txt").write_text("\n".join(lines) + "\n")
    assert result.status != "error", "\n".join(lines)  # the device must stay up and answer
    assert any(s.count for s in cases), "no case was sent: the device reports no command"
    listed = {step for (t, step) in EXPECTED if t == target}
    assert set(wrong) == listed, "\n".join(lines)


def _points_elsewhere(step: Any) -> bool:
    """A strict case the lenient suite fails too: INVALID FIELD IN CDB naming another byte."""
    sense = step.failures[0].sense if step.failures else None
    if not sense or (sense.get("sense_key"), sense.get("asc"), sense.get("ascq")) != (5, 0x24, 0):
        return False
    sks = sense.get("sense_key_specific") or {}
    byte = int(step.name.split(" byte ")[1].split()[0])  # "Read10 byte 6 bit 7"
    return sks.get("kind") == "field_pointer" and sks.get("field_pointer") != byte

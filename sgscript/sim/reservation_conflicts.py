"""Which commands conflict with a reservation held by another I_T nexus: data.

``PR_CONFLICTS`` holds the rows of the standards' tables "commands that are
allowed in the presence of various reservations" for SPC commands (SPC-4/SPC-5
5.13.1, table 65 in SPC-4r37) and for SBC commands (SBC-4 4.17, table 13), keyed
by catalog name; ``reservations.py`` holds the state and applies these rows.
"""

from __future__ import annotations

from collections.abc import Callable

from ..scsi.cdb import Command, Direction
from .core import Request

__all__ = [
    "PR_CONDITIONAL",
    "PR_CONFLICTS",
    "SELF_JUDGED",
    "SPC2_BLOCKS_PR",
    "SPC2_OVERRIDES",
    "conflict_row",
]


#: A row of the SPC table 65 / SBC-4 table 13: one letter per column, "A" allowed,
#: "C" RESERVATION CONFLICT. Columns, for a persistent reservation held by another
#: I_T nexus: [0] Write Exclusive, from any nexus; [1] Exclusive Access, from any
#: nexus; [2] registrants-only or all-registrants type, from a registered nexus;
#: [3] WE-RO/WE-AR, from a nexus not registered; [4] EA-RO/EA-AR, from a nexus
#: not registered.
ANY = "AAAAA"
READS = "ACAAC"
WRITES = "CCACC"

PR_CONFLICTS: dict[str, str] = {
    # SPC table 65 (SPC-4r37 rows; the catalog holds no ACCESS CONTROL or alias commands)
    "CopyOperationAbort": WRITES,
    "ExtendedCopy": WRITES,
    "ExtendedCopyLid1": WRITES,
    "Inquiry": ANY,
    "LogSelect": WRITES,
    "LogSense": ANY,
    "ModeSelect6": WRITES,
    "ModeSelect10": WRITES,
    "ModeSense6": READS,
    "ModeSense10": READS,
    "PersistentReserveIn": ANY,
    "ReadAttribute": READS,
    "ReadBuffer10": READS,
    "ReceiveCopyData": ANY,
    "ReceiveCopyDataLid1": ANY,
    "ReceiveCopyFailureDetails": ANY,
    "ReceiveCopyOperatingParameters": ANY,
    "ReceiveCopyStatus": ANY,
    "ReceiveCopyStatusLid1": ANY,
    "ReceiveDiagnosticResults": READS,
    "ReceiveRodTokenInformation": ANY,
    "ReportAllRodTokens": ANY,
    "ReportIdentifyingInformation": ANY,
    "ReportLuns": ANY,
    "ReportSupportedOperationCodes": READS,
    "ReportSupportedTaskManagementFunctions": READS,
    "ReportTargetPortGroups": ANY,
    "ReportTimestamp": ANY,
    "RequestSense": ANY,
    "SecurityProtocolIn": READS,
    "SecurityProtocolOut": WRITES,
    "SendDiagnostic": WRITES,
    "SetIdentifyingInformation": WRITES,
    "SetTargetPortGroups": WRITES,
    "SetTimestamp": WRITES,
    "TestUnitReady": ANY,
    "WriteAttribute": WRITES,
    "WriteBuffer10": WRITES,
    # SBC-4 table 13
    "CompareAndWrite": WRITES,
    "FormatUnit": WRITES,
    "GetLbaStatus": READS,
    "PopulateToken": READS,
    "PreFetch10": READS,
    "PreFetch16": READS,
    "Read6": READS,
    "Read10": READS,
    "Read12": READS,
    "Read16": READS,
    "Read32": READS,
    "ReadCapacity10": ANY,
    "ReadCapacity16": ANY,
    "ReadDefectData10": READS,
    "ReadDefectData12": READS,
    "ReassignBlocks": WRITES,
    "Sanitize": WRITES,
    "SynchronizeCache10": WRITES,
    "SynchronizeCache16": WRITES,
    "Unmap": WRITES,
    "Verify10": READS,
    "Verify12": READS,
    "Verify16": READS,
    "Verify32": READS,
    "Write6": WRITES,
    "Write10": WRITES,
    "Write12": WRITES,
    "Write16": WRITES,
    "Write32": WRITES,
    "WriteAndVerify10": WRITES,
    "WriteAndVerify12": WRITES,
    "WriteAndVerify16": WRITES,
    "WriteAndVerify32": WRITES,
    "WriteAtomic16": WRITES,
    "OrWrite16": WRITES,
    "WriteLong10": WRITES,
    "WriteLong16": WRITES,
    "WriteSame10": WRITES,
    "WriteSame16": WRITES,
    "WriteSame32": WRITES,
    "WriteUsingToken": WRITES,
}

#: SBC-4 table 13 rows that depend on a CDB field: (condition, row if true, row if false).
PR_CONDITIONAL: dict[str, tuple[Callable[[Request], bool], str, str]] = {
    "PreventAllowMediumRemoval": (lambda r: r.f("prevent") == 0, ANY, WRITES),
    "StartStopUnit": (
        lambda r: r.f("start") == 1 and r.f("power_condition") == 0,
        ANY,
        WRITES,
    ),
}

#: Judged by their own handlers: RESERVE/RELEASE "as defined in SPC-2" with SPC-5
#: 5.13.3's exceptions, PERSISTENT RESERVE OUT per table 66 and 5.13.
SELF_JUDGED = frozenset({"Reserve6", "Reserve10", "Release6", "Release10", "PersistentReserveOut"})

#: Under an SPC-2 reservation held by another nexus a command conflicts as under an
#: Exclusive Access persistent reservation (column 1), except these. TEST UNIT READY:
#: SPC-2 devices conflict (table 65 footnote b), and so do tgtd and libiscsi's
#: tests. The PR commands: SPC-2 5.5.1 (below, for any nexus).
SPC2_OVERRIDES: dict[str, str] = {"TestUnitReady": "C"}
#: SPC-2 5.5.1: while any nexus holds an SPC-2 reservation, every PERSISTENT RESERVE IN
#: and OUT conflicts, whoever sends it.
SPC2_BLOCKS_PR = frozenset({"PersistentReserveIn", "PersistentReserveOut"})

_ROWS: dict[str, str] = {}


def conflict_row(cls: type[Command]) -> str:
    """The table row for an unconditional command; unlisted ones get a default.

    The default reads the catalog: anything that changes media or state or sends
    data to the device is treated like a write, everything else like a read
    (allowed under Write Exclusive, refused under Exclusive Access).
    """
    name = cls.__name__
    row = _ROWS.get(name)
    if row is None:
        row = PR_CONFLICTS.get(name)
        if row is None:
            writes = cls.changes_media or cls.changes_state or cls.direction is Direction.OUT
            row = WRITES if writes else READS
        _ROWS[name] = row
    return row

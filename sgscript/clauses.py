"""The clauses the specs cite, as data: one form for a clause ref, and each catalog
command's clause in the standard that defines it.

A spec's ``refs:`` name the clauses a step proves next to the peer test it counters
(``libiscsi:Read10.BeyondEol``). A command name says too little to find the text
(``SBC-4 WRITE(10)`` does not say which revision, nor where its DPO bit is defined), so
a clause ref is a number: ``SBC-4 5.40``, ``SPC-5 6.36.3``, or ``SBC-4 table 34`` for
a table. The numbers follow one revision per standard (``REVISIONS``): a renumbered
draft would move every ref at once, which this table makes a one-line change to see.

``COMMAND_CLAUSES`` gives each command the clause that defines it, so a counterpart of
``Read10.BeyondEol`` that sends READ(10) cites ``SBC-4 5.16`` (or a subclause of it).
A command obsolete in SBC-4 cites the last standard that defines it (READ(6) is
SBC-2's, RESERVE(6) SPC-2's). ``sgscript.coverage`` checks both against the specs.
"""

from __future__ import annotations

import re

__all__ = ["CLAUSE_REF", "COMMAND_CLAUSES", "REVISIONS", "STANDARD_REF", "SUITE_COMMANDS"]

#: The drafts the clause numbers follow. SBC-4 r22's are read from its text (table 34
#: lists every command with its clause); SPC-5 r22's are those public sources cite
#: from it (INQUIRY 6.7, MODE SENSE(6) 6.14, PERSISTENT RESERVE IN/OUT 6.16/6.17).
REVISIONS: dict[str, str] = {"SBC-4": "r22", "SPC-5": "r22", "SBC-2": "r16"}

#: A ref that names a T10 standard (``SPC-5 ...``, ``SBC-4 ...``, ``SAM-5 ...``).
STANDARD_REF = re.compile(r"(?:SPC|SBC|SAM)-\d+ ")

#: The one form such a ref takes: a clause number (``5.16``, ``6.36.3``) or a table
#: (``table 34``, ``table A.1``), nothing after it.
CLAUSE_REF = re.compile(r"(?:SPC|SBC|SAM)-\d+ (?:\d+(?:\.\d+)+|table [A-Z]?\.?\d+)")

#: Catalog command -> the clause that defines it.
COMMAND_CLAUSES: dict[str, str] = {
    # SBC-4 r22 table 34 (commands for direct access block devices)
    "CompareAndWrite": "SBC-4 5.3",
    "FormatUnit": "SBC-4 5.4",
    "GetLbaStatus": "SBC-4 5.6",
    "OrWrite16": "SBC-4 5.10",
    "PopulateToken": "SBC-4 5.12",
    "PreFetch10": "SBC-4 5.13",
    "PreFetch16": "SBC-4 5.14",
    "PreventAllowMediumRemoval": "SBC-4 5.15",
    "Read10": "SBC-4 5.16",
    "Read12": "SBC-4 5.17",
    "Read16": "SBC-4 5.18",
    "Read32": "SBC-4 5.19",
    "ReadCapacity10": "SBC-4 5.20",
    "ReadCapacity16": "SBC-4 5.21",
    "ReadDefectData10": "SBC-4 5.22",
    "ReadDefectData12": "SBC-4 5.23",
    "ReassignBlocks": "SBC-4 5.24",
    "ReceiveRodTokenInformation": "SBC-4 5.25",
    "Sanitize": "SBC-4 5.30",
    "StartStopUnit": "SBC-4 5.31",
    "SynchronizeCache10": "SBC-4 5.33",
    "SynchronizeCache16": "SBC-4 5.34",
    "Unmap": "SBC-4 5.35",
    "Verify10": "SBC-4 5.36",
    "Verify12": "SBC-4 5.37",
    "Verify16": "SBC-4 5.38",
    "Verify32": "SBC-4 5.39",
    "Write10": "SBC-4 5.40",
    "Write12": "SBC-4 5.41",
    "Write16": "SBC-4 5.42",
    "Write32": "SBC-4 5.43",
    "WriteAndVerify10": "SBC-4 5.44",
    "WriteAndVerify12": "SBC-4 5.45",
    "WriteAndVerify16": "SBC-4 5.46",
    "WriteAndVerify32": "SBC-4 5.47",
    "WriteAtomic16": "SBC-4 5.48",
    "WriteLong10": "SBC-4 5.50",
    "WriteLong16": "SBC-4 5.51",
    "WriteSame10": "SBC-4 5.52",
    "WriteSame16": "SBC-4 5.53",
    "WriteSame32": "SBC-4 5.54",
    "WriteUsingToken": "SBC-4 5.59",
    # obsolete in SBC-4 (not in its table 34): SBC-2 r16 defines them
    "Read6": "SBC-2 5.5",
    "Write6": "SBC-2 5.24",
    # SPC-5 r22
    "Inquiry": "SPC-5 6.7",
    "ModeSense6": "SPC-5 6.14",
    "ModeSense10": "SPC-5 6.15",
    "PersistentReserveIn": "SPC-5 6.16",
    "PersistentReserveOut": "SPC-5 6.17",
    # the two below are the numbers the specs used before; not yet read in r22's text
    "ReportSupportedOperationCodes": "SPC-5 6.36",
    "TestUnitReady": "SPC-5 6.47",
    # obsolete since SPC-3: SPC-2 defines the logical-unit reservations
    "Release6": "SPC-2 7.17",
    "Reserve6": "SPC-2 7.21",
}

#: iscsi-test-cu suite -> the commands its tests are about, where the suite is not
#: named after one catalog command (``Read10`` tests ``Read10``).
SUITE_COMMANDS: dict[str, tuple[str, ...]] = {
    "GetLBAStatus": ("GetLbaStatus",),
    "OrWrite": ("OrWrite16",),
    "Prefetch10": ("PreFetch10",),
    "Prefetch16": ("PreFetch16",),
    "PreventAllow": ("PreventAllowMediumRemoval",),
    "PrinReadKeys": ("PersistentReserveIn",),
    "PrinReportCapabilities": ("PersistentReserveIn",),
    "PrinServiceactionRange": ("PersistentReserveIn",),
    "ProutClear": ("PersistentReserveOut",),
    "ProutPreempt": ("PersistentReserveOut",),
    "ProutRegister": ("PersistentReserveOut",),
    "ProutReserve": ("PersistentReserveOut",),
    "ReportSupportedOpcodes": ("ReportSupportedOperationCodes",),
    "WriteVerify10": ("WriteAndVerify10",),
    "WriteVerify12": ("WriteAndVerify12",),
    "WriteVerify16": ("WriteAndVerify16",),
}

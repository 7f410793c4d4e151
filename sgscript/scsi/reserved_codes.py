"""Reserved codes of defined CDB fields, as the standards' tables mark them: data only.

A reserved *bit* may go unchecked (SPC-5 lets a device server ignore it); a reserved
*code* in a field the standard defines may not: "receipt of reserved code values in
defined fields shall be reported as an error" (SPC-5 3.3, the keyword *reserved*), and
a reserved code value in any field but OPERATION CODE ends the command with ILLEGAL
REQUEST, INVALID FIELD IN CDB (SPC-5 4.2.1, CDB usage and structure).  These rows are
what ``sgscript negative`` pushes out of range and what the simulated disk refuses.

Each row names a catalog command, one field of its table and ranges of codes the
standard's table for that field marks *Reserved*.  Obsolete, restricted and vendor
specific codes are not reserved and are never listed; nor is a code only because a
field's ``Field.values`` leaves it out (those name the codes sgscript spells, not the
standard's table).  Where a table could not be read whole, a row lists the codes it is
sure of, never more.

A ``service_action`` that the command's table fixes (``Field.fixed``: one command of an
operation code shared by several) stands for the operation code's service action field:
its row lists codes no command of that operation code is assigned in the T10 standards
(SPC-5's and SBC-4's service action tables), and its cases start from that command's CDB.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RESERVED_CODES", "ReservedCodes"]


@dataclass(frozen=True)
class ReservedCodes:
    """One row: ``command``'s ``field`` and the (first, last) ranges its table reserves."""

    command: str
    field: str
    ranges: tuple[tuple[int, int], ...]
    ref: str

    @property
    def sent(self) -> tuple[int, ...]:
        """The codes a negative case sends: the smallest reserved code and the largest."""
        low = min(first for first, _ in self.ranges)
        high = max(last for _, last in self.ranges)
        return (low,) if low == high else (low, high)

    def reserves(self, value: int) -> bool:
        return any(first <= value <= last for first, last in self.ranges)


_RDPROTECT = "SBC-4 READ(10), RDPROTECT field table: 101b..111b reserved"
_WRPROTECT = "SBC-4 WRITE(10), WRPROTECT field table: 101b..111b reserved"
# VERIFY defines VRPROTECT 000b..101b (101b: no check) whatever BYTCHK is: 110b..111b reserved.
_VRPROTECT = "SBC-4 VERIFY(10), VRPROTECT field tables: 110b..111b reserved"
_BYTCHK = "SBC-4 VERIFY(10), BYTCHK field: 10b reserved"
# WRITE AND VERIFY takes BYTCHK 00b..10b as VERIFY defines them (10b reserved); its 11b is
# left out: the simulated disk reads it as VERIFY's one-block compare, pending a check.
_WV_BYTCHK = "SBC-4 WRITE AND VERIFY(10), BYTCHK field as VERIFY(10): 10b reserved"

#: The rows, SPC-5 then SBC-4.  ``ref`` names the table the codes come from.
RESERVED_CODES: tuple[ReservedCodes, ...] = (
    # ------------------------------------------------------------------------ SPC-5
    ReservedCodes(
        "PersistentReserveIn",
        "service_action",
        ((0x04, 0x1F),),
        "SPC-5 PERSISTENT RESERVE IN, service action codes table: 04h..1Fh reserved",
    ),
    ReservedCodes(
        "PersistentReserveOut",
        "service_action",
        ((0x09, 0x1F),),
        "SPC-5 PERSISTENT RESERVE OUT, service action codes table: 09h..1Fh reserved",
    ),
    ReservedCodes(
        "ReportLuns",
        "select_report",
        ((0x03, 0x0F),),
        "SPC-5 REPORT LUNS, SELECT REPORT field table: 03h..0Fh reserved",
    ),
    ReservedCodes(
        "ReportSupportedOperationCodes",
        "reporting_options",
        ((0b100, 0b111),),
        "SPC-5 REPORT SUPPORTED OPERATION CODES, REPORTING OPTIONS field table: 100b..111b"
        " reserved",
    ),
    ReservedCodes(
        "ReadAttribute",
        "service_action",
        ((0x06, 0x1F),),
        "SPC-5 READ ATTRIBUTE, service action codes table: 06h..1Fh reserved",
    ),
    ReservedCodes(
        "SendDiagnostic",
        "self_test_code",
        ((0b011, 0b011), (0b111, 0b111)),
        "SPC-5 SEND DIAGNOSTIC, SELF-TEST CODE field table: 011b and 111b reserved",
    ),
    # The service actions of operation codes several commands share.
    ReservedCodes(
        "ReportSupportedOperationCodes",  # MAINTENANCE IN (A3h)
        "service_action",
        ((0x11, 0x1C),),
        "SPC-5 MAINTENANCE IN service actions: 11h..1Ch assigned to no command",
    ),
    ReservedCodes(
        "SetTargetPortGroups",  # MAINTENANCE OUT (A4h)
        "service_action",
        ((0x11, 0x1C),),
        "SPC-5 MAINTENANCE OUT service actions: 11h..1Ch assigned to no command",
    ),
    ReservedCodes(
        "PopulateToken",  # THIRD-PARTY COPY OUT (83h)
        "service_action",
        ((0x02, 0x0F),),
        "SPC-5 THIRD-PARTY COPY OUT service actions: 02h..0Fh assigned to no command",
    ),
    ReservedCodes(
        "ReceiveCopyOperatingParameters",  # THIRD-PARTY COPY IN (84h)
        "service_action",
        ((0x02, 0x02), (0x09, 0x15)),
        "SPC-5 THIRD-PARTY COPY IN service actions: 02h and 09h..15h assigned to no command",
    ),
    # ------------------------------------------------------------------------ SBC-4
    ReservedCodes(
        "Sanitize",
        "service_action",
        ((0x00, 0x00), (0x04, 0x1E)),
        "SBC-4 5.28.1 SANITIZE, service action codes table: 00h and 04h..1Eh reserved",
    ),
    ReservedCodes(
        "StartStopUnit",
        "power_condition",
        ((0x4, 0x4), (0x6, 0x6), (0x8, 0x9), (0xC, 0xF)),
        "SBC-4 START STOP UNIT, POWER CONDITION field table: 4h, 6h, 8h..9h, Ch..Fh reserved"
        " (5h is obsolete)",
    ),
    ReservedCodes(
        "GetLbaStatus",
        "report_type",
        ((0x05, 0x0F),),
        "SBC-4 GET LBA STATUS(16), REPORT TYPE field table: 05h..0Fh reserved",
    ),
    ReservedCodes(
        "FormatUnit",
        "ffmt",
        ((0b11, 0b11),),
        "SBC-4 FORMAT UNIT, FFMT field table: 11b reserved",
    ),
    *(
        ReservedCodes(name, "rdprotect", ((0b101, 0b111),), _RDPROTECT)
        for name in ("Read10", "Read12", "Read16", "Read32")
    ),
    *(
        ReservedCodes(name, "wrprotect", ((0b101, 0b111),), _WRPROTECT)
        for name in ("Write10", "Write12", "Write16", "Write32")
    ),
    *(
        row
        for name in ("WriteAndVerify10", "WriteAndVerify12", "WriteAndVerify16", "WriteAndVerify32")
        for row in (
            ReservedCodes(name, "wrprotect", ((0b101, 0b111),), _WRPROTECT),
            ReservedCodes(name, "bytchk", ((0b10, 0b10),), _WV_BYTCHK),
        )
    ),
    *(
        row
        for name in ("Verify10", "Verify12", "Verify16", "Verify32")
        for row in (
            ReservedCodes(name, "vrprotect", ((0b110, 0b111),), _VRPROTECT),
            ReservedCodes(name, "bytchk", ((0b10, 0b10),), _BYTCHK),
        )
    ),
    # The service actions of operation codes several commands share.
    ReservedCodes(
        "ReadCapacity16",  # SERVICE ACTION IN(16) (9Eh)
        "service_action",
        ((0x00, 0x0E),),
        "SBC-4/SPC-5 SERVICE ACTION IN(16) service actions: 00h..0Eh assigned to no command",
    ),
    ReservedCodes(
        "WriteLong16",  # SERVICE ACTION OUT(16) (9Fh)
        "service_action",
        ((0x00, 0x0A),),
        "SBC-4/SPC-5 SERVICE ACTION OUT(16) service actions: 00h..0Ah assigned to no command",
    ),
    ReservedCodes(
        "Read32",  # variable length CDB (7Fh)
        "service_action",
        ((0x0000, 0x0000),),
        "SBC-4 variable length CDB service action codes: 0000h assigned to no command",
    ),
)

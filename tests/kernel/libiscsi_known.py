"""What the differential against iscsi-test-cu shows, as data.

``DIFFERENCES``: where iscsi-test-cu and the counterpart scenario disagree on a
target, and who is right: ``sgscript`` (the standard backs the counterpart; the
clause is cited), ``target`` (the standard lets the target choose, and the two
tools read that choice differently) or ``path`` (the test is an event the sg
driver cannot make). A difference that stops happening fails the lane: the list
is held to what really happens. ``FIXED``: where libiscsi was right and the
counterpart was changed until they agreed. ``NOT_RUN``: tests neither tool may
send to a target, and why. ``SLICE``: the tests CI runs on every target (the whole
suite runs on demand: ``tests/kernel/differential.sh``).

Rows are grouped by reason; ``tests/kernel/differential.sh`` writes the latest
table to docs/differential.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Disagreement:
    target: str  # scsi_debug | qemu | tgtd
    test: str  # Suite.Test, as iscsi-test-cu --list names it
    libiscsi: str  # its outcome: pass | fail | skip
    sgscript: str  # the counterpart's
    who: Literal["sgscript", "target", "path"]
    why: str


def _each(
    reason: tuple[str, str], rows: tuple[tuple[str, str, str, str], ...]
) -> tuple[Disagreement, ...]:
    """(target, test, libiscsi, sgscript) rows that differ for one reason."""
    who, why = reason
    names = {"scsi_debug": "scsi_debug", "qemu": "QEMU's scsi-hd", "tgtd": "tgtd"}
    return tuple(
        Disagreement(t, test, theirs, ours, who, why.format(t=names[t]))  # type: ignore[arg-type]
        for t, test, theirs, ours in rows
    )


_CAW_ZERO = (
    "sgscript",
    "scsi_debug's Block Limits page says MAXIMUM COMPARE AND WRITE LENGTH 0, the most "
    "blocks it accepts (SBC-4 6.6.4; 0: not supported), so the counterpart sends none "
    "(NOT APPLICABLE); libiscsi ignores the page, and scsi_debug accepts what its page "
    "rules out",
)
_VERSION = (
    "sgscript",
    "SPC-5 6.7.2 defines VERSION 07h (SPC-5), which scsi_debug reports; libiscsi 1.19.0 "
    "knows 04h-06h only, so it fails the data or skips what it thinks an SPC-2 unit lacks",
)
_NOT_REMOVABLE = (
    "target",
    "the logical unit is not removable (INQUIRY RMB=0), which a disk may be: the "
    "counterpart is NOT APPLICABLE; libiscsi's test returns without a check and counts as "
    "passed (it says why only with -V)",
)
_PREFETCH = (
    "sgscript",
    "scsi_debug answers CONDITION MET, the status SBC-4 5.13/5.14 give PRE-FETCH when the "
    "blocks fit in the cache; libiscsi over sg takes any status but GOOD as an error "
    "('SCSI masked error')",
)
_OPCODES_7F = (
    "sgscript",
    "scsi_debug's one-command data for each 7Fh service action starts with 7Fh, as SPC-5 "
    "6.36.3 requires (read back in this lane); libiscsi 1.19.0 reads 00h there",
)
_VERIFY_RANGE = (
    "sgscript",
    "{t} completes VERIFY with BYTCHK=0 past the last LBA with GOOD; SBC-4 5.36-5.38 "
    "check the range whatever BYTCHK is (LOGICAL BLOCK ADDRESS OUT OF RANGE); libiscsi "
    "sends BYTCHK=1 only",
)
_VERIFY_INFO = (
    "sgscript",
    "{t}'s MISCOMPARE sense has no INFORMATION (VALID=0); SBC-4 5.36-5.38 report the "
    "offset of the first differing byte there; libiscsi does not look",
)
_ATOMIC_VPD = (
    "sgscript",
    "{t} refuses WRITE ATOMIC(16) and its Block Limits atomic fields are zero, the "
    "agreement SBC-4 6.6.4 and 5.48 require, which the counterpart checks; libiscsi skips "
    "a device without the command",
)
_CAW_NONE = (
    "sgscript",
    "{t} has no COMPARE AND WRITE (it does not list it, or its Block Limits say MAXIMUM "
    "COMPARE AND WRITE LENGTH 0: SBC-4 6.6.4; an optional command, SBC-4 5.3): the "
    "counterpart is NOT APPLICABLE; libiscsi sends it anyway and fails",
)
_QEMU_RESID = (
    "sgscript",
    "QEMU's scsi-hd returns the whole allocation length (zeros past what its length field "
    "counts) and reports no residual; SPC-5 4.2.5.6 ends a Data-In transfer at the data "
    "available; libiscsi does not compare the two",
)
_QEMU_CONTROL = (
    "target",
    "QEMU's scsi-hd has no Control mode page (0Ah; MODE SENSE for it is INVALID FIELD IN "
    "CDB) and which mode pages a device implements is its choice (SPC-5 7.5.1): the "
    "counterpart is NOT APPLICABLE; libiscsi requires the page (or passes without "
    "looking)",
)
_ORWRITE_QEMU = (
    "sgscript",
    "QEMU's scsi-hd has no ORWRITE(16): asked without data it answers INVALID COMMAND "
    "OPERATION CODE and the counterpart is NOT APPLICABLE; libiscsi sends data, which "
    "QEMU fails with a transport error (DID_ERROR), not 20h/00h (SPC-5 4.5.2)",
)
_DPOFUA = (
    "sgscript",
    "{t} says DPOFUA=0 and takes DPO/FUA; SBC-4 6.5.1 says only that it does not support "
    "them, no error required, so the counterpart accepts GOOD or INVALID FIELD IN CDB; "
    "libiscsi requires INVALID FIELD IN CDB",
)
_PWRCND = (
    "sgscript",
    "{t} takes the reserved POWER CONDITION values (4h, 6h, 8h, 9h, Ch-Fh) with GOOD; a "
    "reserved code value shall be reported as an error (SPC-5 3.3, SBC-4 5.31); "
    "libiscsi's test returns early on a unit that is not removable and counts as passed",
)
_VRPROTECT_QEMU = (
    "sgscript",
    "QEMU's scsi-hd ignores VRPROTECT with BYTCHK=0 on a disk without protection "
    "information, which SBC-4 5.36 (VRPROTECT with BYTCHK 00b) makes INVALID FIELD IN "
    "CDB; libiscsi sends BYTCHK=1, which QEMU refuses anyway, and passes",
)
_ATOMIC_QEMU = (
    "sgscript",
    "QEMU's scsi-hd fails a WRITE ATOMIC(16) that carries data with a transport error "
    "(DID_ERROR), not INVALID COMMAND OPERATION CODE; asked without data (the "
    "counterpart) it answers 20h/00h, as SPC-5 4.5.2 requires of a device without the "
    "command, and the rest is NOT APPLICABLE; libiscsi sends data and fails",
)
_WSNZ_QEMU = (
    "sgscript",
    "QEMU's Block Limits say WSNZ=1 and a WRITE SAME of zero blocks is refused, as SBC-4 "
    "6.6.4 then requires, which the counterpart checks; libiscsi skips",
)
_BLOCKLIMITS_TGT = (
    "sgscript",
    "the counterpart checks the Block Limits page against its length and LBPU whatever "
    "the provisioning (SBC-4 6.6.4); libiscsi skips it on a fully provisioned unit",
)
_FULLSTATUS = (
    "target",
    "tgtd 1.0.85 refuses READ FULL STATUS as an unsupported service action (INVALID FIELD "
    "IN CDB); the counterpart takes that answer, the one SPC-5 4.5.2 gives for a service "
    "action a device lacks; libiscsi requires READ FULL STATUS",
)
_PREEMPT_UA = (
    "sgscript",
    "tgtd tells the preempted initiator RESERVATIONS PREEMPTED (2Ah/03h) when nothing was "
    "reserved; SPC-5 5.13.11.4.3 (PREEMPT) makes it REGISTRATIONS PREEMPTED (2Ah/05h) for "
    "a removed registration; libiscsi does not check the unit attention",
)
_OPCODES_TGT = (
    "sgscript",
    "tgtd answers REPORT SUPPORTED OPERATION CODES for each listed command alone, as "
    "SPC-5 6.36.3 defines (the counterpart asks for all 50 it lists, right and wrong "
    "way); libiscsi 1.19.0 reports the command as not implemented on tgtd and skips",
)
_NEXUS_LOSS = (
    "path",
    "I_T nexus loss and logout are iSCSI session events libiscsi makes with its own "
    "initiator; the Linux sg driver cannot send I_T NEXUS RESET (device.tasks), so the "
    "counterpart is NOT APPLICABLE there",
)
_RESET_UA = (
    "sgscript",
    "tgtd answers a reset with 29h/00h POWER ON, RESET, OR BUS DEVICE RESET OCCURRED where "
    "SAM-5 6.3.2 and 6.3.3 name 29h/03h BUS DEVICE RESET FUNCTION OCCURRED (the counterpart "
    "requires it); libiscsi does not check which unit attention follows, or cannot send the "
    "function to tgtd and skips",
)
_UNMAP_VPD_TGT = (
    "sgscript",
    "tgtd's Logical Block Provisioning page says LBPU=0 and it refuses UNMAP, the "
    "agreement SBC-4 6.6.7 requires, which the counterpart checks; libiscsi skips a unit "
    "without UNMAP",
)
_LBPWS = (
    "target",
    "tgtd says LBPWS=0 and LBPWS10=0 (SBC-4 6.6.7), which a fully provisioned unit may: "
    "the counterpart, about a unit that says 1, is NOT APPLICABLE; libiscsi's test checks "
    "nothing then and counts as passed",
)

DIFFERENCES: tuple[Disagreement, ...] = (
    *_each(
        _CAW_ZERO,
        (
            ("scsi_debug", "CompareAndWrite.Simple", "pass", "skip"),
            ("scsi_debug", "CompareAndWrite.DpoFua", "pass", "skip"),
            ("scsi_debug", "CompareAndWrite.Miscompare", "pass", "skip"),
            ("scsi_debug", "CompareAndWrite.Unwritten", "pass", "skip"),
        ),
    ),
    *_each(
        _VERSION,
        (
            ("scsi_debug", "Inquiry.Standard", "fail", "pass"),
            ("scsi_debug", "Inquiry.AllocLength", "skip", "pass"),
            ("scsi_debug", "Inquiry.BlockLimits", "fail", "pass"),
        ),
    ),
    *_each(
        _NOT_REMOVABLE,
        (
            ("scsi_debug", "NoMedia.NoMediaSBC", "pass", "skip"),
            ("scsi_debug", "StartStopUnit.NoLoej", "pass", "skip"),
            ("qemu", "NoMedia.NoMediaSBC", "pass", "skip"),
            ("qemu", "StartStopUnit.NoLoej", "pass", "skip"),
            ("tgtd", "NoMedia.NoMediaSBC", "pass", "skip"),
            ("tgtd", "StartStopUnit.NoLoej", "pass", "skip"),
        ),
    ),
    *_each(
        _PREFETCH,
        (
            ("scsi_debug", "Prefetch10.Simple", "fail", "pass"),
            ("scsi_debug", "Prefetch10.ZeroBlocks", "fail", "pass"),
            ("scsi_debug", "Prefetch10.Flags", "fail", "pass"),
            ("scsi_debug", "Prefetch16.Simple", "fail", "pass"),
            ("scsi_debug", "Prefetch16.ZeroBlocks", "fail", "pass"),
            ("scsi_debug", "Prefetch16.Flags", "fail", "pass"),
        ),
    ),
    *_each(
        _OPCODES_7F,
        (("scsi_debug", "ReportSupportedOpcodes.OneCommand", "fail", "pass"),),
    ),
    *_each(
        _VERIFY_RANGE,
        (
            ("scsi_debug", "Verify10.BeyondEol", "pass", "fail"),
            ("tgtd", "Verify10.BeyondEol", "pass", "fail"),
            ("tgtd", "Verify10.ZeroBlocks", "pass", "fail"),
            ("tgtd", "Verify12.BeyondEol", "pass", "fail"),
            ("tgtd", "Verify12.ZeroBlocks", "pass", "fail"),
            ("tgtd", "Verify16.BeyondEol", "pass", "fail"),
            ("tgtd", "Verify16.ZeroBlocks", "pass", "fail"),
        ),
    ),
    *_each(
        _VERIFY_INFO,
        (
            ("scsi_debug", "Verify10.Mismatch", "pass", "fail"),
            ("scsi_debug", "Verify16.Mismatch", "pass", "fail"),
            ("tgtd", "Verify10.Mismatch", "pass", "fail"),
            ("tgtd", "Verify12.Mismatch", "pass", "fail"),
            ("tgtd", "Verify16.Mismatch", "pass", "fail"),
        ),
    ),
    *_each(
        _ATOMIC_VPD,
        (
            ("scsi_debug", "WriteAtomic16.VPD", "skip", "pass"),
            ("tgtd", "WriteAtomic16.VPD", "skip", "pass"),
        ),
    ),
    *_each(
        _CAW_NONE,
        (
            ("qemu", "CompareAndWrite.Simple", "fail", "skip"),
            ("qemu", "CompareAndWrite.DpoFua", "fail", "skip"),
            ("qemu", "CompareAndWrite.Miscompare", "fail", "skip"),
            ("qemu", "CompareAndWrite.Unwritten", "fail", "skip"),
            ("tgtd", "MultipathIO.CompareAndWriteAsync", "fail", "skip"),
        ),
    ),
    *_each(
        _QEMU_RESID,
        (
            ("qemu", "Inquiry.Standard", "pass", "fail"),
            ("qemu", "ModeSense6.Residuals", "pass", "fail"),
        ),
    ),
    *_each(
        _QEMU_CONTROL,
        (
            ("qemu", "ModeSense6.Control", "fail", "skip"),
            ("qemu", "ModeSense6.Control-D_SENSE", "pass", "skip"),
            ("qemu", "ModeSense6.Control-SWP", "fail", "skip"),
        ),
    ),
    *_each(
        _ORWRITE_QEMU,
        (
            ("qemu", "OrWrite.Simple", "fail", "skip"),
            ("qemu", "OrWrite.BeyondEol", "fail", "skip"),
            ("qemu", "OrWrite.Protect", "fail", "skip"),
            ("qemu", "OrWrite.DpoFua", "fail", "skip"),
            ("qemu", "OrWrite.Verify", "fail", "skip"),
        ),
    ),
    *_each(
        _DPOFUA,
        (
            ("qemu", "Read10.DpoFua", "fail", "pass"),
            ("qemu", "Read12.DpoFua", "fail", "pass"),
            ("qemu", "Read16.DpoFua", "fail", "pass"),
            ("qemu", "Verify10.Dpo", "fail", "pass"),
            ("qemu", "Verify12.Dpo", "fail", "pass"),
            ("qemu", "Verify16.Dpo", "fail", "pass"),
            ("qemu", "Write10.DpoFua", "fail", "pass"),
            ("qemu", "Write12.DpoFua", "fail", "pass"),
            ("qemu", "Write16.DpoFua", "fail", "pass"),
            ("qemu", "WriteVerify10.Dpo", "fail", "pass"),
            ("qemu", "WriteVerify12.Dpo", "fail", "pass"),
            ("qemu", "WriteVerify16.Dpo", "fail", "pass"),
        ),
    ),
    *_each(
        _PWRCND,
        (
            ("qemu", "StartStopUnit.PwrCnd", "pass", "fail"),
            ("tgtd", "StartStopUnit.PwrCnd", "pass", "fail"),
        ),
    ),
    *_each(
        _VRPROTECT_QEMU,
        (
            ("qemu", "Verify10.VerifyProtect", "pass", "fail"),
            ("qemu", "Verify12.VerifyProtect", "pass", "fail"),
            ("qemu", "Verify16.VerifyProtect", "pass", "fail"),
        ),
    ),
    *_each(
        _ATOMIC_QEMU,
        (
            ("qemu", "WriteAtomic16.Simple", "fail", "skip"),
            ("qemu", "WriteAtomic16.BeyondEol", "fail", "skip"),
            ("qemu", "WriteAtomic16.WriteProtect", "fail", "skip"),
            ("qemu", "WriteAtomic16.DpoFua", "fail", "skip"),
            ("qemu", "WriteAtomic16.VPD", "fail", "pass"),
        ),
    ),
    *_each(
        _WSNZ_QEMU,
        (
            ("qemu", "WriteSame10.ZeroBlocks", "skip", "pass"),
            ("qemu", "WriteSame16.ZeroBlocks", "skip", "pass"),
        ),
    ),
    *_each(
        _BLOCKLIMITS_TGT,
        (("tgtd", "Inquiry.BlockLimits", "skip", "pass"),),
    ),
    *_each(
        _FULLSTATUS,
        (("tgtd", "PrinServiceactionRange.Range", "fail", "pass"),),
    ),
    *_each(
        _PREEMPT_UA,
        (("tgtd", "ProutPreempt.RemoveRegistration", "pass", "fail"),),
    ),
    *_each(
        _OPCODES_TGT,
        (("tgtd", "ReportSupportedOpcodes.OneCommand", "skip", "pass"),),
    ),
    *_each(
        _NEXUS_LOSS,
        (
            ("tgtd", "Reserve6.Logout", "pass", "skip"),
            ("tgtd", "Reserve6.ITNexusLoss", "pass", "skip"),
        ),
    ),
    *_each(
        _RESET_UA,
        (
            ("tgtd", "Reserve6.LUNReset", "pass", "fail"),
            ("tgtd", "Reserve6.TargetColdReset", "skip", "fail"),
            ("tgtd", "Reserve6.TargetWarmReset", "skip", "fail"),
            ("tgtd", "MultipathIO.Reset", "pass", "fail"),
        ),
    ),
    *_each(
        _UNMAP_VPD_TGT,
        (("tgtd", "Unmap.VPD", "skip", "pass"),),
    ),
    *_each(
        _LBPWS,
        (
            ("tgtd", "WriteSame10.UnmapVPD", "pass", "skip"),
            ("tgtd", "WriteSame16.UnmapVPD", "pass", "skip"),
        ),
    ),
)

#: (target, Suite.Test) -> what was wrong in the counterpart until it agreed with libiscsi.
FIXED: dict[tuple[str, str], str] = {
    **dict.fromkeys(
        (
            ("scsi_debug", "PrinReadKeys.Simple"),
            ("scsi_debug", "ProutRegister.Simple"),
            ("qemu", "PrinReadKeys.Simple"),
            ("qemu", "ProutRegister.Simple"),
        ),
        "the counterpart failed on a unit without persistent reservations (INVALID COMMAND OPERATION CODE); it now asks once and is NOT APPLICABLE, as libiscsi skips",
    ),
    **dict.fromkeys(
        (("scsi_debug", "StartStopUnit.PwrCnd"),),
        "the counterpart required GOOD for every defined power condition; a unit without the Power Condition mode page may refuse the field (SBC-4 5.31: 'if the POWER CONDITION field is supported'), as scsi_debug does at byte 4 bit 7",
    ),
    **dict.fromkeys(
        (
            ("scsi_debug", "Unmap.VPD"),
            ("qemu", "Unmap.VPD"),
        ),
        "the counterpart needed a second, fully provisioned disk; the half about the disk under test now runs alone",
    ),
    **dict.fromkeys(
        (
            ("scsi_debug", "Verify12.Simple"),
            ("qemu", "GetLBAStatus.Simple"),
            ("qemu", "GetLBAStatus.BeyondEol"),
            ("qemu", "GetLBAStatus.UnmapSingle"),
            ("qemu", "OrWrite.ZeroBlocks"),
            ("qemu", "ReportSupportedOpcodes.OneCommand"),
            ("qemu", "ReportSupportedOpcodes.RCTD"),
            ("qemu", "ReportSupportedOpcodes.SERVACTV"),
            ("qemu", "Sanitize.Overwrite"),
            ("tgtd", "CompareAndWrite.Simple"),
        ),
        "the counterpart failed on a unit without the command; it now asks once (device.supports() learns the answer) and is NOT APPLICABLE, as libiscsi skips",
    ),
}

#: target -> (Suite.Test prefix, why neither tool runs it there).
_SEGFAULT = "iscsi-test-cu 1.19.0 segfaults in this test on a /dev/sg node"
NOT_RUN: dict[str, tuple[tuple[str, str], ...]] = {
    "scsi_debug": (
        ("GetLBAStatus.", "scsi_debug on Linux 6.1 oopses the kernel in GET LBA STATUS"),
        ("Sanitize.OverwriteReserved", _SEGFAULT),
    ),
    "qemu": (("Sanitize.OverwriteReserved", _SEGFAULT),),
}

#: Counterpart files not to run on a target (file name -> why), for the same reasons.
SKIP_FILES: dict[str, dict[str, str]] = {
    "scsi_debug": {"get_lba_status.yaml": NOT_RUN["scsi_debug"][0][1]},
}

#: The tests CI runs on every target: each command family, agreements and listed
#: differences both, and none that takes a minute under TCG.
SLICE: tuple[str, ...] = (
    "Read6.Simple",
    "Read10.Simple",
    "Read10.BeyondEol",
    "Read10.ZeroBlocks",
    "Read10.DpoFua",
    "Read16.BeyondEol",
    "ReadCapacity10.Simple",
    "ReadCapacity16.Simple",
    "Write10.Simple",
    "Write10.DpoFua",
    "Write16.BeyondEol",
    "WriteVerify10.BeyondEol",
    "Verify10.BeyondEol",
    "Verify10.Mismatch",
    "Verify16.Simple",
    "Inquiry.Standard",
    "Inquiry.EVPD",
    "Inquiry.SupportedVPD",
    "Inquiry.VersionDescriptors",
    "TestUnitReady.Simple",
    "ModeSense6.AllPages",
    "ModeSense6.Residuals",
    "ReportSupportedOpcodes.Simple",
    "ReportSupportedOpcodes.OneCommand",
    "StartStopUnit.PwrCnd",
    "Prefetch10.ZeroBlocks",
    "Unmap.Simple",
    "Unmap.ZeroBlocks",
    "Unmap.VPD",
    "WriteSame10.Simple",
    "WriteSame16.Unmap",
    "GetLBAStatus.BeyondEol",
    "CompareAndWrite.Simple",
    "OrWrite.Simple",
    "WriteAtomic16.BeyondEol",
    "Reserve6.Simple",
    "Reserve6.2Initiators",
    "Reserve6.TargetWarmReset",
    "PrinReadKeys.Simple",
    "PrinServiceactionRange.Range",
    "ProutRegister.Simple",
    "ProutReserve.AccessEA",
    "ReadDefectData10.Simple",
    "NoMedia.NoMediaSBC",
)


def not_run(target: str, test: str) -> str | None:
    """Why ``test`` is not run on ``target``, or None."""
    for prefix, why in NOT_RUN.get(target, ()):
        if test.startswith(prefix):
            return why
    return None

"""Coverage: which scenario counters which test of libiscsi's iscsi-test-cu, and which
catalog commands the specs exercise.

A scenario (or a step) names the peer test it is the counterpart of in ``refs:``,
as ``libiscsi:Suite.Test`` (``libiscsi:Read10.BeyondEol``); its other refs are the
clauses it proves (``SBC-4 5.16``).  ``coverage(scenarios)`` gathers them against
the table of iscsi-test-cu's tests below (its ``all_suites``, as the tool names
them), so a test without a counterpart, or a ref naming no test (a typo), shows.
A clause ref is a number (``sgscript.clauses``): one that names a command instead, or a
counterpart that sends the command its test is about without citing that command's
clause, is a clause problem.
The iSCSI-protocol suites have no meaning over the sg driver (``NOT_OVER_SG``);
a SCSI test left out on purpose says why in ``NO_COUNTERPART``.
``sgscript coverage`` prints it; docs/coverage.md is made from it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .clauses import CLAUSE_REF, COMMAND_CLAUSES, STANDARD_REF, SUITE_COMMANDS
from .scenario.model import every_step

__all__ = [
    "LIBISCSI",
    "LIBISCSI_VERSION",
    "NOT_OVER_SG",
    "NO_COUNTERPART",
    "Coverage",
    "coverage",
]

LIBISCSI_VERSION = "1.19.0"

#: iscsi-test-cu 1.19.0's suites and their tests (test-tool/iscsi-test-cu.c, ``all_suites``).
LIBISCSI: dict[str, tuple[str, ...]] = {
    "CompareAndWrite": ("Simple", "DpoFua", "Miscompare", "Unwritten", "InvalidDataOutSize"),
    "ExtendedCopy": (
        "Simple",
        "ParamHdr",
        "DescrLimits",
        "DescrType",
        "ValidTgtDescr",
        "ValidSegDescr",
    ),
    "GetLBAStatus": ("Simple", "BeyondEol", "UnmapSingle"),
    "Inquiry": (
        "Standard",
        "AllocLength",
        "EVPD",
        "BlockLimits",
        "MandatoryVPDSBC",
        "SupportedVPD",
        "VersionDescriptors",
    ),
    "Mandatory": ("MandatorySBC",),
    "ModeSense6": ("AllPages", "Control", "Control-D_SENSE", "Control-SWP", "Residuals"),
    "NoMedia": ("NoMediaSBC",),
    "OrWrite": ("Simple", "BeyondEol", "ZeroBlocks", "Protect", "DpoFua", "Verify"),
    "Prefetch10": ("Simple", "BeyondEol", "ZeroBlocks", "Flags"),
    "Prefetch16": ("Simple", "BeyondEol", "ZeroBlocks", "Flags"),
    "PreventAllow": (
        "Simple",
        "Eject",
        "ITNexusLoss",
        "Logout",
        "WarmReset",
        "ColdReset",
        "LUNReset",
        "2ITNexuses",
    ),
    "PrinReadKeys": ("Simple", "Truncate"),
    "PrinServiceactionRange": ("Range",),
    "PrinReportCapabilities": ("Simple",),
    "ProutRegister": ("Simple",),
    "ProutReserve": (
        "Simple",
        "AccessEA",
        "AccessWE",
        "AccessEARO",
        "AccessWERO",
        "AccessEAAR",
        "AccessWEAR",
        "OwnershipEA",
        "OwnershipWE",
        "OwnershipEARO",
        "OwnershipWERO",
        "OwnershipEAAR",
        "OwnershipWEAR",
    ),
    "ProutClear": ("Simple",),
    "ProutPreempt": ("RemoveRegistration",),
    "Read6": ("Simple", "BeyondEol"),
    "Read10": ("Simple", "BeyondEol", "ZeroBlocks", "ReadProtect", "DpoFua", "Async"),
    "Read12": ("Simple", "BeyondEol", "ZeroBlocks", "ReadProtect", "DpoFua"),
    "Read16": ("Simple", "BeyondEol", "ZeroBlocks", "ReadProtect", "DpoFua"),
    "ReadCapacity10": ("Simple",),
    "ReadCapacity16": ("Simple", "Alloclen", "PI", "Support"),
    "ReadDefectData10": ("Simple",),
    "ReadDefectData12": ("Simple",),
    "ReadOnly": ("ReadOnlySBC",),
    "ReceiveCopyResults": ("CopyStatus", "OpParams"),
    "ReportSupportedOpcodes": ("Simple", "OneCommand", "RCTD", "SERVACTV"),
    "Reserve6": (
        "Simple",
        "2Initiators",
        "Logout",
        "ITNexusLoss",
        "TargetColdReset",
        "TargetWarmReset",
        "LUNReset",
    ),
    "Sanitize": (
        "BlockErase",
        "BlockEraseReserved",
        "CryptoErase",
        "CryptoEraseReserved",
        "ExitFailureMode",
        "InvalidServiceAction",
        "Overwrite",
        "OverwriteReserved",
        "Readonly",
        "Reservations",
        "Reset",
    ),
    "StartStopUnit": ("Simple", "PwrCnd", "NoLoej"),
    "TestUnitReady": ("Simple",),
    "Unmap": ("Simple", "VPD", "ZeroBlocks"),
    "Verify10": (
        "Simple",
        "BeyondEol",
        "ZeroBlocks",
        "VerifyProtect",
        "Flags",
        "Dpo",
        "Mismatch",
        "MismatchNoCmp",
    ),
    "Verify12": (
        "Simple",
        "BeyondEol",
        "ZeroBlocks",
        "VerifyProtect",
        "Flags",
        "Dpo",
        "Mismatch",
        "MismatchNoCmp",
    ),
    "Verify16": (
        "Simple",
        "BeyondEol",
        "ZeroBlocks",
        "VerifyProtect",
        "Flags",
        "Dpo",
        "Mismatch",
        "MismatchNoCmp",
    ),
    "Write10": ("Simple", "BeyondEol", "ZeroBlocks", "WriteProtect", "DpoFua", "Async"),
    "Write12": ("Simple", "BeyondEol", "ZeroBlocks", "WriteProtect", "DpoFua"),
    "Write16": ("Simple", "BeyondEol", "ZeroBlocks", "WriteProtect", "DpoFua"),
    "WriteAtomic16": ("Simple", "BeyondEol", "ZeroBlocks", "WriteProtect", "DpoFua", "VPD"),
    "WriteSame10": (
        "Simple",
        "BeyondEol",
        "ZeroBlocks",
        "WriteProtect",
        "Unmap",
        "UnmapUnaligned",
        "UnmapUntilEnd",
        "UnmapVPD",
        "Check",
        "InvalidDataOutSize",
    ),
    "WriteSame16": (
        "Simple",
        "BeyondEol",
        "ZeroBlocks",
        "WriteProtect",
        "Unmap",
        "UnmapUnaligned",
        "UnmapUntilEnd",
        "UnmapVPD",
        "Check",
        "InvalidDataOutSize",
    ),
    "WriteVerify10": ("Simple", "BeyondEol", "ZeroBlocks", "WriteProtect", "Flags", "Dpo"),
    "WriteVerify12": ("Simple", "BeyondEol", "ZeroBlocks", "WriteProtect", "Flags", "Dpo"),
    "WriteVerify16": ("Simple", "BeyondEol", "ZeroBlocks", "WriteProtect", "Flags", "Dpo"),
    "iSCSIcmdsn": ("iSCSICmdSnTooHigh", "iSCSICmdSnTooLow"),
    "iSCSIdatasn": ("iSCSIDataSnInvalid",),
    "iSCSIResiduals": (
        "Read10Invalid",
        "Read10Residuals",
        "Read12Residuals",
        "Read16Residuals",
        "Write10Residuals",
        "Write12Residuals",
        "Write16Residuals",
        "WriteVerify10Residuals",
        "WriteVerify12Residuals",
        "WriteVerify16Residuals",
    ),
    "iSCSITMF": ("AbortTaskSimpleAsync", "LUNResetSimpleAsync"),
    "MultipathIO": ("Simple", "Reset", "CompareAndWrite", "CompareAndWriteAsync"),
}

#: Suites that test the iSCSI protocol itself: nothing of them reaches a device through sg.
NOT_OVER_SG: dict[str, str] = {
    "iSCSIcmdsn": "iSCSI CmdSN windows of a session: iSCSI protocol, not a SCSI command",
    "iSCSIdatasn": "iSCSI DataSN sequencing of Data-Out PDUs: iSCSI protocol",
    "iSCSIResiduals": "iSCSI PDU lengths against the CDB's (overflow/underflow in the PDU): "
    "the sg driver sends what the CDB and buffer say",
    "iSCSITMF": "iSCSI task management PDUs: over sg see task: steps (the driver offers resets)",
}

_NO_COPY_MANAGER = "sim: has no copy manager (3PC=0)"
_DATAOUT_SIZE = (
    "a Data-Out buffer other than the CDB implies is a transport matter (iSCSI's expected "
    "length); over sg the HBA moves what the CDB asks and reports a residual: no SBC-4 status"
)

#: SCSI tests of iscsi-test-cu without a counterpart scenario, and why.
NO_COUNTERPART: dict[str, str] = {
    # -- pr/copy family (specs/pr/): EXTENDED COPY needs a copy manager on sim: first
    **dict.fromkeys(
        (
            "ExtendedCopy.Simple",
            "ExtendedCopy.ParamHdr",
            "ExtendedCopy.DescrLimits",
            "ExtendedCopy.DescrType",
            "ExtendedCopy.ValidTgtDescr",
            "ExtendedCopy.ValidSegDescr",
        ),
        _NO_COPY_MANAGER + " and the catalog no EXTENDED COPY parameter-list encoder",
    ),
    **dict.fromkeys(
        ("ReceiveCopyResults.CopyStatus", "ReceiveCopyResults.OpParams"),
        _NO_COPY_MANAGER + " and the catalog no RECEIVE COPY RESULTS decoder",
    ),
    # -- specs/verify, specs/provisioning, specs/caw, specs/prefetch
    "WriteSame10.InvalidDataOutSize": _DATAOUT_SIZE,
    "WriteSame16.InvalidDataOutSize": _DATAOUT_SIZE,
    "CompareAndWrite.InvalidDataOutSize": _DATAOUT_SIZE,
    # -- specs/spc, specs/sbc (SPC and SBC command suites)
    "Sanitize.Reset": "needs a SANITIZE still in progress (NOT READY, SANITIZE IN PROGRESS to other "
    "commands, surviving aborts and resets); the simulator completes SANITIZE at once",
}

_PREFIX = "libiscsi:"


@dataclass
class Coverage:
    """What a set of scenarios covers: per peer test, per catalog command."""

    #: ``Suite.Test`` -> where its counterparts are (``spec.yaml`` or ``spec.yaml step 3``)
    tests: dict[str, list[str]] = field(default_factory=dict)
    #: ``Suite.Test`` -> the other refs (clauses) of its counterparts
    clauses: dict[str, list[str]] = field(default_factory=dict)
    #: catalog command -> the scenarios that send it
    commands: dict[str, list[str]] = field(default_factory=dict)
    #: refs naming a libiscsi test that does not exist, with where and a did-you-mean
    unknown: list[str] = field(default_factory=list)
    #: clause refs that are no clause number, and counterparts missing their command's clause
    clause_problems: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        """SCSI tests with neither a counterpart nor a reason."""
        return [
            name
            for name in all_tests(scsi_only=True)
            if not self.tests.get(name) and name not in NO_COUNTERPART
        ]

    def to_dict(self) -> dict[str, Any]:
        scsi = all_tests(scsi_only=True)
        return {
            "libiscsi": LIBISCSI_VERSION,
            "scsi_tests": len(scsi),
            "covered": sum(1 for t in scsi if self.tests.get(t)),
            "not_covered_with_reason": {t: NO_COUNTERPART[t] for t in scsi if t in NO_COUNTERPART},
            "missing": self.missing,
            "not_over_sg": {
                f"{suite}.{test}": NOT_OVER_SG[suite]
                for suite in NOT_OVER_SG
                for test in LIBISCSI[suite]
            },
            "tests": {
                t: {"scenarios": self.tests.get(t, []), "clauses": self.clauses.get(t, [])}
                for t in scsi
            },
            "commands": self.commands,
            "unknown_refs": self.unknown,
            "clause_problems": self.clause_problems,
        }


def all_tests(*, scsi_only: bool = False) -> list[str]:
    """Every test as ``Suite.Test``, the iSCSI-protocol suites' unless ``scsi_only``."""
    return [
        f"{suite}.{test}"
        for suite, tests in LIBISCSI.items()
        if not (scsi_only and suite in NOT_OVER_SG)
        for test in tests
    ]


def coverage(scenarios: Iterable[Any]) -> Coverage:
    """Gather the counterparts' refs and the commands the scenarios send."""
    known = set(all_tests())
    out = Coverage()
    for scenario in scenarios:
        name = scenario.file or scenario.name
        _refs(out, known, scenario.refs, name)
        _clauses(out, scenario, scenario.refs, (), (*scenario.steps, *scenario.finally_steps), name)
        for step in scenario.all_steps():
            where = f"{name} step {step.path}"
            _refs(out, known, step.refs, where, scenario.refs)
            _clauses(out, scenario, step.refs, scenario.refs, (step,), where)
            command = _command_of(scenario, step)
            if command is not None:
                seen = out.commands.setdefault(command, [])
                if name not in seen:
                    seen.append(name)
    out.commands = dict(sorted(out.commands.items()))
    return out


def _refs(
    out: Coverage, known: set[str], refs: Sequence[str], where: str, outer: Sequence[str] = ()
) -> None:
    clauses = [r for r in (*outer, *refs) if not r.startswith(_PREFIX)]
    for ref in refs:
        if not ref.startswith(_PREFIX):
            continue
        test = ref[len(_PREFIX) :]
        if test not in known:
            near = difflib.get_close_matches(test, sorted(known), n=1)
            hint = f" (did you mean {_PREFIX}{near[0]}?)" if near else ""
            out.unknown.append(f"{where}: {ref} is no iscsi-test-cu {LIBISCSI_VERSION} test{hint}")
            continue
        out.tests.setdefault(test, []).append(where)
        seen = out.clauses.setdefault(test, [])
        seen += [c for c in clauses if c not in seen]


def _clauses(
    out: Coverage,
    scenario: Any,
    refs: Sequence[str],
    outer: Sequence[str],
    steps: Sequence[Any],
    where: str,
) -> None:
    """Clause refs are numbers; a counterpart that sends the command its peer test is
    about cites that command's clause (or a subclause of it), here or on its scenario."""
    for ref in refs:
        if STANDARD_REF.match(ref) and not CLAUSE_REF.fullmatch(ref):
            out.clause_problems.append(
                f"{where}: {ref!r} is no clause number (write 'SBC-4 5.16' or 'SBC-4 table 34')"
            )
    tests = [r[len(_PREFIX) :] for r in refs if r.startswith(_PREFIX)]
    if not tests:
        return
    sent = {c for s in every_step(tuple(steps)) if (c := _command_of(scenario, s)) is not None}
    cited = (*outer, *refs)
    for test in tests:
        suite = test.split(".", 1)[0]
        for command in SUITE_COMMANDS.get(suite, (suite,)):
            clause = COMMAND_CLAUSES.get(command)
            if clause is None or command not in sent:
                continue
            if not any(c == clause or c.startswith(clause + ".") for c in cited):
                out.clause_problems.append(
                    f"{where}: counters {test} and sends {command}, but cites no {clause}"
                )


def _command_of(scenario: Any, step: Any) -> str | None:
    if step.kind != "command":
        return None
    if step.command is not None:
        return str(step.command)
    if step.cdb and "$" not in step.cdb:  # one built when it runs names no command now
        cls = scenario.catalog.identify(bytes.fromhex(step.cdb.replace(" ", "")))
        return cls.__name__ if cls is not None else None
    return None


def markdown(result: Coverage) -> str:
    """The docs page: the peer's tests, their counterparts and clauses; the commands."""
    data = result.to_dict()
    lines = [
        "# Coverage of libiscsi's iscsi-test-cu",
        "",
        "Generated by `sgscript coverage --markdown specs/` from the specs' `refs:`; a test",
        "keeps it true (regenerate after adding a counterpart).",
        "",
        f"iscsi-test-cu {LIBISCSI_VERSION}: {data['scsi_tests']} SCSI tests,"
        f" {data['covered']} with a counterpart,"
        f" {len(data['not_covered_with_reason'])} without one for a reason below,"
        f" {len(data['missing'])} not yet covered;"
        f" {len(data['not_over_sg'])} iSCSI-protocol tests have no meaning over sg.",
        "",
        "| libiscsi test | counterpart | clauses |",
        "|---|---|---|",
    ]
    for test, row in data["tests"].items():
        where = "<br>".join(row["scenarios"]) or NO_COUNTERPART.get(test, "—")
        lines.append(f"| `{test}` | {where} | {', '.join(row['clauses'])} |")
    lines += ["", "## Not over sg", "", "| suite | why |", "|---|---|"]
    lines += [f"| `{suite}` | {why} |" for suite, why in NOT_OVER_SG.items()]
    lines += [
        "",
        "## Commands the specs send",
        "",
        "| command | clause | scenarios |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{c}` | {COMMAND_CLAUSES.get(c, '—')} | {', '.join(s)} |"
        for c, s in data["commands"].items()
    ]
    return "\n".join(lines) + "\n"

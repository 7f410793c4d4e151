"""SPC-5 commands of the simulated disk: identification, sense, inventory, diagnostics, buffers.

Mode pages live in ``modes.py``, log pages in ``logs.py``, VPD pages in
``vpd.py``; reservations in ``reservations.py``.  ``NOT_IMPLEMENTED`` lists the
catalog commands this disk refuses, each with the reason (INVALID COMMAND OPERATION
CODE, or INVALID FIELD IN CDB at the service action when the disk answers other
service actions of the operation code: ``LogicalUnit._unsupported``); every other
catalog command has a handler, and REPORT SUPPORTED OPERATION CODES reports exactly
the handled ones.

Choices where the standard leaves room:

* REQUEST SENSE reports, in this order: a deferred error, a pending unit
  attention (and clears it), NOT READY / INITIALIZING COMMAND REQUIRED while
  stopped (as scsi_debug does), the informational exceptions test condition
  (MRIE 6 with TEST=1: NO SENSE, 5Dh/FFh), else NO SENSE.
* REPORT LUNS knows SELECT REPORT 00h, 01h (well-known LUs: none) and 02h.
* SEND DIAGNOSTIC runs every self-test at once and logs the background and
  foreground ones in the self-test results log page (10h); diagnostic pages:
  only 00h (supported pages).
* READ/WRITE BUFFER: one 64 KiB data buffer (ID 0, byte offsets) shared by
  all nexuses, and a 4 KiB echo buffer per I_T nexus (EBOS=0).
* SECURITY PROTOCOL IN: protocol 00h only (the list, an empty certificate and
  empty compliance information).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..scsi.cdb import Command, fixed_service_action
from ..scsi.pages import (
    encode_report_luns,
    encode_rsoc_all,
    encode_rsoc_one,
    encode_rstmf,
    encode_standard_inquiry,
)
from .core import C, Fail, Request
from .lu import LogicalUnit, handles
from .vpd import vpd_page

__all__ = ["NOT_IMPLEMENTED", "cdb_usage", "supported_commands"]

#: Catalog commands without a handler, and why a plain SBC-4 disk leaves them out.
NOT_IMPLEMENTED: dict[str, str] = {
    "Read32": "needs type 2 protection: SBC-4 answers INVALID COMMAND OPERATION CODE without it",
    "Write32": "needs type 2 protection (SBC-4), as READ(32)",
    "Verify32": "needs type 2 protection (SBC-4), as READ(32)",
    "WriteAndVerify32": "needs type 2 protection (SBC-4), as READ(32)",
    "WriteSame32": "needs type 2 protection (SBC-4), as READ(32)",
    "ReadLong10": "obsolete in SBC-4; no ECC bytes to return",
    "ReadLong16": "obsolete in SBC-4; no ECC bytes to return",
    "AtaPassThrough12": "SAT: the disk is SCSI, not an ATA device behind a SATL",
    "AtaPassThrough16": "SAT: the disk is SCSI, not an ATA device behind a SATL",
    "ExtendedCopy": "no copy manager (3PC=0 in INQUIRY)",
    "ExtendedCopyLid1": "no copy manager (3PC=0 in INQUIRY)",
    "CopyOperationAbort": "no copy manager (3PC=0 in INQUIRY)",
    "ReceiveCopyStatus": "no copy manager (3PC=0 in INQUIRY)",
    "ReceiveCopyStatusLid1": "no copy manager (3PC=0 in INQUIRY)",
    "ReceiveCopyData": "no copy manager (3PC=0 in INQUIRY)",
    "ReceiveCopyDataLid1": "no copy manager (3PC=0 in INQUIRY)",
    "ReceiveCopyOperatingParameters": "no copy manager (3PC=0 in INQUIRY)",
    "ReceiveCopyFailureDetails": "no copy manager (3PC=0 in INQUIRY)",
    "ReceiveRodTokenInformation": "no token copy (3PC=0 in INQUIRY)",
    "ReportAllRodTokens": "no token copy (3PC=0 in INQUIRY)",
    "PopulateToken": "no token copy (3PC=0 in INQUIRY)",
    "WriteUsingToken": "no token copy (3PC=0 in INQUIRY)",
    "ReportTargetPortGroups": "no ALUA (TPGS=0 in INQUIRY)",
    "SetTargetPortGroups": "no ALUA (TPGS=0 in INQUIRY)",
    "ReportIdentifyingInformation": "optional; no identifying information to keep",
    "SetIdentifyingInformation": "optional; no identifying information to keep",
    "ReportTimestamp": "optional; the disk has no device clock",
    "SetTimestamp": "optional; the disk has no device clock",
    "ReadAttribute": "medium auxiliary memory is a removable-medium (tape) feature",
    "WriteAttribute": "medium auxiliary memory is a removable-medium (tape) feature",
    "SecurityProtocolOut": "no security protocol takes data-out (SECURITY PROTOCOL IN lists 00h only)",
}


# ------------------------------------------------------------------ INQUIRY


@handles("Inquiry")
def inquiry(lu: LogicalUnit, req: Request) -> bytes:
    if req.f("cmddt"):
        raise req.invalid("cmddt")  # obsolete since SPC-3
    code = req.f("page_code")
    if req.f("evpd"):
        page = vpd_page(lu, code)
        if page is None:
            raise req.invalid("page_code")
        return page
    if code:
        raise req.invalid("page_code")
    data = lu.state.get("inquiry")
    if data is None:
        cfg = lu.config
        data = lu.state["inquiry"] = encode_standard_inquiry(
            {
                "peripheral_device_type": 0,
                "rmb": int(cfg.removable),
                "version": 7,  # SPC-5
                "response_data_format": 2,
                "hisup": 1,
                "cmdque": 1,
                "vendor_identification": cfg.vendor,
                "product_identification": cfg.product,
                "product_revision_level": cfg.revision,
                "version_descriptors": [0x00A0, 0x05C0, 0x0600],  # SAM-5, SPC-5, SBC-4
            }
        )
    return data


# ------------------------------------------------------------ REQUEST SENSE


@handles("RequestSense")
def request_sense(lu: LogicalUnit, req: Request) -> bytes:
    deferred = lu.deferred.pop(req.nexus, None)
    if deferred is not None:
        return deferred
    condition = lu.take_ua(req.nexus)
    if condition is None:
        if not lu.medium_present:
            condition = C.MEDIUM_NOT_PRESENT
        elif not lu.started:
            condition = C.NOT_READY_INITIALIZING_COMMAND_REQUIRED
        elif lu.state.get("ie_test"):
            condition = C.FAILURE_PREDICTION_THRESHOLD_EXCEEDED_FALSE
        else:
            condition = C.NO_SENSE
    return Fail(condition).sense(descriptor=bool(req.f("desc")))


# -------------------------------------------------------------- REPORT LUNS


@handles("ReportLuns")
def report_luns(lu: LogicalUnit, req: Request) -> bytes:
    select = req.f("select_report")
    if select == 0x01:
        return encode_report_luns([])  # no well-known logical units
    if select not in (0x00, 0x02):
        raise req.invalid("select_report")
    target = getattr(lu, "target", None)
    luns = sorted(target.luns) if target is not None else [lu.lun]
    return encode_report_luns(luns)


# ------------------------------------------ REPORT SUPPORTED OPERATION CODES

#: Recommended command timeouts (seconds) in the command timeouts descriptor; 30 s otherwise.
TIMEOUTS: dict[str, int] = {
    "FormatUnit": 600,
    "Sanitize": 600,
    "SendDiagnostic": 120,
    "WriteSame10": 120,
    "WriteSame16": 120,
}

#: Service actions this disk supports, for commands whose SERVICE ACTION is a CDB field
#: rather than part of the command's identity (reservations.py lists its own).
SERVICE_ACTIONS: dict[str, tuple[int, ...]] = {"Sanitize": (0x01, 0x02, 0x1F)}


def _service_action_values(lu: LogicalUnit, cls: type[Command]) -> tuple[int, ...] | None:
    """The service actions of a command with a free SERVICE ACTION field; None: not such a command."""
    slot = cls.layout.by_name.get("service_action")
    if slot is None or slot.field.fixed:
        return None
    from .reservations import SERVICE_ACTIONS as RESERVATION_ACTIONS

    name = cls.__name__
    if name in RESERVATION_ACTIONS:
        return RESERVATION_ACTIONS[name]
    if name in SERVICE_ACTIONS:
        return SERVICE_ACTIONS[name]
    return tuple(sorted(slot.field.values.values())) if slot.field.values else (0,)


def supported_commands(lu: LogicalUnit) -> list[type[Command]]:
    """The catalog classes ``lu`` answers: ``LogicalUnit.implemented()`` less what its config turns off."""
    from .sbc import CONDITIONAL

    classes = lu.catalog
    out = []
    for name in lu.implemented():
        cls = classes.get(name)
        condition = CONDITIONAL.get(name)
        if cls is not None and (condition is None or condition(lu)):
            out.append(cls)
    return out


def cdb_usage(
    cls: type[Command], service_action: int | None = None, *, dpofua: bool = True
) -> bytes:
    """CDB USAGE DATA: the operation code, the service action, then every bit the disk examines.

    Built from the class's own table: every field marks its bits, CONTROL
    only NACA (the one bit this disk checks); fixed fields carry their value;
    DPO and FUA only where the disk supports them (``dpofua``).
    """
    acc = 0
    for slot in cls.layout.slots:
        f = slot.field
        if f.name in ("dpo", "fua") and not dpofua:
            continue
        if f.fixed:
            acc |= (f.default & slot.mask) << slot.shift
        elif f.name == "service_action" and service_action is not None:
            acc |= (service_action & slot.mask) << slot.shift
        elif f.name == "control":
            acc |= (0x04 & slot.mask) << slot.shift  # NACA: checked (and refused)
        else:
            acc |= slot.mask << slot.shift
    return acc.to_bytes(cls.length, "big")


def _timeouts(name: str) -> dict[str, int]:
    return {
        "nominal_command_processing_timeout": 0,
        "recommended_command_timeout": TIMEOUTS.get(name, 30),
    }


def _descriptors(lu: LogicalUnit, rctd: bool) -> Iterable[dict[str, object]]:
    rows = []
    for cls in supported_commands(lu):
        fixed = fixed_service_action(cls)
        free = _service_action_values(lu, cls)
        actions: tuple[int | None, ...] = (fixed,) if free is None else free
        for sa in actions:
            row: dict[str, object] = {
                "operation_code": cls.opcode,
                "service_action": sa or 0,
                "servactv": int(sa is not None),
                "cdb_length": cls.length,
                "ctdp": int(rctd),
            }
            if rctd:
                row["command_timeouts_descriptor"] = _timeouts(cls.__name__)
            rows.append(row)
    rows.sort(key=lambda r: (r["operation_code"], r["service_action"]))  # type: ignore[arg-type,return-value]
    return rows


def _has_service_actions(lu: LogicalUnit, opcode: int) -> bool:
    return any("service_action" in cls.layout.by_name for cls in lu.catalog.with_opcode(opcode))


@handles("ReportSupportedOperationCodes")
def report_supported_operation_codes(lu: LogicalUnit, req: Request) -> bytes:
    option = req.f("reporting_options")
    rctd = bool(req.f("rctd"))
    if option == 0:
        return encode_rsoc_all(_descriptors(lu, rctd))
    if option > 3:
        raise req.invalid("reporting_options")
    opcode = req.f("requested_operation_code")
    sa = req.f("requested_service_action")
    with_sa = _has_service_actions(lu, opcode)
    if (option == 1 and with_sa) or (option == 2 and not with_sa):
        raise req.invalid("requested_operation_code")
    match = None
    for cls in supported_commands(lu):
        if cls.opcode != opcode:
            continue
        fixed = fixed_service_action(cls)
        free = _service_action_values(lu, cls)
        if not with_sa or fixed == sa or (free is not None and sa in free):
            match = cls
            break
    if match is None:
        return encode_rsoc_one({"support": "not_supported"})
    values: dict[str, object] = {
        "support": "supported",
        "cdb_usage_data": cdb_usage(match, sa if with_sa else None, dpofua=lu.config.dpofua),
        "ctdp": int(rctd),
    }
    if rctd:
        values["command_timeouts_descriptor"] = _timeouts(match.__name__)
    return encode_rsoc_one(values)


@handles("ReportSupportedTaskManagementFunctions")
def report_supported_tmfs(lu: LogicalUnit, req: Request) -> bytes:
    # What a sim: channel can send: logical unit reset and target reset (Channel.reset).
    return encode_rstmf({"lurs": 1, "trs": 1}, extended=bool(req.f("repd")))


# -------------------------------------------------------------- diagnostics

#: SELF-TEST CODE values (SPC-5 table 219) the disk runs; the ones it logs.
SELF_TESTS = {1: "background short", 2: "background extended", 4: "abort background",
              5: "foreground short", 6: "foreground extended"}  # fmt: skip
LOGGED_SELF_TESTS = frozenset({1, 2, 5, 6})
SUPPORTED_DIAGNOSTIC_PAGES = (0x00,)


def _supported_diagnostic_pages() -> bytes:
    pages = bytes(SUPPORTED_DIAGNOSTIC_PAGES)
    return b"\x00\x00" + len(pages).to_bytes(2, "big") + pages


@handles("SendDiagnostic")
def send_diagnostic(lu: LogicalUnit, req: Request) -> None:
    code = req.f("self_test_code")
    length = req.f("parameter_list_length")
    if req.f("selftest"):
        if code:
            raise req.invalid("self_test_code")
        return None  # the default self-test passes (and is not logged, SPC-5)
    if code:
        if code not in SELF_TESTS:
            raise req.invalid("self_test_code")
        if length:
            raise req.invalid("parameter_list_length")
        if code in LOGGED_SELF_TESTS:
            log: list[tuple[int, int]] = lu.state.setdefault("self_tests", [])
            log.insert(0, (code, len(log) + 1))
            del log[20:]  # the log page keeps the 20 most recent
        return None
    if not length:
        return None
    if not req.f("pf"):
        raise req.invalid("pf")  # vendor specific diagnostic parameters: none
    data = req.data_out[:length]
    if len(data) < 4:
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    if data[0] not in SUPPORTED_DIAGNOSTIC_PAGES:
        raise Fail(C.INVALID_FIELD_IN_PARAMETER_LIST, param_field=(0, None))
    if 4 + int.from_bytes(data[2:4], "big") != len(data):
        raise Fail(C.INVALID_FIELD_IN_PARAMETER_LIST, param_field=(2, None))
    return None


@handles("ReceiveDiagnosticResults")
def receive_diagnostic_results(lu: LogicalUnit, req: Request) -> bytes:
    if req.f("pcv") and req.f("page_code") not in SUPPORTED_DIAGNOSTIC_PAGES:
        raise req.invalid("page_code")
    return _supported_diagnostic_pages()  # without PCV: what SEND DIAGNOSTIC set up (only 00h)


# ------------------------------------------------------------------ buffers

BUFFER_CAPACITY = 0x10000
ECHO_CAPACITY = 0x1000


def _buffer(lu: LogicalUnit) -> bytearray:
    buf = lu.state.get("buffer")
    if buf is None:
        buf = lu.state["buffer"] = bytearray(BUFFER_CAPACITY)
    return buf


@handles("ReadBuffer10")
def read_buffer(lu: LogicalUnit, req: Request) -> bytes:
    mode = req.f("mode")
    if mode == 0x00:  # combined header and data
        return b"\x00" + BUFFER_CAPACITY.to_bytes(3, "big") + bytes(_buffer(lu))
    if mode == 0x02:  # data
        if req.f("buffer_id"):
            raise req.invalid("buffer_id")
        offset = req.f("buffer_offset")
        if offset > BUFFER_CAPACITY:
            raise req.invalid("buffer_offset")
        return bytes(_buffer(lu)[offset : offset + req.allocation])
    if mode == 0x03:  # descriptor: all zeros for a buffer ID the disk does not have
        if req.f("buffer_id"):
            return bytes(4)
        return b"\x00" + BUFFER_CAPACITY.to_bytes(3, "big")  # OFFSET BOUNDARY 0: bytes
    if mode == 0x0A:  # echo buffer: what this nexus last wrote
        return lu.state.get("echo", {}).get(req.nexus, b"")
    if mode == 0x0B:  # echo buffer descriptor, EBOS=0
        return b"\x00\x00" + ECHO_CAPACITY.to_bytes(2, "big")
    raise req.invalid("mode")


@handles("WriteBuffer10")
def write_buffer(lu: LogicalUnit, req: Request) -> None:
    mode = req.f("mode")
    length = req.f("parameter_list_length")
    data = req.data_out[:length]
    if mode == 0x00:
        if length > 4 + BUFFER_CAPACITY:
            raise req.invalid("parameter_list_length")
        body = data[4:]
        _buffer(lu)[: len(body)] = body
        return None
    if mode == 0x02:
        if req.f("buffer_id"):
            raise req.invalid("buffer_id")
        offset = req.f("buffer_offset")
        if offset > BUFFER_CAPACITY:
            raise req.invalid("buffer_offset")
        if offset + length > BUFFER_CAPACITY:
            raise req.invalid("parameter_list_length")
        _buffer(lu)[offset : offset + len(data)] = data
        return None
    if mode == 0x0A:
        if length > ECHO_CAPACITY:
            raise req.invalid("parameter_list_length")
        lu.state.setdefault("echo", {})[req.nexus] = bytes(data)
        return None
    raise req.invalid("mode")  # microcode download and vendor modes are not supported


# ------------------------------------------------------------------ security


@handles("SecurityProtocolIn")
def security_protocol_in(lu: LogicalUnit, req: Request) -> bytes:
    if req.f("security_protocol") != 0x00:
        raise req.invalid("security_protocol")
    if req.f("inc_512"):
        raise req.invalid("inc_512")  # SPC-5: protocol 00h counts bytes
    specific = req.f("security_protocol_specific")
    if specific == 0x0000:  # supported security protocols list
        return bytes(6) + (1).to_bytes(2, "big") + b"\x00"
    if specific == 0x0001:  # certificate data: none
        return bytes(4)
    if specific == 0x0002:  # security compliance information: none
        return bytes(4)
    raise req.invalid("security_protocol_specific")


# ------------------------------------------------------------------ reservations


@handles(
    "Reserve6", "Reserve10", "Release6", "Release10", "PersistentReserveIn", "PersistentReserveOut"
)
def reservation_command(lu: LogicalUnit, req: Request) -> bytes | None:
    return lu.reservations.command(req)

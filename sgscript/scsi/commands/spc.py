"""SPC-5 commands: the ones every SCSI device type shares.

Each class is one T10 CDB table, row for row: ``F(name, byte, bit, width)``
names the byte holding a field's most significant bit, that bit, and the
width in bits.  Obsolete fields that old devices still honour (INQUIRY's
CMDDT, LOG SENSE's PPC) are kept so tests can check how a device rejects them.

Defaults
--------
Every field defaults to 0, except:

* length fields where the standard fixes the size of what moves: PERSISTENT
  RESERVE OUT sends its 24-byte basic parameter list, SET TIMESTAMP its
  12-byte list, REPORT TIMESTAMP asks for its 12 bytes, REPORT SUPPORTED
  TASK MANAGEMENT FUNCTIONS for the 16-byte extended form;
* commands whose only purpose is to return data: a zero allocation length
  would ask for nothing, so they ask for what sg3_utils asks for by default
  (INQUIRY and REQUEST SENSE 252 bytes, MODE SENSE(6) 252, MODE SENSE(10)
  and LOG SENSE 4096, RECEIVE DIAGNOSTIC RESULTS 4096, REPORT LUNS,
  PERSISTENT RESERVE IN and REPORT SUPPORTED OPERATION CODES 8192, REPORT
  IDENTIFYING INFORMATION 512, REPORT TARGET PORT GROUPS and the copy
  results 1024, READ ATTRIBUTE 8192, SECURITY PROTOCOL IN 512, READ BUFFER
  the 4-byte header).  252 stays below 256 so devices that only read the
  low byte see the same value; ``allocation_length=36`` gives the classic
  "safe" INQUIRY;
* MODE SENSE asks for all pages (PAGE CODE 3Fh: page 0 is vendor specific),
  LOG SENSE/LOG SELECT use cumulative values (PC 01b, as sg_logs does),
  MODE SELECT sets PF (page format, what every SPC device expects).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..cdb import Bytes, Command, Direction, F, Transfer

__all__ = [
    "CopyOperationAbort",
    "ExtendedCopy",
    "ExtendedCopyLid1",
    "Inquiry",
    "LogSelect",
    "LogSense",
    "ModeSelect6",
    "ModeSelect10",
    "ModeSense6",
    "ModeSense10",
    "PersistentReserveIn",
    "PersistentReserveOut",
    "ReadAttribute",
    "ReadBuffer10",
    "ReceiveCopyData",
    "ReceiveCopyDataLid1",
    "ReceiveCopyFailureDetails",
    "ReceiveCopyOperatingParameters",
    "ReceiveCopyStatus",
    "ReceiveCopyStatusLid1",
    "ReceiveDiagnosticResults",
    "ReceiveRodTokenInformation",
    "Release6",
    "Release10",
    "ReportAllRodTokens",
    "ReportIdentifyingInformation",
    "ReportLuns",
    "ReportSupportedOperationCodes",
    "ReportSupportedTaskManagementFunctions",
    "ReportTargetPortGroups",
    "ReportTimestamp",
    "RequestSense",
    "Reserve6",
    "Reserve10",
    "SecurityProtocolIn",
    "SecurityProtocolOut",
    "SendDiagnostic",
    "SetIdentifyingInformation",
    "SetTargetPortGroups",
    "SetTimestamp",
    "TestUnitReady",
    "WriteAttribute",
    "WriteBuffer10",
]


@dataclass(frozen=True)
class Inc512(Transfer):
    """SECURITY PROTOCOL IN/OUT: the length counts bytes, or 512-byte units with INC_512 set."""

    field: str
    uses_block_size = False

    def size(self, values: Mapping[str, int], block_size: int) -> int:
        n = values.get(self.field, 0)
        return n * 512 if values.get("inc_512") else n

    def infer(self, values: dict[str, int], nbytes: int, block_size: int) -> None:
        values.setdefault(self.field, nbytes // 512 if values.get("inc_512") else nbytes)


# ------------------------------------------------------------ coded values

#: MODE SENSE PC field.
MODE_PAGE_CONTROL = {"current": 0, "changeable": 1, "default": 2, "saved": 3}

#: LOG SENSE / LOG SELECT PC field.
LOG_PAGE_CONTROL = {
    "threshold": 0,
    "cumulative": 1,
    "default_threshold": 2,
    "default_cumulative": 3,
}

#: REPORT LUNS SELECT REPORT field (the codes with a fixed meaning in every LU).
SELECT_REPORT = {"default": 0x00, "well_known": 0x01, "all": 0x02, "administrative": 0x10}

#: PERSISTENT RESERVE IN service actions.
PR_IN_ACTIONS = {
    "read_keys": 0,
    "read_reservation": 1,
    "report_capabilities": 2,
    "read_full_status": 3,
}

#: PERSISTENT RESERVE OUT service actions.
PR_OUT_ACTIONS = {
    "register": 0,
    "reserve": 1,
    "release": 2,
    "clear": 3,
    "preempt": 4,
    "preempt_and_abort": 5,
    "register_and_ignore_existing_key": 6,
    "register_and_move": 7,
    "replace_lost_reservation": 8,
}

#: Persistent reservation TYPE field.
PR_TYPES = {
    "write_exclusive": 1,
    "exclusive_access": 3,
    "write_exclusive_registrants_only": 5,
    "exclusive_access_registrants_only": 6,
    "write_exclusive_all_registrants": 7,
    "exclusive_access_all_registrants": 8,
}

#: SEND DIAGNOSTIC SELF-TEST CODE field.
SELF_TEST_CODES = {
    "none": 0,
    "background_short": 1,
    "background_extended": 2,
    "abort_background": 4,
    "foreground_short": 5,
    "foreground_extended": 6,
}

#: READ BUFFER(10) MODE field.
READ_BUFFER_MODES = {
    "header_and_data": 0x00,
    "vendor_specific": 0x01,
    "data": 0x02,
    "descriptor": 0x03,
    "echo_buffer": 0x0A,
    "echo_buffer_descriptor": 0x0B,
    "microcode_status": 0x0F,
    "expander_communications": 0x1A,
    "error_history": 0x1C,
}

#: WRITE BUFFER MODE field.
WRITE_BUFFER_MODES = {
    "header_and_data": 0x00,
    "vendor_specific": 0x01,
    "data": 0x02,
    "download_microcode_activate": 0x04,
    "download_microcode_save_activate": 0x05,
    "download_microcode_offsets_activate": 0x06,
    "download_microcode_offsets_save_activate": 0x07,
    "echo_buffer": 0x0A,
    "download_microcode_offsets_select_save_defer": 0x0D,
    "download_microcode_offsets_save_defer": 0x0E,
    "activate_deferred_microcode": 0x0F,
    "enable_expander_communications": 0x1A,
    "disable_expander_communications": 0x1B,
    "download_error_history": 0x1C,
}

#: REPORT SUPPORTED OPERATION CODES REPORTING OPTIONS field.
REPORTING_OPTIONS = {"all": 0, "opcode": 1, "opcode_sa": 2, "opcode_any": 3}

#: READ ATTRIBUTE service actions.
READ_ATTRIBUTE_ACTIONS = {
    "attribute_values": 0,
    "attribute_list": 1,
    "logical_volume_list": 2,
    "partition_list": 3,
    "supported_attributes": 5,
}


# ------------------------------------------------------------------ basics


class TestUnitReady(Command):
    """TEST UNIT READY: is the logical unit ready for medium-access commands?"""

    __test__ = False  # not a pytest test class, whatever its name says
    opcode = 0x00
    length = 6
    title = "TEST UNIT READY"
    standard = "SPC-5"
    fields = (F("control", 5),)


class RequestSense(Command):
    """REQUEST SENSE: fetch the sense data (or the pending deferred error, progress)."""

    opcode = 0x03
    length = 6
    title = "REQUEST SENSE"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("desc", 1, 0, 1),
        F("allocation_length", 4, 7, 8, 252),
        F("control", 5),
    )


class Inquiry(Command):
    """INQUIRY: standard inquiry data, or a vital product data page with ``evpd=1``."""

    opcode = 0x12
    length = 6
    title = "INQUIRY"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("cmddt", 1, 1, 1),  # obsolete since SPC-3: devices should reject it
        F("evpd", 1, 0, 1),
        F("page_code", 2),
        F("allocation_length", 3, 7, 16, 252),
        F("control", 5),
    )


class ReportLuns(Command):
    """REPORT LUNS: the logical unit inventory of the target."""

    opcode = 0xA0
    length = 12
    title = "REPORT LUNS"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("select_report", 2, values=SELECT_REPORT),
        F("allocation_length", 6, 7, 32, 8192),
        F("control", 11),
    )


# ------------------------------------------------------------ mode pages


class ModeSense6(Command):
    """MODE SENSE(6): read mode pages (current, changeable, default or saved values)."""

    opcode = 0x1A
    length = 6
    title = "MODE SENSE(6)"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("dbd", 1, 3, 1),
        F("pc", 2, 7, 2, values=MODE_PAGE_CONTROL),
        F("page_code", 2, 5, 6, 0x3F),
        F("subpage_code", 3),
        F("allocation_length", 4, 7, 8, 252),
        F("control", 5),
    )


class ModeSense10(Command):
    """MODE SENSE(10): read mode pages, with long LBA block descriptors if asked."""

    opcode = 0x5A
    length = 10
    title = "MODE SENSE(10)"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("llbaa", 1, 4, 1),
        F("dbd", 1, 3, 1),
        F("pc", 2, 7, 2, values=MODE_PAGE_CONTROL),
        F("page_code", 2, 5, 6, 0x3F),
        F("subpage_code", 3),
        F("allocation_length", 7, 7, 16, 4096),
        F("control", 9),
    )


class ModeSelect6(Command):
    """MODE SELECT(6): change mode pages (``sp=1`` also saves them)."""

    opcode = 0x15
    length = 6
    title = "MODE SELECT(6)"
    standard = "SPC-5"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_state = True
    fields = (
        F("pf", 1, 4, 1, 1),
        F("rtd", 1, 1, 1),
        F("sp", 1, 0, 1),
        F("parameter_list_length", 4),
        F("control", 5),
    )


class ModeSelect10(Command):
    """MODE SELECT(10): change mode pages with a 16-bit parameter list length."""

    opcode = 0x55
    length = 10
    title = "MODE SELECT(10)"
    standard = "SPC-5"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_state = True
    fields = (
        F("pf", 1, 4, 1, 1),
        F("rtd", 1, 1, 1),
        F("sp", 1, 0, 1),
        F("parameter_list_length", 7, 7, 16),
        F("control", 9),
    )


# ------------------------------------------------------------------- logs


class LogSense(Command):
    """LOG SENSE: read a log page (error counters, temperature, self-test results, ...)."""

    opcode = 0x4D
    length = 10
    title = "LOG SENSE"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("ppc", 1, 1, 1),  # obsolete
        F("sp", 1, 0, 1),
        F("pc", 2, 7, 2, 1, values=LOG_PAGE_CONTROL),
        F("page_code", 2, 5, 6),
        F("subpage_code", 3),
        F("parameter_pointer", 5, 7, 16),
        F("allocation_length", 7, 7, 16, 4096),
        F("control", 9),
    )


class LogSelect(Command):
    """LOG SELECT: set or reset log parameters (``pcr=1`` resets them)."""

    opcode = 0x4C
    length = 10
    title = "LOG SELECT"
    standard = "SPC-5"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_state = True
    fields = (
        F("pcr", 1, 1, 1),
        F("sp", 1, 0, 1),
        F("pc", 2, 7, 2, 1, values=LOG_PAGE_CONTROL),
        F("page_code", 2, 5, 6),
        F("subpage_code", 3),
        F("parameter_list_length", 7, 7, 16),
        F("control", 9),
    )


# ----------------------------------------------------------- reservations


class Reserve6(Command):
    """RESERVE(6): reserve the whole logical unit for this I_T nexus (SPC-2, obsolete)."""

    opcode = 0x16
    length = 6
    title = "RESERVE(6)"
    standard = "SPC-2"
    changes_state = True
    fields = (F("control", 5),)


class Release6(Command):
    """RELEASE(6): release a RESERVE(6) reservation (SPC-2, obsolete)."""

    opcode = 0x17
    length = 6
    title = "RELEASE(6)"
    standard = "SPC-2"
    changes_state = True
    fields = (F("control", 5),)


class Reserve10(Command):
    """RESERVE(10): reserve the logical unit, optionally for a third party (SPC-2, obsolete)."""

    opcode = 0x56
    length = 10
    title = "RESERVE(10)"
    standard = "SPC-2"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_state = True
    fields = (
        F("third_party", 1, 4, 1, title="3RDPTY"),
        F("longid", 1, 1, 1),
        F("third_party_device_id", 3),
        F("parameter_list_length", 7, 7, 16),
        F("control", 9),
    )


class Release10(Command):
    """RELEASE(10): release a RESERVE(10) reservation (SPC-2, obsolete)."""

    opcode = 0x57
    length = 10
    title = "RELEASE(10)"
    standard = "SPC-2"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_state = True
    fields = (
        F("third_party", 1, 4, 1, title="3RDPTY"),
        F("longid", 1, 1, 1),
        F("third_party_device_id", 3),
        F("parameter_list_length", 7, 7, 16),
        F("control", 9),
    )


class PersistentReserveIn(Command):
    """PERSISTENT RESERVE IN: read registered keys, the reservation, capabilities or full status."""

    opcode = 0x5E
    length = 10
    title = "PERSISTENT RESERVE IN"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, values=PR_IN_ACTIONS),
        F("allocation_length", 7, 7, 16, 8192),
        F("control", 9),
    )


class PersistentReserveOut(Command):
    """PERSISTENT RESERVE OUT: register keys, reserve, release, clear, preempt, move."""

    opcode = 0x5F
    length = 10
    title = "PERSISTENT RESERVE OUT"
    standard = "SPC-5"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_state = True
    fields = (
        F("service_action", 1, 4, 5, values=PR_OUT_ACTIONS),
        F("scope", 2, 7, 4, values={"lu_scope": 0}),
        F("type", 2, 3, 4, values=PR_TYPES),
        F("parameter_list_length", 5, 7, 32, 24),  # the basic parameter list
        F("control", 9),
    )


# ------------------------------------------------------------ diagnostics


class SendDiagnostic(Command):
    """SEND DIAGNOSTIC: run a self-test (``selftest=1`` or a self-test code) or send a page."""

    opcode = 0x1D
    length = 6
    title = "SEND DIAGNOSTIC"
    standard = "SPC-5"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_state = True
    fields = (
        F("self_test_code", 1, 7, 3, values=SELF_TEST_CODES),
        F("pf", 1, 4, 1),
        F("selftest", 1, 2, 1),
        F("devoffl", 1, 1, 1),
        F("unitoffl", 1, 0, 1),
        F("parameter_list_length", 3, 7, 16),
        F("control", 5),
    )


class ReceiveDiagnosticResults(Command):
    """RECEIVE DIAGNOSTIC RESULTS: read a diagnostic page (``pcv=1`` picks the page)."""

    opcode = 0x1C
    length = 6
    title = "RECEIVE DIAGNOSTIC RESULTS"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("pcv", 1, 0, 1),
        F("page_code", 2),
        F("allocation_length", 3, 7, 16, 4096),
        F("control", 5),
    )


# ---------------------------------------------------------------- buffers


class ReadBuffer10(Command):
    """READ BUFFER(10): read a device buffer, its descriptor, the echo buffer or error history."""

    opcode = 0x3C
    length = 10
    title = "READ BUFFER(10)"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("mode_specific", 1, 7, 3),
        F("mode", 1, 4, 5, values=READ_BUFFER_MODES),
        F("buffer_id", 2),
        F("buffer_offset", 3, 7, 24),
        F("allocation_length", 6, 7, 24, 4),  # the 4-byte header / descriptor
        F("control", 9),
    )


class WriteBuffer10(Command):
    """WRITE BUFFER: write a device buffer or the echo buffer, or download microcode."""

    opcode = 0x3B
    length = 10
    title = "WRITE BUFFER"
    standard = "SPC-5"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_media = True  # microcode download: gated like a medium write
    changes_state = True
    fields = (
        F("mode_specific", 1, 7, 3),
        F("mode", 1, 4, 5, values=WRITE_BUFFER_MODES),
        F("buffer_id", 2),
        F("buffer_offset", 3, 7, 24),
        F("parameter_list_length", 6, 7, 24),
        F("control", 9),
    )


# ------------------------------------------- MAINTENANCE IN / OUT (A3h/A4h)


class ReportIdentifyingInformation(Command):
    """REPORT IDENTIFYING INFORMATION: the peripheral device identifying information."""

    opcode = 0xA3
    length = 12
    title = "REPORT IDENTIFYING INFORMATION"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, 0x05, fixed=True),
        F("allocation_length", 6, 7, 32, 512),
        F("information_type", 10, 7, 7),
        F("control", 11),
    )


class ReportTargetPortGroups(Command):
    """REPORT TARGET PORT GROUPS: ALUA port group states, for multipath testing."""

    opcode = 0xA3
    length = 12
    title = "REPORT TARGET PORT GROUPS"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("parameter_data_format", 1, 7, 3, values={"length_only": 0, "extended": 1}),
        F("service_action", 1, 4, 5, 0x0A, fixed=True),
        F("allocation_length", 6, 7, 32, 1024),
        F("control", 11),
    )


class ReportSupportedOperationCodes(Command):
    """REPORT SUPPORTED OPERATION CODES: which commands the device supports, and their timeouts."""

    opcode = 0xA3
    length = 12
    title = "REPORT SUPPORTED OPERATION CODES"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, 0x0C, fixed=True),
        F("rctd", 2, 7, 1),
        F("reporting_options", 2, 2, 3, values=REPORTING_OPTIONS),
        F("requested_operation_code", 3),
        F("requested_service_action", 4, 7, 16),
        F("allocation_length", 6, 7, 32, 8192),
        F("control", 11),
    )


class ReportSupportedTaskManagementFunctions(Command):
    """REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS: which TMFs the device supports."""

    opcode = 0xA3
    length = 12
    title = "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, 0x0D, fixed=True),
        F("repd", 2, 7, 1),
        F("allocation_length", 6, 7, 32, 16),  # the extended parameter data
        F("control", 11),
    )


class ReportTimestamp(Command):
    """REPORT TIMESTAMP: the device clock."""

    opcode = 0xA3
    length = 12
    title = "REPORT TIMESTAMP"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, 0x0F, fixed=True),
        F("allocation_length", 6, 7, 32, 12),  # the timestamp parameter data
        F("control", 11),
    )


class SetIdentifyingInformation(Command):
    """SET IDENTIFYING INFORMATION: store peripheral device identifying information."""

    opcode = 0xA4
    length = 12
    title = "SET IDENTIFYING INFORMATION"
    standard = "SPC-5"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_state = True
    fields = (
        F("service_action", 1, 4, 5, 0x06, fixed=True),
        F("parameter_list_length", 6, 7, 32),
        F("information_type", 10, 7, 7),
        F("control", 11),
    )


class SetTargetPortGroups(Command):
    """SET TARGET PORT GROUPS: change ALUA port group states (explicit ALUA)."""

    opcode = 0xA4
    length = 12
    title = "SET TARGET PORT GROUPS"
    standard = "SPC-5"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_state = True
    fields = (
        F("service_action", 1, 4, 5, 0x0A, fixed=True),
        F("parameter_list_length", 6, 7, 32),
        F("control", 11),
    )


class SetTimestamp(Command):
    """SET TIMESTAMP: set the device clock."""

    opcode = 0xA4
    length = 12
    title = "SET TIMESTAMP"
    standard = "SPC-5"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_state = True
    fields = (
        F("service_action", 1, 4, 5, 0x0F, fixed=True),
        F("parameter_list_length", 6, 7, 32, 12),  # the 12-byte parameter list
        F("control", 11),
    )


# --------------------------------------------------------------- security


class SecurityProtocolIn(Command):
    """SECURITY PROTOCOL IN: security protocol data (TCG, IEEE 1667, ...); 00h/0000h lists them."""

    opcode = 0xA2
    length = 12
    title = "SECURITY PROTOCOL IN"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Inc512("allocation_length")
    fields = (
        F("security_protocol", 1),
        F("security_protocol_specific", 2, 7, 16),
        F("inc_512", 4, 7, 1),
        F("allocation_length", 6, 7, 32, 512),
        F("control", 11),
    )


class SecurityProtocolOut(Command):
    """SECURITY PROTOCOL OUT: send security protocol data (TCG, IEEE 1667, ...)."""

    opcode = 0xB5
    length = 12
    title = "SECURITY PROTOCOL OUT"
    standard = "SPC-5"
    direction = Direction.OUT
    transfer = Inc512("transfer_length")
    changes_state = True
    fields = (
        F("security_protocol", 1),
        F("security_protocol_specific", 2, 7, 16),
        F("inc_512", 4, 7, 1),
        F("transfer_length", 6, 7, 32),
        F("control", 11),
    )


# ------------------------------------------------------- medium attributes


class ReadAttribute(Command):
    """READ ATTRIBUTE: medium auxiliary memory attributes (MAM), or lists of them."""

    opcode = 0x8C
    length = 16
    title = "READ ATTRIBUTE"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, values=READ_ATTRIBUTE_ACTIONS),
        F("element_address", 2, 7, 16),  # restricted: SMC-3's ELEMENT ADDRESS
        F("logical_volume_number", 5),
        F("partition_number", 7),
        F("first_attribute_identifier", 8, 7, 16),
        F("allocation_length", 10, 7, 32, 8192),
        F("cache", 14, 0, 1),
        F("control", 15),
    )


class WriteAttribute(Command):
    """WRITE ATTRIBUTE: write medium auxiliary memory attributes."""

    opcode = 0x8D
    length = 16
    title = "WRITE ATTRIBUTE"
    standard = "SPC-5"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_state = True
    fields = (
        F("wtc", 1, 0, 1),
        F("element_address", 2, 7, 16),  # restricted: SMC-3's ELEMENT ADDRESS
        F("logical_volume_number", 5),
        F("partition_number", 7),
        F("parameter_list_length", 10, 7, 32),
        F("control", 15),
    )


# ------------------------------- THIRD PARTY COPY OUT / IN (83h/84h), SPC-5


class ExtendedCopyLid1(Command):
    """EXTENDED COPY(LID1): the SPC-3 copy manager command (one-byte list identifiers)."""

    opcode = 0x83
    length = 16
    title = "EXTENDED COPY(LID1)"
    standard = "SPC-4"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_media = True
    fields = (
        F("service_action", 1, 4, 5, 0x00, fixed=True),
        F("parameter_list_length", 10, 7, 32),
        F("control", 15),
    )


class ExtendedCopy(Command):
    """EXTENDED COPY: have the copy manager copy between logical units (LID4 lists)."""

    opcode = 0x83
    length = 16
    title = "EXTENDED COPY"
    standard = "SPC-5"
    direction = Direction.OUT
    transfer = Bytes("parameter_list_length")
    changes_media = True
    fields = (
        F("service_action", 1, 4, 5, 0x01, fixed=True),
        F("parameter_list_length", 10, 7, 32),
        F("control", 15),
    )


class CopyOperationAbort(Command):
    """COPY OPERATION ABORT: abort the copy operation with a list identifier."""

    opcode = 0x83
    length = 16
    title = "COPY OPERATION ABORT"
    standard = "SPC-5"
    changes_state = True
    fields = (
        F("service_action", 1, 4, 5, 0x1C, fixed=True),
        F("list_identifier", 2, 7, 32),
        F("control", 15),
    )


class ReceiveCopyStatusLid1(Command):
    """RECEIVE COPY STATUS(LID1): progress of an EXTENDED COPY(LID1)."""

    opcode = 0x84
    length = 16
    title = "RECEIVE COPY STATUS(LID1)"
    standard = "SPC-4"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, 0x00, fixed=True),
        F("list_identifier", 2),
        F("allocation_length", 10, 7, 32, 1024),
        F("control", 15),
    )


class ReceiveCopyDataLid1(Command):
    """RECEIVE COPY DATA(LID1): data held by an EXTENDED COPY(LID1)."""

    opcode = 0x84
    length = 16
    title = "RECEIVE COPY DATA(LID1)"
    standard = "SPC-4"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, 0x01, fixed=True),
        F("list_identifier", 2),
        F("allocation_length", 10, 7, 32, 1024),
        F("control", 15),
    )


class ReceiveCopyOperatingParameters(Command):
    """RECEIVE COPY OPERATING PARAMETERS: the copy manager's limits and descriptor types."""

    opcode = 0x84
    length = 16
    title = "RECEIVE COPY OPERATING PARAMETERS"
    standard = "SPC-4"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, 0x03, fixed=True),
        F("allocation_length", 10, 7, 32, 1024),
        F("control", 15),
    )


class ReceiveCopyFailureDetails(Command):
    """RECEIVE COPY FAILURE DETAILS(LID1): why an EXTENDED COPY(LID1) failed."""

    opcode = 0x84
    length = 16
    title = "RECEIVE COPY FAILURE DETAILS(LID1)"
    standard = "SPC-4"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, 0x04, fixed=True),
        F("list_identifier", 2),
        F("allocation_length", 10, 7, 32, 1024),
        F("control", 15),
    )


class ReceiveCopyStatus(Command):
    """RECEIVE COPY STATUS: progress and result of a copy operation (LID4)."""

    opcode = 0x84
    length = 16
    title = "RECEIVE COPY STATUS"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, 0x05, fixed=True),
        F("list_identifier", 2, 7, 32),
        F("allocation_length", 10, 7, 32, 1024),
        F("control", 15),
    )


class ReceiveCopyData(Command):
    """RECEIVE COPY DATA: data held by a copy operation (LID4)."""

    opcode = 0x84
    length = 16
    title = "RECEIVE COPY DATA"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, 0x06, fixed=True),
        F("list_identifier", 2, 7, 32),
        F("allocation_length", 10, 7, 32, 1024),
        F("control", 15),
    )


class ReceiveRodTokenInformation(Command):
    """RECEIVE ROD TOKEN INFORMATION: status and ROD token of a POPULATE TOKEN (ODX)."""

    opcode = 0x84
    length = 16
    title = "RECEIVE ROD TOKEN INFORMATION"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, 0x07, fixed=True),
        F("list_identifier", 2, 7, 32),
        F("allocation_length", 10, 7, 32, 1024),
        F("control", 15),
    )


class ReportAllRodTokens(Command):
    """REPORT ALL ROD TOKENS: every ROD token the copy manager holds."""

    opcode = 0x84
    length = 16
    title = "REPORT ALL ROD TOKENS"
    standard = "SPC-5"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("service_action", 1, 4, 5, 0x08, fixed=True),
        F("allocation_length", 10, 7, 32, 1024),
        F("control", 15),
    )

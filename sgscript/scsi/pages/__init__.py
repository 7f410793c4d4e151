"""Parameter data: decoders for what devices return, encoders for what people send.

``DECODERS`` and ``ENCODERS`` name, per catalog command, the decoder of its
data-in and the encoder of its parameter list; ``RESPONSES`` and ``PARAMETERS``
the shapes of what they return and take (``sgscript.scsi.shapes``, declared
beside each decoder, from its tables). The catalog attaches them to the command
classes (``Command.decoder``/``encoder``/``response``/``parameters``).  A decoder picks the format
from the command's field values where one command has several (INQUIRY's EVPD,
PR IN's service action, RSOC's reporting options).  ``decode_response(cmd,
data)`` decodes by class name; commands without a decoder give ``{}``.

Every decoder takes bytes and returns a dict of T10 field names in
snake_case; descriptor lists are lists of dicts. A reply cut short by the
allocation length decodes to the fields that arrived plus ``truncated:
True``; decoders never raise on short data. Encoders take the same dicts
(a decoded dict goes straight back in) and range-check every field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..shapes import BOOL, HEX, TEXT, Choice, Items, Scalar, Shape, integer, record
from .capacity import (
    READ_CAPACITY_10_FIELDS,
    READ_CAPACITY_16_FIELDS,
    decode_read_capacity10,
    decode_read_capacity16,
    encode_read_capacity10,
    encode_read_capacity16,
)
from .inquiry import (
    STANDARD_INQUIRY_FIELDS,
    decode_standard_inquiry,
    encode_standard_inquiry,
    version_descriptor_name,
)
from .lba_status import GET_LBA_STATUS_FIELDS, decode_get_lba_status, encode_get_lba_status
from .luns import (
    REPORT_LUNS_FIELDS,
    decode_lun,
    decode_report_luns,
    encode_lun,
    encode_report_luns,
    linux_lun,
)
from .mode import (
    MODE_SELECT6_PARAMETERS,
    MODE_SELECT10_PARAMETERS,
    MODE_SENSE6_FIELDS,
    MODE_SENSE10_FIELDS,
    decode_mode_page,
    decode_mode_parameters,
    decode_mode_select6,
    decode_mode_select10,
    decode_mode_sense6,
    decode_mode_sense10,
    encode_mode_page,
    encode_mode_parameters,
    encode_mode_select6,
    encode_mode_select10,
    encode_mode_sense6,
    encode_mode_sense10,
)
from .opcodes import (
    RSOC_ALL_FIELDS,
    RSOC_ONE_FIELDS,
    RSTMF_FIELDS,
    decode_rsoc_all,
    decode_rsoc_one,
    decode_rstmf,
    encode_rsoc_all,
    encode_rsoc_one,
    encode_rstmf,
)
from .pr import (
    PR_IN_FIELDS,
    PR_OUT_PARAMETERS,
    decode_pr_in,
    decode_pr_out_parameters,
    decode_read_full_status,
    decode_read_keys,
    decode_read_reservation,
    decode_register_and_move_parameters,
    decode_report_capabilities,
    decode_transport_id,
    encode_pr_in,
    encode_pr_out_parameters,
    encode_read_full_status,
    encode_read_keys,
    encode_read_reservation,
    encode_register_and_move_parameters,
    encode_report_capabilities,
)
from .unmap import UNMAP_PARAMETERS, decode_unmap_parameters, encode_unmap_parameters
from .vpd import (
    VPD_FIELDS,
    decode_designation_descriptor,
    decode_designation_descriptors,
    decode_vpd,
    encode_designation_descriptor,
    encode_vpd,
)

if TYPE_CHECKING:
    from ..cdb import Command

__all__ = [
    "DECODERS",
    "ENCODERS",
    "PARAMETERS",
    "RESPONSES",
    "Decoder",
    "decode_designation_descriptor",
    "decode_designation_descriptors",
    "decode_get_lba_status",
    "decode_inquiry",
    "decode_lun",
    "decode_mode_page",
    "decode_mode_parameters",
    "decode_mode_select6",
    "decode_mode_select10",
    "decode_mode_sense6",
    "decode_mode_sense10",
    "decode_pr_in",
    "decode_pr_out_parameters",
    "decode_read_capacity10",
    "decode_read_capacity16",
    "decode_read_full_status",
    "decode_read_keys",
    "decode_read_reservation",
    "decode_register_and_move_parameters",
    "decode_report_capabilities",
    "decode_report_luns",
    "decode_request_sense",
    "decode_response",
    "decode_rsoc_all",
    "decode_rsoc_one",
    "decode_rstmf",
    "decode_standard_inquiry",
    "decode_transport_id",
    "decode_unmap_parameters",
    "decode_vpd",
    "decoder_for",
    "encode_designation_descriptor",
    "encode_get_lba_status",
    "encode_lun",
    "encode_mode_page",
    "encode_mode_parameters",
    "encode_mode_select6",
    "encode_mode_select10",
    "encode_mode_sense6",
    "encode_mode_sense10",
    "encode_pr_in",
    "encode_pr_out_parameters",
    "encode_read_capacity10",
    "encode_read_capacity16",
    "encode_read_full_status",
    "encode_read_keys",
    "encode_read_reservation",
    "encode_register_and_move_parameters",
    "encode_report_capabilities",
    "encode_report_luns",
    "encode_rsoc_all",
    "encode_rsoc_one",
    "encode_rstmf",
    "encode_standard_inquiry",
    "encode_unmap_parameters",
    "encode_vpd",
    "linux_lun",
    "version_descriptor_name",
]

#: A response decoder: the command (for its field values) and the data-in bytes.
Decoder = Callable[["Command", bytes], dict[str, Any]]


def _field(cmd: Command, name: str, default: int = 0) -> int:
    """A command field's value; a catalog without the field gives the default."""
    value = getattr(cmd, name, default)
    return value if isinstance(value, int) else default


def decode_inquiry(data: bytes, evpd: int = 0) -> dict[str, Any]:
    """INQUIRY data: standard data, or the VPD page named by its own PAGE CODE byte."""
    return decode_vpd(data) if evpd else decode_standard_inquiry(data)


def decode_request_sense(data: bytes) -> dict[str, Any]:
    """REQUEST SENSE data is sense data: ``parse_sense(data).to_dict()``.

    Like every decoder it never raises: a reply too short to hold the sense key (a
    small allocation length) or one that is not sense data at all (a faulty device)
    decodes to its raw bytes and a note saying why, ``truncated`` when it was cut short.
    """
    if not data:
        return {}
    from ..sense import parse_sense  # lazily: sense.py is its own module, written apart

    try:
        return parse_sense(data).to_dict()
    except UsageError as exc:
        out: dict[str, Any] = {"raw": data.hex(" "), "notes": [str(exc)]}
        if 0x70 <= data[0] & 0x7F <= 0x73:  # sense data, cut off before its sense key
            out["truncated"] = True
        return out


#: What ``decode_request_sense`` returns: ``Sense.to_dict()`` (a descriptor's fields
#: follow its type), or ``raw`` and ``notes`` for what is not sense data.
SENSE_FIELDS = record(
    "sense data",
    {
        "raw": HEX,
        "response_code": integer(7),
        "format": TEXT,
        "descriptor_format": BOOL,
        "deferred": BOOL,
        "current": BOOL,
        "sense_key": integer(4),
        "sense_key_name": TEXT,
        "sense_key_title": TEXT,
        "asc": integer(8),
        "ascq": integer(8),
        "asc_text": TEXT,
        "valid": BOOL,
        "information": integer(64),
        "command_specific": integer(64),
        "filemark": BOOL,
        "eom": BOOL,
        "ili": BOOL,
        "sdat_ovfl": BOOL,
        "fru": integer(8),
        "sense_key_specific": record(
            "sense-key specific",
            {
                "kind": TEXT,
                "raw": HEX,
                "cd": BOOL,
                "sd": BOOL,
                "bpv": BOOL,
                "bit_pointer": integer(3),
                "field_pointer": integer(16),
                "retry_count": integer(16),
                "progress": integer(16),
                "overflow": BOOL,
                "fraction": Scalar("number"),
                "percent": Scalar("number"),
            },
        ),
        "descriptors": Items(
            record(
                "sense data descriptor",
                {"type": integer(8), "name": TEXT, "raw": HEX, "truncated": BOOL},
                open=True,
            )
        ),
        "additional_length": integer(8),
        "truncated": BOOL,
        "notes": Items(TEXT),
        "summary": TEXT,
    },
)


def _rsoc(cmd: Command, data: bytes) -> dict[str, Any]:
    if _field(cmd, "reporting_options") == 0:
        return decode_rsoc_all(data)
    return decode_rsoc_one(data)


def _pr_in(cmd: Command, data: bytes) -> dict[str, Any]:
    sa = _field(cmd, "service_action")
    return decode_pr_in(data, sa) if 0 <= sa <= 3 else {}


#: The response decoder of each catalog command that has one, by class name.
DECODERS: dict[str, Decoder] = {
    "Inquiry": lambda cmd, data: decode_inquiry(data, _field(cmd, "evpd")),
    "ReadCapacity10": lambda cmd, data: decode_read_capacity10(data),
    "ReadCapacity16": lambda cmd, data: decode_read_capacity16(data),
    "RequestSense": lambda cmd, data: decode_request_sense(data),
    "ReportLuns": lambda cmd, data: decode_report_luns(data),
    "ModeSense6": lambda cmd, data: decode_mode_sense6(data),
    "ModeSense10": lambda cmd, data: decode_mode_sense10(data),
    "PersistentReserveIn": _pr_in,
    "ReportSupportedOperationCodes": _rsoc,
    "ReportSupportedTaskManagementFunctions": lambda cmd, data: decode_rstmf(data),
    "GetLbaStatus": lambda cmd, data: decode_get_lba_status(data),
}

#: The parameter-list encoder of each catalog command that has one, by class name.
ENCODERS: dict[str, Callable[[Mapping[str, Any]], bytes]] = {
    "ModeSelect6": encode_mode_select6,
    "ModeSelect10": encode_mode_select10,
    "PersistentReserveOut": encode_pr_out_parameters,
    "Unmap": encode_unmap_parameters,
}

#: The shape of what each decoder of ``DECODERS`` returns; a ``Choice`` where the
#: decoder picks the format by a CDB field, as it does.
RESPONSES: dict[str, Shape] = {
    "Inquiry": Choice(("evpd",), {0: STANDARD_INQUIRY_FIELDS, 1: VPD_FIELDS}),
    "ReadCapacity10": READ_CAPACITY_10_FIELDS,
    "ReadCapacity16": READ_CAPACITY_16_FIELDS,
    "RequestSense": SENSE_FIELDS,
    "ReportLuns": REPORT_LUNS_FIELDS,
    "ModeSense6": MODE_SENSE6_FIELDS,
    "ModeSense10": MODE_SENSE10_FIELDS,
    "PersistentReserveIn": PR_IN_FIELDS,
    "ReportSupportedOperationCodes": Choice(
        ("reporting_options",), {0: RSOC_ALL_FIELDS}, default=RSOC_ONE_FIELDS
    ),
    "ReportSupportedTaskManagementFunctions": RSTMF_FIELDS,
    "GetLbaStatus": GET_LBA_STATUS_FIELDS,
}

#: The shape of what each encoder of ``ENCODERS`` takes.
PARAMETERS: dict[str, Shape] = {
    "ModeSelect6": MODE_SELECT6_PARAMETERS,
    "ModeSelect10": MODE_SELECT10_PARAMETERS,
    "PersistentReserveOut": PR_OUT_PARAMETERS,
    "Unmap": UNMAP_PARAMETERS,
}


def decoder_for(command_name: str) -> Decoder | None:
    """The decoder of the catalog command called ``command_name``, if it has one."""
    return DECODERS.get(command_name)


def decode_response(cmd: Command, data: bytes | bytearray | memoryview) -> dict[str, Any]:
    """Decoded data-in of ``cmd`` as named fields; ``{}`` for commands without a decoder."""
    decoder = DECODERS.get(type(cmd).__name__)
    if decoder is None:
        return {}
    return decoder(cmd, bytes(data))

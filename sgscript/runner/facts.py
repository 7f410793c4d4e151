"""What a device says it is, asked once: the facts ``when:`` and ``requires:`` read.

A condition that names ``device`` (or ``devices``) makes the runner probe that
device the first time, with read-only commands only: standard INQUIRY, the VPD
page list (00h), Block Limits (B0h) and Logical Block Provisioning (B2h) when
listed, READ CAPACITY(16), MODE SENSE(10) of all pages, LOG SENSE 00h, and REPORT
SUPPORTED OPERATION CODES.  A command the
device refuses leaves its facts out (a condition reading one says which exist),
never a failed step; what was sent and what it refused goes into the run's notes.

| fact | from |
|---|---|
| ``name``, ``target``, ``block_size`` | the run |
| ``peripheral_device_type``, ``rmb``, ``version``, ``protect``, ``tpgs``, ``cmdque``, ``hisup``, ``vendor``, ``product``, ``revision`` | standard INQUIRY |
| ``vpd_pages`` | VPD page 00h (a list; empty when the device has none) |
| ``wsnz``, ``max_write_same_length``, ``max_transfer_length``, ``optimal_transfer_length``, ``max_unmap_lba_count``, ``max_unmap_descriptors``, ``max_compare_and_write_length`` | Block Limits (B0h) |
| ``lbpu``, ``lbpws``, ``lbpws10``, ``lbprz``, ``anc_sup``, ``dp``, ``provisioning_type`` | Logical Block Provisioning (B2h) |
| ``blocks``, ``last_lba``, ``lbpme``, ``prot_en``, ``p_type``, ``physical_block_exponent`` | READ CAPACITY(16) (``lbprz`` there when B2h is missing) |
| ``mode_pages``, ``dpofua``, ``wp`` | MODE SENSE(10) of all pages (3Fh): the page codes, the header's DPOFUA and WP bits |
| ``log_pages`` | LOG SENSE page 00h: the log pages it supports |
| ``opcodes`` | REPORT SUPPORTED OPERATION CODES: ``[opcode, service action]`` pairs, empty when not reported |
| ``tasks`` | the task management functions this path can send (``task:`` steps): the two resets through sg, every one on ``sim:`` |
| ``supports(NAME)`` | whether the device reports the catalog command NAME; true when it reports no list (the step then runs, and ``optional: true`` judges its answer), false once it has answered that command as not supported in this run |
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..channel import Channel
from ..scenario.expr import Function, Namespace
from ..scsi.catalog import Catalog
from ..scsi.cdb import Command, fixed_service_action
from ..scsi.commands import (
    Inquiry,
    LogSense,
    ModeSense10,
    ReadCapacity16,
    ReportSupportedOperationCodes,
)
from ..scsi.facts import BLOCK_LIMITS, CAPACITY, INQUIRY, PROVISIONING
from ..scsi.status import SenseKey

__all__ = ["probe"]


def probe(
    name: str,
    target: str,
    channel: Channel,
    catalog: Catalog,
    notes: list[str],
    refused_commands: set[tuple[int, int | None]] | None = None,
) -> Namespace:
    """Ask the device what it is (read-only commands), as ``device.FACT`` names.

    ``refused_commands``: (opcode, service action) the device has answered as not
    supported in this run, and will (the runner adds to it as answers come):
    ``supports()`` is false for them whatever the device's list says.
    """
    lacking = set() if refused_commands is None else refused_commands
    facts: dict[str, Any] = {"name": name, "target": target, "block_size": channel.block_size}
    # what the path can send, not what the device does: sg offers two resets, sim: all
    facts["tasks"] = sorted(f.value for f in channel.transport.task_functions)
    sent: list[str] = []
    refused: list[str] = []

    def ask(label: str, command: Command, *, raw: bool = False) -> dict[str, Any] | None:
        """The decoded answer (``raw``: ``{"data": bytes}``), or None when refused."""
        sent.append(label)
        try:
            io = channel.execute(command, wait=True, check=False)
        except Exception as exc:  # the path broke: the step that reads the fact says so
            refused.append(f"{label} ({type(exc).__name__}: {exc})")
            return None
        if io.failure is not None:
            refused.append(f"{label} ({io.failure.detail})")
            lacks = refused_command(io) if io.sense_raw else None
            if lacks is not None:
                lacking.add(lacks)  # RSOC itself, on a disk without a list
            return None
        if raw:
            return {"data": io.data}
        try:
            return command.decode_response(io.data)
        except Exception as exc:  # a malformed answer is the device's, not a crash of ours
            refused.append(f"{label} (undecodable: {exc})")
            return None

    def keep(got: dict[str, Any] | None, table: tuple[tuple[str, str], ...]) -> None:
        for fact, key in table:
            if got and key in got:
                facts[fact] = got[key]

    keep(ask("INQUIRY", Inquiry(allocation_length=255)), INQUIRY)
    pages = ask("VPD 00h", Inquiry(evpd=1, page_code=0, allocation_length=255))
    vpd = tuple((pages or {}).get("supported_vpd_page_list", ()))
    facts["vpd_pages"] = vpd
    if 0xB0 in vpd:
        keep(ask("VPD B0h", Inquiry(evpd=1, page_code=0xB0, allocation_length=255)), BLOCK_LIMITS)
    if 0xB2 in vpd:
        keep(ask("VPD B2h", Inquiry(evpd=1, page_code=0xB2, allocation_length=255)), PROVISIONING)
    capacity = ask("READ CAPACITY(16)", ReadCapacity16(allocation_length=32))
    if capacity:
        last = capacity.get("returned_logical_block_address")
        if isinstance(last, int):
            facts["last_lba"], facts["blocks"] = last, last + 1
        keep(capacity, CAPACITY)
        facts.setdefault("lbprz", capacity.get("lbprz"))
    modes = ask("MODE SENSE(10) all pages", ModeSense10(page_code=0x3F, allocation_length=4096))
    if modes:
        facts["mode_pages"] = tuple(p.get("page_code") for p in modes.get("mode_pages", ()))
        facts["dpofua"], facts["wp"] = modes.get("dpofua"), modes.get("wp")
    logs = ask("LOG SENSE 00h", LogSense(pc=1, page_code=0, allocation_length=512), raw=True)
    facts["log_pages"] = _log_pages(logs["data"]) if logs else ()
    listed = ask(  # 0xFFFF: scsi_debug refuses larger allocation lengths (a field of 32 bits)
        "REPORT SUPPORTED OPERATION CODES", ReportSupportedOperationCodes(allocation_length=0xFFFF)
    )
    opcodes = tuple(
        (d.get("operation_code"), d.get("service_action") if d.get("servactv") else None)
        for d in (listed or {}).get("command_descriptors", ())
    )
    facts["opcodes"] = opcodes
    facts["supports"] = Function(
        "supports", _supports(catalog, opcodes, listed is not None, lacking)
    )
    line = f"device {name}: probed for its facts ({', '.join(sent)})"
    if refused:
        line += f"; refused or failed: {'; '.join(refused)}"
    notes.append(line)
    return Namespace(f"device {name}", facts)


def _log_pages(data: bytes) -> tuple[int, ...]:
    """LOG SENSE page 00h's list (SPC-5 7.3.18): the page codes after a 4-byte header."""
    length = int.from_bytes(data[2:4], "big") if len(data) >= 4 else 0
    return tuple(b & 0x3F for b in data[4 : 4 + length])


def _supports(
    catalog: Catalog,
    opcodes: tuple[tuple[Any, Any], ...],
    reported: bool,
    refused: set[tuple[int, int | None]],
) -> Callable[[str], bool]:
    listed = set(opcodes)
    by_opcode = {op for op, _ in opcodes}

    def supports(command: str) -> bool:
        if not isinstance(command, str):
            raise TypeError("name a command, like 'CompareAndWrite'")
        cls = catalog.lookup(command)  # UnknownCommandError (a ValueError) names the nearest
        sa = fixed_service_action(cls)
        if (cls.opcode, None) in refused or (cls.opcode, sa) in refused:
            return False  # answered "not supported" in this run
        if not reported:
            return True
        if sa is None:
            return cls.opcode in by_opcode
        return (cls.opcode, sa) in listed

    return supports


def refused_command(io: Any, *, lenient: bool = False) -> tuple[int, int | None] | None:
    """(opcode, service action) when the answer says the device lacks the command itself:
    INVALID COMMAND OPERATION CODE (the whole operation code), or INVALID FIELD IN CDB at
    the service action a catalog command fixes (SPC-5 4.5.2: how a device server refuses a
    command it does not have); ``lenient``: also INVALID FIELD IN CDB naming no field."""
    sense = io.sense
    if sense is None or sense.sense_key != SenseKey.ILLEGAL_REQUEST or sense.ascq != 0x00:
        return None
    command = catalog_command(io)
    layout = getattr(command, "layout", None)
    opcode = getattr(command, "opcode", None)
    if layout is None or opcode is None:
        return None
    if sense.asc == 0x20:
        return (opcode, None)
    sa = fixed_service_action(command)
    if sense.asc != 0x24 or sa is None:
        return None  # a service action the caller chose is not the command's own
    sks = sense.sense_key_specific
    if sks is None or sks.kind != "field_pointer":
        return (opcode, sa) if lenient else None
    field = layout.by_name["service_action"].field
    if sks.cd and sks.field_pointer is not None and points_at(field, sks.field_pointer):
        return (opcode, sa)
    return None


def catalog_command(io: Any) -> Any:
    """The command ``io`` sent, as the catalog knows it (a raw ``cdb:`` step's too)."""
    as_catalog = getattr(io.command, "as_catalog", None)
    return as_catalog() if as_catalog is not None else io.command


def points_at(field: Any, byte: int) -> bool:
    """Whether CDB byte ``byte`` holds part of ``field`` (which may span bytes)."""
    last = field.byte + (field.width - (field.bit + 1) + 7) // 8
    return field.byte <= byte <= last

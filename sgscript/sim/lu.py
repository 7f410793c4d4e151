"""The simulated logical unit: a direct-access block device as a pure model.

``LogicalUnit.execute`` takes a CDB, the data-out and the I_T nexus it came
from and returns status, sense and data-in, in the order SAM-5 and SPC-5 put
the checks: unknown operation code, injected faults, pending unit attention,
reservation conflict, not ready, then the command itself.  No I/O happens
here: ``transport/sim.py`` moves commands in and completions out.

Command handlers live beside the model in ``sbc.py``, ``spc.py``, ``modes.py`` and
``logs.py``, marked with ``@handles("Read10", ...)``: ``builtin_handlers()`` collects
them, the built-in plugin contributes them through ``sgscript_sim_handlers``, and a
unit answers what its opener gave it (a plugin manager's handlers and catalog).
Reservations and faults have their own modules and are consulted through
``self.reservations`` and ``self.faults``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..scsi.catalog import Catalog, standard_catalog
from ..scsi.cdb import Command
from ..scsi.negative import first_reserved, first_reserved_code
from ..scsi.status import ScsiStatus
from .core import C, Condition, Fail, Request, Response, StatusFail
from .faults import Faults
from .reservations import Reservations
from .storage import FileStorage, MemoryStorage, Storage

__all__ = [
    "Handler",
    "LogicalUnit",
    "LuConfig",
    "builtin_handlers",
    "check_config",
    "handles",
]

Handler = Callable[["LogicalUnit", Request], bytes | None]
#: The modules whose ``@handles`` functions are the simulated disk's own table.
_HANDLER_MODULES = ("sbc", "spc", "modes", "logs")


def handles(*names: str) -> Callable[[Handler], Handler]:
    """Mark ``fn`` as the handler for the catalog commands ``names`` (nothing is registered:
    ``builtin_handlers`` reads the marks of this package's handler modules)."""

    def mark(fn: Handler) -> Handler:
        fn.sim_commands = names  # type: ignore[attr-defined]
        return fn

    return mark


@functools.cache
def _builtin_table() -> dict[str, Handler]:
    table: dict[str, Handler] = {}
    package = __name__.rpartition(".")[0]
    for module_name in _HANDLER_MODULES:
        module = importlib.import_module(f"{package}.{module_name}")
        for fn in vars(module).values():
            for name in getattr(fn, "sim_commands", ()):
                if name in table and table[name] is not fn:
                    raise ValueError(f"two simulated handlers for {name}")
                table[name] = fn
    return table


def builtin_handlers() -> dict[str, Handler]:
    """The simulated disk's own handlers by command name (a copy)."""
    return dict(_builtin_table())


#: How many distinct CDBs a unit remembers it accepted (what they are, who answers).
_ACCEPTED_MAX = 4096

#: Commands answered whatever unit attention is pending (SAM-5 5.14, SPC-5 5.14).
UA_EXEMPT = frozenset({"Inquiry", "ReportLuns", "RequestSense"})

#: Commands a stopped unit still processes; everything else gets NOT READY.
READY_NOT_NEEDED = frozenset(
    {
        "Inquiry",
        "ReportLuns",
        "RequestSense",
        "ModeSense6",
        "ModeSense10",
        "ModeSelect6",
        "ModeSelect10",
        "LogSense",
        "LogSelect",
        "StartStopUnit",
        "PreventAllowMediumRemoval",
        "ReportSupportedOperationCodes",
        "ReportSupportedTaskManagementFunctions",
        "Reserve6",
        "Reserve10",
        "Release6",
        "Release10",
        "PersistentReserveIn",
        "PersistentReserveOut",
        "SendDiagnostic",
        "ReceiveDiagnosticResults",
        "ReadBuffer10",
        "WriteBuffer10",
        "SecurityProtocolIn",
        "SecurityProtocolOut",
        "FormatUnit",
        "Sanitize",
    }
)


@dataclass
class LuConfig:
    """What a simulated disk is: its geometry, identity and features (target options)."""

    blocks: int = 262144
    block_size: int = 512
    physical_block_exponent: int = 0
    vendor: str = "SGSCRIPT"
    product: str = "SIM DISK"
    revision: str = "0001"
    serial: str = ""
    thin: bool = True
    write_protect: bool = False
    removable: bool = False
    dpofua: bool = True  # MODE SENSE's DPOFUA: False, a disk that does not take DPO and FUA
    #: With DPOFUA=0, DPO or FUA set is ignored (GOOD) instead of INVALID FIELD IN CDB: SBC-4
    #: allows either; the CDB usage data leaves both bits out either way.
    ignore_dpofua: bool = False
    rotation_rate: int = 1  # 1: non-rotating medium (SBC-4 table VPD B1h)
    backing_file: str | None = None
    descriptor_sense: bool = False
    max_unmap_blocks: int = 0x10000
    max_unmap_descriptors: int = 256
    max_write_same_blocks: int = 0x10000
    wsnz: bool = True  # Block Limits WSNZ: WRITE SAME of 0 blocks refused (else: to the last LBA)
    max_transfer_blocks: int = 0x10000
    #: WRITE ATOMIC(16): at most this many blocks (0: not implemented), LBAs a multiple of
    #: ``atomic_alignment`` and lengths of ``atomic_granularity`` (0 or 1: any), Block Limits says so.
    max_atomic_blocks: int = 0
    atomic_alignment: int = 0
    atomic_granularity: int = 0
    #: Catalog commands this disk lacks (names, comma-separated or a list): refused as
    #: SPC-5 says and left out of its command list, as a real disk without them would be.
    without: str | Sequence[str] = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def lacks(self) -> tuple[str, ...]:
        names = self.without.split(",") if isinstance(self.without, str) else self.without
        return tuple(n.strip() for n in names if n.strip())


def check_config(cfg: LuConfig) -> None:
    """A geometry disks have, else a ``ValueError`` (``sgscript validate`` asks before opening)."""
    if cfg.block_size not in (512, 520, 528, 1024, 2048, 4096, 4160, 4224):
        raise ValueError(f"block_size={cfg.block_size} is not a logical block size disks use")
    if cfg.blocks < 1 or cfg.blocks > 1 << 48:
        raise ValueError(f"blocks={cfg.blocks} must be 1..2**48")
    catalog = standard_catalog()
    for name in cfg.lacks():
        if name not in catalog:
            raise ValueError(f"without={name}: no catalog command of that name")
    if cfg.max_atomic_blocks > cfg.max_transfer_blocks:
        raise ValueError(
            f"max_atomic_blocks={cfg.max_atomic_blocks} is more than max_transfer_blocks="
            f"{cfg.max_transfer_blocks} (SBC-4 Block Limits: the atomic limit is within the other)"
        )


class LogicalUnit:
    """One simulated logical unit; every nexus that reaches it shares its state."""

    def __init__(
        self,
        config: LuConfig | None = None,
        *,
        name: str = "lu0",
        lun: int = 0,
        catalog: Catalog | None = None,
        handlers: Mapping[str, Handler] | None = None,
    ) -> None:
        self.config = cfg = config or LuConfig()
        #: The commands this unit can identify, and those it answers (by class name).
        self.catalog = catalog if catalog is not None else standard_catalog()
        self.handlers = self._answering(handlers if handlers is not None else builtin_handlers())
        self._accepted: dict[bytes, tuple[type[Command], Handler, bool, bool]] = {}
        self.name = name
        self.lun = lun
        check_config(cfg)
        self.storage: Storage = (
            FileStorage(cfg.backing_file, cfg.blocks, cfg.block_size)
            if cfg.backing_file
            else MemoryStorage(cfg.blocks, cfg.block_size)
        )
        digest = hashlib.sha256(f"{name}/{lun}".encode()).digest()
        self.serial = cfg.serial or digest[:8].hex().upper()
        #: NAA 6 (IEEE registered extended) identifier, stable per target name and LUN.
        self.naa = bytes([0x60 | (digest[8] & 0x0F)]) + digest[9:24]
        self.started = True
        #: False once a removable medium is unloaded (START STOP UNIT LOEJ=1 START=0).
        self.medium_present = True
        self.prevent_removal = False
        self.write_protect = cfg.write_protect
        self.pending_ua: dict[str, list[Condition]] = {}
        self.seen: set[str] = set()
        self.deferred: dict[str, bytes] = {}
        self.reservations = Reservations(self)
        self.faults = Faults(self)
        self.commands_seen = 0
        self.state: dict[str, Any] = {}  # handler modules keep their state here (mode pages, ...)
        #: The ``target.Target`` holding this unit (set there; None for a unit on its own).
        self.target: Any = None

    # -- geometry -----------------------------------------------------------------

    @property
    def blocks(self) -> int:
        return self.storage.blocks

    @property
    def block_size(self) -> int:
        return self.storage.block_size

    def check_range(self, req: Request, lba: int, count: int) -> None:
        """LOGICAL BLOCK ADDRESS OUT OF RANGE past the last LBA (SBC-4 4.5)."""
        if lba + count > self.blocks or lba >= self.blocks:
            raise Fail(C.LBA_OUT_OF_RANGE)

    # -- unit attentions ----------------------------------------------------------------

    def unit_attention(
        self, condition: Condition, *, only: str | None = None, exclude: str | None = None
    ) -> None:
        """Queue ``condition`` for every nexus (or ``only`` one, or all but ``exclude``)."""
        targets = [only] if only is not None else [n for n in self.seen if n != exclude]
        for nexus in targets:
            queue = self.pending_ua.setdefault(nexus, [])
            if condition not in queue:
                queue.append(condition)

    def take_ua(self, nexus: str) -> Condition | None:
        queue = self.pending_ua.get(nexus)
        if not queue:
            return None
        condition = queue.pop(0)
        if not queue:
            del self.pending_ua[nexus]
        return condition

    def reset(self, condition: Condition = C.BUS_DEVICE_RESET) -> None:
        """A logical unit reset (SAM-5 6.3.3): state back to power-on, a UA for everyone."""
        self.reservations.reset()
        self.started = True
        self.prevent_removal = False
        for nexus in self.seen:
            self.pending_ua[nexus] = [condition]
        for part in list(self.state.values()):
            on_reset = getattr(part, "on_reset", None)
            if on_reset is not None:  # handler state that a reset restores (mode pages)
                on_reset(self)

    # -- execution ----------------------------------------------------------------------

    def execute(
        self, nexus: str, cdb: bytes, data_out: bytes = b"", allocation: int = 0
    ) -> Response:
        """Run one command from ``nexus``; never raises for anything a device would answer."""
        self.commands_seen += 1
        try:
            return Response(data=self._run(nexus, cdb, data_out, allocation) or b"")
        except Fail as fail:
            return Response(ScsiStatus.CHECK_CONDITION, fail.sense(descriptor=self.d_sense))
        except StatusFail as fail:
            return Response(fail.status)

    @property
    def d_sense(self) -> bool:
        return bool(self.state.get("d_sense", self.config.descriptor_sense))

    @property
    def tas(self) -> bool:
        """The Control mode page's TAS: commands aborted by another nexus end TASK ABORTED."""
        return bool(self.state.get("tas", False))

    def _accept(self, cdb: bytes) -> tuple[type[Command], Handler, bool, bool]:
        """What a CDB is and who answers it, or the CHECK CONDITION that refuses it."""
        cls = self.catalog.identify(cdb) if cdb else None
        handler = self.handlers.get(cls.__name__) if cls is not None else None
        if cls is None or handler is None:
            raise self._unsupported(cdb[0]) if cdb else Fail(C.INVALID_OPCODE, field=(0, 7))
        if len(cdb) < cls.length:
            raise Fail(C.INVALID_OPCODE, field=(0, 7))
        at = 1 if cdb[0] == 0x7F else cls.length - 1  # the CONTROL byte
        if cdb[at] & 0x04:  # NACA, and this unit has no NormACA (SAM-5 5.2)
            raise Fail(C.INVALID_FIELD_IN_CDB, field=(at, 2))
        reserved = first_reserved(cls, cdb)  # SPC-5 lets a device check them: this one does
        if reserved is None:  # a code a defined field's table reserves: always an error
            reserved = first_reserved_code(cls, cdb)
        if reserved is not None:
            raise Fail(C.INVALID_FIELD_IN_CDB, field=reserved)
        if not (self.config.dpofua or self.config.ignore_dpofua):  # DPOFUA=0: refused
            for name in ("dpo", "fua"):
                slot = cls.layout.by_name.get(name)
                if slot is not None and cdb[slot.field.byte] >> slot.field.bit & 1:
                    raise Fail(C.INVALID_FIELD_IN_CDB, field=(slot.field.byte, slot.field.bit))
        name = cls.__name__
        return cls, handler, name in UA_EXEMPT, name in READY_NOT_NEEDED

    def _unsupported(self, opcode: int) -> Fail:
        """Why a CDB this unit does not answer is refused (SPC-5 4.4.1, as scsi_debug does).

        An operation code the unit answers for some other service action is supported:
        the service action is the invalid field (INVALID FIELD IN CDB, the pointer at
        its most significant bit, byte 1 bit 4 or byte 8 bit 7 of a variable-length
        CDB). Only an operation code nothing answers is INVALID COMMAND OPERATION CODE.
        """
        for cls in self.catalog.with_opcode(opcode):
            slot = cls.layout.by_name.get("service_action")
            if slot is not None and cls.__name__ in self.handlers:
                return Fail(C.INVALID_FIELD_IN_CDB, field=(slot.field.byte, slot.field.bit))
        return Fail(C.INVALID_OPCODE, field=(0, 7))

    def _run(self, nexus: str, cdb: bytes, data_out: bytes, allocation: int) -> bytes | None:
        if nexus not in self.seen:
            self.seen.add(nexus)
            self.pending_ua.setdefault(nexus, []).insert(0, C.POWER_ON_RESET)
        accepted = self._accepted.get(cdb)  # a CDB sent again (a repeat step): known
        if accepted is None:
            accepted = self._accept(cdb)
            if len(self._accepted) < _ACCEPTED_MAX:
                self._accepted[cdb] = accepted
        cls, handler, ua_exempt, ready_not_needed = accepted
        req = Request(nexus, cdb, cls, data_out, allocation)
        self.faults.check(req)
        if not ua_exempt and self.pending_ua:
            ua = self.take_ua(nexus)
            if ua is not None:
                raise Fail(ua)
        self.reservations.check(req)
        if not ready_not_needed:
            if not self.medium_present:
                raise Fail(C.MEDIUM_NOT_PRESENT)
            if not self.started:
                raise Fail(C.NOT_READY_INITIALIZING_COMMAND_REQUIRED)
        data = handler(self, req)
        if data is not None and allocation < len(data):
            data = data[:allocation]
        return data

    # -- introspection --------------------------------------------------------------------

    def answer_with(
        self, catalog: Catalog | None = None, handlers: Mapping[str, Handler] | None = None
    ) -> None:
        """From now on know ``catalog`` and answer with ``handlers`` (those given)."""
        if catalog is not None:
            self.catalog = catalog
        if handlers is not None:
            self.handlers = self._answering(handlers)
        self._accepted.clear()

    def _answering(self, handlers: Mapping[str, Handler]) -> dict[str, Handler]:
        """``handlers`` less the commands this disk lacks (``without``), whoever sets them."""
        lacks = self.config.lacks()
        return {name: h for name, h in handlers.items() if name not in lacks}

    def implemented(self) -> list[str]:
        """The catalog commands this logical unit answers (REPORT SUPPORTED OPERATION CODES)."""
        return sorted(name for name in self.handlers if name in self.catalog)

    def handler_for(self, command: type[Command]) -> Handler | None:
        return self.handlers.get(command.__name__)

    def close(self) -> None:
        self.storage.close()

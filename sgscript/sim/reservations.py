"""Reservations: SPC-2 RESERVE/RELEASE and persistent reservations (SPC-5 5.13).

What the simulated disk does, and what it refuses (with the reason):

- RESERVE(6)/(10), RELEASE(6)/(10): logical-unit reservations as SPC-2 7.21/7.22
  define them, with SPC-5 5.13.3's exceptions (CRH=1). Third-party (3RDPTY)
  and extent reservations (the obsolete byte 1 bit 0) are refused with INVALID
  FIELD IN CDB pointing at the bit: SPC-2 made them obsolete and nothing here
  could be the third party. A logical unit reset releases them.
- PERSISTENT RESERVE OUT: REGISTER, REGISTER AND IGNORE EXISTING KEY, RESERVE,
  RELEASE, CLEAR, PREEMPT, PREEMPT AND ABORT and REGISTER AND MOVE (iSCSI
  TransportIDs naming sim nexuses, relative target port 1) for all six types,
  LU scope only. REPLACE LOST RESERVATION is refused (INVALID FIELD IN CDB,
  RLR_C=0): this model never loses reservation information. SPEC_I_PT is
  refused (INVALID FIELD IN PARAMETER LIST, SIP_C=0). ALL_TG_PT is accepted
  (ATP_C=1): the sim target has one port, so it changes nothing but is
  reported back. APTPL is accepted (PTPL_C=1, PTPL_A tells the last value);
  power loss is not modelled, and persistent reservations survive a logical
  unit reset whatever APTPL says (SPC-5 5.13.1).
- PREEMPT AND ABORT: the model has no task set (the LU answers each command
  as it is submitted), so there is nothing to abort: it does what PREEMPT
  does, unit attentions included, and no COMMANDS CLEARED UA is raised.
- PERSISTENT RESERVE IN: READ KEYS, READ RESERVATION, REPORT CAPABILITIES,
  READ FULL STATUS (each nexus name as an iSCSI name TransportID).

Which commands conflict is data, in ``reservation_conflicts.py`` (the rows of the
standards' tables "commands that are allowed in the presence of various
reservations"); "table 66" below is SPC's PERSISTENT RESERVE OUT service-action
table of the same name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..scsi.pages import (
    decode_pr_out_parameters,
    decode_register_and_move_parameters,
    encode_read_full_status,
    encode_read_keys,
    encode_read_reservation,
    encode_report_capabilities,
)
from ..scsi.status import ScsiStatus
from .core import C, Condition, Fail, Request, StatusFail, Unit
from .reservation_conflicts import (
    PR_CONDITIONAL,
    PR_CONFLICTS,
    SELF_JUDGED,
    SPC2_BLOCKS_PR,
    SPC2_OVERRIDES,
    conflict_row,
)

__all__ = [
    "PR_CONDITIONAL",
    "PR_CONFLICTS",
    "SERVICE_ACTIONS",
    "SPC2_OVERRIDES",
    "Registration",
    "Reservations",
    "conflict_row",
    "iscsi_transport_id",
]

# Persistent reservation TYPE codes (SPC-5 6.16.3.4).
WRITE_EXCLUSIVE = 1
EXCLUSIVE_ACCESS = 3
WRITE_EXCLUSIVE_RO = 5
EXCLUSIVE_ACCESS_RO = 6
WRITE_EXCLUSIVE_AR = 7
EXCLUSIVE_ACCESS_AR = 8
TYPES = frozenset({1, 3, 5, 6, 7, 8})
REGISTRANTS_ONLY = frozenset({WRITE_EXCLUSIVE_RO, EXCLUSIVE_ACCESS_RO})
ALL_REGISTRANTS = frozenset({WRITE_EXCLUSIVE_AR, EXCLUSIVE_ACCESS_AR})
WRITE_EXCLUSIVE_FAMILY = frozenset({WRITE_EXCLUSIVE_RO, WRITE_EXCLUSIVE_AR})

#: The relative target port identifier of the sim target's only port.
TARGET_PORT = 1
#: Registrations beyond this get INSUFFICIENT REGISTRATION RESOURCES (every input bounded).
MAX_REGISTRATIONS = 1024


def _row(req: Request) -> str:
    cond = PR_CONDITIONAL.get(req.name)
    if cond is not None:
        test, yes, no = cond
        return yes if test(req) else no
    return conflict_row(req.command)


def iscsi_transport_id(name: str) -> bytes:
    """An iSCSI TransportID, format 00b: the name NUL-terminated, padded to 4, 24 bytes or more."""
    raw = name.encode() + b"\0"
    raw += bytes(-len(raw) % 4)
    raw = raw.ljust(20, b"\0")
    return bytes([0x05, 0]) + len(raw).to_bytes(2, "big") + raw


def _conflict() -> StatusFail:
    return StatusFail(ScsiStatus.RESERVATION_CONFLICT)


# ----------------------------------------------------------------------------- state


@dataclass(slots=True)
class Registration:
    """One I_T nexus's reservation key."""

    key: int
    all_tg_pt: bool = False


class Reservations:
    """The reservation state of one logical unit, shared by every I_T nexus."""

    def __init__(self, lu: Unit) -> None:
        self.lu = lu
        #: The nexus holding an SPC-2 logical-unit reservation.
        self.spc2_holder: str | None = None
        #: Registered nexuses in registration order (READ KEYS lists them so).
        self.registrations: dict[str, Registration] = {}
        #: The persistent reservation's TYPE (0: none) and, for types other than
        #: all registrants, the nexus that holds it.
        self.pr_type = 0
        self.holder: str | None = None
        self.generation = 0
        self.aptpl = False

    # -- the check every command goes through -------------------------------------------

    def check(self, req: Request) -> None:
        """Raise RESERVATION CONFLICT where SPC-2, SPC table 65 or SBC-4 table 13 say so."""
        if self.spc2_holder is None and not self.pr_type:
            return
        name = req.name
        if self.spc2_holder is not None:
            if name in SPC2_BLOCKS_PR:
                raise _conflict()
            if (
                req.nexus != self.spc2_holder
                and name not in SELF_JUDGED
                and SPC2_OVERRIDES.get(name, _row(req)[1]) == "C"
            ):
                raise _conflict()
        if (
            self.pr_type
            and name not in SELF_JUDGED
            and not self.is_holder(req.nexus)
            and _row(req)[self._column(req.nexus)] == "C"
        ):
            raise _conflict()

    def _column(self, nexus: str) -> int:
        t = self.pr_type
        if t == WRITE_EXCLUSIVE:
            return 0
        if t == EXCLUSIVE_ACCESS:
            return 1
        if nexus in self.registrations:
            return 2
        return 3 if t in WRITE_EXCLUSIVE_FAMILY else 4

    def is_holder(self, nexus: str) -> bool:
        """A persistent reservation holder (SPC-5 5.13.10): every registrant for the AR types."""
        if not self.pr_type:
            return False
        if self.pr_type in ALL_REGISTRANTS:
            return nexus in self.registrations
        return nexus == self.holder

    def reset(self) -> None:
        """A logical unit reset releases SPC-2 reservations; persistent ones survive."""
        self.spc2_holder = None

    def command(self, req: Request) -> bytes | None:
        """Answer one reservation command (sim/spc.py's handler hands them all here)."""
        name = req.name
        if name == "PersistentReserveIn":
            read = _PR_IN.get(req.f("service_action"))
            if read is None:
                raise req.invalid("service_action")
            return read(self)
        if name == "PersistentReserveOut":
            self.pr_out(req)
            return None
        self.spc2(req, reserve=name.startswith("Reserve"))
        return None

    # -- helpers ------------------------------------------------------------------------

    def _bump(self) -> None:
        self.generation = (self.generation + 1) & 0xFFFFFFFF

    def _release(self) -> None:
        self.pr_type = 0
        self.holder = None

    def _tell(self, condition: Condition, nexuses: list[str]) -> None:
        for nexus in nexuses:
            self.lu.unit_attention(condition, only=nexus)

    def _registered(self, req: Request, key: int) -> Registration:
        """SPC-5 6.17.2: a nexus not registered, or sending another key, conflicts."""
        reg = self.registrations.get(req.nexus)
        if reg is None or reg.key != key:
            raise _conflict()
        return reg

    @staticmethod
    def _new_type(req: Request) -> int:
        """SCOPE and TYPE of a reservation being created: LU scope, one of the six types."""
        if req.f("scope") != 0:
            raise req.invalid("scope")
        if req.f("type") not in TYPES:
            raise req.invalid("type")
        return req.f("type")

    def _unregister(self, nexus: str) -> None:
        """SPC-5 5.13.11.3: a holder that unregisters releases (not the AR types)."""
        del self.registrations[nexus]
        t = self.pr_type
        if not t:
            return
        if t in ALL_REGISTRANTS:
            if not self.registrations:
                self._release()
        elif nexus == self.holder:
            self._release()
            if t in REGISTRANTS_ONLY:
                self._tell(C.RESERVATIONS_RELEASED, list(self.registrations))

    def _crh_no_op(self, nexus: str) -> bool:
        """SPC-5 5.13.3: RESERVE/RELEASE from these complete GOOD and change nothing."""
        if self.is_holder(nexus):
            return True
        return nexus in self.registrations and self.pr_type in REGISTRANTS_ONLY | ALL_REGISTRANTS

    # -- SPC-2 RESERVE / RELEASE ----------------------------------------------------------

    def spc2(self, req: Request, *, reserve: bool) -> None:
        _refuse_third_party_and_extent(req)
        nexus = req.nexus
        if self._crh_no_op(nexus):
            return
        if self.registrations:
            raise _conflict()  # SPC-2 5.5.1: registrations exist, whoever asks
        if reserve:
            if self.spc2_holder not in (None, nexus):
                raise _conflict()
            self.spc2_holder = nexus
        elif self.spc2_holder == nexus:
            self.spc2_holder = None  # a RELEASE from anyone else does nothing (SPC-2 7.22)

    # -- PERSISTENT RESERVE IN -------------------------------------------------------------

    def read_keys(self) -> bytes:
        keys = [reg.key for reg in self.registrations.values()]
        return encode_read_keys({"prgeneration": self.generation, "reservation_keys": keys})

    def read_reservation(self) -> bytes:
        values: dict[str, Any] = {"prgeneration": self.generation}
        if self.pr_type:
            holder = self.registrations.get(self.holder or "")
            all_reg = self.pr_type in ALL_REGISTRANTS
            values.update(
                reservation_key=0 if all_reg or holder is None else holder.key,
                scope=0,
                type=self.pr_type,
            )
        return encode_read_reservation(values)

    def report_capabilities(self) -> bytes:
        return encode_report_capabilities(
            {
                "rlr_c": 0,  # REPLACE LOST RESERVATION is refused
                "crh": 1,  # SPC-5 5.13.3 exceptions apply to RESERVE/RELEASE
                "sip_c": 0,  # SPEC_I_PT is refused
                "atp_c": 1,  # one target port: ALL_TG_PT is accepted
                "ptpl_c": 1,
                "tmv": 1,
                # 011b: TEST UNIT READY allowed through WE and EA, and the footnote-b
                # reads (MODE SENSE, READ BUFFER, ...) allowed through Write Exclusive.
                "allow_commands": 3,
                "ptpl_a": int(self.aptpl),
                "wr_ex_ar": 1,
                "ex_ac_ro": 1,
                "wr_ex_ro": 1,
                "ex_ac": 1,
                "wr_ex": 1,
                "ex_ac_ar": 1,
            }
        )

    def read_full_status(self) -> bytes:
        descriptors = []
        for nexus, reg in self.registrations.items():
            holder = self.is_holder(nexus)
            descriptors.append(
                {
                    "reservation_key": reg.key,
                    "all_tg_pt": int(reg.all_tg_pt),
                    "r_holder": int(holder),
                    "scope": 0,
                    "type": self.pr_type if holder else 0,
                    "relative_target_port_identifier": TARGET_PORT,
                    "transport_id": iscsi_transport_id(nexus).hex(),
                }
            )
        return encode_read_full_status(
            {"prgeneration": self.generation, "full_status_descriptors": descriptors}
        )

    # -- PERSISTENT RESERVE OUT -------------------------------------------------------------

    def pr_out(self, req: Request) -> None:
        sa = req.f("service_action")
        action = _PR_OUT.get(sa)
        if action is None:  # REPLACE LOST RESERVATION (RLR_C=0) and reserved codes
            raise req.invalid("service_action")
        action(self, req)

    def _basic(self, req: Request) -> dict[str, Any]:
        """The 24-byte parameter list (SPC-5 6.17.3); SPEC_I_PT is not supported."""
        length = req.f("parameter_list_length")
        data = req.data_out[:length]
        params = decode_pr_out_parameters(data)
        if params.get("spec_i_pt"):
            raise Fail(C.INVALID_FIELD_IN_PARAMETER_LIST, param_field=(20, 3))
        if length != 24 or len(data) != 24:
            raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
        return params

    def _register(self, req: Request, *, ignore_key: bool) -> None:
        """SPC-5 5.13.7 tables: REGISTER and REGISTER AND IGNORE EXISTING KEY."""
        p = self._basic(req)
        key, new = p["reservation_key"], p["service_action_reservation_key"]
        nexus = req.nexus
        reg = self.registrations.get(nexus)
        if reg is None:
            if not ignore_key and key != 0:
                raise _conflict()
            if not new:
                return  # not registered, nothing to register: GOOD, no change
            if len(self.registrations) >= MAX_REGISTRATIONS:
                raise Fail(C.INSUFFICIENT_REGISTRATION_RESOURCES)
            self.registrations[nexus] = Registration(new, bool(p["all_tg_pt"]))
        else:
            if not ignore_key and key != reg.key:
                raise _conflict()
            if new:
                reg.key = new
            else:
                self._unregister(nexus)
        self.aptpl = bool(p["aptpl"])
        self._bump()

    def register(self, req: Request) -> None:
        self._register(req, ignore_key=False)

    def register_and_ignore(self, req: Request) -> None:
        self._register(req, ignore_key=True)

    def reserve(self, req: Request) -> None:
        """SPC-5 5.13.9; PRgeneration does not change."""
        p = self._basic(req)
        kind = self._new_type(req)
        self._registered(req, p["reservation_key"])
        if self.pr_type:
            if not self.is_holder(req.nexus) or kind != self.pr_type:
                raise _conflict()
            return  # the holder asking again for the same reservation
        self.pr_type = kind
        self.holder = req.nexus

    def release(self, req: Request) -> None:
        """SPC-5 5.13.11.2.2; PRgeneration does not change."""
        p = self._basic(req)
        nexus = req.nexus
        self._registered(req, p["reservation_key"])
        if not self.is_holder(nexus):
            return  # no reservation, or not its holder: GOOD, nothing released
        if req.f("scope") != 0 or req.f("type") != self.pr_type:
            raise Fail(C.INVALID_RELEASE_OF_PERSISTENT_RESERVATION)
        kind = self.pr_type
        self._release()
        if kind in REGISTRANTS_ONLY | ALL_REGISTRANTS:
            self._tell(C.RESERVATIONS_RELEASED, [n for n in self.registrations if n != nexus])

    def clear(self, req: Request) -> None:
        """SPC-5 5.13.11.2.3: release, unregister everyone, tell the others."""
        p = self._basic(req)
        self._registered(req, p["reservation_key"])
        others = [n for n in self.registrations if n != req.nexus]
        self._release()
        self.registrations.clear()
        self.aptpl = False
        self._tell(C.RESERVATIONS_PREEMPTED, others)
        self._bump()

    def preempt(self, req: Request) -> None:
        """SPC-5 5.13.11.4 (PREEMPT AND ABORT: the same, see the module docstring)."""
        p = self._basic(req)
        nexus = req.nexus
        self._registered(req, p["reservation_key"])
        target = p["service_action_reservation_key"]
        regs = self.registrations
        kind = self.pr_type
        if kind in ALL_REGISTRANTS and target == 0:
            # Everyone else loses the registration; the caller gets the new reservation.
            new = self._new_type(req)
            removed = [n for n in regs if n != nexus]
            for n in removed:
                del regs[n]
            self.pr_type, self.holder = new, nexus
        elif kind and kind not in ALL_REGISTRANTS and regs[self.holder or ""].key == target:
            # The key names the holder: take its reservation, drop that key's registrations.
            new = self._new_type(req)
            removed = [n for n, r in regs.items() if r.key == target and n != nexus]
            for n in removed:
                del regs[n]
            self.pr_type, self.holder = new, nexus
            if new != kind:
                self._tell(C.RESERVATIONS_RELEASED, [n for n in regs if n != nexus])
        else:
            # Only registrations go (SPC-5 5.13.11.4.4); SCOPE and TYPE are ignored.
            if target == 0:
                raise Fail(C.INVALID_FIELD_IN_PARAMETER_LIST, param_field=(8, None))
            removed = [n for n, r in regs.items() if r.key == target]
            if not removed:
                raise _conflict()
            for n in removed:
                del regs[n]
            if kind in ALL_REGISTRANTS and not regs:
                self._release()
            removed = [n for n in removed if n != nexus]
        self._tell(C.REGISTRATIONS_PREEMPTED, removed)
        self._bump()

    def register_and_move(self, req: Request) -> None:
        """SPC-5 5.13.8: register the key for another nexus and hand it the reservation."""
        length = req.f("parameter_list_length")
        data = req.data_out[:length]
        if length < 24 or len(data) < 24:
            raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
        p = decode_register_and_move_parameters(data)
        tid_length = p["transportid_parameter_data_length"]
        if 24 + tid_length > len(data):
            raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
        nexus = req.nexus
        self._registered(req, p["reservation_key"])
        if not self.pr_type:
            raise req.invalid("service_action")  # nothing to move
        if self.pr_type in ALL_REGISTRANTS or not self.is_holder(nexus):
            raise _conflict()
        new = p["service_action_reservation_key"]
        if new == 0:
            raise Fail(C.INVALID_FIELD_IN_PARAMETER_LIST, param_field=(8, None))
        if p["relative_target_port_identifier"] != TARGET_PORT:
            raise Fail(C.INVALID_FIELD_IN_PARAMETER_LIST, param_field=(18, None))
        dest = p.get("iscsi_name")
        if tid_length < 24 or tid_length % 4 or p.get("protocol_identifier") != 5 or not dest:
            raise Fail(C.INVALID_FIELD_IN_PARAMETER_LIST, param_field=(24, None))
        dest = dest.split(",i,0x")[0]  # format 01b names the port: the nexus is the name
        if dest == nexus:
            raise Fail(C.INVALID_FIELD_IN_PARAMETER_LIST, param_field=(24, None))
        target = self.registrations.get(dest)
        if target is None:
            if len(self.registrations) >= MAX_REGISTRATIONS:
                raise Fail(C.INSUFFICIENT_REGISTRATION_RESOURCES)
            self.registrations[dest] = Registration(new)
        else:
            target.key = new
        self.holder = dest
        if p["unreg"]:
            del self.registrations[nexus]
        self.aptpl = bool(p["aptpl"])
        self._bump()


_PR_OUT: dict[int, Callable[[Reservations, Request], None]] = {
    0: Reservations.register,
    1: Reservations.reserve,
    2: Reservations.release,
    3: Reservations.clear,
    4: Reservations.preempt,
    5: Reservations.preempt,  # PREEMPT AND ABORT: no task set to abort
    6: Reservations.register_and_ignore,
    7: Reservations.register_and_move,
}

_PR_IN: dict[int, Callable[[Reservations], bytes]] = {
    0: Reservations.read_keys,
    1: Reservations.read_reservation,
    2: Reservations.report_capabilities,
    3: Reservations.read_full_status,
}

#: The service actions answered, per command (REPORT SUPPORTED OPERATION CODES lists these).
SERVICE_ACTIONS: dict[str, tuple[int, ...]] = {
    "PersistentReserveIn": tuple(sorted(_PR_IN)),
    "PersistentReserveOut": tuple(sorted(_PR_OUT)),
}


def _refuse_third_party_and_extent(req: Request) -> None:
    """Third-party and extent reservations are obsolete (SPC-2): refused at the bit."""
    if req.name in ("Reserve10", "Release10"):
        if req.f("third_party"):
            raise req.invalid("third_party")
    elif req.cdb[1] & 0x10:  # RESERVE(6)/RELEASE(6): SCSI-2's 3RDPTY
        raise Fail(C.INVALID_FIELD_IN_CDB, field=(1, 4))
    if req.cdb[1] & 0x01:  # SCSI-2's EXTENT bit
        raise Fail(C.INVALID_FIELD_IN_CDB, field=(1, 0))

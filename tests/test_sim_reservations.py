"""Reservations on the simulated disk, through the Python API, as two or three initiators see them.

Every expectation below is the standard's, written out per case: SPC-2 for
RESERVE/RELEASE, SPC-5 5.13 and tables 65/66, SBC-4 table 13 for which commands
conflict, and the unit attentions SPC-5 says registrants must see.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sgscript import Channel, UnitAttention, command, handler
from sgscript.scsi.pages import encode_pr_out_parameters, encode_register_and_move_parameters
from sgscript.scsi.status import ScsiStatus, SenseKey
from sgscript.sim import forget_targets
from sgscript.sim import lu as lu_module
from sgscript.sim.reservations import iscsi_transport_id
from sgscript.transport.base import Io

GOOD = ScsiStatus.GOOD
CONFLICT = ScsiStatus.RESERVATION_CONFLICT
CHECK = ScsiStatus.CHECK_CONDITION
TYPES = [
    "write_exclusive",
    "exclusive_access",
    "write_exclusive_registrants_only",
    "exclusive_access_registrants_only",
    "write_exclusive_all_registrants",
    "exclusive_access_all_registrants",
]
KEY_A, KEY_B, KEY_C = 0xAAAA, 0xBBBB, 0xCCCC


# ------------------------------------------------------------------ commands under test


def _commands() -> dict[str, command.Command]:
    """One command of each kind the tables distinguish, built fresh for each use."""
    return {
        "TestUnitReady": command.TestUnitReady(),
        "Inquiry": command.Inquiry(allocation_length=96),
        "ReportLuns": command.ReportLuns(allocation_length=64),
        "RequestSense": command.RequestSense(allocation_length=32),
        "ReadCapacity10": command.ReadCapacity10(),
        "PersistentReserveIn": command.PersistentReserveIn(
            service_action="read_keys", allocation_length=64
        ),
        "ModeSense6": command.ModeSense6(page_code=0x3F, allocation_length=255),
        "Read10": command.Read10(lba=0, transfer_length=1),
        "ReadBuffer10": command.ReadBuffer10(mode=0x0B, allocation_length=4),
        "ReportSupportedOperationCodes": command.ReportSupportedOperationCodes(
            allocation_length=64
        ),
        "Write10": command.Write10(lba=0, transfer_length=1, data=bytes(512)),
        "ModeSelect6": command.ModeSelect6(pf=1, data=bytes(4)),
        "SynchronizeCache10": command.SynchronizeCache10(),
        "SendDiagnostic": command.SendDiagnostic(selftest=1),
        "WriteBuffer10": command.WriteBuffer10(mode=0x0A, data=bytes(4)),
    }


#: Allowed under every persistent reservation type, from anyone (SPC-5 table 65, SBC-4 table 13).
ALWAYS = {
    "TestUnitReady",
    "Inquiry",
    "ReportLuns",
    "RequestSense",
    "ReadCapacity10",
    "PersistentReserveIn",
}
#: Allowed under Write Exclusive, refused under Exclusive Access (the "read" rows).
READS = {"ModeSense6", "Read10", "ReadBuffer10", "ReportSupportedOperationCodes"}
#: Refused to non-holders under WE and EA, and to nexuses not registered under RO/AR types.
WRITES = {"Write10", "ModeSelect6", "SynchronizeCache10", "SendDiagnostic", "WriteBuffer10"}

#: type -> (what a registered non-holder is refused, what a nexus not registered is refused)
PR_MATRIX: dict[str, tuple[set[str], set[str]]] = {
    "write_exclusive": (WRITES, WRITES),
    "exclusive_access": (READS | WRITES, READS | WRITES),
    "write_exclusive_registrants_only": (set(), WRITES),
    "exclusive_access_registrants_only": (set(), READS | WRITES),
    "write_exclusive_all_registrants": (set(), WRITES),
    "exclusive_access_all_registrants": (set(), READS | WRITES),
}


#: Commands used only as probes of the reservation check: their handlers (other
#: modules, tested elsewhere) are replaced by one that answers GOOD, so what these
#: tests see is the reservation decision alone, which comes before any handler.
PROBES = {
    "ModeSense6",
    "ModeSelect6",
    "ReadBuffer10",
    "ReportSupportedOperationCodes",
    "SynchronizeCache10",
    "SendDiagnostic",
    "WriteBuffer10",
    "PreventAllowMediumRemoval",
    "StartStopUnit",
}


@pytest.fixture(autouse=True)
def _probes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Units answer every catalog command (probes do nothing) so the reservation check,
    which comes first, is what each test sees."""
    table = lu_module.builtin_handlers()
    for name in PROBES | set(_commands()):
        if name in PROBES or name not in table:
            table[name] = lambda lu, req: None
    monkeypatch.setattr(lu_module, "builtin_handlers", lambda: dict(table))


@pytest.fixture
def hosts() -> Iterator[tuple[Channel, Channel, Channel]]:
    forget_targets()
    chans = tuple(
        Channel.open("sim:resv?blocks=4096", initiator=f"host-{x}", block_size=512) for x in "abc"
    )
    for ch in chans:  # the power-on UNIT ATTENTION of each new nexus
        ch.execute(command.TestUnitReady(verify_handler=handler.might_fail(UnitAttention)))
    yield chans
    for ch in chans:
        ch.close()
    forget_targets()


def run(ch: Channel, cmd: command.Command) -> Io:
    return ch.execute(cmd, check=False)


def status(ch: Channel, cmd: command.Command) -> int:
    return run(ch, cmd).status


def prout(
    ch: Channel,
    action: str,
    key: int = 0,
    sa_key: int = 0,
    kind: str | int = 0,
    *,
    data: bytes | None = None,
    **params: int,
) -> Io:
    if data is None:
        data = encode_pr_out_parameters(
            reservation_key=key, service_action_reservation_key=sa_key, **params
        )
    return run(ch, command.PersistentReserveOut(service_action=action, type=kind, data=data))


def prin(ch: Channel, action: str) -> dict:
    io = run(ch, command.PersistentReserveIn(service_action=action, allocation_length=1024))
    assert io.status == GOOD, io.sense
    return io.command.decode_response(io.data)


def sense_of(io: Io) -> tuple[int, int, int]:
    s = io.sense
    assert io.status == CHECK and s is not None
    return s.sense_key, s.asc, s.ascq


def ua(ch: Channel) -> tuple[int, int] | None:
    """The pending unit attention of this nexus (taken by a TEST UNIT READY), if any."""
    io = run(ch, command.TestUnitReady())
    if io.status != CHECK:
        return None
    key, asc, ascq = sense_of(io)
    assert key == SenseKey.UNIT_ATTENTION
    return asc, ascq


def pointer(io: Io) -> tuple[bool, int, int | None]:
    sks = io.sense.sense_key_specific
    assert sks is not None and sks.kind == "field_pointer"
    return sks.cd, sks.field_pointer, sks.bit_pointer if sks.bpv else None


# ---------------------------------------------------------------------- SPC-2 RESERVE


SPC2_REFUSED = {
    "TestUnitReady",
    "PersistentReserveIn",
    *READS,
    *WRITES,
}
SPC2_ALLOWED = {"Inquiry", "ReportLuns", "RequestSense", "ReadCapacity10"}


@pytest.mark.parametrize("reserve", ["Reserve6", "Reserve10"])
def test_spc2_reservation_keeps_the_other_initiator_out(hosts, reserve: str) -> None:
    a, b, _ = hosts
    release = reserve.replace("Reserve", "Release")
    assert status(a, command.lookup(reserve)()) == GOOD
    assert status(a, command.lookup(reserve)()) == GOOD  # the holder may reserve again
    for name, cmd in _commands().items():
        want = CONFLICT if name in SPC2_REFUSED else GOOD
        assert status(b, cmd) == want, name
    for name in ("Read10", "Write10", "TestUnitReady", "ModeSense6", "Inquiry"):
        assert status(a, _commands()[name]) == GOOD, name
    assert status(b, command.lookup(reserve)()) == CONFLICT
    assert status(b, command.lookup(release)()) == GOOD  # a non-holder's RELEASE does nothing
    assert status(b, command.Read10(lba=0, transfer_length=1)) == CONFLICT
    assert status(a, command.lookup(release)()) == GOOD
    assert status(b, command.Read10(lba=0, transfer_length=1)) == GOOD
    assert status(b, command.lookup(reserve)()) == GOOD  # free again: b may reserve it
    assert status(a, command.Write10(lba=0, transfer_length=1, data=bytes(512))) == CONFLICT


def test_spc2_holder_cannot_use_persistent_reservations(hosts) -> None:
    a, b, _ = hosts
    assert status(a, command.Reserve6()) == GOOD
    # SPC-2 5.5.1: while reserved, every PR IN/OUT conflicts, whoever sends it.
    assert prout(a, "register", sa_key=KEY_A).status == CONFLICT
    assert prout(b, "register", sa_key=KEY_B).status == CONFLICT
    assert status(a, command.PersistentReserveIn(service_action="read_keys")) == CONFLICT


def test_third_party_and_extent_reservations_are_refused_at_the_bit(hosts) -> None:
    a, b, _ = hosts
    io = run(a, command.Reserve10(third_party=1, third_party_device_id=7))
    assert sense_of(io) == (SenseKey.ILLEGAL_REQUEST, 0x24, 0x00)
    assert pointer(io) == (True, 1, 4)
    lu = a.transport.lu
    for cdb in ("160100000000", "56010000000000000000", "161000000000"):
        resp = lu.execute("host-a", bytes.fromhex(cdb))
        assert resp.status == CHECK, cdb
        assert resp.sense[2] & 0x0F == SenseKey.ILLEGAL_REQUEST and resp.sense[12] == 0x24
    # Nothing was reserved by the refused commands.
    assert status(b, command.Read10(lba=0, transfer_length=1)) == GOOD


def test_spc2_reservation_is_lost_on_reset_persistent_survives(hosts) -> None:
    a, b, c = hosts
    assert status(a, command.Reserve6()) == GOOD
    a.reset("device")
    for ch in (a, b, c):
        assert ua(ch) == (0x29, 0x03)  # BUS DEVICE RESET FUNCTION OCCURRED
    assert status(b, command.Read10(lba=0, transfer_length=1)) == GOOD

    assert prout(a, "register", sa_key=KEY_A).status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind="exclusive_access").status == GOOD
    a.reset("device")
    for ch in (a, b, c):
        assert ua(ch) == (0x29, 0x03)
    assert status(b, command.Read10(lba=0, transfer_length=1)) == CONFLICT
    res = prin(b, "read_reservation")
    assert (res["reservation_key"], res["type_name"]) == (KEY_A, "exclusive_access")
    assert prin(b, "read_keys")["reservation_keys"] == [KEY_A]


def test_reserve_and_release_meet_registrations(hosts) -> None:
    a, b, c = hosts
    assert prout(a, "register", sa_key=KEY_A).status == GOOD
    # SPC-2 5.5.1: registrations exist, so RESERVE/RELEASE conflict...
    assert status(c, command.Reserve6()) == CONFLICT
    assert status(c, command.Release10()) == CONFLICT
    assert status(a, command.Reserve10()) == CONFLICT  # registered, but no reservation
    # ...except (SPC-5 5.13.3, CRH=1) from the holder: GOOD, and nothing changes.
    assert prout(a, "reserve", key=KEY_A, kind="write_exclusive").status == GOOD
    assert status(a, command.Reserve6()) == GOOD
    assert status(a, command.Release6()) == GOOD
    assert prin(a, "read_reservation")["type_name"] == "write_exclusive"
    assert status(c, command.Read10(lba=0, transfer_length=1)) == GOOD  # no SPC-2 reservation
    assert status(c, command.Write10(lba=0, transfer_length=1, data=bytes(512))) == CONFLICT
    # A registrant under a registrants-only reservation is exempt too.
    assert prout(a, "release", key=KEY_A, kind="write_exclusive").status == GOOD
    assert prout(b, "register", sa_key=KEY_B).status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind="write_exclusive_registrants_only").status == GOOD
    assert status(b, command.Reserve6()) == GOOD
    assert status(c, command.Reserve6()) == CONFLICT
    rc = prin(a, "report_capabilities")
    assert rc["crh"] == 1


# ------------------------------------------------------------ persistent reservation types


@pytest.mark.parametrize("kind", TYPES)
def test_each_persistent_reservation_type_refuses_what_the_tables_say(hosts, kind: str) -> None:
    a, b, c = hosts  # a holds it, b is registered, c is not
    assert prout(a, "register", sa_key=KEY_A).status == GOOD
    assert prout(b, "register", sa_key=KEY_B).status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind=kind).status == GOOD
    registered, unregistered = PR_MATRIX[kind]
    for name, cmd in _commands().items():
        assert status(a, cmd) != CONFLICT, f"holder: {name}"
    for name, cmd in _commands().items():
        want = name in registered
        assert (status(b, cmd) == CONFLICT) == want, f"registered: {name}"
    for name, cmd in _commands().items():
        want = name in unregistered
        assert (status(c, cmd) == CONFLICT) == want, f"not registered: {name}"
    for name in ALWAYS:
        assert status(c, _commands()[name]) == GOOD, name
    # SBC-4 table 13 rows that depend on a field.
    assert status(c, command.PreventAllowMediumRemoval(prevent=0)) != CONFLICT
    assert status(c, command.PreventAllowMediumRemoval(prevent=1)) == CONFLICT
    assert status(c, command.StartStopUnit(start=1)) != CONFLICT
    assert status(c, command.StartStopUnit(start=0)) == CONFLICT


# ----------------------------------------------------------------------- registration


def test_register_change_and_unregister_with_generation(hosts) -> None:
    a, b, c = hosts
    gen = prin(a, "read_keys")["prgeneration"]
    assert prin(a, "read_keys")["reservation_keys"] == []
    assert prout(a, "register", sa_key=KEY_A).status == GOOD
    assert prout(b, "register", sa_key=KEY_B).status == GOOD
    keys = prin(c, "read_keys")
    assert keys["reservation_keys"] == [KEY_A, KEY_B]
    assert keys["prgeneration"] == gen + 2
    # Wrong key from a registered nexus; a key at all from an unregistered one.
    assert prout(a, "register", key=KEY_B, sa_key=0x1111).status == CONFLICT
    assert prout(c, "register", key=KEY_C, sa_key=KEY_C).status == CONFLICT
    # Refused commands, RESERVE and RELEASE leave the generation alone.
    assert prout(a, "reserve", key=KEY_A, kind="write_exclusive").status == GOOD
    assert prout(a, "release", key=KEY_A, kind="write_exclusive").status == GOOD
    assert prin(c, "read_keys")["prgeneration"] == gen + 2
    # Change a key, then unregister with a zero service action key.
    assert prout(a, "register", key=KEY_A, sa_key=0x1111).status == GOOD
    assert prin(c, "read_keys")["reservation_keys"] == [0x1111, KEY_B]
    assert prout(a, "register", key=0x1111, sa_key=0).status == GOOD
    keys = prin(c, "read_keys")
    assert keys["reservation_keys"] == [KEY_B]
    assert keys["prgeneration"] == gen + 4
    # An unregistered nexus registering "nothing" is GOOD and changes nothing.
    assert prout(c, "register").status == GOOD
    assert prin(c, "read_keys") == keys
    # An unregistered nexus may not reserve, release, clear or preempt.
    for action in ("reserve", "release", "clear", "preempt", "preempt_and_abort"):
        assert prout(c, action, key=0, sa_key=KEY_B, kind="write_exclusive").status == CONFLICT


def test_register_and_ignore_existing_key(hosts) -> None:
    a, _, c = hosts
    assert prout(a, "register", sa_key=KEY_A).status == GOOD
    gen = prin(c, "read_keys")["prgeneration"]
    io = prout(a, "register_and_ignore_existing_key", key=0xDEAD, sa_key=0x2222)
    assert io.status == GOOD
    assert prin(c, "read_keys")["reservation_keys"] == [0x2222]
    assert prout(c, "register_and_ignore_existing_key", key=0xDEAD, sa_key=KEY_C).status == GOOD
    assert prout(a, "register_and_ignore_existing_key", key=0xDEAD, sa_key=0).status == GOOD
    keys = prin(c, "read_keys")
    assert keys["reservation_keys"] == [KEY_C]
    assert keys["prgeneration"] == gen + 3


def test_read_reservation_report_capabilities_and_full_status(hosts) -> None:
    a, b, c = hosts
    res = prin(c, "read_reservation")
    assert res["additional_length"] == 0 and "type" not in res
    assert prout(a, "register", sa_key=KEY_A, aptpl=1).status == GOOD
    assert prout(b, "register", sa_key=KEY_B, all_tg_pt=1).status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind="exclusive_access_registrants_only").status == GOOD
    res = prin(c, "read_reservation")
    assert res["reservation_key"] == KEY_A
    ro = "exclusive_access_registrants_only"
    assert (res["scope_name"], res["type_name"]) == ("lu_scope", ro)

    caps = prin(c, "report_capabilities")
    assert caps["length"] == 8
    bits = (caps["crh"], caps["sip_c"], caps["atp_c"], caps["ptpl_c"], caps["rlr_c"])
    assert bits == (1, 0, 1, 1, 0)
    assert caps["tmv"] == 1 and caps["allow_commands"] == 3
    assert caps["ptpl_a"] == 0  # b's REGISTER came last, with APTPL=0
    for bit in ("wr_ex", "ex_ac", "wr_ex_ro", "ex_ac_ro", "wr_ex_ar", "ex_ac_ar"):
        assert caps[bit] == 1, bit

    full = prin(c, "read_full_status")
    descs = {d["iscsi_name"]: d for d in full["full_status_descriptors"]}
    assert set(descs) == {"host-a", "host-b"}
    da, db = descs["host-a"], descs["host-b"]
    assert (da["reservation_key"], da["r_holder"], da["type_name"]) == (KEY_A, 1, ro)
    assert (db["reservation_key"], db["r_holder"], db["type"]) == (KEY_B, 0, 0)
    assert (da["all_tg_pt"], db["all_tg_pt"]) == (0, 1)
    assert da["protocol_identifier_name"] == "iscsi"
    assert da["relative_target_port_identifier"] == 1
    assert full["prgeneration"] == prin(c, "read_keys")["prgeneration"]


def test_all_registrants_reservation_has_every_registrant_as_holder(hosts) -> None:
    a, b, c = hosts
    assert prout(a, "register", sa_key=KEY_A).status == GOOD
    assert prout(b, "register", sa_key=KEY_B).status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind="write_exclusive_all_registrants").status == GOOD
    res = prin(c, "read_reservation")
    assert res["reservation_key"] == 0  # SPC-5: zero for the all-registrants types
    full = prin(c, "read_full_status")["full_status_descriptors"]
    assert [d["r_holder"] for d in full] == [1, 1]
    # b, a holder too, may reserve again (same type) and write.
    assert prout(b, "reserve", key=KEY_B, kind="write_exclusive_all_registrants").status == GOOD
    assert prout(b, "reserve", key=KEY_B, kind="write_exclusive").status == CONFLICT
    assert status(b, command.Write10(lba=1, transfer_length=1, data=bytes(512))) == GOOD
    # The holder that created it unregisters: the reservation stays for b.
    assert prout(a, "register", key=KEY_A, sa_key=0).status == GOOD
    assert prin(c, "read_reservation")["type_name"] == "write_exclusive_all_registrants"
    assert status(c, command.Write10(lba=1, transfer_length=1, data=bytes(512))) == CONFLICT
    # The last registrant leaves: released.
    assert prout(b, "register", key=KEY_B, sa_key=0).status == GOOD
    assert "type" not in prin(c, "read_reservation")
    assert status(c, command.Write10(lba=1, transfer_length=1, data=bytes(512))) == GOOD


@pytest.mark.parametrize(
    ("kind", "others_hear"),
    [
        ("write_exclusive", None),
        ("exclusive_access", None),
        ("write_exclusive_registrants_only", (0x2A, 0x04)),
        ("exclusive_access_registrants_only", (0x2A, 0x04)),
    ],
)
def test_holder_unregistering_releases_the_reservation(hosts, kind: str, others_hear) -> None:
    a, b, c = hosts
    assert prout(a, "register", sa_key=KEY_A).status == GOOD
    assert prout(b, "register", sa_key=KEY_B).status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind=kind).status == GOOD
    assert prout(a, "register", key=KEY_A, sa_key=0).status == GOOD
    assert "type" not in prin(c, "read_reservation")
    assert ua(b) == others_hear  # SPC-5 5.13.11.3: RESERVATIONS RELEASED for registrants only
    assert ua(a) is None and ua(c) is None
    assert status(c, command.Write10(lba=0, transfer_length=1, data=bytes(512))) == GOOD


# -------------------------------------------------------------------------------- release


def test_release_rules(hosts) -> None:
    a, b, c = hosts
    assert prout(a, "register", sa_key=KEY_A).status == GOOD
    assert prout(b, "register", sa_key=KEY_B).status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind="exclusive_access").status == GOOD
    # Wrong type or scope from the holder: INVALID RELEASE OF PERSISTENT RESERVATION.
    io = prout(a, "release", key=KEY_A, kind="write_exclusive")
    assert sense_of(io) == (SenseKey.ILLEGAL_REQUEST, 0x26, 0x04)
    # The holder with another key: conflict. A registered non-holder: GOOD, nothing released.
    assert prout(a, "release", key=KEY_B, kind="exclusive_access").status == CONFLICT
    assert prout(b, "release", key=KEY_B, kind="exclusive_access").status == GOOD
    assert prout(c, "release", key=0, kind="exclusive_access").status == CONFLICT
    assert prin(c, "read_reservation")["type_name"] == "exclusive_access"
    assert status(b, command.Read10(lba=0, transfer_length=1)) == CONFLICT
    assert prout(a, "release", key=KEY_A, kind="exclusive_access").status == GOOD
    assert status(b, command.Read10(lba=0, transfer_length=1)) == GOOD
    assert ua(b) is None  # no unit attention for Write Exclusive / Exclusive Access
    assert prin(c, "read_keys")["reservation_keys"] == [KEY_A, KEY_B]  # registrations kept


@pytest.mark.parametrize(
    "kind",
    [
        "write_exclusive_registrants_only",
        "exclusive_access_registrants_only",
        "write_exclusive_all_registrants",
        "exclusive_access_all_registrants",
    ],
)
def test_releasing_a_registrants_type_tells_the_other_registrants(hosts, kind: str) -> None:
    a, b, c = hosts
    assert prout(a, "register", sa_key=KEY_A).status == GOOD
    assert prout(b, "register", sa_key=KEY_B).status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind=kind).status == GOOD
    assert prout(a, "release", key=KEY_A, kind=kind).status == GOOD
    assert ua(b) == (0x2A, 0x04)  # RESERVATIONS RELEASED
    assert ua(a) is None and ua(c) is None  # not the releaser, not the unregistered


# ---------------------------------------------------------------------- clear and preempt


def test_clear_removes_everything_and_tells_every_other_registrant(hosts) -> None:
    a, b, c = hosts
    assert prout(a, "register", sa_key=KEY_A).status == GOOD
    assert prout(b, "register", sa_key=KEY_B).status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind="exclusive_access").status == GOOD
    gen = prin(c, "read_keys")["prgeneration"]
    assert prout(b, "clear", key=0xBAD).status == CONFLICT
    assert prout(b, "clear", key=KEY_B).status == GOOD
    keys = prin(c, "read_keys")
    assert keys == {**keys, "reservation_keys": [], "prgeneration": gen + 1}
    assert "type" not in prin(c, "read_reservation")
    assert ua(a) == (0x2A, 0x03)  # RESERVATIONS PREEMPTED
    assert ua(b) is None and ua(c) is None
    assert status(c, command.Read10(lba=0, transfer_length=1)) == GOOD


@pytest.mark.parametrize("action", ["preempt", "preempt_and_abort"])
def test_preempting_the_holder(hosts, action: str) -> None:
    a, b, c = hosts
    for ch, key in ((a, KEY_A), (b, KEY_B), (c, KEY_C)):
        assert prout(ch, "register", sa_key=key).status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind="write_exclusive").status == GOOD
    gen = prin(c, "read_keys")["prgeneration"]
    assert prout(b, action, key=KEY_B, sa_key=KEY_A, kind="exclusive_access").status == GOOD
    res = prin(b, "read_reservation")
    assert (res["reservation_key"], res["type_name"]) == (KEY_B, "exclusive_access")
    assert res["prgeneration"] == gen + 1
    assert prin(b, "read_keys")["reservation_keys"] == [KEY_B, KEY_C]
    assert ua(a) == (0x2A, 0x05)  # REGISTRATIONS PREEMPTED
    assert ua(c) == (0x2A, 0x04)  # the type changed: RESERVATIONS RELEASED
    assert ua(b) is None
    assert status(a, command.Read10(lba=0, transfer_length=1)) == CONFLICT
    # The preempted nexus is no longer registered: its PR OUT commands conflict.
    assert prout(a, "reserve", key=KEY_A, kind="write_exclusive").status == CONFLICT


def test_preempting_registrations_only(hosts) -> None:
    a, b, c = hosts
    for ch, key in ((a, KEY_A), (b, KEY_B), (c, KEY_C)):
        assert prout(ch, "register", sa_key=key).status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind="write_exclusive").status == GOOD
    # A key nobody holds: conflict. Zero without an all-registrants reservation: invalid.
    assert prout(b, "preempt", key=KEY_B, sa_key=0x9999, kind="write_exclusive").status == CONFLICT
    io = prout(b, "preempt", key=KEY_B, sa_key=0, kind="write_exclusive")
    assert sense_of(io) == (SenseKey.ILLEGAL_REQUEST, 0x26, 0x00)
    assert pointer(io) == (False, 8, None)
    # A key that is not the holder's: only that registration goes; TYPE is ignored.
    assert prout(b, "preempt", key=KEY_B, sa_key=KEY_C, kind=0).status == GOOD
    assert prin(a, "read_keys")["reservation_keys"] == [KEY_A, KEY_B]
    res = prin(a, "read_reservation")
    assert (res["reservation_key"], res["type_name"]) == (KEY_A, "write_exclusive")
    assert ua(c) == (0x2A, 0x05)
    assert ua(a) is None and ua(b) is None


def test_preempting_an_all_registrants_reservation_with_key_zero(hosts) -> None:
    a, b, c = hosts
    for ch, key in ((a, KEY_A), (b, KEY_B), (c, KEY_C)):
        assert prout(ch, "register", sa_key=key).status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind="exclusive_access_all_registrants").status == GOOD
    assert prout(b, "preempt", key=KEY_B, sa_key=0, kind="write_exclusive").status == GOOD
    assert prin(b, "read_keys")["reservation_keys"] == [KEY_B]
    res = prin(b, "read_reservation")
    assert (res["reservation_key"], res["type_name"]) == (KEY_B, "write_exclusive")
    assert ua(a) == (0x2A, 0x05) and ua(c) == (0x2A, 0x05)
    assert ua(b) is None


# ------------------------------------------------------------------ reserve and errors


def test_reserve_rules(hosts) -> None:
    a, b, c = hosts
    assert prout(a, "register", sa_key=KEY_A).status == GOOD
    assert prout(b, "register", sa_key=KEY_B).status == GOOD
    assert prout(a, "reserve", key=KEY_B, kind="write_exclusive").status == CONFLICT
    io = prout(a, "reserve", key=KEY_A, kind=2)
    assert sense_of(io) == (SenseKey.ILLEGAL_REQUEST, 0x24, 0x00)
    assert pointer(io) == (True, 2, 3)
    assert prout(a, "reserve", key=KEY_A, kind="write_exclusive").status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind="write_exclusive").status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind="exclusive_access").status == CONFLICT
    assert prout(b, "reserve", key=KEY_B, kind="write_exclusive").status == CONFLICT
    assert prout(c, "reserve", key=0, kind="write_exclusive").status == CONFLICT


def test_parameter_list_and_service_action_errors(hosts) -> None:
    a, _, _ = hosts
    io = prout(a, "register", data=bytes(16))
    assert sense_of(io) == (SenseKey.ILLEGAL_REQUEST, 0x1A, 0x00)
    io = prout(a, "register", data=bytes(32))
    assert sense_of(io) == (SenseKey.ILLEGAL_REQUEST, 0x1A, 0x00)
    tid = iscsi_transport_id("host-b")
    data = encode_pr_out_parameters(
        service_action_reservation_key=KEY_A, spec_i_pt=1, transport_ids=[tid]
    )
    io = prout(a, "register", data=data)
    assert sense_of(io) == (SenseKey.ILLEGAL_REQUEST, 0x26, 0x00)
    assert pointer(io) == (False, 20, 3)
    io = prout(a, "replace_lost_reservation", sa_key=KEY_A)
    assert sense_of(io) == (SenseKey.ILLEGAL_REQUEST, 0x24, 0x00)
    assert pointer(io) == (True, 1, 4)
    io = run(a, command.PersistentReserveIn(service_action=7, allocation_length=64))
    assert sense_of(io) == (SenseKey.ILLEGAL_REQUEST, 0x24, 0x00)
    assert prin(a, "read_keys")["reservation_keys"] == []  # nothing got registered


def test_register_and_move(hosts) -> None:
    a, b, c = hosts
    assert prout(a, "register", sa_key=KEY_A).status == GOOD
    assert prout(a, "reserve", key=KEY_A, kind="exclusive_access").status == GOOD
    gen = prin(c, "read_keys")["prgeneration"]

    def move(ch: Channel, key: int, new: int, name: str, **kw: int) -> Io:
        data = encode_register_and_move_parameters(
            reservation_key=key,
            service_action_reservation_key=new,
            relative_target_port_identifier=1,
            transport_id=iscsi_transport_id(name),
            **kw,
        )
        return prout(ch, "register_and_move", data=data)

    assert move(c, 0, KEY_C, "host-b").status == CONFLICT  # not registered
    assert sense_of(move(a, KEY_A, KEY_B, "host-a"))[1] == 0x26  # to itself
    assert move(a, KEY_A, KEY_B, "host-b", unreg=1).status == GOOD
    res = prin(c, "read_reservation")
    assert (res["reservation_key"], res["type_name"]) == (KEY_B, "exclusive_access")
    keys = prin(b, "read_keys")
    assert keys["reservation_keys"] == [KEY_B] and keys["prgeneration"] == gen + 1
    assert status(b, command.Read10(lba=0, transfer_length=1)) == GOOD
    assert status(a, command.Read10(lba=0, transfer_length=1)) == CONFLICT

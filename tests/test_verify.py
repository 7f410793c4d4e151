"""Built-in expectations on real completions from the simulated disk: verdicts and their words."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pytest

import sgscript.sim as sim
from sgscript import Channel
from sgscript.scenario.model import DataSource, Expectation
from sgscript.scenario.patterns import make_data
from sgscript.scsi.cdb import Command
from sgscript.scsi.commands import (
    CompareAndWrite,
    Inquiry,
    Read10,
    ReadCapacity10,
    Release6,
    Reserve6,
    TestUnitReady,
    Write10,
)
from sgscript.scsi.errors import UnitAttention
from sgscript.transport.base import Io
from sgscript.verify import (
    CheckContext,
    ExpectationKind,
    Mismatch,
    expectation_kinds,
    get_plugin_manager,
    hookimpl,
    verify,
)

BS = 512
OUT_OF_RANGE = "CHECK CONDITION, Illegal Request, Logical block address out of range"
KINDS = expectation_kinds()


@pytest.fixture(autouse=True)
def fresh_targets() -> Iterator[None]:
    sim.forget_targets()
    yield
    sim.forget_targets()


@pytest.fixture
def disk() -> Iterator[Channel]:
    ch = Channel.open("sim:verify?blocks=1024", initiator="host-a")
    with pytest.raises(UnitAttention):
        ch.execute(TestUnitReady())
    yield ch
    ch.close()


def run(ch: Channel, command: Command, **ctx: Any) -> CheckContext:
    io = ch.execute(command, check=False)
    return CheckContext(io, block_size=BS, seed=7, **ctx)


def judge(ctx: CheckContext, **expect: Any) -> list[str]:
    return verify(ctx, [Expectation(k, v) for k, v in expect.items()], KINDS)


def exp(*names: str) -> list[Expectation]:
    return [Expectation(n) for n in names]


# ------------------------------------------------------------------ good and the default


def test_good_passes_a_clean_command(disk: Channel) -> None:
    ctx = run(disk, TestUnitReady())
    assert verify(ctx, [], KINDS) == []
    assert verify(ctx, exp("good"), KINDS) == []


def test_a_failed_command_fails_by_default_with_sense_and_cdb(disk: Channel) -> None:
    ctx = run(disk, Read10(lba=5000, transfer_length=1))
    want = f"expected GOOD, got {OUT_OF_RANGE}; CDB 28 00 00 00 13 88 00 00 01 00"
    assert verify(ctx, [], KINDS) == [want]
    assert verify(ctx, exp("good"), KINDS) == [want]  # said once, not twice
    (message,) = verify(ctx, [], KINDS)
    assert isinstance(message, Mismatch)
    assert (message.expected, message.got) == ("GOOD", OUT_OF_RANGE)
    assert message.cdb_hex == "28 00 00 00 13 88 00 00 01 00"
    assert pickle.loads(pickle.dumps(message)).got == OUT_OF_RANGE


# ------------------------------------------------------------------ status / sense / fail / any


def test_status(disk: Channel) -> None:
    other = Channel.open("sim:verify", initiator="host-b")
    with pytest.raises(UnitAttention):
        other.execute(TestUnitReady())
    disk.execute(Reserve6())
    ctx = run(other, TestUnitReady())
    assert judge(ctx, status="RESERVATION_CONFLICT") == []
    assert judge(ctx, status=0x18) == []
    assert judge(ctx, status="BUSY") == [
        "expected status BUSY, got RESERVATION CONFLICT; CDB 00 00 00 00 00 00"
    ]
    disk.execute(Release6())
    assert judge(run(other, TestUnitReady()), status="BUSY") == [
        "expected status BUSY, got GOOD; CDB 00 00 00 00 00 00"
    ]
    other.close()


def test_sense_by_key_and_by_code(disk: Channel) -> None:
    ctx = run(disk, Read10(lba=5000, transfer_length=1))
    assert judge(ctx, sense="ILLEGAL_REQUEST") == []
    assert judge(ctx, sense={"key": "illegal request", "asc": 0x21, "ascq": 0}) == []
    assert judge(ctx, sense={"asc": 0x21}) == []
    (message,) = judge(ctx, sense={"key": "ILLEGAL_REQUEST", "asc": 0x24, "ascq": 0})
    assert message == (
        "expected sense Illegal Request, Invalid field in cdb (ASC 24h, ASCQ 00h), "
        f"got {OUT_OF_RANGE} (ASC 21h, ASCQ 00h); CDB 28 00 00 00 13 88 00 00 01 00"
    )
    (message,) = judge(ctx, sense="MEDIUM_ERROR")
    assert message.startswith(f"expected sense Medium Error, got {OUT_OF_RANGE}")


def test_sense_on_a_command_that_succeeded(disk: Channel) -> None:
    (message,) = judge(run(disk, TestUnitReady()), sense="NOT_READY")
    assert message == "expected sense Not Ready, got GOOD; CDB 00 00 00 00 00 00"


@pytest.mark.parametrize("options", ["", "&descriptor_sense=1"], ids=["fixed", "descriptor"])
def test_sense_information_is_the_miscompare_offset(options: str) -> None:
    ch = Channel.open(f"sim:caw?blocks=64{options}", initiator="h")
    with pytest.raises(UnitAttention):
        ch.execute(TestUnitReady())
    medium = written(ch, 10, 1)
    compare = bytearray(medium)
    compare[100] ^= 0xFF  # COMPARE AND WRITE reports the first differing byte: 100
    ctx = run(ch, CompareAndWrite(lba=10, number_of_logical_blocks=1, data=bytes(compare) * 2))
    assert ctx.io.sense.descriptor_format == bool(options)
    miscompare = {"key": "MISCOMPARE", "asc": 0x1D, "ascq": 0}
    assert judge(ctx, sense={**miscompare, "information": 100}) == []
    assert judge(ctx, fail={"sense": {"information": 0x64}}) == []
    (message,) = judge(ctx, sense={**miscompare, "information": 7})
    assert message.startswith("expected sense Miscompare, Miscompare during verify operation ")
    assert "(ASC 1Dh, ASCQ 00h), information 0x7, got CHECK CONDITION, Miscompare" in message
    assert "(ASC 1Dh, ASCQ 00h), information 0x64; CDB 89 00 00 00 00 00 00 00 00 0a" in message
    (message,) = judge(ctx, fail={"sense": {"information": 7}})
    assert message.startswith("expected a failure (information 0x7), got CHECK CONDITION")
    assert "information 0x64; CDB 89" in message
    ch.close()


def test_sense_information_from_an_expression_and_when_not_valid(disk: Channel) -> None:
    cmd = Read10(lba=5000, transfer_length=1)
    ctx = run(disk, cmd, vars={"lba": 5000})
    assert not ctx.io.sense.valid  # LBA OUT OF RANGE carries no INFORMATION
    (message,) = judge(ctx, sense={"key": "ILLEGAL_REQUEST", "information": "${lba}"})
    assert message.startswith("expected sense Illegal Request, information 0x1388, got ")
    assert message.endswith(
        "(ASC 21h, ASCQ 00h), no information; CDB 28 00 00 00 13 88 00 00 01 00"
    )
    assert judge(ctx, sense={"information": 0}) != []  # 0 is a value, not "not valid"


def test_fail(disk: Channel) -> None:
    bad = run(disk, Read10(lba=5000, transfer_length=1))
    good = run(disk, TestUnitReady())
    assert verify(bad, exp("fail"), KINDS) == []
    assert judge(bad, fail={"sense": "ILLEGAL_REQUEST"}) == []
    assert judge(bad, fail={"error": "IllegalRequest"}) == []
    assert verify(good, exp("fail"), KINDS) == [
        "expected a failure, got GOOD; CDB 00 00 00 00 00 00"
    ]
    (message,) = judge(bad, fail={"status": "BUSY"})
    assert message.startswith(f"expected a failure (BUSY), got {OUT_OF_RANGE}; CDB 28")
    (message,) = judge(bad, fail={"error": "CommandTimeout"})
    assert message.startswith("expected a failure (CommandTimeout), got CHECK CONDITION")


def test_any_allows_both(disk: Channel) -> None:
    assert verify(run(disk, Read10(lba=5000, transfer_length=1)), exp("any"), KINDS) == []
    assert verify(run(disk, TestUnitReady()), exp("any"), KINDS) == []


# ------------------------------------------------------------------ data


def written(disk: Channel, lba: int, blocks: int, seed: int = 7) -> bytes:
    data = make_data({"pattern": "lba"}, lba=lba, length=blocks * BS, block_size=BS, seed=seed)
    disk.execute(Write10(lba=lba, data=data))
    return data


def test_data_pattern_reads_back(disk: Channel) -> None:
    written(disk, 0x10, 4)
    ctx = run(disk, Read10(lba=0x10, transfer_length=4))
    assert judge(ctx, data={"pattern": "lba"}) == []
    assert judge(ctx, data=DataSource(pattern="lba", seed=7)) == []
    assert judge(ctx, data={"pattern": "lba", "seed": "${s}"}, **{}) != []  # no vars: no s
    ctx.vars = {"s": 7}
    assert judge(ctx, data={"pattern": "lba", "seed": "${s}"}) == []


def test_data_mismatch_names_offset_block_and_diff(disk: Channel) -> None:
    written(disk, 0x10, 4)
    written(disk, 0x12, 1, seed=8)  # block 2 overwritten by another run's data
    ctx = run(disk, Read10(lba=0x10, transfer_length=4))
    (message,) = judge(ctx, data={"pattern": "lba"})
    first, *diff = message.splitlines()
    assert first == (
        "expected data pattern lba (seed 7) from LBA 0x10, got a mismatch at offset 1035 (0x40b):"
        " block 2 (LBA 0x12) carries seed 8, not 7 (another run's data);"
        " CDB 28 00 00 00 00 10 00 00 04 00"
    )
    assert diff[0].startswith("  @0x000404 expected 00 00 00 12 00 00 00 07 00 00 00 00 ")
    assert diff[1].startswith("  @0x000404 got      00 00 00 12 00 00 00 08 00 00 00 00 ")
    first_caret = 21 + 7 * 3  # under byte 0x40b, the seed's low byte
    assert diff[2].index("^^") == first_caret
    assert message.data_diff == "\n".join(diff)  # type: ignore[attr-defined]


def test_data_hex_at_offset_and_sha256(disk: Channel) -> None:
    ctx = run(disk, Inquiry())
    assert judge(ctx, data={"hex": "00 00 07", "offset": 0}) == []  # disk, SPC-5
    (message,) = judge(ctx, data={"hex": "53 47 53 43 52 49 50 55", "offset": 8})
    assert "expected data hex 53 47 53 43 52 49 50 55 at offset 8" in message
    assert "got a mismatch at offset 15" in message


def test_data_short_transfer(disk: Channel) -> None:
    ctx = run(disk, Read10(lba=0, transfer_length=2))
    (message,) = judge(ctx, data={"pattern": "zeros", "length": 2048})
    assert "expected data pattern zeros, got 1024 bytes, not 2048" in message


def test_data_is_not_checked_when_the_command_failed(disk: Channel) -> None:
    ctx = run(disk, Read10(lba=5000, transfer_length=1))
    assert judge(ctx, data={"pattern": "lba"}) == [
        f"expected GOOD, got {OUT_OF_RANGE}; CDB 28 00 00 00 13 88 00 00 01 00"
    ]
    assert verify(ctx, [Expectation("any"), Expectation("data", {"pattern": "lba"})], KINDS) == []


# ------------------------------------------------------------------ fields


def test_fields_exact_range_and_expression(disk: Channel) -> None:
    ctx = run(disk, ReadCapacity10(), vars={"last": 1023})
    assert judge(ctx, fields={"returned_logical_block_address": 1023}) == []
    assert judge(ctx, fields={"logical_block_length_in_bytes": {"min": 512, "max": 4096}}) == []
    assert judge(ctx, fields={"returned_logical_block_address": "${last}"}) == []
    (message,) = judge(
        ctx,
        fields={"returned_logical_block_address": 2047, "logical_block_length_in_bytes": 512},
    )
    assert message == (
        "expected returned_logical_block_address=2047 (0x7ff), got"
        " returned_logical_block_address=1023 (0x3ff); CDB 25 00 00 00 00 00 00 00 00 00"
    )
    (message,) = judge(ctx, fields={"logical_block_length_in_bytes": {"min": 4096}})
    assert message.startswith(
        "expected logical_block_length_in_bytes >= 4096 (0x1000),"
        " got logical_block_length_in_bytes=512 (0x200)"
    )


def test_fields_strings_lists_and_unknown_names(disk: Channel) -> None:
    ctx = run(disk, Inquiry())
    assert judge(ctx, fields={"vendor_identification": "SGSCRIPT"}) == []
    assert judge(ctx, fields={"version_descriptors.1.standard": "SPC-5"}) == []
    (message,) = judge(ctx, fields={"vendor_identificaton": "SGSCRIPT"})
    assert "no field vendor_identificaton in the Inquiry response" in message
    assert "did you mean vendor_identification" in message


def test_a_missing_field_says_how_long_the_list_is_and_what_is_near(disk: Channel) -> None:
    """The device answered three descriptors: the message says so, not just "no field"."""
    ctx = run(disk, Inquiry(evpd=1, page_code=0x83))
    (message,) = judge(ctx, fields={"designation_descriptors.4.designator_type": 3})
    assert (
        "got no field designation_descriptors.4.designator_type in the Inquiry response:"
        " designation_descriptors has 3 entries (0..2)"
    ) in message
    (message,) = judge(ctx, fields={"designation_descriptors.1.designator_typ": 1})
    assert (
        "designation_descriptors.1 has no field 'designator_typ' (did you mean designator_type,"
    ) in message
    (message,) = judge(ctx, fields={"designation_descriptors.naa": 5})
    assert "designation_descriptors is a list of 3: give an entry's index, not 'naa'" in message
    (message,) = judge(ctx, fields={"page_code.x": 1})
    assert "page_code is 131 (0x83), with no field 'x'" in message


# ------------------------------------------------------------------ duration


def test_duration() -> None:
    ch = Channel.open("sim:slow?latency=20ms", initiator="h")
    with pytest.raises(UnitAttention):
        ch.execute(TestUnitReady())
    ctx = CheckContext(ch.execute(TestUnitReady(), check=False))
    assert judge(ctx, duration={"max": "1s", "min": "10ms"}) == []
    (message,) = judge(ctx, duration={"max": "5ms"})
    assert message.startswith("expected duration at most 5 ms, got 2")
    assert message.endswith(" ms (GOOD); CDB 00 00 00 00 00 00")
    (message,) = judge(ctx, duration={"min": 0.5})
    assert message.startswith("expected duration at least 500 ms, got")
    ch.close()


def test_duration_bounds_from_vars() -> None:
    """A var holds a duration string or a number of seconds; ``${...}`` gives it to the check."""
    ch = Channel.open("sim:slow?latency=20ms", initiator="h")
    with pytest.raises(UnitAttention):
        ch.execute(TestUnitReady())
    io = ch.execute(TestUnitReady(), check=False)
    ctx = CheckContext(io, vars={"limit": "1s", "floor": 0.01, "tight": "5ms"})
    assert judge(ctx, duration={"max": "${limit}", "min": "${floor}"}) == []
    (message,) = judge(ctx, duration={"max": "${tight}"})
    assert message.startswith("expected duration at most 5 ms, got 2")
    (message,) = judge(ctx, duration={"min": "${floor * 50}"})
    assert message.startswith("expected duration at least 500 ms, got")
    ch.close()


# ------------------------------------------------------------------ the machinery


def test_unknown_kinds_and_broken_checks_are_messages_not_crashes(disk: Channel) -> None:
    ctx = run(disk, TestUnitReady())
    (message,) = verify(ctx, [Expectation("temprature", {"max": 1})], KINDS)
    assert message.startswith("unknown expectation kind 'temprature' (known: any, any_of, check")

    def boom(ctx: CheckContext, value: Any) -> str | None:
        raise RuntimeError("decoder fell over")

    kinds = {**KINDS, "boom": ExpectationKind("boom", {}, boom)}
    assert verify(ctx, [Expectation("boom")], kinds) == [
        "boom: the check failed: RuntimeError: decoder fell over"
    ]


class Watcher:
    """A plugin that checks every command: no TEST UNIT READY may take an LBA."""

    seen: list[Io]

    def __init__(self) -> None:
        self.seen = []

    @hookimpl
    def sgscript_check_command(self, ctx: CheckContext) -> str | None:
        self.seen.append(ctx.io)
        return "watcher says no" if ctx.index == 3 else None


def test_check_command_hook_runs_for_every_command(disk: Channel) -> None:
    pm = get_plugin_manager()
    watcher = Watcher()
    pm.register(watcher)
    kinds = expectation_kinds(pm)
    ctx = run(disk, TestUnitReady())
    assert verify(ctx, [], kinds) == []
    ctx.index = 3
    assert verify(ctx, exp("good"), kinds) == ["watcher says no"]
    assert len(watcher.seen) == 2
    assert verify(ctx, [], KINDS) == []  # built-ins alone: no hook

"""Fault injection on ``sim:`` targets, driven the way users drive it: target options and specs."""

from __future__ import annotations

import errno
import time

import pytest

import sgscript.sim as sim
from sgscript import Channel
from sgscript.scsi.commands import Inquiry, Read10, TestUnitReady, Write10
from sgscript.scsi.errors import (
    AbortedCommand,
    Busy,
    CommandTimeout,
    HardwareError,
    HostError,
    MediumError,
    TaskSetFull,
    TransportError,
    UnitAttention,
    UsageError,
)
from sgscript.sim.faults import OPTIONS
from sgscript.transport.linux.codes import HostStatus

BS = 512


pytestmark = pytest.mark.usefixtures("fresh_sim")


def opened(spec: str, initiator: str = "host-a", **kwargs: object) -> Channel:
    """``Channel.open(spec)`` for a nexus whose power-on unit attention is already consumed.

    The UA is taken by an earlier opening of the same nexus without fault
    options, so the faults' counters start with the test's own commands.
    """
    name, options = sim.parse_target(spec.removeprefix("sim:"))
    plain = "&".join(f"{k}={v}" for k, v in options.items() if k.partition(".")[0] not in OPTIONS)
    first = Channel.open(f"sim:{name}?{plain}" if plain else f"sim:{name}", initiator=initiator)
    with pytest.raises(UnitAttention):
        first.execute(TestUnitReady())
    first.close()
    return Channel.open(spec, initiator=initiator, block_size=BS, **kwargs)


def read(ch: Channel, lba: int, blocks: int = 1, **kw: object):
    return ch.execute(Read10(lba=lba, transfer_length=blocks), **kw)


def write(ch: Channel, lba: int, blocks: int = 1, fill: int = 0xA5, **kw: object):
    return ch.execute(Write10(lba=lba, data=bytes([fill]) * (BS * blocks)), **kw)


def outcomes(ios: list) -> list[str]:
    return ["ok" if io.error is None else type(io.error).__name__ for io in ios]


# ------------------------------------------------------------ medium errors


def test_read_of_a_bad_range_is_a_medium_error_at_the_first_bad_lba() -> None:
    ch = opened("sim:d?blocks=4096&medium_error=1000-1099")
    with pytest.raises(MediumError) as info:
        read(ch, 990, 20)
    sense = info.value.sense
    assert (sense.asc, sense.ascq) == (0x11, 0x00)
    assert sense.valid and sense.information == 1000
    read(ch, 999)  # just before the range
    read(ch, 1100, 8)  # just after it
    with pytest.raises(MediumError) as last:
        read(ch, 1099)
    assert last.value.sense.information == 1099


def test_a_write_repairs_read_only_bad_blocks_but_not_sticky_ones() -> None:
    ch = opened("sim:d?blocks=4096&medium_error=1000-1003")
    write(ch, 1001, fill=0x5A)  # writes to a read-bad block succeed, as on a drive
    assert read(ch, 1001).data == b"\x5a" * BS  # and the block reads again
    with pytest.raises(MediumError) as rest:
        read(ch, 1000, 4)
    assert rest.value.sense.information == 1000
    with pytest.raises(MediumError) as tail:
        read(ch, 1002, 2)
    assert tail.value.sense.information == 1002

    sticky = opened("sim:e?blocks=4096&medium_error=7&medium_repair=false")
    write(sticky, 7)
    with pytest.raises(MediumError):
        read(sticky, 7)


def test_write_and_both_ranges() -> None:
    ch = opened("sim:d?blocks=4096&medium_error=100-199:write&medium_error=300-309:both")
    with pytest.raises(MediumError) as info:
        write(ch, 150, 4)
    sense = info.value.sense
    assert (sense.asc, sense.ascq, sense.information) == (0x0C, 0x00, 150)
    read(ch, 150, 4)  # reads of a write-bad range are fine
    with pytest.raises(MediumError) as both_w:
        write(ch, 305)
    assert both_w.value.sense.asc == 0x0C
    with pytest.raises(MediumError) as both_r:
        read(ch, 298, 4)
    assert (both_r.value.sense.asc, both_r.value.sense.information) == (0x11, 300)


def test_medium_errors_are_per_logical_unit_not_per_nexus() -> None:
    a = opened("sim:d?blocks=4096&medium_error=64-127", initiator="host-a")
    b = opened("sim:d", initiator="host-b")  # no options: the faults stay as they are
    for ch in (a, b):
        with pytest.raises(MediumError):
            read(ch, 64)


# ------------------------------------------------------- sense on commands


def test_every_nth_command_fails_with_the_chosen_sense() -> None:
    ch = opened("sim:d?every_nth=3:ABORTED_COMMAND/0x47/0x00")
    ios = [ch.execute(TestUnitReady(), check=False) for _ in range(7)]
    assert outcomes(ios) == ["ok", "ok", "AbortedCommand", "ok", "ok", "AbortedCommand", "ok"]
    assert (ios[2].sense.asc, ios[2].sense.ascq) == (0x47, 0x00)


def test_every_nth_of_one_command_kind_counts_only_that_kind() -> None:
    ch = opened("sim:d?every_nth=2:MEDIUM_ERROR/11/00:Read10")
    ch.execute(TestUnitReady())
    read(ch, 0)
    ch.execute(TestUnitReady())
    with pytest.raises(MediumError) as info:
        read(ch, 0)
    assert info.value.sense.asc == 0x11
    read(ch, 0)


def test_every_nth_counts_the_commands_of_every_nexus() -> None:
    b = opened("sim:d", initiator="host-b")
    a = opened("sim:d?every_nth=2:ABORTED_COMMAND", initiator="host-a")
    a.execute(TestUnitReady())
    with pytest.raises(AbortedCommand):
        b.execute(TestUnitReady())


def test_sense_on_a_command_for_a_count_of_times() -> None:
    ch = opened("sim:d?sense_on=Read10:HARDWARE_ERROR/44/00:2")
    ch.execute(TestUnitReady())  # other commands are untouched
    for _ in range(2):
        with pytest.raises(HardwareError) as info:
            read(ch, 0)
        assert (info.value.sense.asc, info.value.sense.ascq) == (0x44, 0x00)
    read(ch, 0)


def test_sense_on_takes_named_conditions_and_statuses() -> None:
    ch = opened("sim:d?sense_on=Write10:UNRECOVERED_READ_ERROR,Inquiry:BUSY")
    with pytest.raises(MediumError) as info:
        write(ch, 0)
    assert info.value.sense.asc == 0x11
    with pytest.raises(Busy):
        ch.execute(Inquiry(allocation_length=36))


def test_injected_sense_comes_before_a_pending_unit_attention() -> None:
    ch = Channel.open("sim:d?every_nth=1:ABORTED_COMMAND")  # a new nexus: power-on UA pending
    with pytest.raises(AbortedCommand):
        ch.execute(TestUnitReady())
    sim.targets()["d"].lu().faults.configure("every_nth=")
    with pytest.raises(UnitAttention):  # the power-on UA was not lost to the fault
        ch.execute(TestUnitReady())


# ------------------------------------------------------ BUSY, TASK SET FULL


def test_busy_and_task_set_full_every_nth() -> None:
    ch = opened("sim:d?busy_every=2")
    ios = [ch.execute(TestUnitReady(), check=False) for _ in range(4)]
    assert outcomes(ios) == ["ok", "Busy", "ok", "Busy"]
    full = opened("sim:e?task_set_full_every=3")
    ios = [full.execute(TestUnitReady(), check=False) for _ in range(3)]
    assert outcomes(ios) == ["ok", "ok", "TaskSetFull"]
    assert isinstance(ios[2].error, TaskSetFull)


def test_task_set_full_above_a_queue_depth() -> None:
    ch = opened("sim:d?task_set_full_above=2&latency=40ms", queue_depth=8)
    ios = ch.execute_many([Read10(lba=i, transfer_length=1) for i in range(5)], wait=False)
    ch.wait()
    assert outcomes(ios) == ["ok", "ok", "TaskSetFull", "TaskSetFull", "TaskSetFull"]
    # Refused commands are not held for the latency: the device never took them.
    assert [io.device_duration for io in ios] == [0.04, 0.04, 0.0, 0.0, 0.0]
    assert all(io.duration >= 0.04 for io in ios[:2])
    read(ch, 0)  # the set has drained: accepted again


def test_task_set_full_counts_every_nexus() -> None:
    a = opened("sim:d?task_set_full_above=1&latency=40ms", initiator="host-a")
    b = opened("sim:d", initiator="host-b")
    held = a.execute(TestUnitReady(), wait=False)
    a.poll()
    with pytest.raises(TaskSetFull):
        b.execute(TestUnitReady())
    held.wait()


# -------------------------------------------------------------- hangs


def test_a_hung_command_times_out_and_the_channel_stays_usable() -> None:
    ch = opened("sim:d?hang=Read10", timeout=0.05)
    start = time.perf_counter()
    with pytest.raises(CommandTimeout):
        read(ch, 0)
    assert 0.05 <= time.perf_counter() - start < 1.0
    ch.execute(TestUnitReady())
    assert ch.transport.in_flight == 0
    with pytest.raises(CommandTimeout):
        read(ch, 1)
    sim.targets()["d"].lu().faults.configure({"hang": None})
    read(ch, 0)


def test_hang_every_nth() -> None:
    ch = opened("sim:d?hang_every=3", timeout=0.05)
    ios = [ch.execute(TestUnitReady(), check=False) for _ in range(6)]
    assert outcomes(ios) == ["ok", "ok", "CommandTimeout"] * 2


# ------------------------------------------------------------- latency


def test_fixed_latency_is_the_least_a_command_takes() -> None:
    ch = opened("sim:d?latency=15ms")
    for _ in range(3):
        io = ch.execute(TestUnitReady())
        assert io.duration >= 0.015
        assert io.device_duration == pytest.approx(0.015)


def test_uniform_latency_stays_within_its_bounds_and_replays_with_its_seed() -> None:
    def durations(name: str, seed: int) -> list[float]:
        ch = opened(f"sim:{name}?latency=uniform:2ms:6ms&seed={seed}")
        ios = ch.execute_many([TestUnitReady() for _ in range(30)])
        return [io.device_duration for io in ios]

    first = durations("a", 7)
    assert all(0.002 <= d <= 0.006 for d in first)
    assert max(first) - min(first) > 0.001  # it is a distribution, not a constant
    assert durations("b", 7) == first
    assert durations("c", 8) != first


def test_exponential_latency_with_a_cap() -> None:
    ch = opened("sim:d?latency=exp:1ms:3ms&seed=1")
    ios = ch.execute_many([TestUnitReady() for _ in range(50)])
    drawn = [io.device_duration for io in ios]
    assert max(drawn) <= 0.003 and min(drawn) < 0.001
    for io in ios:
        assert io.duration >= io.device_duration


def test_latency_per_command_kind_touches_only_that_kind() -> None:
    ch = opened("sim:d?latency.Read10=25ms")
    assert read(ch, 0).duration >= 0.025
    tur = ch.execute(TestUnitReady())
    assert tur.device_duration == 0.0  # the device answered at once (wall time varies with load)
    write(ch, 0)
    other = ch.execute(Write10(lba=1, data=bytes(BS)))
    assert other.device_duration == 0.0


# --------------------------------------------------------- the device going away


def test_gone_after_n_commands_submissions_fail_with_enodev() -> None:
    ch = opened("sim:d?gone_after=3")
    for _ in range(3):
        ch.execute(TestUnitReady())
    with pytest.raises(TransportError) as info:
        ch.execute(TestUnitReady())
    assert info.value.errno == errno.ENODEV
    with pytest.raises(TransportError):  # and it stays gone
        read(ch, 0)
    with pytest.raises(TransportError):  # a new opening cannot reach it either
        Channel.open("sim:d")
    revived = Channel.open("sim:d?gone_after=", initiator="host-a")
    revived.execute(TestUnitReady())


def test_commands_in_flight_when_the_device_goes_end_with_did_no_connect() -> None:
    ch = opened("sim:d?gone_after=3&latency=300ms")
    ios = ch.execute_many([TestUnitReady() for _ in range(5)], wait=False)
    ch.wait()
    assert outcomes(ios) == ["HostError"] * 3 + ["TransportError"] * 2
    assert all(io.host_status == HostStatus.DID_NO_CONNECT for io in ios[:3])
    assert isinstance(ios[0].error, HostError) and ios[0].duration < 0.3  # not held
    assert ios[3].error.errno == errno.ENODEV


def test_answers_delivered_before_the_device_went_stand() -> None:
    b = opened("sim:d", initiator="host-b")
    a = opened("sim:d?gone_after=2", initiator="host-a")
    a.execute(TestUnitReady())
    b.execute(TestUnitReady())  # the second command: served, then the device goes
    for ch in (a, b):
        with pytest.raises(TransportError):
            ch.execute(TestUnitReady())


# ------------------------------------------------------------- configuration


def test_structured_options_as_a_spec_device_entry_gives_them() -> None:
    ch = opened("sim:d?blocks=4096")
    faults = sim.targets()["d"].lu().faults
    faults.configure(
        {
            "faults": {
                "medium_error": [{"start": 10, "end": 19, "on": "write"}, [40, 41], "50"],
                "sense_on": {"Inquiry": {"key": "ABORTED_COMMAND", "asc": 0x47, "ascq": 0}},
                "latency": {"Read10": 0.01, "default": "0s"},
                "every_nth": [{"n": 2, "status": "BUSY", "command": "Write10"}],
            }
        }
    )
    with pytest.raises(MediumError):
        write(ch, 12)
    with pytest.raises(MediumError):
        read(ch, 41)
    with pytest.raises(MediumError):
        read(ch, 50)
    with pytest.raises(AbortedCommand) as info:
        ch.execute(Inquiry(allocation_length=36))
    assert info.value.sense.asc == 0x47
    assert read(ch, 0).duration >= 0.01
    with pytest.raises(Busy):  # the second WRITE(10): the first one hit the bad range
        write(ch, 0)
    write(ch, 0)
    assert faults.describe()["medium_error"] == "10-19:write,40-41:read,50-50:read"


def test_text_options_given_to_configure_directly() -> None:
    ch = opened("sim:d")
    sim.targets()["d"].lu().faults.configure("busy_every=1")
    with pytest.raises(Busy):
        ch.execute(TestUnitReady())
    sim.targets()["d"].lu().faults.clear()
    ch.execute(TestUnitReady())


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("sim:x?medium_errors=5", "unknown sim option 'medium_errors' (did you mean medium_error"),
        ("sim:x?lantency=2ms", "(did you mean latency"),
        ("sim:x?blocks=8&block=8", "(did you mean blocks"),
        ("sim:x?every_nth=3:ABORTED/47/00", "did you mean TASK_ABORTED, COPY_ABORTED, ABORTED_"),
        ("sim:x?every_nth=3", "write N:OUTCOME[:Command]"),
        ("sim:x?every_nth=3:ILLEGAL_REQUEST/zz/00", "'zz' is not a hex byte"),
        ("sim:x?sense_on=Raed10:BUSY", "unknown command 'Raed10' (did you mean Read10"),
        ("sim:x?latency=5", "'5' needs a unit (5ms, 5us, 5s)"),
        ("sim:x?latency=poisson:1ms", "write 2ms, uniform:LOW:HIGH"),
        ("sim:x?latency.Read10=fast", "'fast' is not a duration"),
        ("sim:x?medium_error=9-3", "the range ends before it starts"),
        ("sim:x?medium_error=1:sideways", "the mode is read, write or both"),
        ("sim:x?blocks=16&medium_error=99", "LBA 99 is past the last LBA 15"),
        ("sim:x?busy_every=0", "busy_every=0: 0 must be at least 1"),
        ("sim:x?gone_after=soon", "gone_after=soon: 'soon' is not a number"),
        ("sim:x?queue_depth=0", "queue_depth=0 must be 1..65536"),
        ("sim:x?blocks=8&blocks=9", "option 'blocks' is given twice"),
        ("sim:x?medium_repair=maybe", "'maybe' is not a boolean"),
    ],
)
def test_option_errors_are_one_clear_message(spec: str, words: str) -> None:
    with pytest.raises(UsageError) as info:
        Channel.open(spec)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_a_bad_option_applies_nothing() -> None:
    ch = opened("sim:d")
    faults = sim.targets()["d"].lu().faults
    with pytest.raises(UsageError):
        faults.configure({"busy_every": 1, "hang": "NoSuchCommand"})
    ch.execute(TestUnitReady())
    assert faults.describe() == {}


def test_unknown_key_in_a_structured_entry_names_the_fault_options() -> None:
    faults = sim.get_target("d")[0].lu().faults
    with pytest.raises(UsageError) as info:
        faults.configure({"gone_afer": 3})
    assert "did you mean gone_after" in str(info.value)
    assert "known: busy_every, every_nth" in str(info.value)


def test_no_fault_configured_means_the_fast_path() -> None:
    ch = opened("sim:d")
    faults = sim.targets()["d"].lu().faults
    assert not faults.timing
    calls = []
    ch.transport.lu.faults.delay = lambda cdb: calls.append(cdb) or 0.0  # type: ignore[method-assign]
    io = ch.execute(TestUnitReady())
    assert io.device_duration == 0.0 and calls == []  # answered in the caller, nothing delayed


def test_describe_gives_options_that_configure_takes_back() -> None:
    options = (
        "medium_error=5-9,20:both&medium_repair=false&every_nth=3:ABORTED_COMMAND/47/0:Read10"
        "&sense_on=Read10:BUSY:2,Inquiry:UNRECOVERED_READ_ERROR&busy_every=4&hang=Read10"
        "&latency=uniform:1ms:5ms&latency.Write10=exp:1ms:3ms&gone_after=9&seed=3"
    )
    first = sim.get_target("a", sim.parse_target(f"a?{options}")[1])[0].lu().faults
    first.configure(sim.parse_target(f"a?{options}")[1])
    text = first.describe()
    assert text["sense_on"] == "Read10:BUSY:2,Inquiry:MEDIUM_ERROR/11h/00h"
    assert text["latency.Write10"] == "exp:1ms:3ms"
    second = sim.get_target("b")[0].lu().faults
    second.configure(text)
    assert second.describe() == text


def test_blocks_marked_bad_later_read_as_medium_errors() -> None:
    ch = opened("sim:d?blocks=4096")
    faults = sim.targets()["d"].lu().faults
    faults.mark(10, 2)  # what WRITE LONG with WR_UNCOR asks for
    with pytest.raises(MediumError) as info:
        read(ch, 8, 4)
    assert info.value.sense.information == 10
    assert faults.describe() == {"medium_error": "10-11:read"}

"""The ``sim:`` transport under the reactor: queue depth, many channels, threads, held completions."""

from __future__ import annotations

import threading
import time

import pytest

import sgscript.sim as sim
from sgscript import Channel, Reactor
from sgscript.scsi.commands import Read10, TestUnitReady, Write10
from sgscript.scsi.errors import CommandTimeout, HostError, TaskSetFull, UnitAttention
from sgscript.transport.linux.codes import HostStatus

BS = 512


pytestmark = pytest.mark.usefixtures("fresh_sim")


def ready(ch: Channel) -> Channel:
    """Consume the power-on unit attention every new nexus gets first."""
    with pytest.raises(UnitAttention):
        ch.execute(TestUnitReady())
    return ch


def pattern(lba: int) -> bytes:
    return lba.to_bytes(8, "big") * (BS // 8)


def test_never_more_than_queue_depth_in_flight_and_no_error() -> None:
    ch = ready(Channel.open("sim:q?latency=3ms&task_set_full_above=4", queue_depth=4))
    ios = ch.execute_many([Read10(lba=i, transfer_length=1) for i in range(40)], wait=False)
    ch.wait()
    assert all(io.ok for io in ios)  # task_set_full_above=4 proves the device never saw a 5th
    assert ch.transport.peak == 4
    assert ch.transport.in_flight == 0


def test_queue_depth_as_a_target_option_per_nexus() -> None:
    a = ready(Channel.open("sim:q?latency=2ms&queue_depth=2", initiator="host-a"))
    b = ready(Channel.open("sim:q?queue_depth=6", initiator="host-b"))
    for ch in (a, b):
        ch.execute_many([TestUnitReady() for _ in range(20)])
    assert (a.transport.peak, b.transport.peak) == (2, 6)


def test_data_written_through_the_reactor_reads_back() -> None:
    ch = ready(Channel.open("sim:d?latency=uniform:0ms:2ms", queue_depth=8, block_size=BS))
    ch.execute_many([Write10(lba=i, data=pattern(i)) for i in range(32)])
    ios = ch.execute_many([Read10(lba=i, transfer_length=1) for i in range(32)])
    assert [io.data for io in ios] == [pattern(i) for i in range(32)]


def _spread(reactor: Reactor, channels: int, per_channel: int) -> list[tuple[Channel, list]]:
    opened = []
    for n in range(channels):
        # Two nexuses on each of channels/2 targets: shared LUs and separate ones.
        ch = Channel.open(
            f"sim:t{n // 2}?latency=uniform:0ms:3ms&seed={n}",
            initiator=f"host-{n}",
            queue_depth=16,
            reactor=reactor,
            block_size=BS,
        )
        ch.execute(TestUnitReady(), check=False)
        ios = ch.execute_many(
            [Read10(lba=n * 1000 + i, transfer_length=1) for i in range(per_channel)], wait=False
        )
        opened.append((ch, ios))
    return opened


def test_many_commands_on_several_channels_through_one_reactor() -> None:
    with Reactor() as reactor:
        opened = _spread(reactor, channels=8, per_channel=64)
        for ch, _ in opened:
            ch.wait()
        for ch, ios in opened:
            assert all(io.ok for io in ios)
            assert ch.transport.peak <= 16


def test_the_threaded_reactor_drives_sim_channels() -> None:
    reactor = Reactor().start()
    try:
        opened = _spread(reactor, channels=4, per_channel=50)
        errors: list[BaseException] = []

        def more(ch: Channel) -> None:
            try:
                ch.execute_many([TestUnitReady() for _ in range(50)])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=more, args=(ch,)) for ch, _ in opened]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        for _, ios in opened:
            for io in ios:
                io.wait(5)
        assert not errors
        assert all(io.ok for _, ios in opened for io in ios)
    finally:
        reactor.close()


def _timed_batch(ch: Channel, n: int) -> tuple[float, int]:
    calls = 0
    run_once = ch.reactor.run_once

    def counted(timeout: float | None = 0.0) -> int:
        nonlocal calls
        calls += 1
        return run_once(timeout)

    ch.reactor.run_once = counted  # type: ignore[method-assign]
    start = time.perf_counter()
    ch.execute_many([TestUnitReady() for _ in range(n)])
    return time.perf_counter() - start, calls


def test_held_completions_wake_the_reactor_without_busy_looping() -> None:
    ch = ready(Channel.open("sim:d?latency=20ms", queue_depth=32))
    wall, loops = _timed_batch(ch, 20)
    assert ch.transport.peak == 20  # concurrent, not 20 x 20 ms one after the other
    assert 0.02 <= wall < 4.0  # (a wall-clock ceiling near 400 ms fails under load)
    assert loops <= 10  # it slept until they were due instead of spinning


def test_the_threaded_reactor_wakes_for_held_completions() -> None:
    reactor = Reactor().start()
    try:
        ch = ready(Channel.open("sim:d?latency=20ms", queue_depth=32, reactor=reactor))
        cpu = time.process_time()
        start = time.perf_counter()
        ch.execute_many([TestUnitReady() for _ in range(20)])
        wall = time.perf_counter() - start
        assert ch.transport.peak == 20  # concurrent, not 20 x 20 ms one after the other
        assert 0.02 <= wall < 4.0
        assert time.process_time() - cpu < wall  # mostly asleep, never spinning
    finally:
        reactor.close()


def test_reset_ends_hung_commands_with_did_reset_and_warns_every_nexus() -> None:
    a = ready(Channel.open("sim:r?hang=Read10", initiator="host-a", block_size=BS))
    b = ready(Channel.open("sim:r", initiator="host-b", block_size=BS, timeout=0.1))
    hung = a.execute(Read10(lba=0, transfer_length=1), wait=False)
    other = b.execute(Read10(lba=0, transfer_length=1), wait=False)
    a.poll()
    a.reset("device")
    hung.wait(check=False)
    assert isinstance(hung.error, HostError)
    assert hung.host_status == HostStatus.DID_RESET
    # The other nexus's command was aborted with the task set: it never completes.
    other.wait(check=False)
    assert isinstance(other.error, CommandTimeout)
    for ch in (a, b):
        with pytest.raises(UnitAttention) as info:
            ch.execute(TestUnitReady())
        assert (info.value.sense.asc, info.value.sense.ascq) == (0x29, 0x03)
        ch.execute(TestUnitReady())


def test_reset_from_another_thread_reaches_the_threaded_reactor() -> None:
    reactor = Reactor().start()
    try:
        ch = ready(Channel.open("sim:r?hang=Read10", reactor=reactor, block_size=BS))
        hung = ch.execute(Read10(lba=0, transfer_length=1), wait=False)
        time.sleep(0.01)
        ch.reset("lun")
        hung.wait(2, check=False)
        assert hung.host_status == HostStatus.DID_RESET
    finally:
        reactor.close()


def test_refused_commands_return_at_once_and_leave_the_queue() -> None:
    ch = ready(Channel.open("sim:d?task_set_full_above=1&latency=30ms", queue_depth=4))
    ios = ch.execute_many([TestUnitReady() for _ in range(4)], wait=False)
    ios[1].wait(check=False)
    assert isinstance(ios[1].error, TaskSetFull) and not ios[0].done
    ch.wait()
    assert ch.transport.in_flight == 0


def test_closing_a_channel_detaches_it_from_the_logical_unit() -> None:
    ch = Channel.open("sim:d")
    faults = sim.targets()["d"].lu().faults
    assert ch.transport in faults.ports
    ch.close()
    assert not faults.ports


def test_the_blocking_path_reports_data_and_duration() -> None:
    ch = ready(Channel.open("sim:d", block_size=BS))
    ch.execute(Write10(lba=5, data=pattern(5)))
    io = ch.execute(Read10(lba=5, transfer_length=1))
    assert io.data == pattern(5)
    assert io.duration > 0 and io.device_duration == 0.0

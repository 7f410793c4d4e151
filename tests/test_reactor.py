"""The reactor and channel against a scripted transport: queueing, order, timeouts, threads."""

from __future__ import annotations

import threading

import pytest

from fake_transport import GOOD, FakeTransport, Probe
from sgscript import Channel, Reactor, handler
from sgscript.scsi.errors import (
    CommandTimeout,
    ExpectationFailed,
    IllegalRequest,
    MediumError,
    ReservationConflict,
    TaskFailed,
)

# Fixed-format sense: ILLEGAL REQUEST, LBA out of range (21h/00h).
LBA_OUT_OF_RANGE = bytes.fromhex("700005000000000a00000000210000000000")
# Fixed format, VALID, MEDIUM ERROR, information 0x1000, unrecovered read error (11h/00h).
MEDIUM_AT_1000 = bytes.fromhex("f00003000010000a00000000110000000000")


def scripted(cmd: Probe) -> tuple[int, bytes, bytes]:
    lba = cmd.logical_block_address
    if lba == 0xBAD:
        return 2, LBA_OUT_OF_RANGE, b""
    if lba == 0x1000:
        return 2, MEDIUM_AT_1000, b""
    if lba == 0x1818:
        return 0x18, b"", b""
    return 0, b"", lba.to_bytes(4, "big")


@pytest.fixture
def fake() -> FakeTransport:
    return FakeTransport(reply=scripted)


@pytest.fixture
def channel(fake: FakeTransport) -> Channel:
    ch = Channel(fake, block_size=512)
    yield ch
    ch.close()


def test_64_in_flight_never_exceed_the_transport_queue(
    fake: FakeTransport, channel: Channel
) -> None:
    ios = channel.execute_many([Probe(lba=i, allocation_length=4) for i in range(64)], wait=False)
    channel.wait()
    assert all(io.done and io.error is None for io in ios)
    assert [io.data for io in ios] == [i.to_bytes(4, "big") for i in range(64)]
    assert fake.max_seen == 16  # queued in user space past the driver's 16
    assert [io.command.logical_block_address for io in fake.submitted] == list(range(64))


def test_partial_acceptance_is_queued_not_raised() -> None:
    fake = FakeTransport(refuse_after=3)  # the driver says EDOM after 3 at a time
    with Channel(fake) as ch:
        ios = ch.execute_many([Probe(lba=i, allocation_length=4) for i in range(40)])
        assert len(ios) == 40 and all(io.ok for io in ios)
        assert fake.max_seen <= 3


def test_failures_raise_their_own_class(channel: Channel) -> None:
    with pytest.raises(IllegalRequest) as info:
        channel.execute(Probe(lba=0xBAD, allocation_length=4))
    assert info.value.sense.asc == 0x21
    assert "Logical block address out of range" in str(info.value)
    with pytest.raises(MediumError) as medium:
        channel.execute(Probe(lba=0x1000, allocation_length=4))
    assert "Probe(lba=0x1000" in str(medium.value)
    assert "Medium Error" in str(medium.value) and "0x1000" in str(medium.value)
    with pytest.raises(ReservationConflict):
        channel.execute(Probe(lba=0x1818))
    assert isinstance(info.value, TaskFailed)  # the seed's catch-all still works


def test_must_fail_and_might_fail(channel: Channel) -> None:
    io = channel.execute(Probe(lba=0xBAD, allocation_length=4, verify_handler=handler.must_fail))
    assert io.ok and isinstance(io.failure, IllegalRequest)
    channel.execute(
        Probe(lba=0xBAD, verify_handler=handler.must_fail(sense_key="ILLEGAL_REQUEST", asc=0x21))
    )
    with pytest.raises(ExpectationFailed, match="succeeded"):
        channel.execute(Probe(lba=1, allocation_length=4, verify_handler=handler.must_fail))
    with pytest.raises(ExpectationFailed, match="expected Medium Error"):
        channel.execute(
            Probe(lba=0xBAD, verify_handler=handler.must_fail(sense_key="MEDIUM_ERROR"))
        )
    channel.execute(Probe(lba=1, verify_handler=handler.might_fail(IllegalRequest)))
    channel.execute(Probe(lba=0xBAD, verify_handler=handler.might_fail(IllegalRequest)))
    with pytest.raises(ReservationConflict):  # might fail, but not this way
        channel.execute(Probe(lba=0x1818, verify_handler=handler.might_fail(IllegalRequest)))


def test_handlers_see_every_completion(channel: Channel) -> None:
    seen: list[float] = []
    cmd = Probe(lba=3, allocation_length=4).add_handler(lambda io: seen.append(io.duration))
    channel.execute_many([cmd, cmd, cmd])
    assert len(seen) == 3 and all(d >= 0 for d in seen)


def test_async_io_poll_and_wait(channel: Channel) -> None:
    pending = channel.execute(Probe(lba=7, allocation_length=4), wait=False)
    assert not pending.done
    pending.wait()
    assert pending.poll() and pending.data == (7).to_bytes(4, "big")
    assert channel.poll()


def test_ordered_io_is_a_barrier() -> None:
    fake = FakeTransport(hang=[1])
    with Channel(fake) as ch:
        first = ch.execute(Probe(lba=1), wait=False)
        barrier = ch.execute(Probe(lba=2), wait=False, ordered=True)
        after = ch.execute(Probe(lba=3), wait=False)
        ch.poll()
        assert [io.command.logical_block_address for io in fake.flight] == [1]
        fake.release(1)
        ch.wait()
        order = [io.command.logical_block_address for io in fake.submitted]
        assert order == [1, 2, 3]
        assert first.ok and barrier.ok and after.ok


def test_timeout_is_reported_and_channel_stays_usable() -> None:
    fake = FakeTransport(hang=[9], reply=scripted)
    with Channel(fake, timeout=0.05) as ch:
        with pytest.raises(CommandTimeout, match="timed out"):
            ch.execute(Probe(lba=9))
        assert fake.abandoned and fake.abandoned[0].timed_out
        assert ch.execute(Probe(lba=1, allocation_length=4)).data == (1).to_bytes(4, "big")


def test_two_channels_one_reactor() -> None:
    a, b = FakeTransport("fake:a"), FakeTransport("fake:b")
    with Reactor() as reactor:
        cha, chb = Channel(a, reactor=reactor), Channel(b, reactor=reactor)
        ios = [ch.execute(Probe(lba=i), wait=False) for i in range(50) for ch in (cha, chb)]
        reactor.run(ios)
        assert all(io.ok for io in ios)
        assert len(a.submitted) == len(b.submitted) == 50


def test_reactor_in_a_thread_takes_submissions_from_many_threads() -> None:
    fakes = [FakeTransport(f"fake:{n}") for n in range(4)]
    with Reactor().start() as reactor:
        channels = [Channel(f, reactor=reactor) for f in fakes]
        results: list[list] = [[] for _ in channels]

        def worker(n: int) -> None:
            results[n] = channels[n].execute_many([Probe(lba=i) for i in range(200)])

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert all(len(r) == 200 and all(io.ok for io in r) for r in results)
        assert reactor.threaded


def test_sync_path_used_when_idle() -> None:
    fake = FakeTransport(sync=True, reply=lambda c: GOOD)
    with Channel(fake) as ch:
        ch.execute(Probe(lba=1))
        assert fake.sync_calls == 1
        ios = ch.execute_many([Probe(lba=2), Probe(lba=3)])
        assert fake.sync_calls == 1 and all(io.ok for io in ios)


def test_close_reaps_commands_in_flight() -> None:
    fake = FakeTransport()
    ch = Channel(fake)
    ios = ch.execute_many([Probe(lba=i) for i in range(20)], wait=False)
    ch.close()
    assert all(io.done for io in ios) and fake.closed
    with pytest.raises(TaskFailed, match="closed"):
        ch.execute(Probe(lba=1))


def test_wait_without_anything_in_flight_does_not_hang() -> None:
    fake = FakeTransport(hang=[5])
    with Channel(fake, timeout=0.05) as ch:
        io = ch.execute(Probe(lba=5), wait=False)
        with pytest.raises(TimeoutError):
            ch.wait(timeout=0.01)
        ch.wait()
        assert io.timed_out and isinstance(io.error, CommandTimeout)


def test_block_size_is_learned_once_and_sizes_inferred_lengths() -> None:
    from sgscript.command import Read10, ReadCapacity10, Write10

    def disk(cmd):  # a 4 KiB-sector disk of 1000 blocks
        if isinstance(cmd, ReadCapacity10):
            return 0, b"", (999).to_bytes(4, "big") + (4096).to_bytes(4, "big")
        return GOOD

    fake = FakeTransport(reply=disk, sync=True)
    with Channel(fake) as ch:
        write = Write10(lba=0, data=bytes(8192))  # 2 blocks of 4 KiB, not 16 of 512
        io = ch.execute(write)
        assert io.cdb[7:9] == b"\x00\x02" and write.transfer_length == 2
        read = ch.execute(Read10(lba=0, transfer_length=3))
        assert read.dxfer_len == 3 * 4096
        assert fake.sync_calls == 3 and ch.block_size == 4096  # one READ CAPACITY, two commands
        with pytest.raises(ValueError, match="whole number of 4096-byte blocks"):
            ch.execute(Write10(lba=0, data=bytes(512)))


# ----------------------------------------------------------------- no wait without a deadline


def test_a_transport_that_takes_nothing_with_nothing_in_flight_fails_the_command() -> None:
    stuck = FakeTransport(refuse_after=0)  # "full" with an empty queue: nothing will make room
    ch = Channel(stuck, block_size=512)
    io = ch.execute(Probe(logical_block_address=1, allocation_length=4), wait=False)
    io.wait(timeout=5, check=False)  # before: TimeoutError after 5 s (for ever without one)
    assert isinstance(io.failure, TaskFailed) and "took no command" in io.failure.detail
    assert ch.pending == 0
    ch.close()


def test_completions_that_cannot_be_read_fail_what_is_in_flight() -> None:
    from sgscript.scsi.errors import TransportError

    class Unreadable(FakeTransport):
        def reap(self, fd: int) -> list:
            raise TransportError(None, "read() from the sg driver failed: No such device")

    gone = Unreadable()
    ch = Channel(gone, block_size=512)
    ios = [
        ch.execute(Probe(logical_block_address=i, allocation_length=4), wait=False)
        for i in range(3)
    ]
    for io in ios:
        io.wait(timeout=5, check=False)
        assert "read() from the sg driver failed" in io.failure.detail
    ch.close()

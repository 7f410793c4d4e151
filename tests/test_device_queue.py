"""The reactor owns each device's queue: many submitting threads, exact counts, abandon."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from sgscript import Channel, Reactor
from sgscript.scsi.commands import Read10, TestUnitReady
from sgscript.scsi.errors import UnitAttention
from sgscript.transport.base import Io

pytestmark = pytest.mark.usefixtures("fresh_sim")

THREADS = 8
PER_THREAD = 300


def ready(ch: Channel) -> Channel:
    """Consume the power-on unit attention every new nexus gets first."""
    with pytest.raises(UnitAttention):
        ch.execute(TestUnitReady())
    return ch


def test_many_threads_submit_into_a_threaded_reactor_and_every_command_completes_once() -> None:
    seen: Counter[int] = Counter()
    lock = threading.Lock()

    def count(io: Io) -> None:
        with lock:
            seen[id(io)] += 1

    with Reactor().start() as reactor:
        # Two nexuses on one LU: each channel is fed by several threads at once, while the
        # reactor's thread completes commands (latency keeps a backlog behind depth 4).
        channels = [
            ready(
                Channel.open(
                    "sim:stress?latency=uniform:0ms:1ms",
                    reactor=reactor,
                    queue_depth=4,
                    initiator=f"host-{n}",
                    block_size=512,
                )
            )
            for n in range(2)
        ]
        submitted: list[list[Io]] = [[] for _ in range(THREADS)]
        start = threading.Barrier(THREADS)

        def worker(n: int) -> None:
            ch = channels[n % len(channels)]
            start.wait()
            for i in range(0, PER_THREAD, 3):
                commands = [
                    Read10(lba=(n * PER_THREAD + i + k) % 1000, transfer_length=1) for k in range(3)
                ]
                for command in commands:
                    command.add_handler(count)
                if i % 2:
                    submitted[n] += ch.execute_many(commands, wait=False, ordered=i % 9 == 0)
                else:
                    submitted[n] += [ch.submit(ch.make_io(c)) for c in commands]

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
        for ch in channels:
            ch.wait(timeout=60)

        ios = [io for chunk in submitted for io in chunk]
        assert len(ios) == THREADS * PER_THREAD
        assert all(io.done and io.ok for io in ios)
        assert len(seen) == len(ios) and set(seen.values()) == {1}  # none lost, none doubled
        for ch in channels:
            queue = ch.queue
            assert (queue.pending, queue.backlog, queue.in_flight) == (0, 0, 0)
            assert queue.barrier is None and ch.pending == 0
            assert ch.transport.peak <= 4


def test_abandon_forgets_what_is_pending_and_nothing_completes_later() -> None:
    reactor = Reactor()
    ch = ready(Channel.open("sim:held?hang=Read10", reactor=reactor, queue_depth=2, timeout=0.01))
    ios = ch.execute_many([Read10(lba=i, transfer_length=1) for i in range(5)], wait=False)
    assert (ch.queue.pending, ch.queue.in_flight, ch.queue.backlog) == (5, 2, 3)
    assert ch.queue.abandon() == 5
    assert (ch.queue.pending, ch.queue.in_flight, ch.queue.backlog) == (0, 0, 0)
    reactor.run_once(0.05)  # their deadlines have passed: they stay abandoned, not timed out
    assert not any(io.done for io in ios)
    ch.close()
    reactor.close()


def test_abandon_is_refused_from_outside_a_running_loop() -> None:
    with Reactor().start() as reactor:
        ch = ready(Channel.open("sim:other", reactor=reactor))
        with pytest.raises(RuntimeError, match="reactor's thread"):
            ch.queue.abandon()

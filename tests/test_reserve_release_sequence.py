"""The README's reserve_release scenario (its ``steps:``), written in Python against ``sim:``.

Two initiators on one simulated logical unit: RESERVE(6) keeps b off the medium
until RELEASE(6); then both hammer the unit at once and every command is GOOD.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from sgscript import Channel, Reactor, ReservationConflict, UnitAttention, command, handler
from sgscript.scsi.status import ScsiStatus, SenseKey
from sgscript.sim import forget_targets


@pytest.fixture
def devices() -> Iterator[tuple[Channel, Channel]]:
    """``a`` and ``b`` as the scenario binds them: sim:lu0, initiators host-a and host-b."""
    forget_targets()
    reactor = Reactor()
    a = Channel.open("sim:lu0", initiator="host-a", reactor=reactor)
    b = Channel.open("sim:lu0", initiator="host-b", reactor=reactor, queue_depth=16)
    # Each new I_T nexus first hears the power-on UNIT ATTENTION (29h/00h), as on a real
    # disk; the scenario's steps start after it.
    for ch in (a, b):
        ch.execute(command.TestUnitReady(verify_handler=handler.might_fail(UnitAttention)))
    yield a, b
    a.close()
    b.close()
    reactor.close()
    forget_targets()


def test_reserve_release_scenario(devices: tuple[Channel, Channel]) -> None:
    a, b = devices
    lba = 0

    # a reserves the logical unit
    a.execute(command.Reserve6())

    # b is refused
    io = b.execute(
        command.Read10(
            lba=lba, transfer_length=1, verify_handler=handler.must_fail(ReservationConflict)
        )
    )
    assert io.status == ScsiStatus.RESERVATION_CONFLICT

    # a reads its capacity
    io = a.execute(command.ReadCapacity10())
    last_lba = io.command.decode_response(io.data)["returned_logical_block_address"]
    assert last_lba == a.transport.lu.blocks - 1

    # past the end
    io = a.execute(
        command.Read16(
            lba=last_lba + 1,
            transfer_length=1,
            verify_handler=handler.must_fail(sense_key="ILLEGAL_REQUEST", asc=0x21, ascq=0x00),
        )
    )
    assert io.sense is not None and io.sense.sense_key == SenseKey.ILLEGAL_REQUEST

    # a releases
    a.execute(command.Release6())

    # parallel: 100 TEST UNIT READY from a, 1000 random READ(10) from b at queue depth 16
    rng = random.Random(1)
    in_flight: list[int] = []
    submit = b.transport.submit

    def watch(ios):  # type: ignore[no-untyped-def]
        started = submit(ios)
        in_flight.append(b.transport.in_flight)
        return started

    b.transport.submit = watch  # type: ignore[method-assign]
    turs = a.execute_many([command.TestUnitReady() for _ in range(100)], wait=False)
    reads = b.execute_many(
        [command.Read10(lba=rng.randint(0, last_lba), transfer_length=1) for _ in range(1000)],
        wait=False,
    )
    a.wait()
    b.wait()
    assert all(io.done and io.status == ScsiStatus.GOOD and io.error is None for io in turs)
    assert all(io.done and io.status == ScsiStatus.GOOD and io.error is None for io in reads)
    assert all(len(io.data) == 512 for io in reads)
    assert max(in_flight) == 16  # b kept its queue full, and no deeper than it was opened with

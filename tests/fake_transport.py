"""A scripted transport for reactor and channel tests: real fds, no device."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

from sgscript.scsi.cdb import Bytes, Command, Direction, F
from sgscript.transport.base import Io, Transport

Reply = tuple[int, bytes, bytes]  # status, sense, data-in
GOOD: Reply = (0, b"", b"")


class Probe(Command, register=False):
    """A test-only command: its LBA selects the scripted reply."""

    opcode = 0xC0
    length = 10
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (F("logical_block_address", 2, 7, 32), F("allocation_length", 7, 7, 16))


class FakeTransport(Transport):
    """Completes what it is given when reaped, in reverse order, except ``hang``-ed LBAs.

    ``refuse_after`` makes ``submit`` accept fewer than offered (the sg driver's
    EDOM); ``max_seen`` records the deepest queue the reactor ever built.
    """

    def __init__(
        self,
        target: str = "fake:0",
        *,
        capacity: int = 16,
        reply: Callable[[Command], Reply] | None = None,
        hang: Sequence[int] = (),
        refuse_after: int | None = None,
        sync: bool = False,
    ) -> None:
        self.target = target
        self.capacity = capacity
        self.reply = reply or (lambda cmd: GOOD)
        self.hang = set(hang)
        self.refuse_after = refuse_after
        self.sync = sync
        self._fd = os.eventfd(0, os.EFD_NONBLOCK)
        self.flight: list[Io] = []
        self.submitted: list[Io] = []
        self.max_seen = 0
        self.sync_calls = 0
        self.abandoned: list[Io] = []
        self.closed = False

    def fds(self) -> Sequence[int]:
        return [self._fd]

    @property
    def in_flight(self) -> int:
        return len(self.flight)

    def submit(self, ios: Sequence[Io]) -> int:
        room = self.capacity - len(self.flight)
        if self.refuse_after is not None:
            room = min(room, self.refuse_after - len(self.flight))
        take = list(ios)[: max(0, room)]
        now = time.perf_counter()
        for io in take:
            io.submitted_at = now
            self.flight.append(io)
            self.submitted.append(io)
        self.max_seen = max(self.max_seen, len(self.flight))
        if take:
            os.eventfd_write(self._fd, 1)
        return len(take)

    def _fill(self, io: Io) -> None:
        status, sense, data = self.reply(io.command)
        io.status, io.sense_raw = status, sense
        if io.buffer is not None:
            io.buffer[: len(data)] = data
            io.resid = io.dxfer_len - min(len(data), io.dxfer_len)

    def reap(self, fd: int) -> list[Io]:
        try:
            os.eventfd_read(self._fd)
        except BlockingIOError:
            return []
        ready = [
            io
            for io in self.flight
            if getattr(io.command, "logical_block_address", None) not in self.hang
        ]
        for io in ready:
            self.flight.remove(io)
            self._fill(io)
        ready.reverse()
        return ready

    def execute_sync(self, io: Io) -> bool:
        if not self.sync:
            return False
        self.sync_calls += 1
        io.submitted_at = time.perf_counter()
        self._fill(io)
        io.complete()
        return True

    def abandon(self, io: Io) -> None:
        self.abandoned.append(io)
        self.flight.remove(io)

    def release(self, lba: int) -> None:
        """Let hung commands at ``lba`` complete."""
        self.hang.discard(lba)
        os.eventfd_write(self._fd, 1)

    def close(self) -> None:
        self.closed = True
        os.close(self._fd)

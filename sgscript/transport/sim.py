"""``sim:`` targets through the reactor, the same way commands reach ``/dev/sg*``.

The simulated logical unit answers at submission; the completion is then
held for its latency (or forever, for a command told to hang) and delivered
through an eventfd the reactor polls, like the sg driver's readable fd.  A
queue-depth limit stands in for the driver's, so code that works on ``sim:``
exercises the paths it will use on real devices.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import itertools
import os
import time
from collections.abc import Sequence

from ..scsi.cdb import Direction
from ..scsi.errors import TransportError
from ..scsi.status import HostStatus
from ..sim.target import get_target, parse_target
from .base import Io, ResetKind, Transport

__all__ = ["SimTransport"]

_RESET_UA = {
    ResetKind.DEVICE: "BUS_DEVICE_RESET",
    ResetKind.TARGET: "BUS_DEVICE_RESET",
    ResetKind.BUS: "BUS_RESET",
    ResetKind.HOST: "BUS_RESET",
}


class SimTransport(Transport):
    """One I_T nexus to one simulated logical unit."""

    def __init__(self, spec: str, *, queue_depth: int = 64, initiator: str | None = None) -> None:
        name, options = parse_target(spec)
        initiator = options.pop("initiator", initiator)
        depth = options.pop("queue_depth", None)
        lun = int(options.pop("lun", "0"), 0)
        self.sim_target, rest = get_target(name, options)
        self.lu = self.sim_target.lu(lun)
        self.lu.faults.configure(rest)
        self.nexus = self.sim_target.new_nexus(initiator)
        self.target = f"sim:{name}" + (f"/{lun}" if lun else "")
        self.capacity = max(1, int(depth, 0) if depth else queue_depth)
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._ready: list[Io] = []
        self._timed: list[tuple[float, int, Io]] = []
        self._hung: dict[int, Io] = {}
        self._seq = itertools.count(1)
        self._in_flight = 0
        self._closed = False

    # -- Transport ---------------------------------------------------------------

    def fds(self) -> Sequence[int]:
        return [self._fd]

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def submit(self, ios: Sequence[Io]) -> int:
        started = 0
        lu = self.lu
        room = self.capacity - self._in_flight
        signal = False
        for io in ios:
            if started >= room:
                break
            if lu.faults.gone:
                io.os_error = OSError(errno.ENODEV, os.strerror(errno.ENODEV))
                raise TransportError(io, f"{self.target} is gone")
            now = time.perf_counter()
            io.submitted_at = now
            io.tag = next(self._seq)
            self._answer(io)
            delay = lu.faults.delay(io.cdb)
            self._in_flight += 1
            started += 1
            if delay is None:
                self._hung[io.tag] = io
            elif delay <= 0:
                io.completed_at = now
                self._ready.append(io)
                signal = True
            else:
                heapq.heappush(self._timed, (now + delay, io.tag, io))
        if signal:
            os.eventfd_write(self._fd, 1)
        return started

    def _answer(self, io: Io) -> None:
        direction = io.command.direction
        allocation = io.dxfer_len if direction is Direction.IN else 0
        data_out = (io.data_out or b"") if direction is Direction.OUT else b""
        resp = self.lu.execute(self.nexus, io.cdb, data_out, allocation)
        io.status = resp.status
        io.sense_raw = resp.sense
        if io.buffer is not None:
            n = len(resp.data)
            io.buffer[:n] = resp.data
            io.resid = io.dxfer_len - n
        if self.lu.faults.gone:
            io.host_status = HostStatus.DID_NO_CONNECT

    def next_due(self) -> float | None:
        return self._timed[0][0] if self._timed else None

    def reap(self, fd: int) -> list[Io]:
        with contextlib.suppress(BlockingIOError):
            os.eventfd_read(self._fd)
        done, self._ready = self._ready, []
        timed = self._timed
        if timed:
            now = time.perf_counter()
            while timed and timed[0][0] <= now:
                due, _, io = heapq.heappop(timed)
                io.completed_at = due
                done.append(io)
        self._in_flight -= len(done)
        return done

    def abandon(self, io: Io) -> None:
        if self._hung.pop(io.tag, None) is not None:
            self._in_flight -= 1
            return
        for i, (_, _, other) in enumerate(self._timed):
            if other is io:
                self._timed.pop(i)
                heapq.heapify(self._timed)
                self._in_flight -= 1
                return

    def reset(self, kind: ResetKind) -> None:
        from ..sim.core import C

        if kind is ResetKind.NOTHING:
            return
        condition = getattr(C, _RESET_UA[kind])
        for lu in self.sim_target.luns.values() if kind is not ResetKind.DEVICE else [self.lu]:
            lu.reset(condition)
        # Commands the reset aborted come back with DID_RESET, as the kernel reports them.
        for io in list(self._hung.values()):
            del self._hung[io.tag]
            io.host_status = HostStatus.DID_RESET
            io.completed_at = time.perf_counter()
            self._ready.append(io)
        if self._ready:
            os.eventfd_write(self._fd, 1)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._fd)

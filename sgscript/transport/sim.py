"""``sim:`` targets through the reactor, the same way commands reach ``/dev/sg*``.

The simulated logical unit answers at submission; the completion is then
held for its latency (or forever, for a command told to hang) and delivered
through a wake-up descriptor the reactor polls, like the sg driver's readable fd
(a socket pair, so ``sim:`` runs wherever Python's selectors do).
Completions held for latency are due at a known time: the reactor asks
``next_due()`` and sleeps until then instead of polling.  A queue-depth limit
per opening (``queue_depth``: the reactor never hands over more) stands in for
the driver's, so code that works on ``sim:`` exercises the paths it will use
on real devices.

Resets and the device going away can come from another thread (or another
nexus's completion path): they only queue an action and signal the descriptor;
the reactor's next ``reap`` applies it, so the queues are touched by the
reactor's thread alone.

- A reset ends this nexus's held commands with DID_RESET (as the kernel reports
  the commands its reset aborted) and queues the reset's UNIT ATTENTION for every
  nexus; other nexuses' held commands are aborted silently (SAM-5 with TAS=0):
  they never complete, and their reactor times them out.
- ``gone_after=N``: once the device is gone, submissions fail with ENODEV
  (``TransportError``) and every held command ends with DID_NO_CONNECT
  (``HostError``); answers already delivered stand.
- BUSY and TASK SET FULL come back at once (no latency): the device did not
  take the command into its task set.
"""

from __future__ import annotations

import errno
import heapq
import os
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from ..scsi.catalog import Catalog
from ..scsi.errors import TransportError, UsageError
from ..scsi.status import ScsiStatus
from ..sim.core import C
from ..sim.lu import Handler
from ..sim.target import get_target, option_int, target_options
from .base import Io, ResetKind, Transport
from .linux.codes import HostStatus, set_host_status
from .waker import Waker

__all__ = ["SimTransport"]

_RESET_UA = {
    ResetKind.DEVICE: C.BUS_DEVICE_RESET,
    ResetKind.TARGET: C.BUS_DEVICE_RESET,
    ResetKind.BUS: C.BUS_RESET,
    ResetKind.HOST: C.BUS_RESET,
}
#: Statuses a device returns without taking the command into its task set.
_REFUSED = frozenset({ScsiStatus.BUSY, ScsiStatus.TASK_SET_FULL})
_LOST, _RESET, _DROP = 1, 2, 3  # queued actions, applied by the reactor's next reap
_ENODEV = os.strerror(errno.ENODEV)


class SimTransport(Transport):
    """One I_T nexus to one simulated logical unit."""

    simulated = True

    def __init__(
        self,
        target: str,
        *,
        queue_depth: int = 16,
        initiator: str | None = None,
        options: Mapping[str, Any] | None = None,
        catalog: Catalog | None = None,
        handlers: Mapping[str, Handler] | None = None,
    ) -> None:
        name, merged = target_options(target, options)
        initiator = merged.pop("initiator", initiator)
        depth = merged.pop("queue_depth", None)
        lun = option_int("lun", str(merged.pop("lun", "0")))
        capacity = option_int("queue_depth", str(depth)) if depth is not None else queue_depth
        if not 1 <= capacity <= 65536:
            raise UsageError(f"sim:{name}: queue_depth={capacity} must be 1..65536")
        self.sim_target, rest = get_target(name, merged, catalog=catalog, handlers=handlers)
        self.lu = self.sim_target.lu(lun)
        faults = self.lu.faults
        faults.configure(rest)
        self.target = f"sim:{name}" + (f"/{lun}" if lun else "")
        if faults.gone:
            raise TransportError(
                None, f"cannot open {self.target}: {_ENODEV} (it is gone; gone_after= revives it)"
            )
        self.nexus = self.sim_target.new_nexus(initiator)
        self.capacity = capacity
        #: The deepest queue this nexus ever had in flight.
        self.peak = 0
        self._waker = Waker()
        self._signalled = False
        self._ready: list[Io] = []
        self._timed: list[tuple[float, int, Io]] = []  # (due, tag, io), a heap
        self._hung: dict[int, Io] = {}
        self._dropped: dict[int, Io] = {}  # aborted by another nexus's reset: never complete
        self._actions: deque[tuple[int, int]] = deque()  # (kind, last tag it applies to)
        self._tag = 0
        self._in_flight = 0
        self._closed = False
        faults.attach(self)

    # -- Transport ---------------------------------------------------------------

    def fds(self) -> Sequence[int]:
        return [self._waker.fileno()]

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def submit(self, ios: Sequence[Io]) -> int:
        room = self.capacity - self._in_flight
        if room <= 0:
            return 0
        faults = self.lu.faults
        ready = self._ready
        clock = time.perf_counter
        started = 0
        for io in ios:
            if started >= room:
                break
            if faults.gone:
                if started:
                    break  # the next call reports it, for the Io at the head
                io.submitted_at = clock()
                io.os_error = OSError(errno.ENODEV, _ENODEV)
                raise TransportError(io, f"{self.target} is gone")
            self._tag += 1
            io.tag = self._tag
            io.submitted_at = clock()
            self._answer(io)
            started += 1
            if not faults.timing:
                io.device_duration = 0.0
                ready.append(io)
                continue
            delay = faults.delay(io.cdb)
            if delay == 0.0 or io.status in _REFUSED:
                io.device_duration = 0.0
                ready.append(io)
            elif faults.gone:  # it went away while this one was being served
                set_host_status(io, HostStatus.DID_NO_CONNECT)
                ready.append(io)
            elif delay is None:
                self._hung[io.tag] = io
            else:
                io.device_duration = delay
                heapq.heappush(self._timed, (io.submitted_at + delay, io.tag, io))
        self._in_flight += started
        if self._in_flight > self.peak:
            self.peak = self._in_flight
        if ready and not self._signalled:
            self._signalled = True
            self._waker.wake()
        return started

    def _answer(self, io: Io) -> None:
        buffer = io.buffer  # data-in only; data_out is None unless data goes out
        allocation = io.dxfer_len if buffer is not None else 0
        resp = self.lu.execute(self.nexus, io.cdb, io.data_out or b"", allocation)
        io.status = resp.status
        if resp.sense:
            io.sense_raw = resp.sense
        if buffer is not None:
            data = resp.data
            n = len(data)
            if n:
                buffer[:n] = data
            io.resid = allocation - n

    def execute_sync(self, io: Io) -> bool:
        """Answer at once in the caller when nothing is in flight and nothing is held back."""
        faults = self.lu.faults
        if faults.timing or faults.gone or self._in_flight:
            return False
        io.submitted_at = time.perf_counter()
        self._answer(io)
        io.device_duration = 0.0
        io.complete()
        return True

    def next_due(self) -> float | None:
        return self._timed[0][0] if self._timed else None

    def reap(self, fd: int) -> list[Io]:
        self._signalled = False
        self._waker.drain()
        if self._actions:
            self._settle()
        done, self._ready = self._ready, []
        timed = self._timed
        if timed:
            now = time.perf_counter()
            while timed and timed[0][0] <= now:
                io = heapq.heappop(timed)[2]
                io.completed_at = now  # read now, never before it was due
                done.append(io)
        self._in_flight -= len(done)
        return done

    def abandon(self, io: Io) -> None:
        tag = io.tag
        if self._hung.pop(tag, None) is not None or self._dropped.pop(tag, None) is not None:
            self._in_flight -= 1
            return
        for i, entry in enumerate(self._timed):
            if entry[2] is io:
                self._timed.pop(i)
                heapq.heapify(self._timed)
                self._in_flight -= 1
                return
        if io in self._ready:  # answered but not reaped before its deadline
            self._ready.remove(io)
            self._in_flight -= 1

    # -- what the logical unit and the faults ask of this nexus --------------------

    def configure(self, options: Mapping[str, Any]) -> None:
        """Structured fault options (mappings, ranges, seconds) for the simulated unit."""
        self.lu.faults.configure(options)

    def held(self) -> int:
        """Commands of this nexus in the device's task set (answered, completion held)."""
        return len(self._timed) + len(self._hung)

    def lost(self) -> None:
        """The device went away: every held command ends DID_NO_CONNECT (at the next reap)."""
        self._queue(_LOST)

    def _queue(self, kind: int) -> None:
        if self._closed:
            return
        self._actions.append((kind, self._tag))
        self._waker.wake()

    def _settle(self) -> None:
        """Apply queued resets and losses to the held commands (the reactor's thread only)."""
        actions = self._actions
        while actions:
            kind, upto = actions.popleft()
            if kind == _LOST:
                victims = [io for *_, io in self._timed]
                victims += [*self._hung.values(), *self._dropped.values()]
                self._timed, self._hung, self._dropped = [], {}, {}
            else:
                victims = [io for *_, io in self._timed if io.tag <= upto]
                victims += [io for tag, io in self._hung.items() if tag <= upto]
                self._timed = [e for e in self._timed if e[1] > upto]
                heapq.heapify(self._timed)
                self._hung = {t: io for t, io in self._hung.items() if t > upto}
            if kind == _DROP:
                self._dropped.update((io.tag, io) for io in victims)
                continue
            status = HostStatus.DID_NO_CONNECT if kind == _LOST else HostStatus.DID_RESET
            for io in victims:
                set_host_status(io, status)
                io.device_duration = None
            self._ready.extend(victims)

    def reset(self, kind: ResetKind) -> None:
        """LU (device) reset: this LU; target, bus or host reset: every LU of the target."""
        if kind is ResetKind.NOTHING:
            return
        condition = _RESET_UA[kind]
        luns = [self.lu] if kind is ResetKind.DEVICE else list(self.sim_target.luns.values())
        for lu in luns:
            lu.reset(condition)
            for port in list(lu.faults.ports):
                if isinstance(port, SimTransport):
                    port._queue(_RESET if port.nexus == self.nexus else _DROP)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.lu.faults.detach(self)
            self._waker.close()

    def __repr__(self) -> str:
        return f"<SimTransport {self.target} nexus={self.nexus!r} in_flight={self._in_flight}>"

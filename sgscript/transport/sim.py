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

- A reset (``reset:``, the Linux host's ioctl) ends this nexus's held commands with
  DID_RESET (as the kernel reports the commands its reset aborted) and queues the
  reset's UNIT ATTENTION for every nexus.
- A task management function (``task:``, ``task_management``) aborts what
  ``sim/tasks.py``'s table says: this nexus's commands end with no status (outcome
  ``aborted``: SAM-5 answers the function, not the commands).
- Either way, another nexus's aborted commands end TASK ABORTED when the unit's
  Control mode page has TAS=1; with TAS=0 (the default) they are aborted silently:
  they never complete, their reactor times them out, and the record says so.
- A command the reactor gives up on (its timeout passed: a latency longer than it,
  ``hang``) is aborted by the simulator; its record says which.
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
from ..sim.tasks import RULES, after
from .base import Io, Outcome, ResetKind, TaskFunction, Transport, TransportOutcome
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
# Queued actions, applied by the reactor's next reap: the device went away, a reset ended
# this nexus's commands (DID_RESET), another nexus aborted them silently (TAS=0) or with
# TASK ABORTED (TAS=1), this nexus's task management aborted them (no status).
_LOST, _RESET, _DROP, _TASK_ABORTED, _ABORTED = 1, 2, 3, 4, 5
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
        #: Aborted by another nexus with TAS=0: they never complete (tag -> (io, by what)).
        self._dropped: dict[int, tuple[Io, str]] = {}
        #: (kind, the last tag it applies to or the tags it names, by what)
        self._actions: deque[tuple[int, int | frozenset[int], str]] = deque()
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

    def abandon(self, io: Io) -> str | None:
        tag = io.tag
        if io.buffer is not None:
            io.resid = io.dxfer_len  # answered at submission, but nothing ever came back
        if self._hung.pop(tag, None) is not None:
            self._in_flight -= 1
            return "the simulator aborted it: the unit holds it for ever (hang)"
        dropped = self._dropped.pop(tag, None)
        if dropped is not None:
            self._in_flight -= 1
            return (
                f"the simulated unit had aborted it ({dropped[1]}) without a status,"
                " as SAM-5 has it with TAS=0"
            )
        for i, entry in enumerate(self._timed):
            if entry[2] is io:
                self._timed.pop(i)
                heapq.heapify(self._timed)
                self._in_flight -= 1
                return (
                    f"the simulator aborted it: its latency ({io.device_duration or 0:g} s)"
                    " outlasted its timeout"
                )
        if io in self._ready:  # answered but not reaped before its deadline
            self._ready.remove(io)
            self._in_flight -= 1
            return "the simulator dropped its answer: not read before the deadline"
        return None

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

    def _queue(self, kind: int, which: int | frozenset[int] | None = None, by: str = "") -> None:
        if self._closed:
            return
        self._actions.append((kind, self._tag if which is None else which, by))
        self._waker.wake()

    def _held_tags(self, select: Any = None) -> frozenset[int]:
        """The tags of this nexus's held commands (those ``select`` picks, when given)."""
        held = [io for *_, io in list(self._timed)] + list(self._hung.values())
        return frozenset(io.tag for io in held if select is None or select(io))

    def _settle(self) -> None:
        """Apply queued resets, aborts and losses to the held commands (the reactor's thread only)."""
        actions = self._actions
        while actions:
            kind, which, by = actions.popleft()
            if kind == _LOST:
                victims = [io for *_, io in self._timed]
                victims += [*self._hung.values(), *(io for io, _ in self._dropped.values())]
                self._timed, self._hung, self._dropped = [], {}, {}
            else:
                hit = which.__contains__ if isinstance(which, frozenset) else which.__ge__
                victims = [io for *_, io in self._timed if hit(io.tag)]
                victims += [io for tag, io in self._hung.items() if hit(tag)]
                self._timed = [e for e in self._timed if not hit(e[1])]
                heapq.heapify(self._timed)
                self._hung = {t: io for t, io in self._hung.items() if not hit(t)}
            if kind == _DROP:
                self._dropped.update((io.tag, (io, by)) for io in victims)
                continue
            for io in victims:
                if kind in (_LOST, _RESET):
                    set_host_status(
                        io, HostStatus.DID_NO_CONNECT if kind == _LOST else HostStatus.DID_RESET
                    )
                else:
                    _aborted(io, kind, by)
                io.device_duration = None
            self._ready.extend(victims)

    def reset(self, kind: ResetKind) -> None:
        """LU (device) reset: this LU; target, bus or host reset: every LU of the target."""
        if kind is ResetKind.NOTHING:
            return
        condition = _RESET_UA[kind]
        luns = [self.lu] if kind is ResetKind.DEVICE else list(self.sim_target.luns.values())
        by = f"{kind.name.lower()} reset from nexus {self.nexus}"
        for lu in luns:
            lu.reset(condition)
            for port in list(lu.faults.ports):
                if isinstance(port, SimTransport):
                    own = port.nexus == self.nexus
                    port._queue(_RESET if own else _TASK_ABORTED if lu.tas else _DROP, None, by)

    #: Every function of ``sim/tasks.py``'s table.
    task_functions = frozenset(TaskFunction)

    def task_management(self, function: TaskFunction, select: Any = None) -> str:
        """``function`` as SAM-5 has the unit perform it (``sim/tasks.py``): its commands are
        aborted at the next reap, its unit attentions and resets take effect now."""
        rule = RULES[function]
        luns = [self.lu] if rule.lus == "this" else list(self.sim_target.luns.values())
        title = function.title
        mine = others = 0
        tas = False
        for lu in luns:
            hit: set[str] = set()
            for port in list(lu.faults.ports):
                if not isinstance(port, SimTransport):
                    continue
                own = port.nexus == self.nexus
                if not own and rule.nexuses == "own":
                    continue
                if rule.named and (not own or select is None):
                    continue
                tags = port._held_tags(select if rule.named else None)
                if not tags:
                    continue
                if own:
                    port._queue(_ABORTED, tags, f"{title} from this nexus")
                    mine += len(tags)
                else:
                    tas = tas or lu.tas
                    port._queue(
                        _TASK_ABORTED if lu.tas else _DROP, tags, f"{title} from nexus {self.nexus}"
                    )
                    others += len(tags)
                    hit.add(port.nexus)
            after(lu, rule, self.nexus, hit)
        words = f"{title}: {_commands(mine)} of this nexus aborted"
        if others:
            ended = "TASK ABORTED status, TAS=1" if tas else "no status, TAS=0"
            words += f", {_commands(others)} of other nexuses ({ended})"
        return words

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.lu.faults.detach(self)
            self._waker.close()

    def __repr__(self) -> str:
        return f"<SimTransport {self.target} nexus={self.nexus!r} in_flight={self._in_flight}>"


def _commands(n: int) -> str:
    return f"{n} command{'s' if n != 1 else ''}"


def _aborted(io: Io, kind: int, by: str) -> None:
    """End an answered-but-held command as aborted: no data, no sense, and the status
    SAM-5 gives it (none for the nexus that asked, TASK ABORTED for another with TAS=1)."""
    io.sense_raw = b""
    io.resid = io.dxfer_len if io.buffer is not None else 0
    if kind == _TASK_ABORTED:
        io.status = ScsiStatus.TASK_ABORTED
        io.ended = f"the simulated unit aborted it ({by}) with TASK ABORTED status (TAS=1)"
        return
    io.status = ScsiStatus.GOOD
    io.transport_outcome = TransportOutcome(Outcome.ABORTED, by)
    io.ended = f"aborted by {by}: no status (SAM-5 answers the function, not the command)"

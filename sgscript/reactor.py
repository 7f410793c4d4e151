"""One event loop over many devices, many commands in flight on each.

The reactor owns scheduling: each device's queue (its backlog, barrier and
count of commands not yet completed), what is in flight, the deadlines.
Transports only move bytes; channels and the runner ask a device's
:class:`DeviceQueue` to take commands, how many are pending, or to abandon
them, and never write its state themselves.  The reactor runs either in the
caller's thread (``poll``/``wait_for`` turn the loop) or in a thread of its own
(``start``), in which case other threads hand it commands through an inbox and
a wake-up descriptor, and block on a condition until their Io completes.

Ordering: a device's commands go to it in the order they were given (the sg
driver is told to queue at the tail).  The device may still complete them in
any order, as SAM allows for SIMPLE tasks.  An Io submitted with
``ordered=True`` is a barrier: it is sent only when everything before it on
that device has completed, and nothing after it is sent until it has.

Nothing waits forever: an Io in flight has a deadline (its timeout plus the
transport's grace), and one that passes it is abandoned with the transport's words
for how it ended (``Io.ended``); an Io in a backlog waits only while its device has
commands in flight (a transport that takes nothing with nothing in flight
fails the Io at the head instead of stalling); a transport whose completions
can no longer be read fails every command it holds.

Portable: the loop needs only ``selectors`` and a socket pair to be woken.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import itertools
import selectors
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .scsi.errors import TransportError
from .transport.base import Io, Transport
from .transport.waker import Waker

__all__ = ["DeviceQueue", "Reactor"]


class DeviceQueue:
    """One device's queue, owned by its reactor: ask it, never write into it.

    ``pending`` counts the commands handed over and not yet completed (in the
    backlog, in the reactor's inbox or in flight).  Submitting threads only add
    to ``submitted`` (under a lock) and the reactor's thread only adds to
    ``completed``, so the count is exact without the loop taking a lock per
    completion.
    """

    __slots__ = (
        "_backlog",
        "_barrier",
        "_completed",
        "_lock",
        "_on_close",
        "_reactor",
        "_submitted",
        "peak",
        "transport",
    )

    def __init__(
        self, reactor: Reactor, transport: Transport, on_close: Callable[[], None] | None
    ) -> None:
        self._reactor = reactor
        self.transport = transport
        self._on_close = on_close
        self._backlog: deque[Io] = deque()
        self._barrier: Io | None = None
        self._submitted = 0
        self._completed = 0
        self._lock = threading.Lock()
        #: The most commands the transport held at once (what a queue depth really reached).
        self.peak = 0

    # -- what channels and the runner ask ------------------------------------------

    @property
    def pending(self) -> int:
        """Commands submitted and not yet completed (never negative, from any thread)."""
        completed = self._completed  # read first: it never passes what was submitted
        return self._submitted - completed

    @property
    def in_flight(self) -> int:
        """Commands the transport holds now."""
        return self.transport.in_flight

    @property
    def backlog(self) -> int:
        """Commands waiting in user space for room on the device (or behind a barrier)."""
        return len(self._backlog)

    @property
    def barrier(self) -> Io | None:
        """The ordered command in flight that holds the rest back, if any."""
        return self._barrier

    @property
    def idle(self) -> bool:
        return self.pending == 0

    def submit(self, ios: Sequence[Io]) -> None:
        """Queue ``ios`` in order and flush once; from any thread when the reactor runs in its own."""
        if not ios:
            return
        with self._lock:
            self._submitted += len(ios)
        self._reactor._accept(self, ios)

    def abandon(self) -> int:
        """Stop waiting for every pending command (none of them completes); return how many.

        Commands in flight are dropped by the transport (a completion that still
        comes is discarded), the backlog is never sent.  Call it from the thread
        that turns the loop (or with the reactor not running in its own).
        """
        return self._reactor._abandon(self)

    def __repr__(self) -> str:
        return (
            f"<DeviceQueue {self.transport.target} pending={self.pending}"
            f" backlog={self.backlog} in_flight={self.in_flight}>"
        )


class Reactor:
    """Drives devices' transports; see the module docstring for ordering."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._queues: set[DeviceQueue] = set()
        self._dirty: set[DeviceQueue] = set()
        self._timed: set[DeviceQueue] = set()  # transports that hold completions back (latency)
        self._deadlines: list[tuple[float, int, Io, DeviceQueue]] = []
        self._seq = itertools.count()
        self._inbox: deque[tuple[DeviceQueue, Sequence[Io]]] = deque()
        self._waker = Waker()
        self._selector.register(self._waker.fileno(), selectors.EVENT_READ, None)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._done = threading.Condition()
        self._failure: BaseException | None = None

    # -- devices ----------------------------------------------------------------

    def add(self, transport: Transport, on_close: Callable[[], None] | None = None) -> DeviceQueue:
        """Take ``transport`` into the loop; ``on_close`` runs when the reactor closes."""
        queue = DeviceQueue(self, transport, on_close)
        self._queues.add(queue)
        if type(transport).next_due is not Transport.next_due:
            self._timed.add(queue)
        for fd in transport.fds():
            self._selector.register(fd, selectors.EVENT_READ, queue)
        return queue

    def remove(self, queue: DeviceQueue) -> None:
        for fd in queue.transport.fds():
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(fd)
        self._queues.discard(queue)
        self._dirty.discard(queue)
        self._timed.discard(queue)

    # -- submission -----------------------------------------------------------

    def submit(self, channel: Any, io: Io) -> None:
        """Queue ``io`` on ``channel`` (anything with a ``queue``): ``channel.queue.submit``."""
        io.channel = channel
        channel.queue.submit((io,))

    def submit_many(self, channel: Any, ios: list[Io]) -> None:
        """Queue several Ios in order and flush once: ``channel.queue.submit(ios)``."""
        for io in ios:
            io.channel = channel
        channel.queue.submit(ios)

    def _accept(self, queue: DeviceQueue, ios: Sequence[Io]) -> None:
        """Counted Ios into the backlog (or, from another thread, the inbox)."""
        if self._thread is not None and threading.current_thread() is not self._thread:
            self._inbox.append((queue, tuple(ios)))  # the caller may reuse its list
            self._waker.wake()
            return
        queue._backlog.extend(ios)
        self._flush(queue)

    def _flush(self, queue: DeviceQueue) -> None:
        backlog = queue._backlog
        transport = queue.transport
        while backlog and queue._barrier is None:
            head = backlog[0]
            if head.ordered:
                if transport.in_flight:
                    break
                batch = [head]
            else:
                room = transport.capacity - transport.in_flight
                if room <= 0:
                    break
                batch = list(itertools.islice(backlog, room))
                for i, io in enumerate(batch):
                    if io.ordered:
                        del batch[i:]
                        break
            try:
                started = transport.submit(batch)
            except TransportError as exc:
                failed = backlog.popleft()
                failed.os_error = failed.os_error or OSError(str(exc))
                self._finish(queue, failed, time.perf_counter())
                continue
            if transport.in_flight > queue.peak:
                queue.peak = transport.in_flight
            for _ in range(started):
                io = backlog.popleft()
                heapq.heappush(
                    self._deadlines,
                    (
                        io.submitted_at + io.timeout + transport.timeout_grace,
                        next(self._seq),
                        io,
                        queue,
                    ),
                )
                if io.ordered:
                    queue._barrier = io
            if started == 0 and not transport.in_flight:
                # Full with nothing in flight: no completion will ever make room.
                stuck = backlog.popleft()
                stuck.os_error = stuck.os_error or OSError(
                    errno.EAGAIN,
                    f"{transport.target}: the transport took no command with none in flight",
                )
                self._finish(queue, stuck, time.perf_counter())
                continue
            if started < len(batch):
                self._dirty.add(queue)  # the device is full: retry after completions
                break

    # -- the loop -------------------------------------------------------------

    def run_once(self, timeout: float | None = 0.0) -> int:
        """Wait up to ``timeout`` seconds for completions and process them; return the count."""
        self._drain_inbox()
        if self._dirty:
            for queue in list(self._dirty):
                self._dirty.discard(queue)
                self._flush(queue)
        due = self._deadlines[0][0] if self._deadlines else None
        for queue in self._timed:
            when = queue.transport.next_due()
            if when is not None and (due is None or when < due):
                due = when
        if due is not None:
            wait = max(0.0, due - time.perf_counter())
            timeout = wait if timeout is None else min(timeout, wait)
        count = 0
        for key, _ in self._selector.select(timeout):
            queue = key.data
            if queue is None:
                self._waker.drain()
                continue
            now = time.perf_counter()
            try:
                reaped = queue.transport.reap(key.fd)
            except TransportError as exc:
                count += self._broken(queue, exc)
                continue
            for io in reaped:
                self._finish(queue, io, io.completed_at or now)
                count += 1
            self._flush(queue)
        if self._timed:
            count += self._reap_due()
        count += self._expire()
        if count:
            with self._done:
                self._done.notify_all()
        return count

    def _reap_due(self) -> int:
        """Completions a transport held for latency whose time has come (no fd event for them)."""
        count = 0
        now = time.perf_counter()
        for queue in list(self._timed):
            transport = queue.transport
            when = transport.next_due()
            if when is None or when > now:
                continue
            for fd in transport.fds():
                for io in transport.reap(fd):
                    self._finish(queue, io, io.completed_at or now)
                    count += 1
            self._flush(queue)
        return count

    def _drain_inbox(self) -> None:
        inbox = self._inbox
        touched = set()
        while inbox:
            queue, ios = inbox.popleft()
            queue._backlog.extend(ios)
            touched.add(queue)
        for queue in touched:
            self._flush(queue)

    def _finish(self, queue: DeviceQueue, io: Io, now: float) -> None:
        if queue._barrier is io:
            queue._barrier = None
            if queue._backlog:
                self._dirty.add(queue)
        queue._completed += 1  # the loop's thread is the only writer
        io.complete(now)

    def _broken(self, queue: DeviceQueue, exc: TransportError) -> int:
        """Completions can no longer be read: every command in flight on ``queue`` fails.

        Its descriptors leave the selector (a vanished sg node reports POLLHUP
        for ever), and what is still in its backlog fails as the transport refuses it.
        """
        transport = queue.transport
        for fd in transport.fds():
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(fd)
        now = time.perf_counter()
        count = 0
        for _, _, io, owner in list(self._deadlines):
            if io.done or owner is not queue:
                continue
            transport.abandon(io)
            io.os_error = OSError(None, exc.detail)
            self._finish(queue, io, now)
            count += 1
        return count

    def _expire(self) -> int:
        heap = self._deadlines
        if not heap:
            return 0
        now = time.perf_counter()
        count = 0
        while heap and (heap[0][2].done or heap[0][0] <= now):
            _, _, io, queue = heapq.heappop(heap)
            if io.done:
                continue
            ended = queue.transport.abandon(io)
            io.ended = ended or "sgscript stopped waiting for it (the transport says no more)"
            io.timed_out = True
            self._finish(queue, io, now)
            self._dirty.add(queue)
            count += 1
        return count

    def _abandon(self, queue: DeviceQueue) -> int:
        if self._thread is not None and threading.current_thread() is not self._thread:
            raise RuntimeError("abandon from the reactor's thread, or stop() it first")
        self._drain_inbox()
        dropped = 0
        keep = []
        for entry in self._deadlines:
            io, owner = entry[2], entry[3]
            if io.done:
                continue
            if owner is queue:
                queue.transport.abandon(io)
                dropped += 1
            else:
                keep.append(entry)
        heapq.heapify(keep)
        self._deadlines = keep
        dropped += len(queue._backlog)
        queue._backlog.clear()
        queue._barrier = None
        self._dirty.discard(queue)
        queue._completed += dropped
        return dropped

    # -- waiting --------------------------------------------------------------

    def poll(self) -> int:
        """Process what is ready now, without blocking (a no-op from outside a running loop)."""
        if self._thread is not None:
            return 0
        return self.run_once(0.0)

    def wait_for(self, io: Io, timeout: float | None = None) -> None:
        self.wait_until(lambda: io.done, timeout)

    def wait_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> None:
        """Run (or, when threaded, wait on) the loop until ``predicate()`` holds."""
        end = None if timeout is None else time.perf_counter() + timeout
        if self._thread is not None and threading.current_thread() is not self._thread:
            with self._done:
                while not predicate():
                    if self._failure is not None:
                        raise RuntimeError("the reactor thread died") from self._failure
                    left = None if end is None else end - time.perf_counter()
                    if left is not None and left <= 0:
                        raise TimeoutError("timed out waiting for commands to complete")
                    self._done.wait(0.25 if left is None else min(left, 0.25))
            return
        while not predicate():
            left = None if end is None else end - time.perf_counter()
            if left is not None and left <= 0:
                raise TimeoutError("timed out waiting for commands to complete")
            if not self._busy():
                raise RuntimeError("nothing in flight can satisfy the wait")
            self.run_once(0.5 if left is None else min(left, 0.5))

    def _busy(self) -> bool:
        return bool(self._deadlines or self._inbox or any(q._backlog for q in self._queues))

    def run(self, ios: Iterable[Io]) -> None:
        """Wait for every Io in ``ios``."""
        for io in ios:
            self.wait_for(io)

    # -- running in a thread ------------------------------------------------------

    @property
    def threaded(self) -> bool:
        return self._thread is not None

    def start(self) -> Reactor:
        """Run the loop in a daemon thread; submission becomes thread-safe."""
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name="sgscript-reactor", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        try:
            while not self._stopping:
                self.run_once(0.5)
        except BaseException as exc:  # surfaced to waiters
            self._failure = exc
            with self._done:
                self._done.notify_all()

    def stop(self) -> None:
        """Stop the loop thread (commands in flight stay with their devices)."""
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        self._waker.wake()
        thread.join()
        self._thread = None
        self._drain_inbox()

    def close(self) -> None:
        self.stop()
        for queue in list(self._queues):
            if queue._on_close is not None:
                queue._on_close()
            else:
                self.remove(queue)
        self._selector.close()
        self._waker.close()

    def __enter__(self) -> Reactor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

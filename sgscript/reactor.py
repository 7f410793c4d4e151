"""One event loop over many channels, many commands in flight on each.

The reactor owns scheduling: each channel's backlog, what is in flight, the
deadlines.  Transports only move bytes.  It runs either in the caller's thread
(``poll``/``wait_for`` turn the loop) or in a thread of its own (``start``),
in which case other threads hand it commands through a lock-free inbox and a
wake-up eventfd, and block on a condition until their Io completes.

Ordering: a channel submits its commands to the device in the order they were
given (the sg driver is told to queue at the tail).  The device may still
complete them in any order, as SAM allows for SIMPLE tasks.  An Io submitted
with ``ordered=True`` is a barrier: it is sent only when everything before it
on that channel has completed, and nothing after it is sent until it has.

Nothing waits forever: an Io in flight has a deadline (its timeout plus the
transport's grace); an Io in a backlog waits only while its channel has
commands in flight (a transport that takes nothing with nothing in flight
fails the Io at the head instead of stalling); a transport whose completions
can no longer be read fails every command it holds.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import itertools
import os
import selectors
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .scsi.errors import TransportError
from .transport.base import Io, Transport

if TYPE_CHECKING:
    from .channel import Channel

__all__ = ["Reactor"]


class Reactor:
    """Drives channels' transports; see the module docstring for ordering."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._channels: set[Channel] = set()
        self._dirty: set[Channel] = set()
        self._timed: set[Channel] = set()  # transports that hold completions back (latency)
        self._deadlines: list[tuple[float, int, Io]] = []
        self._seq = itertools.count()
        self._inbox: deque[tuple[Channel, Io]] = deque()
        self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._selector.register(self._wake_fd, selectors.EVENT_READ, None)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._done = threading.Condition()
        self._failure: BaseException | None = None

    # -- channels -------------------------------------------------------------

    def add(self, channel: Channel) -> None:
        self._channels.add(channel)
        if type(channel.transport).next_due is not Transport.next_due:
            self._timed.add(channel)
        for fd in channel.transport.fds():
            self._selector.register(fd, selectors.EVENT_READ, channel)

    def remove(self, channel: Channel) -> None:
        for fd in channel.transport.fds():
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(fd)
        self._channels.discard(channel)
        self._dirty.discard(channel)
        self._timed.discard(channel)

    # -- submission -----------------------------------------------------------

    def submit(self, channel: Channel, io: Io) -> None:
        """Queue ``io`` on ``channel``; from any thread when the reactor runs in its own."""
        io.channel = channel
        if self._thread is not None and threading.current_thread() is not self._thread:
            self._inbox.append((channel, io))
            os.eventfd_write(self._wake_fd, 1)
            return
        channel.backlog.append(io)
        self._flush(channel)

    def submit_many(self, channel: Channel, ios: list[Io]) -> None:
        """Queue several Ios in order and flush once (one batch for the transport)."""
        for io in ios:
            io.channel = channel
        if self._thread is not None and threading.current_thread() is not self._thread:
            self._inbox.extend((channel, io) for io in ios)
            os.eventfd_write(self._wake_fd, 1)
            return
        channel.backlog.extend(ios)
        self._flush(channel)

    def _flush(self, channel: Channel) -> None:
        backlog = channel.backlog
        transport = channel.transport
        while backlog and channel.barrier is None:
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
                self._finish(channel, failed, time.perf_counter())
                continue
            for _ in range(started):
                io = backlog.popleft()
                heapq.heappush(
                    self._deadlines,
                    (io.submitted_at + io.timeout + transport.timeout_grace, next(self._seq), io),
                )
                if io.ordered:
                    channel.barrier = io
            if started == 0 and not transport.in_flight:
                # Full with nothing in flight: no completion will ever make room.
                stuck = backlog.popleft()
                stuck.os_error = stuck.os_error or OSError(
                    errno.EAGAIN,
                    f"{transport.target}: the transport took no command with none in flight",
                )
                self._finish(channel, stuck, time.perf_counter())
                continue
            if started < len(batch):
                self._dirty.add(channel)  # the device is full: retry after completions
                break

    # -- the loop -------------------------------------------------------------

    def run_once(self, timeout: float | None = 0.0) -> int:
        """Wait up to ``timeout`` seconds for completions and process them; return the count."""
        self._drain_inbox()
        if self._dirty:
            for channel in list(self._dirty):
                self._dirty.discard(channel)
                self._flush(channel)
        due = self._deadlines[0][0] if self._deadlines else None
        for channel in self._timed:
            when = channel.transport.next_due()
            if when is not None and (due is None or when < due):
                due = when
        if due is not None:
            wait = max(0.0, due - time.perf_counter())
            timeout = wait if timeout is None else min(timeout, wait)
        count = 0
        for key, _ in self._selector.select(timeout):
            channel = key.data
            if channel is None:
                with contextlib.suppress(BlockingIOError):
                    os.eventfd_read(self._wake_fd)
                continue
            now = time.perf_counter()
            try:
                reaped = channel.transport.reap(key.fd)
            except TransportError as exc:
                count += self._broken(channel, exc)
                continue
            for io in reaped:
                self._finish(channel, io, io.completed_at or now)
                count += 1
            self._flush(channel)
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
        for channel in list(self._timed):
            when = channel.transport.next_due()
            if when is None or when > now:
                continue
            for fd in channel.transport.fds():
                for io in channel.transport.reap(fd):
                    self._finish(channel, io, io.completed_at or now)
                    count += 1
            self._flush(channel)
        return count

    def _drain_inbox(self) -> None:
        inbox = self._inbox
        touched = set()
        while inbox:
            channel, io = inbox.popleft()
            channel.backlog.append(io)
            touched.add(channel)
        for channel in touched:
            self._flush(channel)

    def _finish(self, channel: Channel, io: Io, now: float) -> None:
        if channel.barrier is io:
            channel.barrier = None
            if channel.backlog:
                self._dirty.add(channel)
        channel.pending -= 1
        io.complete(now)

    def _broken(self, channel: Channel, exc: TransportError) -> int:
        """Completions can no longer be read: every command in flight on ``channel`` fails.

        Its descriptors leave the selector (a vanished sg node reports POLLHUP
        for ever), and what is still in its backlog fails as the transport refuses it.
        """
        for fd in channel.transport.fds():
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(fd)
        now = time.perf_counter()
        count = 0
        for _, _, io in list(self._deadlines):
            if io.done or io.channel is not channel:
                continue
            channel.transport.abandon(io)
            io.os_error = OSError(None, exc.detail)
            self._finish(channel, io, now)
            count += 1
        return count

    def _expire(self) -> int:
        heap = self._deadlines
        if not heap:
            return 0
        now = time.perf_counter()
        count = 0
        while heap and (heap[0][2].done or heap[0][0] <= now):
            _, _, io = heapq.heappop(heap)
            if io.done:
                continue
            channel = io.channel
            channel.transport.abandon(io)
            io.timed_out = True
            self._finish(channel, io, now)
            self._dirty.add(channel)
            count += 1
        return count

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
        return bool(self._deadlines or self._inbox or any(c.backlog for c in self._channels))

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
        """Stop the loop thread (commands in flight stay with their channels)."""
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        os.eventfd_write(self._wake_fd, 1)
        thread.join()
        self._thread = None
        self._drain_inbox()

    def close(self) -> None:
        self.stop()
        for channel in list(self._channels):
            channel.close()
        self._selector.close()
        os.close(self._wake_fd)

    def __enter__(self) -> Reactor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

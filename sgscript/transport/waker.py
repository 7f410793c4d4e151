"""A wake-up descriptor any thread can make readable: the portable stand-in for an eventfd.

A socket pair works wherever Python's ``selectors`` does (Linux, macOS, the
BSDs, Windows), so the reactor and the ``sim:`` transport need no Linux call
to be woken from another thread.
"""

from __future__ import annotations

import contextlib
import socket

__all__ = ["Waker"]


class Waker:
    """``wake()`` from any thread makes ``fileno()`` readable until ``drain()``."""

    __slots__ = ("_reader", "_writer")

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)

    def fileno(self) -> int:
        return self._reader.fileno()

    def wake(self) -> None:
        # A full buffer means a wake-up is already waiting: nothing is lost.
        with contextlib.suppress(BlockingIOError, InterruptedError):
            self._writer.send(b"\0")

    def drain(self) -> None:
        """Consume every pending wake-up (the descriptor is no longer readable)."""
        while True:
            try:
                if not self._reader.recv(4096):
                    return
            except (BlockingIOError, InterruptedError):
                return

    def close(self) -> None:
        self._reader.close()
        self._writer.close()

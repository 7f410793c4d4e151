"""The stop signals of a run: the handler that turns them into flags, the exception, the names.

The first SIGINT/SIGTERM/SIGHUP asks the run to stop; a second abandons what is left.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any, Protocol

__all__ = ["SIGNALS", "Interrupted", "handling_signals", "signal_name"]

#: The signals that stop a run gracefully (the first) or abandon what is left (the second).
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) as an exception: ``signum`` says which."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Interrupted, (self.signum,))


def signal_name(signum: int | None) -> str | None:
    """``SIGTERM`` for 15; None for None."""
    if signum is None:
        return None
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class _SignalState(Protocol):
    """What the handler flips: the run looks at these at its next turn (``runner._Runner``)."""

    sigint: bool
    aborted: bool
    interrupted: bool
    signum: int | None


@contextlib.contextmanager
def handling_signals(run: _SignalState) -> Iterator[None]:
    """First SIGINT/SIGTERM/SIGHUP: stop gracefully (finally: runs); second: abandon the rest.

    Only in the main thread, and only for a signal whose handler is Python's
    default (or one that says it is interrupt-like, as the CLI's): a handler
    somebody else installed, or an ignored SIGHUP (``nohup``), is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if run.sigint or run.aborted or run.interrupted:
            run.aborted = True
            raise Interrupted(signum)
        run.sigint = True
        run.signum = run.signum or signum

    previous: dict[int, Any] = {}
    for signum in SIGNALS:
        current = signal.getsignal(signum)
        if (
            current is signal.default_int_handler
            or current == signal.SIG_DFL
            or getattr(current, "sgscript_interrupt", False)
        ):
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)

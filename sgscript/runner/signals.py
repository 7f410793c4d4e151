"""The stop signals of a run, as constants and as an exception the CLI and pytest share."""

from __future__ import annotations

import signal
from typing import Any

__all__ = ["SIGNALS", "Interrupted", "signal_name"]

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

"""The exit codes of the command line (the contract) and how a run's outcome maps to them."""

from __future__ import annotations

import signal

__all__ = ["EXIT_DEVICE", "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_DEVICE = 3
EXIT_INTERRUPTED = 130

#: A scenario's outcome → exit code; the run exits with the highest.
_OUTCOME = {
    "passed": EXIT_OK,
    "skipped": EXIT_OK,
    "not_applicable": EXIT_OK,
    "failed": EXIT_FAILED,
    "error": EXIT_DEVICE,
}


def _exit_for(name: str | None) -> int:
    """130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP: 128 + the number, as shells report."""
    try:
        return 128 + int(signal.Signals[name or "SIGINT"])
    except KeyError:
        return EXIT_INTERRUPTED

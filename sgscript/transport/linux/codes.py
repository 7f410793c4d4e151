"""The Linux host (``DID_*``) and driver (``DRIVER_*``) codes, and what they mean transport-neutrally.

They are the Linux SCSI mid-layer's words, not the standards': the sg
driver reports them, and ``sim:`` speaks them too (as a Linux host would report
a reset or a vanished device).  ``set_host_status`` records the bytes on an Io
together with the neutral ``TransportOutcome`` the rest of sgscript reads.
"""

from __future__ import annotations

from ...scsi.status import Titled
from ..base import Io, Outcome, TransportOutcome

__all__ = ["DriverStatus", "HostStatus", "host_outcome", "set_host_status"]


class HostStatus(Titled):
    """Linux ``DID_*`` host byte values (include/scsi/scsi_status.h)."""

    DID_OK = 0x00, "no error"
    DID_NO_CONNECT = 0x01, "could not connect before timeout period"
    DID_BUS_BUSY = 0x02, "bus stayed busy through time out period"
    DID_TIME_OUT = 0x03, "timed out for other reason"
    DID_BAD_TARGET = 0x04, "bad target"
    DID_ABORT = 0x05, "told to abort for some other reason"
    DID_PARITY = 0x06, "parity error"
    DID_ERROR = 0x07, "internal error"
    DID_RESET = 0x08, "reset by somebody"
    DID_BAD_INTR = 0x09, "received an unexpected interrupt"
    DID_PASSTHROUGH = 0x0A, "force command past mid-layer"
    DID_SOFT_ERROR = 0x0B, "the low-level driver wants a retry"
    DID_IMM_RETRY = 0x0C, "retry without decrementing retry count"
    DID_REQUEUE = 0x0D, "requeue command"
    DID_TRANSPORT_DISRUPTED = 0x0E, "transport error disrupted execution"
    DID_TRANSPORT_FAILFAST = 0x0F, "transport class fastfailed the io"
    DID_TARGET_FAILURE = 0x10, "permanent target failure"
    DID_NEXUS_FAILURE = 0x11, "permanent nexus failure"
    DID_ALLOC_FAILURE = 0x12, "space allocation failure"
    DID_MEDIUM_ERROR = 0x13, "medium error"
    DID_TRANSPORT_MARGINAL = 0x14, "transport marginal errors"


class DriverStatus(Titled):
    """Linux ``DRIVER_*`` values (the low nibble of the sg driver_status byte)."""

    DRIVER_OK = 0x00, "ok"
    DRIVER_BUSY = 0x01, "busy"
    DRIVER_SOFT = 0x02, "soft"
    DRIVER_MEDIA = 0x03, "media"
    DRIVER_ERROR = 0x04, "error"
    DRIVER_INVALID = 0x05, "invalid"
    DRIVER_TIMEOUT = 0x06, "timeout"
    DRIVER_HARD = 0x07, "hard"
    DRIVER_SENSE = 0x08, "sense"

    @staticmethod
    def code(value: int) -> int:
        """The driver code without the suggestion bits (SUGGEST_* in the high nibble)."""
        return value & 0x0F


#: Host bytes that say the device is not there any more.
_GONE = frozenset({HostStatus.DID_NO_CONNECT, HostStatus.DID_BAD_TARGET})
_DRIVER_FINE = frozenset({DriverStatus.DRIVER_OK, DriverStatus.DRIVER_SENSE})


def host_outcome(host_status: int, driver_status: int = 0) -> TransportOutcome | None:
    """What the host and driver bytes say about how the command ended (None: nothing)."""
    driver = DriverStatus.code(driver_status)
    if host_status == HostStatus.DID_TIME_OUT or driver == DriverStatus.DRIVER_TIMEOUT:
        words = HostStatus.text(host_status) if host_status else ""
        return TransportOutcome(Outcome.TIMEOUT, words, _host_name(host_status))
    if host_status:
        return TransportOutcome(
            Outcome.HOST_ERROR,
            HostStatus.text(host_status),
            _host_name(host_status),
            gone=host_status in _GONE,
        )
    if driver not in _DRIVER_FINE:
        return TransportOutcome(
            Outcome.DRIVER_ERROR, DriverStatus.text(driver), _driver_name(driver)
        )
    return None


def set_host_status(io: Io, host_status: int, driver_status: int = 0) -> None:
    """Record the Linux bytes on ``io`` and the outcome they mean."""
    io.host_status = host_status
    io.driver_status = driver_status
    io.transport_outcome = (
        host_outcome(host_status, driver_status) if host_status or driver_status else None
    )


def _host_name(host_status: int) -> str:
    try:
        return HostStatus(host_status).name if host_status else ""
    except ValueError:
        return ""


def _driver_name(code: int) -> str:
    try:
        return DriverStatus(code).name
    except ValueError:
        return ""

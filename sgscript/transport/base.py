"""What every transport shares: the ``Io`` record of one command, and the ``Transport`` contract.

A transport moves commands to one device and back without blocking: the
reactor hands it ``Io`` objects, waits on its file descriptors, and asks it to
``reap`` what completed.  Everything about one command — what was sent, what
came back, how long it took, how it was judged — lives on its ``Io``; its
``completion`` says it in no driver's vocabulary (status, sense, data,
residual, and an ``Outcome``: ok, timeout, aborted, transport, host or driver error).
A command that did not end with the device's answer says how it ended instead
(``Io.ended``: who aborted it, or why nothing came back), in the transport's words.
"""

from __future__ import annotations

import enum
import errno
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..scsi.cdb import Command, Direction
from ..scsi.errors import (
    CommandTimeout,
    DriverError,
    HostError,
    TaskAborted,
    TaskFailed,
    TransportError,
    UsageError,
    classify,
)
from ..scsi.tmf import TaskFunction

if TYPE_CHECKING:
    from ..scsi.sense import Sense

__all__ = [
    "Completion",
    "Io",
    "Outcome",
    "ResetKind",
    "TaskFunction",
    "Transport",
    "TransportOutcome",
    "UnsupportedOptions",
]


class Outcome(enum.Enum):
    """How the path to the device ended a command, whatever the transport."""

    OK = "ok"  # the device answered: its status and sense say how
    TIMEOUT = "timeout"  # no answer in time
    ABORTED = "aborted"  # a task management function of this I_T nexus ended it: no status
    TRANSPORT_ERROR = "transport_error"  # a system call failed: it may never have been sent
    HOST_ERROR = "host_error"  # the host adapter (or the target's port) ended it
    DRIVER_ERROR = "driver_error"  # the host's driver reported a failure


@dataclass(frozen=True, slots=True)
class TransportOutcome:
    """What a transport reports beyond the SCSI status, in neutral terms.

    ``detail`` is the transport's words for it, ``code`` its own name for it
    (``DID_RESET`` on Linux), ``gone`` whether the device is no longer there.
    """

    outcome: Outcome
    detail: str = ""
    code: str = ""
    gone: bool = False


@dataclass(frozen=True, slots=True)
class Completion:
    """One completed command as the runner and verifiers read it, whatever carried it."""

    status: int
    sense: Sense | None
    sense_raw: bytes
    data: bytes
    residual: int
    outcome: Outcome
    detail: str
    gone: bool


#: errnos that say the device is not there any more.
_GONE_ERRNO = frozenset({errno.ENODEV, errno.ENXIO})


class ResetKind(enum.IntEnum):
    """What a reset reaches (the values are the sg driver's SG_SCSI_RESET_* codes)."""

    NOTHING = 0
    DEVICE = 1  # the logical unit
    BUS = 2
    HOST = 3
    TARGET = 4

    @classmethod
    def parse(cls, value: str | int | ResetKind) -> ResetKind:
        if isinstance(value, str):
            key = {"lun": "DEVICE", "lu": "DEVICE", "logical_unit": "DEVICE"}.get(
                value.lower(), value.upper()
            )
            try:
                return cls[key]
            except KeyError:
                raise ValueError(
                    f"unknown reset kind {value!r}: device (lun), target, bus or host"
                ) from None
        return cls(value)


class Io:
    """One command in flight or done: the seed library's ``Io``, with typed results.

    ``status``/``sense``/``resid`` are what the device reported,
    ``transport_outcome`` what the transport added (None: nothing), and
    ``completion`` all of it in neutral terms; ``host_status``/``driver_status``
    keep the Linux bytes of transports that speak them.  ``failure`` is how
    they read (None when it succeeded); ``error`` is the verdict of the verify
    handler, which is what ``wait()`` raises.
    """

    __slots__ = (
        "_sense",
        "buffer",
        "cdb",
        "channel",
        "command",
        "completed_at",
        "data_out",
        "device_duration",
        "done",
        "driver_status",
        "dxfer_len",
        "ended",
        "error",
        "failure",
        "host_status",
        "info",
        "ordered",
        "os_error",
        "resid",
        "sense_raw",
        "status",
        "submitted_at",
        "tag",
        "timed_out",
        "timeout",
        "transport_outcome",
    )

    def __init__(
        self,
        command: Command,
        channel: Any = None,
        *,
        timeout: float = 60.0,
        block_size: int = 512,
        ordered: bool = False,
    ) -> None:
        self.command = command
        self.cdb = command.bind(block_size)
        self.channel = channel
        self.timeout = command.options.timeout if command.options.timeout is not None else timeout
        self.ordered = ordered
        n = command.data_length(block_size)
        self.dxfer_len = n
        self.data_out: bytes | None = None
        self.buffer: bytearray | None = None
        if command.direction is Direction.OUT:
            data = command.options.data
            self.data_out = data if data is not None else bytes(n)
            self.dxfer_len = len(self.data_out)
        elif command.direction is Direction.IN and n:
            self.buffer = bytearray(n)
        self.status = 0
        self.sense_raw = b""
        self._sense: Sense | None = None
        self.host_status = 0
        self.driver_status = 0
        self.transport_outcome: TransportOutcome | None = None
        self.resid = 0
        self.info = 0
        self.device_duration: float | None = None
        self.os_error: OSError | None = None
        self.timed_out = False
        #: How a command that did not end with the device's answer was ended, in the
        #: transport's words ("the simulator aborted it ..."); "" when it answered.
        self.ended = ""
        self.done = False
        self.failure: TaskFailed | None = None
        self.error: BaseException | None = None
        self.submitted_at = 0.0
        self.completed_at = 0.0
        self.tag = 0

    # -- what came back ----------------------------------------------------

    @property
    def target(self) -> str | None:
        return getattr(self.channel, "target", None)

    @property
    def data(self) -> bytes:
        """Data-in actually transferred (the residual trimmed off)."""
        if self.buffer is None:
            return b""
        return bytes(self.buffer[: self.received])

    @property
    def received(self) -> int:
        """Data-in bytes actually transferred: the length less a residual that makes sense."""
        n, resid = self.dxfer_len, self.resid
        return n - resid if 0 <= resid <= n else n

    @property
    def sense(self) -> Sense | None:
        if self._sense is None and self.sense_raw:
            from ..scsi.sense import parse_sense

            try:
                self._sense = parse_sense(self.sense_raw)
            except ValueError:
                return None
        return self._sense

    @property
    def duration(self) -> float:
        """Seconds from submission to the driver until the completion was read."""
        if not self.completed_at:
            return 0.0
        return self.completed_at - self.submitted_at

    @property
    def outcome(self) -> Outcome:
        """How the path ended the command (``OK``: the device's status says the rest)."""
        if self.os_error is not None:
            return Outcome.TRANSPORT_ERROR
        if self.timed_out:
            return Outcome.TIMEOUT
        told = self.transport_outcome
        return Outcome.OK if told is None else told.outcome

    @property
    def gone(self) -> bool:
        """The device itself is not there any more (not just this command failed)."""
        told = self.transport_outcome
        if told is not None and told.gone:
            return True
        error = self.os_error
        return error is not None and (error.errno is None or error.errno in _GONE_ERRNO)

    @property
    def completion(self) -> Completion:
        """What came back, in no driver's vocabulary."""
        told = self.transport_outcome
        error = self.os_error
        if error is not None:
            detail = f"{error.strerror or error}"
        else:
            detail = told.detail if told is not None else ""
        return Completion(
            status=self.status,
            sense=self.sense if self.sense_raw else None,
            sense_raw=self.sense_raw,
            data=self.data,
            residual=self.resid,
            outcome=self.outcome,
            detail=detail,
            gone=self.gone,
        )

    @property
    def ok(self) -> bool:
        return self.done and self.error is None

    @property
    def returned(self) -> bool:
        return self.done

    # -- completion (called by transports and the reactor) -----------------------

    def complete(self, now: float | None = None) -> None:
        """Judge the completion: classify, run the verify handler, then the handlers."""
        self.completed_at = now if now is not None else time.perf_counter()
        self.done = True
        told = self.transport_outcome
        clean = not (self.status or self.sense_raw or told) and not (
            self.timed_out or self.os_error
        )
        verdict = None
        if not clean:  # GOOD with nothing else: the common case needs no classifying
            verdict = self._classify(told)
        if verdict is not None:
            cls, words = verdict
            self.failure = cls(self, words)
        verify = self.command.options.verify_handler
        try:
            if verify is None:
                if self.failure is not None:
                    raise self.failure
            else:
                verify(self)
        except BaseException as exc:  # the verdict is kept, raised by wait()
            self.error = exc
        for handler in self.command.options.handlers:
            try:
                handler(self)
            except BaseException as exc:
                if self.error is None:
                    self.error = exc

    def _classify(self, told: TransportOutcome | None) -> tuple[type[TaskFailed], str] | None:
        """The path's failure first (it outranks any status), then the device's."""
        if self.os_error is not None:
            return TransportError, f"{self.os_error.strerror or self.os_error}"
        outcome = told.outcome if told is not None else Outcome.OK
        if self.timed_out or outcome is Outcome.TIMEOUT:
            host = told.detail if told is not None and outcome is not Outcome.DRIVER_ERROR else ""
            words = f"timed out after {self.timeout:g} s" + (f" (host {host})" if host else "")
            return CommandTimeout, words + (f"; {self.ended}" if self.ended else "")
        if told is not None and outcome is Outcome.ABORTED:
            return TaskAborted, self.ended or f"aborted ({told.detail}): no status"
        if told is not None and outcome is Outcome.HOST_ERROR:
            code = f" ({told.code})" if told.code else ""
            return HostError, f"host error {told.detail}{code}"
        verdict = classify(self.status, self.sense if self.sense_raw else None)
        if verdict is None and told is not None and outcome is Outcome.DRIVER_ERROR:
            return DriverError, f"driver error {told.detail}"
        return verdict

    # -- the seed library's waiting API ------------------------------------------

    def poll(self) -> bool:
        """Process what is ready without blocking; True once this command is done."""
        if not self.done and self.channel is not None:
            self.channel.reactor.poll()
        return self.done

    def wait(self, timeout: float | None = None, *, check: bool = True) -> Io:
        """Block until done; raise the verify handler's verdict unless ``check=False``."""
        if not self.done:
            if self.channel is None:
                raise RuntimeError("this Io was never submitted")
            self.channel.reactor.wait_for(self, timeout)
        if check and self.error is not None:
            raise self.error
        return self

    def result(self) -> bytes:
        """``wait()`` and return the data-in."""
        return self.wait().data

    def __repr__(self) -> str:
        state = "done" if self.done else "in flight" if self.submitted_at else "queued"
        verdict = "" if not self.done else " ok" if self.error is None else f" {self.error!r}"
        return f"<Io {self.command.describe()} {state}{verdict}>"


class Transport(ABC):
    """Moves commands to one device and back without blocking.

    The reactor waits for ``fds()`` to become readable, then calls ``reap``.
    ``submit`` takes as many of the given Ios as the device queue accepts now
    and returns that count; the rest stay with the caller (never an EDOM).
    """

    target: str
    #: True when no real device is behind the transport (``sim:``): destructive
    #: steps then need no ``--allow-destructive``.  Plugin transports are real
    #: unless their class says otherwise.
    simulated: bool = False
    #: Commands the transport can hold in flight at once.
    capacity: int = 16
    #: Seconds past a command's timeout before the reactor gives up on it: the
    #: kernel enforces sg timeouts itself, so the reactor only backs it up.
    timeout_grace: float = 0.0
    #: Device options the opening factory was given and this transport does not use
    #: (a spec's ``sim:`` options on a real disk): the runner notes them, nothing fails.
    unused_options: tuple[str, ...] = ()

    @abstractmethod
    def fds(self) -> Sequence[int]:
        """File descriptors that become readable when completions wait."""

    @abstractmethod
    def submit(self, ios: Sequence[Io]) -> int:
        """Start as many of ``ios`` (in order) as fit; return how many started."""

    @abstractmethod
    def reap(self, fd: int) -> list[Io]:
        """Completions ready on ``fd`` now, filled in but not yet judged."""

    @property
    @abstractmethod
    def in_flight(self) -> int:
        """Commands submitted and not yet reaped."""

    def next_due(self) -> float | None:
        """When a completion held back for latency becomes due (perf_counter time), if any."""
        return None

    def execute_sync(self, io: Io) -> bool:
        """Run one command to completion in the caller, if the transport can (False if not)."""
        return False

    def reset(self, kind: ResetKind) -> None:
        raise TaskFailed(None, f"{self.target}: {kind.name.lower()} reset is not supported")

    #: The task management functions ``task_management`` performs (none by default).
    task_functions: frozenset[TaskFunction] = frozenset()

    def task_management(
        self, function: TaskFunction, select: Callable[[Io], bool] | None = None
    ) -> str:
        """Perform ``function`` on this I_T nexus to its logical unit; return what it did,
        in words for the step's record.

        ``select`` picks the commands ABORT TASK aims at among this nexus's in flight.
        A transport that cannot raises ``TaskFailed`` saying so.
        """
        raise TaskFailed(None, f"{self.target}: {function.title} is not supported by this target")

    def configure(self, options: Mapping[str, Any]) -> None:
        """Change options of an open transport (a simulated unit's faults, mid-run).

        A transport that takes none refuses them with ``UnsupportedOptions``.
        """
        raise UnsupportedOptions(
            f"{self.target}: this target takes no options ({', '.join(sorted(options))})"
        )

    def abandon(self, io: Io) -> str | None:
        """Stop waiting for ``io``: its completion, if it ever comes, is dropped.

        Returns how the command was ended, in words for its record (``Io.ended``:
        "the simulator aborted it"), or None when the transport cannot say.
        """
        return None

    @abstractmethod
    def close(self) -> None:
        """Release the device; in-flight commands must have been reaped or abandoned."""


class UnsupportedOptions(UsageError):
    """The target kind takes no structured options (``Transport.configure``)."""


Handler = Callable[[Io], Any]

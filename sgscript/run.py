"""The runner: one scenario on its bound devices, through one reactor, to a ``ScenarioResult``.

``run_scenario`` is the whole unit of work (DESIGN.md, "Scale-out"): it takes
only picklable arguments (the scenario, ``--device`` bindings, seed, ``-k``,
plugin module names), opens the devices, runs the plan, closes everything and
returns a picklable result whose ``to_dict()`` is the scenario's JSON record.

How a run goes:

| phase | what happens |
|---|---|
| open | each device a selected step uses: a plugin's ``sgscript_open_target`` first, else ``Channel.open``; then TEST UNIT READY until GOOD (at most 4: the power-on UNIT ATTENTION every new I_T nexus gets, cleared as a host's scan does, noted in ``result.notes``) and the block size (READ CAPACITY, once); a device that cannot be opened raises ``DeviceOpenError`` (exit 3) |
| steps | in order; ``parallel:`` branches at once; a step with ``repeat: N, queue_depth: Q`` keeps up to Q commands in flight, pulling more from the plan's lazy stream as others complete |
| judge | every completion: the verify module's ``verify(ctx, expect, kinds)`` and the plugins' ``sgscript_check_command``; a clean completion of a step that expects only success skips both (unless a plugin checks every command) |
| stop | a failed step whose policy is ``stop`` ends the scenario: nothing new is sent, what is in flight is reaped, steps not reached are ``skipped`` ("not run: ...") |
| finally | ``finally:`` steps always run (after a failure, a device error or Ctrl-C), each of them |
| report | ``Reporter`` callbacks as things happen; the plugins' ``sgscript_step_finished`` / ``sgscript_scenario_finished`` |

Statuses: a step is ``passed``, ``failed``, ``skipped`` (``optional:`` and the
device answered INVALID COMMAND OPERATION CODE; or not run because the run
stopped), ``error`` (its device or the path to it broke: a transport error,
any errno from the driver, DID_NO_CONNECT, a driver error — whatever the
step's ``expect:`` says) or ``interrupted`` (cut short or never reached because
of a signal).  The scenario is ``passed``, ``failed`` (a step failed: exit 1),
``error`` (a device or its path broke, in ``steps:`` or ``finally:``: exit 3),
``interrupted`` (a signal: exit 128 + its number), or ``skipped`` when ``-k``
selects nothing.

A broken device is never a pass: the step that saw the break ends as an
``error`` and sends nothing more.  When the device is gone (ENODEV, ENXIO,
DID_NO_CONNECT, DID_BAD_TARGET, a failed read of completions) it is *lost*:
its commands in flight are cut, its later steps (``finally:`` included) are
failed as "not run: device ... lost" and other devices carry on.

Signals: the first SIGINT, SIGTERM or SIGHUP (main thread; a signal somebody
else handles, or ignores, is left alone) asks the run to stop: nothing new is
sent, commands in flight are reaped for at most ``REAP_TIMEOUT`` seconds,
``finally:`` steps run for at most ``FINALLY_TIMEOUT`` seconds, reporters get
``scenario_finished``, and the result comes back with ``interrupted=True``,
``status="interrupted"`` and ``signal`` naming it (the CLI exits 128 + its
number after the logs are written).  A second signal abandons what is left
(``finally:`` included) and still returns the result.  A ``KeyboardInterrupt``
raised by a reporter is treated like the first SIGINT.  So callers check
``result.interrupted``; the one ``Interrupted`` (a ``KeyboardInterrupt``) that
escapes is a second signal while the devices are being opened (nothing ran;
what was opened is closed).

Every wait has a deadline: each command its timeout (the reactor's), reaping
after a stop ``REAP_TIMEOUT``, ``finally:`` after a signal ``FINALLY_TIMEOUT``.

Memory is flat in the number of commands: commands are streamed, at most Q
``Io`` objects live per step, latency goes into a fixed-size histogram, and a
step keeps the details of its first ``MAX_FAILURES`` failures only.
"""

from __future__ import annotations

import contextlib
import errno
import math
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from .channel import Channel
from .reactor import Reactor
from .scenario.model import Expectation, Mark, Scenario, Step
from .scenario.plan import Env, Plan, PlannedStep
from .scsi.cdb import Command
from .scsi.commands import TestUnitReady
from .scsi.errors import DriverError, HostError, TransportError, UnitAttention, UsageError
from .scsi.status import SenseKey
from .transport.base import Io, UnsupportedOptions

__all__ = [
    "FINALLY_TIMEOUT",
    "MAX_FAILURES",
    "REAP_TIMEOUT",
    "DeviceOpenError",
    "FailureDetail",
    "Interrupted",
    "Latency",
    "LatencyStats",
    "Reporter",
    "ScenarioResult",
    "StepResult",
    "run_plan",
    "run_scenario",
]

#: Failures kept in detail per step (the count covers them all).
MAX_FAILURES = 10
#: Seconds an interrupted or broken run waits for commands in flight before abandoning them.
REAP_TIMEOUT = 10.0
#: Seconds ``finally:`` may take after a signal before what is left of it is abandoned.
FINALLY_TIMEOUT = 30.0
#: The signals that stop a run gracefully (the first) or abandon what is left (the second).
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: TEST UNIT READY attempts when a device is opened (UNIT ATTENTIONs queue up: power on, reset, ...).
UA_ATTEMPTS = 4
#: Longest the loop blocks without looking at Ctrl-C and sleeping steps.
_TICK = 0.25


# ================================================================= results


@dataclass(frozen=True)
class LatencyStats:
    """Seconds from submission to completion: min, median, 99th percentile, max, mean."""

    min: float
    p50: float
    p99: float
    max: float
    mean: float

    def to_dict(self) -> dict[str, float]:
        return {
            "min": self.min,
            "p50": self.p50,
            "p99": self.p99,
            "max": self.max,
            "mean": self.mean,
        }


class Latency:
    """A fixed-size latency histogram: exact for the first ``EXACT`` samples, then log buckets.

    Buckets grow by 1% from 100 ns to about 40 min (2,400 counters), so percentiles
    are within 1% however many commands a step sends; min, max and mean are exact.
    """

    EXACT = 1024
    _BASE = 1e-7
    _LOG = math.log(1.01)
    _N = 2400
    __slots__ = ("_buckets", "_exact", "count", "hi", "lo", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.lo = math.inf
        self.hi = 0.0
        self._exact: list[float] | None = []
        self._buckets: list[int] | None = None

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        if seconds < self.lo:
            self.lo = seconds
        if seconds > self.hi:
            self.hi = seconds
        exact = self._exact
        if exact is not None:
            exact.append(seconds)
            if len(exact) > self.EXACT:
                self._buckets = [0] * self._N
                for s in exact:
                    self._buckets[self._index(s)] += 1
                self._exact = None
        else:
            self._buckets[self._index(seconds)] += 1  # type: ignore[index]

    def _index(self, seconds: float) -> int:
        if seconds <= self._BASE:
            return 0
        return min(self._N - 1, int(math.log(seconds / self._BASE) / self._LOG))

    def percentile(self, q: float) -> float:
        """The nearest-rank percentile (``q`` in 0..1); 0.0 when empty."""
        if not self.count:
            return 0.0
        rank = max(1, math.ceil(q * self.count))
        if self._exact is not None:
            return sorted(self._exact)[rank - 1]
        seen = 0
        for i, n in enumerate(self._buckets or ()):
            seen += n
            if seen >= rank:
                mid = self._BASE * math.exp((i + 0.5) * self._LOG)
                return min(self.hi, max(self.lo, mid))
        return self.hi

    def stats(self) -> LatencyStats | None:
        if not self.count:
            return None
        return LatencyStats(
            self.lo, self.percentile(0.5), self.percentile(0.99), self.hi, self.total / self.count
        )


@dataclass
class FailureDetail:
    """One failed command: what was expected and what came back, enough to act on."""

    index: int  # the command's number within its step (0-based)
    expected: str
    got: str
    cdb_hex: str
    sense: dict[str, Any] | None = None  # Sense.to_dict(), with "summary"
    data_diff: str | None = None
    message: str = ""  # every failure message of the command, one per line

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "expected": self.expected,
            "got": self.got,
            "cdb_hex": self.cdb_hex,
            "sense": self.sense,
            "data_diff": self.data_diff,
            "message": self.message,
        }


@dataclass
class StepResult:
    """How one step went; ``count`` commands sent, ``failed`` of them failed."""

    name: str
    path: str
    device: str | None
    command: str | None
    status: str  # passed | failed | skipped | error | interrupted
    count: int = 0
    failed: int = 0
    latency: LatencyStats | None = None
    failures: list[FailureDetail] = field(default_factory=list)
    mark: Mark | None = None
    kind: str = "command"
    message: str = ""  # why skipped or stopped; a step-level failure (bad value, save:)
    duration: float = 0.0  # wall seconds from its first command to its last completion
    repeat: int = 1
    queue_depth: int = 1
    saved: dict[str, Any] = field(default_factory=dict)  # save: variables and their values
    final: bool = False  # a finally: step
    depth: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "kind": self.kind,
            "device": self.device,
            "command": self.command,
            "status": self.status,
            "count": self.count,
            "failed": self.failed,
            "repeat": self.repeat,
            "queue_depth": self.queue_depth,
            "duration": self.duration,
            "latency": None if self.latency is None else self.latency.to_dict(),
            "failures": [f.to_dict() for f in self.failures],
            "message": self.message,
            "saved": {k: _jsonable(v) for k, v in self.saved.items()},
            "final": self.final,
            "mark": None if self.mark is None else str(self.mark),
        }


@dataclass
class ScenarioResult:
    """One scenario on its devices: the whole record of the run (picklable, JSON-ready)."""

    name: str
    file: str
    seed: int
    steps: list[StepResult] = field(default_factory=list)
    status: str = "passed"  # passed | failed | error | interrupted | skipped
    duration: float = 0.0
    interrupted: bool = False
    signal: str | None = None  # SIGINT, SIGTERM or SIGHUP when interrupted by one
    devices: dict[str, str] = field(default_factory=dict)  # name -> target as opened
    message: str = ""  # why error / skipped
    notes: list[str] = field(default_factory=list)  # unit attentions cleared, block sizes, ...
    select: str | None = None
    started: float = 0.0  # time.time() at the start
    commands: int = 0
    failed_commands: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "seed": self.seed,
            "status": self.status,
            "interrupted": self.interrupted,
            "signal": self.signal,
            "duration": self.duration,
            "started": self.started,
            "select": self.select,
            "devices": dict(self.devices),
            "commands": self.commands,
            "failed_commands": self.failed_commands,
            "message": self.message,
            "notes": list(self.notes),
            "steps": [s.to_dict() for s in self.steps],
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return value.hex(" ")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


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


class DeviceOpenError(TransportError):
    """A device of the scenario could not be opened (the CLI's exit 3)."""

    def __init__(self, device: str, target: str, reason: str) -> None:
        self.device, self.target, self.reason = device, target, reason
        super().__init__(None, f"device {device} ({target}): {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (DeviceOpenError, (self.device, self.target, self.reason))


# ================================================================= reporters


class Reporter:
    """The reporter protocol; every method is optional (the runner calls those present).

    ``command_done`` is called for every command, ``failure`` None when it passed:
    keep what you need, never the Io itself for long (memory stays flat).
    """

    def scenario_started(self, scenario: Scenario, plan: Plan) -> None:
        """The devices are open; steps are about to run."""

    def step_started(self, step: Step, path: str) -> None:
        """A step (or a parallel group) starts."""

    def command_done(self, step_path: str, io: Io, failure: FailureDetail | None) -> None:
        """One command completed and was judged."""

    def step_finished(self, result: StepResult) -> None:
        """A step ended (its result is final)."""

    def scenario_finished(self, result: ScenarioResult) -> None:
        """The scenario ended, devices closed (called after an interrupt too)."""


_METHODS = (
    "scenario_started",
    "step_started",
    "command_done",
    "step_finished",
    "scenario_finished",
)


class _Fanout:
    """Calls each reporter that has the method; a reporter's error is noted, not fatal."""

    def __init__(self, reporters: Sequence[Any], notes: list[str]) -> None:
        self.notes = notes
        self.calls: dict[str, list[Callable[..., Any]]] = {
            name: [
                m
                for r in reporters
                if callable(m := getattr(r, name, None))
                and getattr(type(r), name, None) is not getattr(Reporter, name)  # not a no-op
            ]
            for name in _METHODS
        }

    def has(self, name: str) -> bool:
        return bool(self.calls[name])

    def __call__(self, name: str, *args: Any) -> None:
        for method in self.calls[name]:
            try:
                method(*args)
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                text = f"reporter {method!r} failed: {type(exc).__name__}: {exc}"
                if text not in self.notes:
                    self.notes.append(text)


# ================================================================= running


def run_scenario(
    scenario: Scenario,
    *,
    bindings: Mapping[str, str] | None = None,
    seed: int | None = None,
    select: str | None = None,
    reporter: Any = None,
    log_commands: bool = False,
    plugins: Sequence[str] | Any = None,
    allow_destructive: bool = False,
) -> ScenarioResult:
    """Run one scenario on its (bound) devices; see the module docstring.

    ``reporter`` is one object with some of ``Reporter``'s methods, or a list of
    them.  ``plugins`` names plugin modules (``-p``; picklable), or is a pluggy
    ``PluginManager`` already made (``get_plugin_manager``) in this process.
    ``log_commands`` is the reporters' business (the JSON Lines reporter takes
    its own flag): the runner calls ``command_done`` for every command either
    way.  Raises ``UsageError`` for a spec problem found before anything is
    sent (exit 2) and ``DeviceOpenError`` when a device cannot be opened (exit 3).

    Steps that can change a real device (``sgscript.safety``) run only with
    ``allow_destructive=True``; without it, or when the disk is in use even with
    it, ``safety.DestructiveRefused`` (a ``UsageError``) is raised before
    anything is sent.
    """
    plan = Plan(scenario, bindings=bindings, seed=seed, select=select)
    return run_plan(
        plan,
        reporter=reporter,
        log_commands=log_commands,
        plugins=plugins,
        allow_destructive=allow_destructive,
    )


def run_plan(
    plan: Plan,
    *,
    reporter: Any = None,
    log_commands: bool = False,
    plugins: Sequence[str] | Any = None,
    allow_destructive: bool = False,
) -> ScenarioResult:
    """``run_scenario`` for a plan already made (``sgscript run`` prints its seed first)."""
    if plugins is not None and hasattr(plugins, "hook"):
        runner = _Runner(plan, reporter, log_commands, (), plugins)
    else:
        runner = _Runner(plan, reporter, log_commands, plugins or (), None)
    runner.allow_destructive = allow_destructive
    return runner.run()


class _RunIo(Io):
    """An Io that knows its step and its number in it (no side table per command)."""

    __slots__ = ("index", "run")


def _judge(io: Io) -> None:
    """Every runner command's verify handler: the step run judges, never raises."""
    io.run.completed(io)  # type: ignore[attr-defined]


def _not_implemented(io: Io) -> bool:
    """The device lacks the command: INVALID COMMAND OPERATION CODE (20h/00h), or, for a
    command named by a service action, INVALID FIELD IN CDB (24h/00h) pointing at the
    SERVICE ACTION field — how SPC-5 answers an unsupported service action of a
    supported operation code."""
    sense = io.sense if io.sense_raw else None
    if sense is None or sense.sense_key != SenseKey.ILLEGAL_REQUEST or sense.ascq != 0x00:
        return False
    if sense.asc == 0x20:
        return True
    sks = sense.sense_key_specific
    slot = io.command.layout.by_name.get("service_action")
    return (
        sense.asc == 0x24
        and slot is not None
        and sks is not None
        and bool(sks.cd)
        and sks.field_pointer == slot.field.byte
    )


#: errnos from the driver that say the device is not there any more.
_GONE_ERRNO = frozenset({errno.ENODEV, errno.ENXIO})


def _broken(io: Io) -> bool:
    """The path to the device broke (not the command): an ``error`` whatever ``expect:`` says.

    A transport error (any errno from the driver, ENOMEM included), a driver
    error, or a host error that says the device is gone.
    """
    failure = io.failure
    return isinstance(failure, TransportError | DriverError) or (
        isinstance(failure, HostError) and io.gone
    )


def _gone(io: Io) -> bool:
    """The device itself went away (not just this command): its later steps cannot run."""
    return io.gone


class _Stop(Exception):
    """Internal: a Ctrl-C turned into a stop of the current phase."""


class _StepRun:
    """One command step in progress: its stream, what is in flight, its tallies."""

    def __init__(self, runner: _Runner, ps: PlannedStep) -> None:
        self.runner = runner
        self.ps = ps
        self.step = ps.step
        self.path = ps.path
        self.device = ps.step.device
        self.policy = ps.step.on_failure or runner.plan.scenario.on_failure
        self.count = 0
        self.failed = 0
        self.in_flight = 0
        self.submitted = 0
        self.total = 0
        self.depth = 1
        self.latency = Latency()
        self.failures: list[FailureDetail] = []
        self.messages: list[str] = []
        self.halted = False  # send nothing more
        self.exhausted = False
        self.skipped = ""  # why the step is skipped (optional + not implemented)
        self.stopped = ""  # why it stopped before sending everything
        self.error = ""  # its device or the path to it broke: the step is an error
        self.interrupted = False  # cut short by a signal
        self.last_io: Io | None = None
        self.saved: dict[str, Any] = {}
        self.started = time.perf_counter()
        self.ended = 0.0
        self.finished = False
        self.stream: Iterator[Command] = iter(())
        self.channel: Channel | None = None
        self.block_size = 512
        expect = ps.step.expect
        self.expect = expect
        self.fast = runner.fast_ok(expect)
        self.command_done = runner.command_done
        self.label = ps.step.command or ("cdb" if ps.step.cdb is not None else None)

    # -- starting ---------------------------------------------------------------

    def start(self) -> None:
        runner = self.runner
        try:
            if self.device is None:
                raise UsageError(f"step {self.step.name!r} names no device")
            self.channel = runner.channels[self.device]
            self.block_size = runner.block_sizes[self.device]
            env = Env(runner.vars, self.block_size)
            rng = runner.plan.rng(self.ps)
            self.total, self.depth = runner.plan.counts(self.ps, env)
            self.stream = runner.plan.command_stream(self.ps, env, repeat=self.total, rng=rng)
        except Exception as exc:
            self.fail_step(_problem(exc))

    def fail_step(self, message: str) -> None:
        """A failure of the step itself (a value that does not fit, an unknown field...)."""
        self.messages.append(message)
        self.halted = True
        if self.policy == "stop":
            self.runner.request_stop(f"step {self.path} ({self.step.name}) failed")

    # -- sending -------------------------------------------------------------------

    def pump(self) -> None:
        """Send commands until ``queue_depth`` are in flight or the stream ends."""
        room = self.depth - self.in_flight
        if room <= 0 or self.halted or self.exhausted:
            return
        if self.runner.stopping and not self.ps.final:
            self.cut(self.runner.stop_reason)
            return
        channel = self.channel
        assert channel is not None
        bs = self.block_size
        timeout = channel.timeout
        ios: list[Io] = []
        index = self.submitted
        try:
            for command in islice(self.stream, room):
                command.options.verify_handler = _judge
                io = _RunIo(command, channel, timeout=timeout, block_size=bs)
                io.run = self
                io.index = index
                index += 1
                ios.append(io)
        except Exception as exc:
            self.fail_step(_problem(exc))
        if len(ios) < room:
            self.exhausted = True
        if not ios:
            return
        self.submitted = index
        self.in_flight += len(ios)
        channel.queue.submit(ios)

    def cut(self, reason: str) -> None:
        """Send nothing more: the scenario stops (another step failed, Ctrl-C, a device broke)."""
        self.halted = True
        if self.runner.interrupted or reason == "interrupted":
            self.interrupted = True
        if not self.stopped and self.submitted < self.total:
            self.stopped = f"stopped after sending {self.submitted:,} of {self.total:,} ({reason})"

    @property
    def done(self) -> bool:
        return self.in_flight == 0 and (self.halted or self.exhausted)

    # -- completions ----------------------------------------------------------------

    def completed(self, io: Io) -> None:
        """The verify handler of every command of this step (called by ``Io.complete``)."""
        self.in_flight -= 1
        self.count += 1
        self.latency.add(io.completed_at - io.submitted_at)
        index = io.index  # type: ignore[attr-defined]
        if index == self.total - 1:
            self.last_io = io
        detail = None
        if io.failure is not None and _broken(io):
            detail = self.device_error(io, index)
        elif not (self.fast and io.failure is None):
            try:
                detail = self.judge(io, index)
            except Exception as exc:  # a verifier's bug must not lose the verdict
                detail = FailureDetail(
                    index, "a verdict", "an error while judging", io.cdb.hex(" "), None, None, ""
                )
                detail.message = f"judging the command raised {type(exc).__name__}: {exc}"
                self.count_failure(detail)
        if self.command_done is not None:
            try:
                self.command_done("command_done", self.path, io, detail)
            except KeyboardInterrupt:
                self.runner.sigint = True  # Io.complete would swallow it: stop at the next turn

    def judge(self, io: Io, index: int) -> FailureDetail | None:
        if self.step.optional and _not_implemented(io):
            if not self.skipped:
                self.skipped = "not implemented by the device (INVALID COMMAND OPERATION CODE)"
            self.halted = True
            return None
        messages = self.runner.check(self, io, index)
        if not messages:
            return None
        detail = self.runner.detail(self, io, index, messages)
        self.count_failure(detail)
        return detail

    def device_error(self, io: Io, index: int) -> FailureDetail:
        """The transport broke under this command: the step is an error, whatever it expects."""
        words = io.failure.detail if io.failure is not None else "transport error"
        gone = _gone(io)
        message = f"device error: {words}" + (" (the device is gone)" if gone else "")
        detail = FailureDetail(
            index=index,
            expected=_describe_expect(self.expect),
            got=message,
            cdb_hex=io.cdb.hex(" "),
            sense=None,
            message=message,
        )
        self.failed += 1
        if not self.error or len(self.failures) < MAX_FAILURES:  # the first always: it says why
            self.failures.append(detail)
        if not self.error:
            lost = " lost" if gone else ""
            self.error = f"device {self.device}{lost}: {words}"
            self.cut(f"device {self.device}{lost or ' error'}")
            self.runner.device_error(self.device or "", words, gone=gone, run=self)
        return detail

    def count_failure(self, detail: FailureDetail) -> None:
        self.failed += 1
        if len(self.failures) < MAX_FAILURES:
            self.failures.append(detail)
        if self.policy == "stop" and not self.halted:
            self.cut("on_failure: stop")
            if not self.ps.final:
                self.runner.request_stop(f"step {self.path} ({self.step.name}) failed")

    # -- ending ---------------------------------------------------------------------

    def save(self) -> None:
        """``save:`` decoded response fields (dotted paths, as ``fields:``) of the last command."""
        names = self.step.save
        if not names or self.skipped or self.messages or self.stopped:
            return  # a step cut short (Ctrl-C, another step's stop) saves nothing
        io = self.last_io
        if io is None:
            if not self.total:
                self.messages.append("save: the step sent no command (repeat: 0)")
            elif not self.failed:
                self.messages.append("save: the last command did not complete")
            return
        try:
            fields = io.command.decode_response(io.data)
        except Exception as exc:
            fields = {}
            self.messages.append(f"save: the response could not be decoded ({exc})")
            return
        from .verify.builtin import MISSING, lookup_path

        for var, name in names.items():
            value = lookup_path(fields, name) if fields else MISSING
            if value is not MISSING:
                self.saved[var] = value
                continue
            what = self.label or type(io.command).__name__
            if not fields:
                got = io.failure.detail if io.failure is not None else f"{len(io.data)} bytes"
                self.messages.append(
                    f"save: {var} from {name!r}: {what} returned no decodable response ({got})"
                )
            else:
                self.messages.append(
                    f"save: {what}'s response has no field {name!r}; it has: "
                    + ", ".join(sorted(fields))
                )
        self.runner.vars.update(self.saved)

    def result(self) -> StepResult:
        self.finished = True
        self.ended = self.ended or time.perf_counter()
        if self.error:
            status = "error"
        elif self.messages or self.failed:
            status = "failed"
        elif self.interrupted:
            status = "interrupted"
        elif self.skipped or self.stopped:
            status = "skipped"
        else:
            status = "passed"
        message = "; ".join(
            filter(None, [self.error, *self.messages, self.skipped or self.stopped])
        )
        return StepResult(
            name=self.step.name,
            path=self.path,
            device=self.device,
            command=self.label,
            status=status,
            count=self.count,
            failed=self.failed,
            latency=self.latency.stats(),
            failures=self.failures,
            mark=self.step.mark,
            kind="command",
            message=message,
            duration=self.ended - self.started,
            repeat=self.total,
            queue_depth=self.depth,
            saved=dict(self.saved),
            final=self.ps.final,
            depth=self.ps.depth,
        )


def _problem(exc: BaseException) -> str:
    if isinstance(exc, UsageError | ValueError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _describe_expect(expect: Sequence[Expectation]) -> str:
    if not expect:
        return "GOOD"
    parts = []
    for e in expect:
        if e.value is None:
            parts.append(
                {"good": "GOOD", "any": "anything", "fail": "a failure"}.get(e.kind, e.kind)
            )
        else:
            parts.append(f"{e.kind} {_short(e.value)}")
    return " and ".join(parts)


def _short(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, int) and not isinstance(value, bool) and value > 9:
        return hex(value)
    return str(value)


class _Runner:
    """The state of one run: devices, variables, the reactor, what has been decided."""

    def __init__(
        self,
        plan: Plan,
        reporter: Any,
        log_commands: bool,
        plugins: Sequence[str],
        pm: Any,
    ) -> None:
        self.plan = plan
        self.scenario = plan.scenario
        self.log_commands = log_commands
        self.plugins = list(plugins)
        self.pm = pm
        self.notes: list[str] = []
        reporters = reporter if isinstance(reporter, list | tuple) else [reporter]
        self.report = _Fanout([r for r in reporters if r is not None], self.notes)
        self.command_done = self.report if self.report.has("command_done") else None
        self.reactor: Reactor | None = None
        self.channels: dict[str, Channel] = {}
        self.block_sizes: dict[str, int] = {}
        self.targets: dict[str, str] = {}
        self.vars: dict[str, Any] = {}
        self.results: dict[str, StepResult] = {}
        self.active: list[_StepRun] = []
        self.stopping = False
        self.stop_reason = ""
        self.error = ""
        self.interrupted = False
        self.sigint = False  # a signal (or a reporter's KeyboardInterrupt) waiting to be acted on
        self.signum: int | None = None  # the first stop signal received
        self.aborted = False  # a second signal: give up on what is left
        self.lost: dict[str, str] = {}  # device name -> why it is gone
        self.final_deadline = 0.0  # finally: after a signal ends by then (perf_counter)
        self.kinds: dict[str, Any] = {}
        self.check_hook = False  # a plugin checks every command: no fast path
        self.allow_destructive = False
        self.destructive: list[Any] = []  # safety.DestructiveStep of the selected steps
        self.claims: list[Any] = []  # holders.BlockClaim: disks held O_EXCL for the run

    # -- the whole run --------------------------------------------------------------

    def run(self) -> ScenarioResult:
        plan = self.plan
        started = time.time()
        t0 = time.perf_counter()
        result = ScenarioResult(
            name=self.scenario.name,
            file=self.scenario.file,
            seed=plan.seed,
            select=plan.select,
            started=started,
        )
        if not plan.selected:
            result.status = "skipped"
            result.message = f"-k {plan.select!r} selects no step"
            return result
        self._load_plugins()
        self.vars = plan.initial_vars()
        self.reactor = Reactor()
        with self._signal_handlers():  # from here a signal is a flag until the steps look at it
            try:
                self._guard()
                self._open_devices()
                try:
                    self.report("scenario_started", self.scenario, plan)
                except KeyboardInterrupt:
                    self.sigint = True
                self._phase(plan.top(final=False))
                self._phase(plan.top(final=True), final=True)
            finally:
                self._close()
            return self._result(result, t0)

    def _result(self, result: ScenarioResult, t0: float) -> ScenarioResult:
        result.devices = dict(self.targets)
        result.steps = self._collect()
        result.duration = time.perf_counter() - t0
        result.interrupted = self.interrupted
        result.notes = self.notes
        result.commands = sum(s.count for s in result.steps if s.kind == "command")
        result.failed_commands = sum(s.failed for s in result.steps if s.kind == "command")
        if self.error:
            result.status, result.message = "error", self.error
        elif any(s.status == "failed" for s in result.steps):
            result.status = "failed"
            result.message = self.stop_reason
        else:
            result.status = "passed"
        if self.interrupted:
            self._interrupted(result)
        self._hook("sgscript_scenario_finished", result)
        try:
            self.report("scenario_finished", result)
        except KeyboardInterrupt:
            if (
                not result.interrupted
            ):  # the record already written says otherwise; the caller knows
                self.interrupted = True
                self._interrupted(result)
        return result

    def _interrupted(self, result: ScenarioResult) -> None:
        """An interrupted scenario says so: status, signal, and what it was doing."""
        result.interrupted = True
        result.signal = signal_name(self.signum or signal.SIGINT)
        was = "" if result.status == "passed" else f"{result.status}: "
        result.message = "; ".join(
            filter(None, [f"interrupted by {result.signal}", was + result.message if was else ""])
        )
        result.status = "interrupted"

    def _phase(self, steps: list[PlannedStep], final: bool = False) -> None:
        """Drive one sequence (``steps:`` or ``finally:``) to its end, or to a stop."""
        if final:
            self.sigint = False  # the signal that stopped the steps does not skip finally:
            if self.aborted:
                return
            if self.interrupted:  # cleanup after a signal has a deadline (CI kills next)
                self.final_deadline = time.perf_counter() + FINALLY_TIMEOUT
        elif self.sigint:  # Ctrl-C while the devices were opened: no step starts
            self.sigint = False
            self.interrupted = True
            self.request_stop("interrupted")
            return
        try:
            self._drive(self._sequence(steps))
        except (KeyboardInterrupt, _Stop):
            self.interrupted = True
            if final:
                self.aborted = True
            self.request_stop("interrupted")
            self._settle()
        except Exception as exc:  # a bug, or a plugin's: the run ends as an error, reported
            self.error = f"internal error: {type(exc).__name__}: {exc}"
            self.notes.append("".join(traceback.format_exception(exc)).rstrip())
            self.request_stop("internal error")
            self._settle()
        for run in list(self.active):  # steps cut short by Ctrl-C or an error
            self._finish(run)

    def _drive(self, gen: Iterator[float | None]) -> None:
        reactor = self.reactor
        assert reactor is not None
        channels = list(self.channels.values())
        for wake in gen:
            if self.sigint:
                self.sigint = False
                raise _Stop
            if self.aborted:
                raise _Stop
            now = time.perf_counter()
            if self.final_deadline and now >= self.final_deadline:
                self.notes.append(
                    f"finally: abandoned after {FINALLY_TIMEOUT:g} s (the run was interrupted)"
                )
                raise _Stop
            timeout = _TICK if wake is None else max(0.0, min(_TICK, wake - now))
            if any(ch.pending for ch in channels):
                reactor.run_once(timeout)
            elif wake is not None and timeout > 0:
                time.sleep(timeout)

    def _settle(self) -> None:
        """Reap what is in flight, for at most ``REAP_TIMEOUT``; abandon the rest."""
        reactor = self.reactor
        if reactor is None:
            return
        channels = list(self.channels.values())
        end = time.perf_counter() + REAP_TIMEOUT
        try:
            while any(ch.pending for ch in channels) and time.perf_counter() < end:
                if self.aborted:
                    break
                reactor.run_once(_TICK)
        except KeyboardInterrupt:
            self.aborted = True
            self.interrupted = True
        left = sum(ch.pending for ch in channels)
        if left:
            self.notes.append(f"{left} command(s) still in flight were abandoned")
            for ch in channels:
                ch.queue.abandon()
            for run in self.active:
                run.in_flight = 0

    # -- sequencing (generators yield a wake-up time, or None: "when something completes")

    def _sequence(self, steps: list[PlannedStep]) -> Iterator[float | None]:
        for ps in steps:
            if self.stopping and not ps.final:
                return
            yield from self._step(ps)

    def _step(self, ps: PlannedStep) -> Iterator[float | None]:
        step = ps.step
        self.report("step_started", step, ps.path)
        lost = self.lost.get(step.device or "") if step.kind in ("command", "reset") else None
        if lost is not None:
            self._record(
                ps, "failed", message=f"not run: device {step.device} lost ({lost})", failed=0
            )
        elif step.kind == "command":
            yield from self._command(ps)
        elif step.kind == "parallel":
            yield from self._parallel(ps)
        elif step.kind == "sleep":
            started = time.perf_counter()
            deadline = started + float(step.sleep or 0)
            while time.perf_counter() < deadline and not (self.stopping and not ps.final):
                yield deadline
            cut = time.perf_counter() < deadline
            self._record(
                ps,
                ("interrupted" if self.interrupted else "skipped") if cut else "passed",
                duration=time.perf_counter() - started,
                message="cut short: " + self.stop_reason if cut else "",
            )
        elif step.kind == "reset":
            self._reset(ps)
        else:
            self._record(ps, "failed", message=f"unknown step kind {step.kind!r}", failed=1)

    def _command(self, ps: PlannedStep) -> Iterator[float | None]:
        run = _StepRun(self, ps)
        self.active.append(run)
        run.start()
        while True:
            run.pump()
            if run.done:
                break
            yield None
        self._finish(run)

    def _finish(self, run: _StepRun) -> None:
        if run.finished:
            return
        if not (run.halted or run.exhausted) or run.in_flight:  # cut short by Ctrl-C or an error
            reason = "interrupted" if self.interrupted else self.stop_reason or "the run ended"
            run.cut(reason)
            if not run.stopped:
                run.stopped = f"cut short ({reason}): {run.count:,} of {run.total:,} completed"
        run.ended = time.perf_counter()
        run.save()
        run.last_io = None  # the Io points back at the run: let both go now
        result = run.result()
        if result.status == "failed" and run.messages and run.policy == "stop" and not run.ps.final:
            self.request_stop(f"step {run.path} ({run.step.name}) failed")
        with contextlib.suppress(ValueError):
            self.active.remove(run)
        self._done(result)

    def _parallel(self, ps: PlannedStep) -> Iterator[float | None]:
        started = time.perf_counter()
        branches = [self._sequence(b) for b in self.plan.children(ps)]
        live = list(branches)
        while live:
            wakes: list[float] = []
            for gen in list(live):
                try:
                    wake = next(gen)
                except StopIteration:
                    live.remove(gen)
                    continue
                if wake is not None:
                    wakes.append(wake)
            if live:
                yield min(wakes) if wakes else None  # run_once wakes early for completions
        inner = [r for p, r in self.results.items() if p.startswith(ps.path + ".")]
        status = "passed"
        if any(r.status == "error" for r in inner):
            status = "error"
        elif any(r.status == "failed" for r in inner):
            status = "failed"
        elif any(r.status == "interrupted" for r in inner):
            status = "interrupted"
        elif inner and all(r.status == "skipped" for r in inner):
            status = "skipped"
        self._record(
            ps,
            status,
            duration=time.perf_counter() - started,
            count=sum(r.count for r in inner if r.kind == "command"),
            failed=sum(r.failed for r in inner if r.kind == "command"),
        )

    def _reset(self, ps: PlannedStep) -> None:
        step = ps.step
        started = time.perf_counter()
        channel = self.channels.get(step.device or "")
        message = ""
        status = "passed"
        try:
            if channel is None:
                raise UsageError(f"step {step.name!r} names no device")
            channel.reset(step.reset or "lun")
        except Exception as exc:
            message = f"reset {step.reset}: {_problem(exc)}"
            status = "failed"
            cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
            if isinstance(cause, OSError) and cause.errno in _GONE_ERRNO:
                status = "error"
                self.device_error(step.device or "", f"reset: {cause.strerror}", gone=True)
        policy = step.on_failure or self.scenario.on_failure
        if status == "failed" and policy == "stop" and not ps.final:
            self.request_stop(f"step {ps.path} ({step.name}) failed")
        self._record(
            ps,
            status,
            message=message,
            count=1,
            failed=1 if message else 0,
            duration=time.perf_counter() - started,
            command=f"reset {step.reset}",
        )

    def _record(
        self,
        ps: PlannedStep,
        status: str,
        *,
        message: str = "",
        count: int = 0,
        failed: int = 0,
        duration: float = 0.0,
        command: str | None = None,
    ) -> None:
        step = ps.step
        if command is None and step.kind == "sleep":
            command = f"sleep {step.sleep:g}s"
        self._done(
            StepResult(
                name=step.name,
                path=ps.path,
                device=step.device,
                command=command,
                status=status,
                count=count,
                failed=failed,
                mark=step.mark,
                kind=step.kind,
                message=message,
                duration=duration,
                final=ps.final,
                depth=ps.depth,
            )
        )

    def _done(self, result: StepResult) -> None:
        self.results[result.path] = result
        self._hook("sgscript_step_finished", result)
        self.report("step_finished", result)

    def _collect(self) -> list[StepResult]:
        """Every selected step's result in plan order; steps never reached as skipped."""
        out = []
        reason = "interrupted" if self.interrupted else self.stop_reason or "the run ended"
        for ps in self.plan.steps():
            result = self.results.get(ps.path)
            if result is None:
                step = ps.step
                result = StepResult(
                    name=step.name,
                    path=ps.path,
                    device=step.device,
                    command=step.command or ("cdb" if step.cdb is not None else None),
                    status="interrupted" if self.interrupted else "skipped",
                    mark=step.mark,
                    kind=step.kind,
                    message=f"not run: {reason}",
                    final=ps.final,
                    depth=ps.depth,
                )
            out.append(result)
        return out

    # -- decisions --------------------------------------------------------------------

    def request_stop(self, reason: str) -> None:
        if not self.stopping:
            self.stopping = True
            self.stop_reason = reason

    def device_error(
        self, name: str, words: str, *, gone: bool, run: _StepRun | None = None
    ) -> None:
        """A device's transport broke: the scenario is an ``error`` (exit 3).

        A device that is gone is *lost*: every step running on it is cut (an
        error too), its later steps fail as not run; other devices carry on.  A
        break that leaves the device there (ENOMEM for a transfer the driver
        will not take, a driver error) ends only that step, which then stops the
        scenario as a failed step would under ``on_failure: stop``.
        """
        what = f"device {name} lost" if gone else f"device {name}"
        if not self.error:
            self.error = f"device error: {what}: {words}"
        if gone:
            self.lost.setdefault(name, words)
            for other in self.active:
                if other is not run and other.device == name and not other.error:
                    other.error = f"{name} lost: {words}"
                    other.cut(f"device {name} lost")
        elif run is not None and run.policy == "stop" and not run.ps.final:
            self.request_stop(f"step {run.path} ({run.step.name}): device error")

    # -- judging ----------------------------------------------------------------------

    def _load_plugins(self) -> None:
        from .verify import expectation_kinds, get_plugin_manager

        if self.pm is None:
            self.pm = get_plugin_manager(self.plugins)
        self.kinds = expectation_kinds(self.pm)
        self.check_hook = bool(self.pm.hook.sgscript_check_command.get_hookimpls())

    def fast_ok(self, expect: Sequence[Expectation]) -> bool:
        """Whether a clean completion passes without asking anyone (``good`` or nothing)."""
        return not self.check_hook and all(e.kind == "good" for e in expect)

    def context(self, run: _StepRun, io: Io, index: int) -> Any:
        from .verify.hookspecs import CheckContext

        lba = io.command.values.get("logical_block_address") if io.command.values else None
        return CheckContext(
            io=io,
            step=run.step,
            vars=self.vars,
            device=run.device or "",
            block_size=run.block_size,
            lba=lba,
            seed=self.plan.seed,
            base_dir=self.plan.base_dir,
            index=index,
        )

    def check(self, run: _StepRun, io: Io, index: int) -> list[str]:
        from .verify import verify

        # verify() also asks every plugin's sgscript_check_command
        return list(verify(self.context(run, io, index), run.expect, self.kinds))

    def detail(self, run: _StepRun, io: Io, index: int, messages: list[str]) -> FailureDetail:
        sense = io.sense if io.sense_raw else None
        first = messages[0]
        expected = getattr(first, "expected", None) or _describe_expect(run.expect)
        got = getattr(first, "got", None) or (
            io.failure.detail if io.failure is not None else "GOOD"
        )
        diff = next((m.data_diff for m in messages if getattr(m, "data_diff", None)), None)
        return FailureDetail(
            index=index,
            expected=expected,
            got=got,
            cdb_hex=io.cdb.hex(" "),
            sense=sense.to_dict() if sense is not None else None,
            data_diff=diff,
            message="\n".join(str(m) for m in messages),
        )

    def _hook(self, name: str, result: Any) -> None:
        if self.pm is None:
            return
        try:
            getattr(self.pm.hook, name)(result=result)
        except Exception as exc:
            self.notes.append(f"plugin hook {name} failed: {type(exc).__name__}: {exc}")

    # -- devices ----------------------------------------------------------------------

    def _used_devices(self) -> list[str]:
        names: list[str] = []
        for ps in self.plan.steps():
            name = ps.step.device
            if ps.step.kind in ("command", "reset") and name and name not in names:
                names.append(name)
        return names

    def _guard(self) -> None:
        """Before anything is opened: destructive steps need permission on real devices,
        a disk in use is refused even with it, and a disk that will change is claimed."""
        from .safety import DestructiveRefused, check_plan, disk_of, target_simulated
        from .transport.linux import holders

        targets = {}
        for name in self._used_devices():
            if name in self.scenario.devices:
                targets[name] = self.plan.device_target(name)[0]
        self.destructive = check_plan(self.plan, self.allow_destructive, devices=targets)
        if not self.allow_destructive:
            return
        for name in sorted({d.device for d in self.destructive}):
            target = targets.get(name, "")
            if target_simulated(target) is not False:
                continue
            block = disk_of(target)
            if block is None:
                continue
            try:
                claim, why = holders.claim(block)
            except holders.DiskInUse as exc:
                raise DestructiveRefused(
                    f"{self.scenario.file}: refusing to change a disk in use"
                    " (even with --allow-destructive); nothing was sent:",
                    [f"device {name} ({target}): {exc}"],
                ) from None
            if claim is not None:
                self.claims.append(claim)
            else:
                self.notes.append(
                    f"device {name}: /dev/{block} not claimed exclusively ({why});"
                    " sysfs shows no holder"
                )

    def _open_devices(self) -> None:
        for name in self._used_devices():
            device = self.scenario.devices.get(name)
            if device is None:
                raise UsageError(
                    f"{self.scenario.file}: a step uses device {name!r}, which is not declared"
                )
            target, leftover = self.plan.device_target(name)
            self.targets[name] = target
            channel = self._open(name, target, leftover)
            self.channels[name] = channel
        self._refuse_real_plugins()
        for name, channel in self.channels.items():
            self._ready(name, channel)

    def _refuse_real_plugins(self) -> None:
        """A plugin's transport is real unless its class says ``simulated``: judged once open."""
        from .safety import refusal, target_simulated

        if self.allow_destructive:
            return
        real = [
            d
            for d in self.destructive
            if d.device in self.channels
            and target_simulated(self.targets[d.device]) is None
            and not getattr(self.channels[d.device].transport, "simulated", False)
        ]
        if real:
            raise refusal(self.plan, real, self.targets)

    def _open(self, name: str, target: str, leftover: dict[str, Any]) -> Channel:
        device = self.scenario.devices[name]
        depth = self.plan.device_queue_depth(name)
        timeout = device.timeout
        kwargs: dict[str, Any] = {"reactor": self.reactor}
        if timeout is not None:
            kwargs["timeout"] = timeout
        where = f"{device.mark}: " if device.mark is not None else ""
        try:
            transport = None
            if self.pm is not None:
                transport = self.pm.hook.sgscript_open_target(
                    target=self.plan.bindings.get(name, device.target),
                    options=device.open_options(),
                )
            if transport is not None:
                return Channel(transport, **kwargs)
            channel = Channel.open(target, queue_depth=depth, initiator=device.initiator, **kwargs)
        except UsageError as exc:  # a bad target string or sim option: the spec's (exit 2)
            raise UsageError(f"{where}device {name} ({target}): {exc}") from None
        except DeviceOpenError:
            raise
        except (TransportError, OSError) as exc:
            reason = exc.detail if isinstance(exc, TransportError) else str(exc)
            raise DeviceOpenError(name, target, reason) from None
        if leftover:
            self._apply_options(name, target, channel, leftover)
        return channel

    def _apply_options(
        self, name: str, target: str, channel: Channel, options: dict[str, Any]
    ) -> None:
        """Structured options (mappings, ranges) go to the transport; one that takes none is noted."""
        try:
            channel.transport.configure(options)
        except UnsupportedOptions:
            self.notes.append(
                f"device {name} ({target}): options {', '.join(sorted(options))} ignored"
                " (they describe a sim: target)"
            )
            return
        except UsageError as exc:
            channel.close()
            raise UsageError(f"device {name} ({target}): {exc}") from None

    def _ready(self, name: str, channel: Channel) -> None:
        """Clear the power-on UNIT ATTENTION (as a host's scan does) and learn the block size."""
        target = self.targets[name]
        for _ in range(UA_ATTEMPTS):
            try:
                io = channel.execute(TestUnitReady(), wait=True, check=False)
            except TransportError as exc:
                raise DeviceOpenError(name, target, exc.detail) from None
            failure = io.failure
            if failure is None:
                break
            if _broken(io):
                raise DeviceOpenError(name, target, failure.detail)
            sense = io.sense
            words = sense.summary() if sense is not None else failure.detail
            if isinstance(failure, UnitAttention):
                self.notes.append(f"device {name}: cleared UNIT ATTENTION ({words})")
                continue
            self.notes.append(f"device {name}: TEST UNIT READY: {words}")
            break
        size = channel.block_size  # READ CAPACITY(10), once
        channel.block_size = size  # even a guess stays put: no READ CAPACITY mid-run
        self.block_sizes[name] = size

    def _close(self) -> None:
        """Reap (bounded), close every channel and the reactor; a Ctrl-C here abandons the rest."""
        if self.active or any(ch.pending for ch in self.channels.values()):
            self._settle()
        for ch in self.channels.values():
            try:
                ch.close()
            except KeyboardInterrupt:
                self.interrupted = self.aborted = True
                ch.queue.abandon()
                with contextlib.suppress(Exception):
                    ch.close()
            except Exception as exc:
                self.notes.append(f"closing {ch.target}: {type(exc).__name__}: {exc}")
        if self.reactor is not None:
            self.reactor.close()
        for claim in self.claims:
            claim.release()
        self.claims = []

    # -- signals ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _signal_handlers(self) -> Iterator[None]:
        """First SIGINT/SIGTERM/SIGHUP: stop gracefully (finally: runs); second: abandon the rest.

        Only in the main thread, and only for a signal whose handler is Python's
        default (or one that says it is interrupt-like, as the CLI's): a handler
        somebody else installed, or an ignored SIGHUP (``nohup``), is left alone.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            if self.sigint or self.aborted or self.interrupted:
                self.aborted = True
                raise Interrupted(signum)
            self.sigint = True
            self.signum = self.signum or signum

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
            for signum, old in previous.items():
                signal.signal(signum, old)

"""The step state machine: one command step's stream, what it has in flight, its verdicts.

``_StepRun`` sends up to ``queue_depth`` commands of a step, judges each
completion (the verify module, the plugins), and ends as a ``StepResult``.
The runner (``runner.py``) drives it and decides for the scenario.
"""

from __future__ import annotations

import errno
import heapq
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, Protocol

from ..channel import Channel
from ..scenario.model import ErrorAction, Expectation
from ..scenario.plan import Env, Plan, PlannedStep
from ..scsi.cdb import Command
from ..scsi.errors import DriverError, HostError, TransportError, UsageError
from ..scsi.status import SenseKey
from ..transport.base import Io, Outcome
from .facts import catalog_command, points_at, refused_command
from .results import MAX_FAILURES, FailureDetail, Latency, StepResult

#: Seconds of blocking one-at-a-time commands before the run looks at signals and stops again.
_SYNC_SLICE = 0.02


#: ``save: {x: data_in}`` saves the data-in bytes as they came, not a decoded field.
RAW_DATA = "data_in"


class _RunIo(Io):
    """An Io that knows its step and its number in it (no side table per command)."""

    __slots__ = ("index", "run")

    def __init__(
        self,
        command: Command,
        run: _StepRun,
        index: int,
        channel: Channel,
        timeout: float,
        block_size: int,
    ) -> None:
        command.options.verify_handler = _judge
        super().__init__(command, channel, timeout=timeout, block_size=block_size)
        self.run = run
        self.index = index


def _judge(io: Io) -> None:
    """Every runner command's verify handler: the step run judges, never raises."""
    io.run.completed(io)  # type: ignore[attr-defined]


#: Fields whose value a device refuses (INVALID FIELD IN CDB) when it lacks what they
#: select: a service action, a VPD/mode/log page.
_SELECTORS = ("service_action", "page_code", "subpage_code")


def _not_supported(io: Io) -> bool:
    """The device answers as SPC-5 lets it say "I do not have this": INVALID COMMAND
    OPERATION CODE (20h/00h), or INVALID FIELD IN CDB (24h/00h) at a selecting field
    (service action, page or subpage code), or with no field pointer at all."""
    sense = io.sense if io.sense_raw else None
    if sense is None or sense.sense_key != SenseKey.ILLEGAL_REQUEST or sense.ascq != 0x00:
        return False
    if sense.asc == 0x20:
        return True
    if sense.asc != 0x24:
        return False
    command = catalog_command(io)
    layout = getattr(command, "layout", None)
    names = list(_SELECTORS)
    values = getattr(command, "values", None) or {}
    if layout is not None and "evpd" in layout.by_name and not values.get("evpd"):
        names.remove("page_code")  # INQUIRY without EVPD selects no page: a real error
    selectors = [
        layout.by_name[n].field for n in names if layout is not None and n in layout.by_name
    ]
    if not selectors:
        return False
    sks = sense.sense_key_specific
    if sks is None or sks.kind != "field_pointer":
        return True  # SKSV 0: the device does not say which field; a selector is there
    if not sks.cd or sks.field_pointer is None:
        return False
    return any(points_at(f, sks.field_pointer) for f in selectors)


def count_problems(
    counts: Sequence[Any], tallies: Sequence[int], total: int, variables: Mapping[str, Any]
) -> list[str]:
    """What ``counts:`` (of a step or a group) found wrong with its tallies of ``total``."""
    from ..scenario.expr import resolve

    out = []
    for count, got in zip(counts, tallies, strict=True):
        what = _describe_expect(count.match)
        for key, bad in (("at_least", lambda n, b: n < b), ("at_most", lambda n, b: n > b)):
            bound = getattr(count, key)
            if bound is None:
                continue
            try:
                want = int(resolve(bound, variables))
            except Exception as exc:
                out.append(f"counts: {key}: {_problem(exc)}")
                continue
            if bad(got, want):
                words = key.replace("_", " ")
                out.append(
                    f"counts: expected {words} {want:,} command(s) matching {what},"
                    f" got {got:,} of {total:,}"
                )
    return out


#: Sense keys that name an ``on_error:`` event.
_KEY_EVENTS = {
    SenseKey.UNIT_ATTENTION: "unit_attention",
    SenseKey.RECOVERED_ERROR: "recovered_error",
    SenseKey.MEDIUM_ERROR: "medium_error",
    SenseKey.NOT_READY: "not_ready",
    SenseKey.ABORTED_COMMAND: "aborted_command",
}
_STATUS_EVENTS = {0x08: "busy", 0x28: "task_set_full"}


def _event(io: Io) -> str | None:
    """The ``on_error:`` event a completion is, or None."""
    if io.timed_out or io.outcome is Outcome.TIMEOUT:
        return "timeout"
    named = _STATUS_EVENTS.get(io.status)
    if named is not None:
        return named
    sense = io.sense if io.sense_raw else None
    return None if sense is None else _KEY_EVENTS.get(sense.sense_key)  # type: ignore[call-overload]


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


class _RunnerView(Protocol):
    """What a step asks of the scenario runner (``runner._Runner``) and tells it."""

    plan: Plan
    channels: dict[str, Channel]
    block_sizes: dict[str, int]
    vars: dict[str, Any]
    latencies: dict[str, Latency]
    #: "PATH." of each running group with counts: -> (its counts, tallies + [commands])
    group_tallies: dict[str, tuple[Sequence[Any], list[int]]]
    stopping: bool
    stop_reason: str
    interrupted: bool
    sigint: bool
    #: device -> (opcode, service action) it answered as not supported: ``supports()`` learns
    refused_commands: dict[str, set[tuple[int, int | None]]]

    @property
    def command_done(self) -> Callable[..., None] | None: ...

    def fast_ok(self, expect: Sequence[Expectation]) -> bool: ...

    def alone(self, run: _StepRun) -> bool: ...

    def check(self, run: _StepRun, io: Io, index: int) -> list[str]: ...

    def matches(self, run: _StepRun, io: Io, index: int, expect: Sequence[Expectation]) -> bool: ...

    def detail(self, run: _StepRun, io: Io, index: int, messages: list[str]) -> FailureDetail: ...

    def request_stop(self, reason: str) -> None: ...

    def device_error(
        self, name: str, words: str, *, gone: bool, run: _StepRun | None = None
    ) -> None: ...


class _StepRun:
    """One command step in progress: its stream, what is in flight, its tallies."""

    def __init__(self, runner: _RunnerView, ps: PlannedStep) -> None:
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
        # one histogram per step for the run: a step a group repeats adds to it every pass
        self.latency = runner.latencies.setdefault(ps.path, Latency())
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
        # counts: need every command looked at, clean ones too
        self.tallies = [0] * len(ps.step.counts)
        self.on_error = runner.plan.error_policy(ps)
        #: commands to send again (on_error: retry): (when, order, command, index)
        self.retries: list[tuple[float, int, Command, int]] = []
        self.attempts: dict[int, int] = {}  # command index -> times sent again
        self.handled: dict[tuple[str, str], int] = {}  # (event, action) -> how many
        self.logged: list[str] = []
        self.order = 0  # ties in retries' due times keep their order
        self.fast = runner.fast_ok(expect) and not ps.step.counts
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
            self.total, depth = runner.plan.counts(self.ps, env)
            # never more in flight than the device was opened for: the record says what ran
            self.depth = min(depth, self.channel.transport.capacity)
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
        if room <= 0 or self.halted or (self.exhausted and not self.retries):
            return
        if self.runner.stopping and not self.ps.final:
            self.cut(self.runner.stop_reason)
            return
        channel = self.channel
        assert channel is not None
        bs = self.block_size
        timeout = channel.timeout
        ios: list[Io] = []
        if self.retries:  # what on_error sends again goes first, when its backoff is over
            now = time.perf_counter()
            while self.retries and len(ios) < room and self.retries[0][0] <= now:
                _, _, command, index = heapq.heappop(self.retries)
                ios.append(_RunIo(command, self, index, channel, timeout, bs))
            if self.retries and self.depth == 1:
                room = 0  # one at a time: nothing new overtakes a command waiting to go again
            room -= len(ios)
        elif self.depth == 1 and self.runner.alone(self):
            self._pump_sync(channel, bs, timeout)
            return
        if room <= 0 or self.exhausted:
            if ios:
                self.in_flight += len(ios)
                channel.queue.submit(ios)
            return
        index = self.submitted
        try:
            for command in islice(self.stream, room):
                ios.append(_RunIo(command, self, index, channel, timeout, bs))
                index += 1
        except Exception as exc:
            self.fail_step(_problem(exc))
        if index - self.submitted < room:
            self.exhausted = True
        if not ios:
            return
        self.submitted = index
        self.in_flight += len(ios)
        channel.queue.submit(ios)

    def _pump_sync(self, channel: Channel, bs: int, timeout: float) -> None:
        """Depth 1 with nothing else in flight anywhere: each command in one blocking call
        (SG_IO on sg, the unit's answer on ``sim:``), no reactor round trip. Returns after
        a slice of commands so the run still sees signals and stop requests in time."""
        transport = channel.transport
        stream = self.stream
        runner = self.runner
        end = time.perf_counter() + _SYNC_SLICE
        final = self.ps.final
        while not self.halted and not runner.sigint and (final or not runner.stopping):
            try:
                command = next(stream, None)
            except Exception as exc:
                self.fail_step(_problem(exc))
                command = None
            if command is None:
                self.exhausted = True
                return
            io = _RunIo(command, self, self.submitted, channel, timeout, bs)
            self.submitted += 1
            self.in_flight += 1
            if not transport.execute_sync(io):  # the transport cannot now: the reactor's way
                channel.queue.submit([io])
                return
            if self.retries or time.perf_counter() >= end:
                return

    def cut(self, reason: str) -> None:
        """Send nothing more: the scenario stops (another step failed, Ctrl-C, a device broke)."""
        self.halted = True
        if self.runner.interrupted or reason == "interrupted":
            self.interrupted = True
        if not self.stopped and self.submitted < self.total:
            self.stopped = f"stopped after sending {self.submitted:,} of {self.total:,} ({reason})"

    @property
    def done(self) -> bool:
        return self.in_flight == 0 and (self.halted or (self.exhausted and not self.retries))

    def wake(self) -> float | None:
        """When the step wants to run again with nothing in flight: a retry's backoff end."""
        if self.retries and not self.in_flight and not self.halted:
            return self.retries[0][0]
        return None

    # -- completions ----------------------------------------------------------------

    def completed(self, io: Io) -> None:
        """The verify handler of every command of this step (called by ``Io.complete``)."""
        self.in_flight -= 1
        if io.failure is not None and isinstance(io.os_error, InterruptedError):
            # a signal cut a blocking SG_IO short
            self.interrupted = True
            self.cut("interrupted")
            self.stopped = (
                f"interrupted while command {io.index + 1:,} was at the device"  # type: ignore[attr-defined]
                " (the driver finishes it unseen: its outcome is unknown)"
            )
            return
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
        if self.tallies:
            for n, count in enumerate(self.step.counts):
                self.tallies[n] += self.runner.matches(self, io, index, count.match)
        for group, (counts, tallies) in self.runner.group_tallies.items():
            if self.path.startswith(group):  # a group's counts: its steps' commands
                tallies[-1] += 1
                for n, count in enumerate(counts):
                    tallies[n] += self.runner.matches(self, io, index, count.match)
        if self.command_done is not None:
            try:
                self.command_done("command_done", self.path, io, detail)
            except KeyboardInterrupt:
                self.runner.sigint = True  # Io.complete would swallow it: stop at the next turn

    def judge(self, io: Io, index: int) -> FailureDetail | None:
        if io.sense_raw and self.device is not None:
            # the device says it lacks the command: supports() learns (optional: the
            # user says a bare INVALID FIELD IN CDB means that too, as _not_supported does)
            refused = refused_command(io, lenient=self.step.optional)
            if refused is not None:
                self.runner.refused_commands.setdefault(self.device, set()).add(refused)
        messages = self.runner.check(self, io, index)
        if not messages:
            return None  # expect: first, so an expected "not supported" answer passes
        if self.step.optional and _not_supported(io):
            if not self.skipped:
                sense = io.sense
                words = sense.summary() if sense is not None else "not supported"
                self.skipped = f"not supported by the device ({words})"
            self.halted = True
            return None
        event = _event(io) if self.on_error else None
        action = self.on_error.get(event) if event is not None else None
        if action is not None and self.handle(action, event or "", io, index, messages):
            return None
        detail = self.runner.detail(self, io, index, messages)
        self.count_failure(detail)
        return detail

    def handle(
        self, action: ErrorAction, event: str, io: Io, index: int, messages: list[str]
    ) -> bool:
        """Apply ``on_error:`` to a command its ``expect:`` failed; True: it is not a failure."""
        what = action.action
        if what == "retry":
            sent = self.attempts.get(index, 0)
            if sent >= action.retries:
                messages[0] = f"{messages[0]} (after {sent} retr{'y' if sent == 1 else 'ies'})"
                return False
            self.attempts[index] = sent + 1
            due = time.perf_counter() + action.backoff
            self.order += 1
            heapq.heappush(self.retries, (due, self.order, io.command, index))
        elif what == "stop":
            self.runner.request_stop(f"step {self.path} ({self.step.name}): on_error {event}: stop")
            return False
        elif what == "fail":
            return False
        elif what == "log" and len(self.logged) < MAX_FAILURES:
            self.logged.append(f"command {index}: {str(messages[0]).splitlines()[0]}")
        key = (
            event,
            "retried" if what == "retry" else f"{what}ged" if what == "log" else "ignored",
        )
        self.handled[key] = self.handled.get(key, 0) + 1
        return True

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

    def judge_counts(self) -> None:
        """``counts:``: each tally against its bounds, once the step's commands are done."""
        self.messages += count_problems(
            self.step.counts, self.tallies, self.count, self.runner.vars
        )

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
        raw = {var for var, name in names.items() if name == RAW_DATA}
        for var in raw:  # the bytes themselves, to send back (data: {hex: "${var}"})
            self.saved[var] = bytes(io.data)
        if len(raw) == len(names):
            self.runner.vars.update(self.saved)
            return
        try:
            fields = io.command.decode_response(io.data)
        except Exception as exc:
            fields = {}
            self.messages.append(f"save: the response could not be decoded ({exc})")
            return
        from ..verify.builtin import MISSING, lookup_path, missing_field

        for var, name in names.items():
            if var in raw:
                continue
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
                    f"save: {what}'s response has no field {name!r}: {missing_field(fields, name)}"
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
        handled = ", ".join(f"{n:,} {event} {done}" for (event, done), n in self.handled.items())
        message = "; ".join(
            filter(
                None,
                [
                    self.error,
                    *self.messages,
                    self.skipped or self.stopped,
                    f"on_error: {handled}" if handled else "",
                    *(f"logged {line}" for line in self.logged),
                ],
            )
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

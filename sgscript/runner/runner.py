"""The scenario runner: drives a plan's steps through one reactor to a ``ScenarioResult``.

How a run goes, its statuses, signals and deadlines: the package docstring
(``sgscript.runner``).  ``_StepRun`` (``step.py``) runs one command step;
``_Devices`` (``devices.py``) opens and readies the devices.
"""

from __future__ import annotations

import contextlib
import itertools
import signal
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..channel import Channel
from ..reactor import Reactor
from ..scenario.expr import Namespace, condition
from ..scenario.model import Expectation, Scenario
from ..scenario.plan import Plan, PlannedStep, loop_values
from ..scsi.errors import UsageError
from ..transport.base import Io
from .devices import _Devices
from .reporting import _Fanout
from .reproduce import Invocation, reproduce_command
from .results import NOT_APPLICABLE, FailureDetail, Latency, ScenarioResult, StepResult
from .signals import handling_signals, signal_name
from .step import _GONE_ERRNO, _describe_expect, _problem, _StepRun, count_problems

__all__ = ["FINALLY_TIMEOUT", "REAP_TIMEOUT", "run_plan", "run_scenario"]

#: Seconds an interrupted or broken run waits for commands in flight before abandoning them.
REAP_TIMEOUT = 10.0
#: Seconds ``finally:`` may take after a signal before what is left of it is abandoned.
FINALLY_TIMEOUT = 30.0
#: Longest the loop blocks without looking at Ctrl-C and sleeping steps.
_TICK = 0.25
#: Step kinds that reach a device (a lost device fails them as not run).
_ON_DEVICE = frozenset({"command", "reset", "task"})


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
    reproduce: str | None = None,
) -> ScenarioResult:
    """Run one scenario on its (bound) devices; see the module docstring.

    ``reporter`` is one object with some of ``Reporter``'s methods, or a list of
    them.  ``plugins`` names plugin modules (``-p``; picklable), or is a pluggy
    ``PluginManager`` already made (``get_plugin_manager``) in this process.
    ``log_commands`` is the reporters' business (the JSON Lines reporter takes
    its own flag): the runner calls ``command_done`` for every command either
    way.  Raises ``UsageError`` for a spec problem found before anything is
    sent (exit 2) and ``DeviceOpenError`` when a device cannot be opened (exit 3).

    Steps that can change a real device (``sgscript.runner.safety``) run only with
    ``allow_destructive=True``; without it, or when the disk is in use even with
    it, ``safety.DestructiveRefused`` (a ``UsageError``) is raised before
    anything is sent.

    ``reproduce`` is the command line the result (and so a failure's report) gives
    to run the scenario again (``runner.reproduce``); by default one made from these
    arguments, which knows no ``--var`` or ``--data-dir``.
    """
    plan = Plan(scenario, bindings=bindings, seed=seed, select=select)
    return run_plan(
        plan,
        reporter=reporter,
        log_commands=log_commands,
        plugins=plugins,
        allow_destructive=allow_destructive,
        reproduce=reproduce,
    )


def run_plan(
    plan: Plan,
    *,
    reporter: Any = None,
    log_commands: bool = False,
    plugins: Sequence[str] | Any = None,
    allow_destructive: bool = False,
    reproduce: str | None = None,
) -> ScenarioResult:
    """``run_scenario`` for a plan already made (``sgscript run`` prints its seed first)."""
    _own_faults(plan)
    if plugins is not None and hasattr(plugins, "hook"):
        runner = _Runner(plan, reporter, log_commands, (), plugins)
    else:
        runner = _Runner(plan, reporter, log_commands, plugins or (), None)
    runner.allow_destructive = allow_destructive
    if reproduce is None:
        how = Invocation(plugins=tuple(runner.plugins), allow_destructive=allow_destructive)
        reproduce = reproduce_command([plan], how)
    runner.reproduce = reproduce
    return runner.run()


def _own_faults(plan: Plan) -> None:
    """A ``sim:`` disk an earlier scenario of this process opened is the same disk (its
    data, reservations, mode pages and pending unit attentions carry over), but its fault
    options are each scenario's own: cleared here, set again by this one's openings."""
    from ..sim import targets
    from ..sim.target import target_options

    alive = targets()
    if not alive:
        return
    for name in plan.scenario.devices:
        try:
            target, options = plan.device_target(name)
            if not target.startswith("sim:"):
                continue
            disk = alive.get(target_options(target[4:], options)[0])
        except ValueError:  # opening it says why, in its own words
            continue
        for lu in disk.luns.values() if disk is not None else ():
            lu.faults.clear()


class _Stop(Exception):
    """Internal: a Ctrl-C turned into a stop of the current phase."""


class _Runner(_Devices):
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
        self.latencies: dict[str, Latency] = {}  # per step path, across a group's passes
        self.results: dict[str, StepResult] = {}
        self.passes: list[int] = []  # the pass of each group running, outermost first
        self.group_tallies: dict[str, tuple[Sequence[Any], list[int]]] = {}
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
        self.plain_kinds: dict[str, Any] | None = None
        self.check_hook = False  # a plugin checks every command: no fast path
        self.allow_destructive = False
        self.destructive: list[Any] = []  # safety.DestructiveStep of the selected steps
        self.claims: list[Any] = []  # holders.BlockClaim: disks held O_EXCL for the run
        self.device_facts: dict[str, Any] = {}  # name -> Namespace, probed on first use
        self.refused_commands: dict[str, set[tuple[int, int | None]]] = {}
        self.reproduce = ""  # the command line that runs this scenario again
        self.preparation: list[StepResult] = []  # what opening each device sent (open.NAME)
        self.assumed: set[str] = set()  # devices whose block size awaits a READ CAPACITY

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
            reproduce=self.reproduce,
        )
        if not plan.selected:
            result.status = "skipped"
            result.message = f"-k {plan.select!r} selects no step"
            return result
        self.notes.extend(plan.notes)  # what -k added, so the record says why it ran
        self._load_plugins()
        self.vars = plan.initial_vars()
        self.reactor = Reactor()
        with handling_signals(self):  # from here a signal is a flag until the steps look at it
            try:
                self._guard()
                self._open_devices()
                try:
                    self.report("scenario_started", self.scenario, plan)
                    for prepared in self.preparation:
                        self.report("device_opened", prepared)
                except KeyboardInterrupt:
                    self.sigint = True
                try:
                    why = self._not_applicable(self.scenario, None)
                except Exception as exc:  # nothing runs: the scenario fails, saying why
                    why = f"scenario {_problem(exc)}"
                    result.status, result.message = "failed", why
                if why is not None:  # nothing runs, finally: included: nothing to undo
                    if result.status != "failed":
                        result.status, result.message = NOT_APPLICABLE, why
                    status = NOT_APPLICABLE if result.status == NOT_APPLICABLE else "skipped"
                    for ps in plan.steps():
                        self._record(ps, status, message=why, announce=False)
                else:
                    self._phase(plan.top(final=False))
                    self._phase(plan.top(final=True), final=True)
            finally:
                self._close()
            return self._result(result, t0)

    def _result(self, result: ScenarioResult, t0: float) -> ScenarioResult:
        result.devices = dict(self.targets)
        result.preparation = list(self.preparation)
        result.steps = self._collect()
        result.duration = time.perf_counter() - t0
        result.interrupted = self.interrupted
        result.notes = self.notes
        result.commands = sum(s.count for s in result.steps if s.kind == "command")
        result.failed_commands = sum(s.failed for s in result.steps if s.kind == "command")
        result.id, result.refs = self.scenario.id, self.scenario.refs
        if result.status in (NOT_APPLICABLE, "failed") and not self.error:
            pass  # decided before any step ran
        elif self.error:
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
        lost = self.lost.get(step.device or "") if step.kind in _ON_DEVICE else None
        why = None
        try:
            device = step.device or self._device_of(step)
            why = None if lost is not None else self._not_applicable(step, device)
        except Exception as exc:  # a condition that cannot be evaluated fails its step
            self._record(ps, "failed", message=_problem(exc), failed=0)
            self._not_run(ps, "skipped", f"not run: the condition of {ps.path} failed")
            self._failed(ps)
            return
        if why is not None:
            self._record(ps, NOT_APPLICABLE, message=why)
            self._not_run(ps, NOT_APPLICABLE, f"not applicable: group {ps.path} is ({why})")
        elif lost is not None:
            self._record(
                ps, "failed", message=f"not run: device {step.device} lost ({lost})", failed=0
            )
        elif step.kind == "command":
            yield from self._command(ps)
        elif step.kind == "parallel":
            yield from self._parallel(ps)
        elif step.kind == "group":
            yield from self._group(ps)
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
        elif step.kind == "task":
            self._task(ps)
        elif step.kind == "check":
            self._check_step(ps)
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
            yield run.wake()
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
        if run.tallies and not run.error and not run.interrupted:
            run.judge_counts()
        run.save()
        if self.assumed and run.device in self.assumed:
            self.learn_block_size(run.device, run.last_io, run.path)
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
        self._record_container(ps, started)

    def _failed(self, ps: PlannedStep) -> None:
        """A step that failed stops the scenario when its policy says ``stop`` (not in
        ``finally:``: cleanup runs to its end)."""
        policy = ps.step.on_failure or self.scenario.on_failure
        if policy == "stop" and not ps.final:
            self.request_stop(f"step {ps.path} ({ps.step.name}) failed")

    def _record_container(
        self, ps: PlannedStep, started: float, message: str = "", failed: bool = False
    ) -> None:
        """A parallel group's or group's record: the worst of its steps, their commands;
        ``failed``: the group itself failed (its for: could not be known, its counts:)."""
        inner = [r for p, r in self.results.items() if p.startswith(ps.path + ".")]
        status = "passed"
        if any(r.status == "error" for r in inner):
            status = "error"
        elif any(r.status == "failed" for r in inner):
            status = "failed"
        elif any(r.status == "interrupted" for r in inner):
            status = "interrupted"
        elif inner and all(r.status == NOT_APPLICABLE for r in inner):
            status = NOT_APPLICABLE
        elif inner and all(r.status in ("skipped", NOT_APPLICABLE) for r in inner):
            status = "skipped"
        if failed and status not in ("error", "interrupted"):
            status = "failed"
        self._record(
            ps,
            status,
            message=message,
            duration=time.perf_counter() - started,
            count=sum(r.count for r in inner if r.kind == "command"),
            failed=sum(r.failed for r in inner if r.kind == "command"),
        )

    def _group(self, ps: PlannedStep) -> Iterator[float | None]:
        """A group's passes (``for:``, ``repeat:``, ``duration:``), then its ``finally:``."""
        step = ps.step
        started = time.perf_counter()
        body, cleanup = self.plan.group_steps(ps)
        var = step.loop[0] if step.loop is not None else None
        outer = {k: self.vars[k] for k in (var, "iteration") if k is not None and k in self.vars}
        message = ""
        try:
            values = self._passes(ps)
        except Exception as exc:  # its for: or repeat: cannot be known: the group fails
            values, message = (), f"{_problem(exc)}"
            self._not_run(ps, "skipped", f"not run: {message}")
            self._failed(ps)
        tallies = [0] * (len(step.counts) + 1)  # the last: every command of its steps
        if step.counts:
            self.group_tallies[ps.path + "."] = (step.counts, tallies)
        deadline = started + step.duration if step.duration is not None else None
        self.passes.append(0)
        try:
            for n, value in enumerate(values):
                if self.stopping and not ps.final:
                    break
                if deadline is not None and n and time.perf_counter() >= deadline:
                    break
                self.passes[-1] = n
                self.vars["iteration"] = n
                if var is not None:
                    self.vars[var] = value
                yield from self._sequence(body)
        finally:
            self.passes.pop()
        for key in (var, "iteration"):  # the loop's names leave scope with it
            if key is not None:
                self.vars.pop(key, None)
        self.vars.update(outer)
        if self.group_tallies.pop(ps.path + ".", None) is not None and not self.interrupted:
            found = count_problems(step.counts, tallies[:-1], tallies[-1], self.vars)
            message = "; ".join(filter(None, [message, *found]))
            if found:
                self._failed(ps)
        yield from self._sequence(cleanup)
        self._record_container(ps, started, message, failed=bool(message))

    def _passes(self, ps: PlannedStep) -> Iterable[Any]:
        """What each pass of a group gets: its ``for:`` values, else ``repeat`` passes (or
        endless until ``duration:`` when it says no ``repeat``)."""
        step = ps.step
        if step.loop is not None:
            return loop_values(step.loop[1], self.vars)
        if step.duration is not None and step.repeat == 1:
            return itertools.count()
        repeat, _ = self.plan.counts(ps, self.vars)
        return range(repeat)

    def _not_run(self, ps: PlannedStep, status: str, message: str) -> None:
        """Every selected step inside a container that will not run, recorded as ``status``."""
        prefix = ps.path + "."
        for inner in self.plan.steps():
            if inner.path.startswith(prefix) and inner.path not in self.results:
                self._record(inner, status, message=message, announce=False)

    @staticmethod
    def _device_of(step: Any) -> str | None:
        """The one device a group's (or parallel group's) steps use: what ``device.`` means
        in its conditions; None when they use several."""
        used = set()

        def walk(steps: Any) -> None:
            for inner in steps:
                if inner.device:
                    used.add(inner.device)
                for branch in inner.children():
                    walk(branch)

        for branch in step.children():
            walk(branch)
        return next(iter(used)) if len(used) == 1 else None

    def _not_applicable(self, what: Any, device: str | None) -> str | None:
        """Why a step (or the scenario) does not apply, or None: its ``when:`` and
        ``requires:`` against the variables and device facts."""
        checks = [("when", what.when)] if what.when is not None else []
        checks += [("requires", c) for c in what.requires]
        for key, text in checks:
            expr = condition(text)
            env = self.condition_env(expr.names, device)
            if not expr.evaluate(env):
                return f"{key}: {text.strip()} is false"
        return None

    def condition_env(self, names: Iterable[str], device: str | None) -> Mapping[str, Any]:
        """The variables, and the device facts a condition reads (probed on first use)."""
        names = set(names)
        if not names & {"device", "devices"}:
            return self.vars
        env = dict(self.vars)
        if "device" in names:
            if device is None and len(self.channels) == 1:
                device = next(iter(self.channels))
            if device is None:
                raise UsageError(
                    "'device' here names no one device (the steps use several): use devices.NAME"
                )
            env["device"] = self.facts(device)
        if "devices" in names:
            env["devices"] = Namespace(
                "devices", {name: self.facts(name) for name in self.channels}
            )
        return env

    def _check_step(self, ps: PlannedStep) -> None:
        """``check:``: a condition over the variables; nothing is sent."""
        step = ps.step
        text = (step.check or "").strip()
        try:
            expr = condition(text)
            holds = bool(expr.evaluate(self.condition_env(expr.names, step.device)))
            message = "" if holds else f"check {text} is false"
        except Exception as exc:
            holds, message = False, f"check {text}: {_problem(exc)}"
        if not holds:
            self._failed(ps)
        self._record(ps, "passed" if holds else "failed", message=message, command="check")

    def _reset(self, ps: PlannedStep) -> None:
        step = ps.step

        def reset(channel: Channel) -> str:
            channel.reset(step.reset or "lun")
            return ""

        self._device_action(ps, "reset", reset)

    def _task(self, ps: PlannedStep) -> None:
        """``task:``: a task management function on the step's device (its I_T nexus).
        ABORT TASK aims at the commands in flight of the step its ``of:`` names."""
        step = ps.step
        aimed = {s.path for s in self.scenario.steps_beside(ps.path) if step.of in (s.name, s.path)}

        def select(io: Io) -> bool:
            run = getattr(io, "run", None)
            return run is not None and run.path in aimed

        self._device_action(
            ps,
            "task",
            lambda channel: channel.task(step.task or "", select if step.of is not None else None),
        )

    def _device_action(self, ps: PlannedStep, kind: str, action: Callable[[Channel], str]) -> None:
        """A reset or task step: ``action`` on the step's channel (what it says is the
        step's message); a failure fails it, an errno saying the device is gone loses it."""
        step = ps.step
        what = f"{kind} {step.reset if kind == 'reset' else step.task}"
        started = time.perf_counter()
        channel = self.channels.get(step.device or "")
        status, message = "passed", ""
        try:
            if channel is None:
                raise UsageError(f"step {step.name!r} names no device")
            message = action(channel)
        except Exception as exc:
            status, message = "failed", f"{what}: {_problem(exc)}"
            cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
            if isinstance(cause, OSError) and cause.errno in _GONE_ERRNO:
                status = "error"
                self.device_error(step.device or "", f"{kind}: {cause.strerror}", gone=True)
        if status == "failed":
            self._failed(ps)
        self._record(
            ps,
            status,
            message=message,
            count=1,
            failed=0 if status == "passed" else 1,
            duration=time.perf_counter() - started,
            command=what,
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
        announce: bool = True,
    ) -> None:
        step = ps.step
        if command is None and step.kind == "sleep":
            command = f"sleep {step.sleep:g}s"
        if command is None and step.kind == "command":
            command = step.command or ("cdb" if step.cdb is not None else None)
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
            ),
            announce,
        )

    def _done(self, result: StepResult, announce: bool = True) -> None:
        """Keep a step's record (a later pass of a group adds to it) and report this pass."""
        step = self.plan.find(result.path).step
        result.id, result.refs = step.id, step.refs
        if self.passes:
            result.iteration = self.passes[-1]
        before = self.results.get(result.path)
        self.results[result.path] = result if before is None else before.merge(result)
        if announce:
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
                    id=step.id,
                    refs=step.refs,
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
        from ..verify import expectation_kinds, get_plugin_manager

        if self.pm is None:
            self.pm = get_plugin_manager(self.plugins)
        known = getattr(self.pm, "kinds", None)  # a PluginManager checked its kinds once
        self.kinds = known if known is not None else expectation_kinds(self.pm)
        self.check_hook = bool(self.pm.hook.sgscript_check_command.get_hookimpls())

    def alone(self, run: _StepRun) -> bool:
        """Whether ``run`` is the only step running and nothing is in flight on any device:
        then it may send its commands one blocking call at a time."""
        reactor = self.reactor
        return (
            len(self.active) == 1
            and self.active[0] is run
            and reactor is not None
            and not reactor.threaded
            and not any(ch.pending for ch in self.channels.values())
        )

    def fast_ok(self, expect: Sequence[Expectation]) -> bool:
        """Whether a clean completion passes without asking anyone (``good`` or nothing)."""
        return not self.check_hook and all(e.kind == "good" for e in expect)

    def context(self, run: _StepRun, io: Io, index: int) -> Any:
        from ..verify.hookspecs import CheckContext

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
        from ..verify import verify

        # verify() also asks every plugin's sgscript_check_command
        return list(verify(self.context(run, io, index), run.expect, self.kinds))

    def matches(self, run: _StepRun, io: Io, index: int, expect: Sequence[Expectation]) -> bool:
        """Whether one command meets ``expect`` by the expectation kinds alone (``counts:``)."""
        from ..verify import verify

        if self.plain_kinds is None:  # a plain mapping: no plugin's sgscript_check_command
            self.plain_kinds = dict(self.kinds)
        return not verify(self.context(run, io, index), expect, self.plain_kinds)

    def detail(self, run: _StepRun, io: Io, index: int, messages: list[str]) -> FailureDetail:
        sense = io.sense if io.sense_raw else None
        first = messages[0]
        expected = getattr(first, "expected", None) or _describe_expect(run.expect)
        got = getattr(first, "got", None) or (
            io.failure.detail if io.failure is not None else "GOOD"
        )
        diff = next((d for m in messages if (d := getattr(m, "data_diff", None))), None)
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

"""JUnit XML (``--junit F``): a ``testsuite`` per scenario, a ``testcase`` per step.

The shape CI servers read (GitHub Actions test reporters, GitLab, Jenkins),
kept to the attributes of the common JUnit XML schema (as pytest's
``xunit2`` family does):

| element | attributes | children |
|---|---|---|
| ``testsuites`` | ``name``, ``tests``, ``failures``, ``errors``, ``skipped``, ``time`` | one ``testsuite`` per scenario |
| ``testsuite`` | ``name`` (scenario), ``tests``, ``failures``, ``errors``, ``skipped``, ``time``, ``timestamp``, ``hostname`` | ``properties`` (seed, spec file, devices, what opening each device sent: ``open.NAME``, interrupted, ``reproduce``: the command line that runs it again), testcases |
| ``testcase`` | ``classname`` (scenario), ``name`` (step, unique in its suite: below), ``time`` | ``failure`` (message + details: expected, got, sense, CDB, data diff, where in the spec, and last ``reproduce: sgscript run ...``), ``error`` (the step's device or its transport broke), ``skipped`` (optional step the device does not implement; a step not run, or cut short by a signal) |

A testcase is named after its step. CI servers merge testcases of one suite that share
a name, so a name two steps share (two unnamed ``TestUnitReady on a`` steps) gets the
step's path in front, as the console and ``sgscript plan`` number steps: ``3
TestUnitReady on a``, ``5 TestUnitReady on a``, ``finally.1 TestUnitReady on a``. A
name no other step has stays as it is, so naming steps keeps their history in CI.

The file is rewritten (to a temporary name, synced, then renamed over the
target, so a reader never sees half a file) when the run starts, when each
scenario starts and ends, and at ``close()``.  It never reads as passed before
the run has said so: until the first scenario ends it holds one ``error``
testcase (the run has not finished), and a scenario that has started but not
ended is written with an ``(interrupted)`` error testcase — which is what stays
if the process is killed.  An interrupted run leaves the scenarios that ran,
and the one cut short with the steps it finished plus that error.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import socket
import stat
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..scenario.model import CONTAINERS
from . import device_targets, failure_lines

__all__ = ["JunitReporter"]

# Characters XML 1.0 cannot carry (a garbled sense buffer must not make the file unreadable).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    return _INVALID_XML.sub("?", str(value))


@dataclass
class _Suite:
    name: str
    file: str
    timestamp: str
    started: float
    properties: dict[str, str]
    cases: list[tuple[Any, float]] = field(default_factory=list)
    result: Any = None  # the ScenarioResult once it finished
    error: str = ""  # why it could not start, or broke (a device or its transport)


def _case_names(steps: list[Any]) -> list[str]:
    """Each step's testcase name: its own, or ``PATH NAME`` when another step's is the same.

    A path has no space and is unique, so the prefixed names never collide with each
    other; a step named like another's prefixed name is prefixed in its turn.
    """
    own = [str(getattr(s, "name", "")) for s in steps]
    paths = [str(getattr(s, "path", i + 1)) for i, s in enumerate(steps)]
    shared = Counter(own)
    names = [f"{p} {n}" if shared[n] > 1 else n for p, n in zip(paths, own, strict=True)]
    prefixed = {n for n, o in zip(names, own, strict=True) if n != o}
    return [
        f"{p} {n}" if n == o and n in prefixed else n
        for p, n, o in zip(paths, names, own, strict=True)
    ]


def _reproduce(suite: _Suite) -> list[str]:
    """The failure text's last line: the command line that runs the scenario again."""
    again = getattr(suite.result, "reproduce", "")
    return [f"reproduce: {again}"] if again else []


class _NotStarted:
    """The result of a scenario whose devices did not open."""

    interrupted = False
    duration = 0.0
    status = "error"


class JunitReporter:
    """Collects step results and writes ``path`` as JUnit XML."""

    def __init__(self, path: str | os.PathLike[str], *, name: str = "sgscript") -> None:
        self.path = os.fspath(path)
        self.name = name
        self.suites: list[_Suite] = []
        self._step_t0: dict[str, float] = {}
        self._closed = False
        self._signal: str | None = None  # a signal that ended the run between scenarios

    # -- the runner's protocol -------------------------------------------------

    def scenario_started(self, scenario: Any, plan: Any) -> None:
        props = {"file": str(getattr(scenario, "file", "")), "seed": str(getattr(plan, "seed", ""))}
        devices = device_targets(scenario, plan)
        props.update({f"device.{n}": str(t) for n, t in devices.items()})
        if getattr(scenario, "id", None):
            props["id"] = str(scenario.id)
        if getattr(scenario, "refs", ()):
            props["refs"] = "; ".join(scenario.refs)
        self.suites.append(
            _Suite(
                name=scenario.name,
                file=str(getattr(scenario, "file", "")),
                timestamp=_dt.datetime.now().isoformat(timespec="seconds"),
                started=time.monotonic(),
                properties=props,
            )
        )
        self._step_t0.clear()
        self.write()  # killed from here on, the file says this scenario did not finish

    def device_opened(self, result: Any) -> None:
        """What opening a device sent and cleared: a property of the suite (``open.a``), not a
        testcase (it is no step of the spec; the testcases stay the steps)."""
        if self.suites and self.suites[-1].result is None:
            self.suites[-1].properties[str(result.path)] = str(result.message)

    def step_started(self, step: Any, path: str) -> None:
        self._step_t0[path] = time.monotonic()

    def step_finished(self, result: Any) -> None:
        if not self.suites or self.suites[-1].result is not None:
            return  # a step outside any scenario: nothing to file it under
        if getattr(result, "kind", "command") in CONTAINERS:
            return  # a group is not a test: its steps are
        seconds = getattr(result, "duration", None)
        if seconds is None:
            t0 = self._step_t0.pop(getattr(result, "path", ""), None)
            seconds = time.monotonic() - t0 if t0 is not None else 0.0
        self.suites[-1].cases.append((result, seconds))

    def scenario_finished(self, result: Any) -> None:
        if not self.suites or self.suites[-1].result is not None:
            return
        suite = self.suites[-1]
        suite.result = result
        # The result is the authority: it also lists the steps never reached (skipped).
        timed = {getattr(r, "path", None): t for r, t in suite.cases}
        suite.cases = [
            (r, timed.get(getattr(r, "path", None), getattr(r, "duration", 0.0) or 0.0))
            for r in getattr(result, "steps", ())
            if getattr(r, "kind", "command") not in CONTAINERS
        ]
        if getattr(result, "status", "") == "error":
            suite.error = getattr(result, "message", "") or "device error"
        if getattr(result, "reproduce", ""):
            suite.properties["reproduce"] = result.reproduce
        self.write()

    def scenario_error(self, scenario: Any, plan: Any, message: str) -> None:
        """A scenario that could not start (a device would not open): a suite with one error."""
        self.scenario_started(scenario, plan)
        suite = self.suites[-1]
        suite.error = message
        suite.result = _NotStarted()
        self.write()

    def run_interrupted(self, signal: str) -> None:
        """A signal ended the run outside any scenario (before the first, or between two)."""
        self._signal = signal

    def close(self) -> None:
        self._closed = True
        self.write()

    # -- XML -----------------------------------------------------------------------

    def write(self) -> None:
        """Write what ran so far (atomically: a reader sees the old file or the new one).

        A path that is not a regular file (a device, a pipe) is written once, in place,
        when the run closes the report.
        """
        try:
            regular = stat.S_ISREG(os.stat(self.path).st_mode)
        except FileNotFoundError:
            regular = True  # to be made
        if not regular:
            # /dev/stdout, /dev/null, a pipe: replacing it would put a regular file in its
            # place (run as root, /dev/null itself).  Written in place, once, at the end.
            if self._closed:
                tree = ET.ElementTree(self.element())
                ET.indent(tree)
                with open(self.path, "wb") as out:
                    tree.write(out, encoding="utf-8", xml_declaration=True)
            return
        path = os.path.realpath(self.path)  # through a symlink, its file: the link stays
        tree = ET.ElementTree(self.element())
        ET.indent(tree)
        tmp = f"{path}.tmp{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                tree.write(f, encoding="utf-8", xml_declaration=True)
                f.flush()
                os.fsync(f.fileno())  # the rename must not land before the data does
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def element(self) -> ET.Element:
        root = ET.Element("testsuites", name=self.name)
        totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
        seconds = 0.0
        suites = [self._suite(s) for s in self.suites]
        if not suites or (self._signal and self._closed):
            suites.append(self._run_error())
        for el in suites:
            root.append(el)
            for key in totals:
                totals[key] += int(el.get(key, "0"))
            seconds += float(el.get("time", "0"))
        root.attrib.update({k: str(v) for k, v in totals.items()})
        root.set("time", f"{seconds:.3f}")
        return root

    def _run_error(self) -> ET.Element:
        """No scenario to show (yet), or a signal between them: a suite that reads as an error."""
        if self._signal:
            why = f"interrupted by {self._signal}: the scenarios after those above did not run"
        elif self._closed:
            why = "no scenario ran"
        else:
            why = "the run has not finished: no scenario has completed yet (killed if it stays)"
        el = ET.Element(
            "testsuite", name=self.name, tests="1", failures="0", errors="1", skipped="0"
        )
        el.set("time", "0.000")
        case = ET.SubElement(el, "testcase", classname=self.name, name="(run)", time="0.000")
        kind = "Interrupted" if self._signal else "Incomplete"
        ET.SubElement(case, "error", message=why, type=kind).text = why
        return el

    def _suite(self, suite: _Suite) -> ET.Element:
        result = suite.result
        interrupted = result is None or bool(getattr(result, "interrupted", False))
        duration = (
            getattr(result, "duration", None) if result is not None else None
        ) or time.monotonic() - suite.started
        el = ET.Element("testsuite", name=_text(suite.name))
        props = ET.SubElement(el, "properties")
        for key, value in {**suite.properties, "interrupted": str(interrupted).lower()}.items():
            ET.SubElement(props, "property", name=_text(key), value=_text(value))
        counts = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
        names = _case_names([step for step, _ in suite.cases])
        for (step, seconds), name in zip(suite.cases, names, strict=True):
            el.append(self._case(suite, step, seconds, name))
            counts["tests"] += 1
            if step.status == "failed":
                counts["failures"] += 1
            elif step.status == "error":
                counts["errors"] += 1
            elif step.status in ("skipped", "interrupted", "not_applicable"):
                counts["skipped"] += 1
        if suite.error and not any(step.status == "error" for step, _ in suite.cases):
            case = ET.SubElement(
                el, "testcase", classname=_text(suite.name), name="(devices)", time="0.000"
            )
            ET.SubElement(
                case, "error", message=_text(suite.error.splitlines()[0]), type="DeviceError"
            ).text = _text(suite.error)
            counts["tests"] += 1
            counts["errors"] += 1
        if interrupted:
            case = ET.SubElement(
                el, "testcase", classname=_text(suite.name), name="(interrupted)", time="0.000"
            )
            done = sum(1 for step, _ in suite.cases if step.status != "interrupted")
            signal = getattr(result, "signal", None) if result is not None else None
            if result is None:
                why = "incomplete: the run had not finished this scenario (killed if it stays)"
            else:
                why = f"interrupted by {signal or 'a signal'} after {done} step(s)"
                why += "; the steps it did not run or cut short are marked interrupted"
            ET.SubElement(case, "error", message=why.split(";")[0], type="Interrupted").text = why
            counts["tests"] += 1
            counts["errors"] += 1
        el.attrib.update({k: str(v) for k, v in counts.items()})
        el.set("time", f"{duration:.3f}")
        el.set("timestamp", suite.timestamp)
        el.set("hostname", _text(socket.gethostname()))
        # properties first, then testcases: the schema's order
        return el

    def _case(self, suite: _Suite, step: Any, seconds: float, name: str) -> ET.Element:
        case = ET.Element(
            "testcase", classname=_text(suite.name), name=_text(name), time=f"{seconds:.3f}"
        )
        message = getattr(step, "message", "") or ""
        if step.status == "failed":
            details = list(getattr(step, "failures", ()))
            first = (getattr(details[0], "message", "") if details else "") or message
            first = first or "step failed"
            lines = [f"{step.failed:,} of {step.count:,} command(s) failed"]
            mark = getattr(step, "mark", None)
            if mark:
                lines.append(f"step {getattr(step, 'path', '')} at {mark}")
            if message:
                lines.append(message)
            for detail in details:
                lines += failure_lines(detail)
            lines += _reproduce(suite)
            kind = "ExpectationFailed" if details else "StepFailed"
            failure = ET.SubElement(
                case, "failure", message=_text(first.splitlines()[0]), type=kind
            )
            failure.text = _text("\n".join(lines))
        elif step.status == "error":
            lines = [message or "device error"]
            lines += [f"{step.count:,} command(s) completed, {step.failed:,} failed"]
            for detail in getattr(step, "failures", ()):
                lines += failure_lines(detail)
            lines += _reproduce(suite)
            error = ET.SubElement(
                case, "error", message=_text(lines[0].splitlines()[0]), type="DeviceError"
            )
            error.text = _text("\n".join(lines))
        elif step.status == "not_applicable":  # skipped, and says it is not a skip by choice
            ET.SubElement(case, "skipped", message=_text(f"NOT APPLICABLE: {message}"))
        elif step.status in ("skipped", "interrupted"):
            reason = message or step.status
            if step.status == "interrupted" and "interrupted" not in reason:
                reason = f"interrupted: {reason}"
            ET.SubElement(case, "skipped", message=_text(reason))
        return case

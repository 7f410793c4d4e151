"""JUnit XML (``--junit F``): a ``testsuite`` per scenario, a ``testcase`` per step.

The shape CI servers read (GitHub Actions test reporters, GitLab, Jenkins),
kept to the attributes of the common JUnit XML schema (as pytest's
``xunit2`` family does):

| element | attributes | children |
|---|---|---|
| ``testsuites`` | ``name``, ``tests``, ``failures``, ``errors``, ``skipped``, ``time`` | one ``testsuite`` per scenario |
| ``testsuite`` | ``name`` (scenario), ``tests``, ``failures``, ``errors``, ``skipped``, ``time``, ``timestamp``, ``hostname`` | ``properties`` (seed, spec file, devices, interrupted), testcases |
| ``testcase`` | ``classname`` (scenario), ``name`` (step), ``time`` | ``failure`` (message + details: expected, got, sense, CDB, data diff, where in the spec), ``skipped`` (optional step the device does not implement) |

The file is rewritten (to a temporary name, then renamed over the target, so
a reader never sees half a file) after every scenario and at ``close()``: an
interrupted run still leaves the scenarios that ran, and the scenario that
was cut short appears with the steps it finished plus an ``error`` testcase
saying it was interrupted.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import socket
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

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

    # -- the runner's protocol -------------------------------------------------

    def scenario_started(self, scenario: Any, plan: Any) -> None:
        props = {"file": str(getattr(scenario, "file", "")), "seed": str(getattr(plan, "seed", ""))}
        devices = device_targets(scenario, plan)
        props.update({f"device.{n}": str(t) for n, t in devices.items()})
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

    def step_started(self, step: Any, path: str) -> None:
        self._step_t0[path] = time.monotonic()

    def step_finished(self, result: Any) -> None:
        if not self.suites or self.suites[-1].result is not None:
            return  # a step outside any scenario: nothing to file it under
        if getattr(result, "kind", "command") == "parallel":
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
            if getattr(r, "kind", "command") != "parallel"
        ]
        if getattr(result, "status", "") == "error":
            suite.error = getattr(result, "message", "") or "device error"
        self.write()

    def scenario_error(self, scenario: Any, plan: Any, message: str) -> None:
        """A scenario that could not start (a device would not open): a suite with one error."""
        self.scenario_started(scenario, plan)
        suite = self.suites[-1]
        suite.error = message
        suite.result = _NotStarted()
        self.write()

    def close(self) -> None:
        self.write()

    # -- XML -----------------------------------------------------------------------

    def write(self) -> None:
        """Write what ran so far (atomically: a reader sees the old file or the new one)."""
        tree = ET.ElementTree(self.element())
        ET.indent(tree)
        tmp = f"{self.path}.tmp{os.getpid()}"
        try:
            tree.write(tmp, encoding="utf-8", xml_declaration=True)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def element(self) -> ET.Element:
        root = ET.Element("testsuites", name=self.name)
        totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
        seconds = 0.0
        for suite in self.suites:
            el = self._suite(suite)
            root.append(el)
            for key in totals:
                totals[key] += int(el.get(key, "0"))
            seconds += float(el.get("time", "0"))
        root.attrib.update({k: str(v) for k, v in totals.items()})
        root.set("time", f"{seconds:.3f}")
        return root

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
        for step, seconds in suite.cases:
            el.append(self._case(suite, step, seconds))
            counts["tests"] += 1
            if step.status == "failed":
                counts["failures"] += 1
            elif step.status == "skipped":
                counts["skipped"] += 1
        if suite.error:
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
            done = len(suite.cases)
            ET.SubElement(
                case, "error", message="interrupted", type="KeyboardInterrupt"
            ).text = f"the run was interrupted (Ctrl-C) after {done} step(s); the steps it did not run or cut short are marked skipped"
            counts["tests"] += 1
            counts["errors"] += 1
        el.attrib.update({k: str(v) for k, v in counts.items()})
        el.set("time", f"{duration:.3f}")
        el.set("timestamp", suite.timestamp)
        el.set("hostname", _text(socket.gethostname()))
        # properties first, then testcases: the schema's order
        return el

    def _case(self, suite: _Suite, step: Any, seconds: float) -> ET.Element:
        case = ET.Element(
            "testcase", classname=_text(suite.name), name=_text(step.name), time=f"{seconds:.3f}"
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
            failure = ET.SubElement(
                case, "failure", message=_text(first.splitlines()[0]), type="ExpectationFailed"
            )
            failure.text = _text("\n".join(lines))
        elif step.status == "skipped":
            reason = message or "skipped"
            ET.SubElement(case, "skipped", message=_text(reason))
        return case

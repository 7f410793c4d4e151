"""The console report: live progress while a scenario runs, a summary when it ends.

Two modes, chosen by whether the stream is a terminal:

| stream | while running | after each scenario |
|---|---|---|
| terminal | one status line redrawn at most 10 times a second (steps done/total, commands/s, failures so far, the step running); a failed step is printed above it at once | summary table + failure details |
| pipe, file, CI log | one plain line per finished step (nothing redrawn: logs stay greppable) | the same summary |

The summary has one row per step (status, count, failures, latency
min/p50/p99/max for repeated steps) and then, for each failed step, what was
expected and what came back (sense summary, CDB, data diff) for the first
failures the runner kept; a failed scenario ends with the one command line that
runs it again (``reproduce: sgscript run ...``).  Colour only on a terminal, never with ``NO_COLOR``.
"""

from __future__ import annotations

import os
import re
import sys
import time
from typing import Any, TextIO

from ..scenario.model import CONTAINERS
from . import device_targets, failure_lines, format_seconds

__all__ = ["ConsoleReporter", "format_result"]

_WORD = {
    "passed": "PASS",
    "failed": "FAIL",
    "skipped": "SKIP",
    "interrupted": "INTR",
    "not_applicable": "N/A",
}
_COLOUR = {
    "passed": "32",
    "failed": "31",
    "skipped": "33",
    "interrupted": "35",
    "error": "31",
    "not_applicable": "36",
}


def _count_steps(scenario: Any, plan: Any) -> int:
    """Steps the run will finish (a container such as a parallel group is not one)."""
    steps: Any = None
    if plan is not None and hasattr(plan, "steps"):
        try:
            steps = list(plan.steps())
        except Exception:  # a plan that cannot list its steps only costs the total
            steps = None
    if steps is None and scenario is not None and hasattr(scenario, "all_steps"):
        steps = scenario.all_steps()
    if not steps:
        return 0
    n = 0
    for item in steps:
        step = item[-1] if isinstance(item, tuple) else item
        step = getattr(step, "step", step)
        n += getattr(step, "kind", "command") not in CONTAINERS
    return n


def _ids(item: Any) -> str:
    """`` [QUAL-042; SBC-4 5.16]``: a scenario's or step's requirement ID and references."""
    parts = [p for p in (getattr(item, "id", None), *getattr(item, "refs", ())) if p]
    return f" [{'; '.join(parts)}]" if parts else ""


def _devices(scenario: Any, plan: Any) -> str:
    """``a=/dev/sg3, b=sim:lu0 (host-b)``: what each device name is bound to in this run."""
    parts = []
    for name, target in device_targets(scenario, plan).items():
        initiator = getattr(scenario.devices[name], "initiator", None)
        parts.append(f"{name}={target}" + (f" ({initiator})" if initiator else ""))
    return ", ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _latency_cell(result: Any) -> str:
    lat = getattr(result, "latency", None)
    if lat is None or not result.count:
        return "-"
    if result.count == 1:
        return format_seconds(lat.max)
    return " / ".join(format_seconds(getattr(lat, k)) for k in ("min", "p50", "p99", "max"))


def _step_what(result: Any) -> str:
    device = getattr(result, "device", None) or ""
    command = getattr(result, "command", None) or ""
    return f"{device}: {command}" if device and command else device or command


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _width(cell: str) -> int:
    return len(_ANSI.sub("", cell))  # colour codes take no room on screen


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    widths = [max([len(h), *(_width(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: tuple[str, ...]) -> str:
        out = []
        for i, (c, w) in enumerate(zip(cells, widths, strict=True)):
            pad = " " * (w - _width(c))
            out.append(pad + c if i in right else c + pad)
        return "  ".join(out).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def _leaf(r: Any) -> bool:
    return getattr(r, "kind", "command") not in CONTAINERS


def format_result(result: Any, *, colour: bool = False, detail_limit: int = 3) -> list[str]:
    """A finished scenario as lines: verdict, per-step table, details of the failures.

    Shared by the console and the pytest plugin (a failing item's report).
    Parallel groups are rows of their own (their steps indented under them) but
    are not counted as steps: their commands are their steps' commands.
    """
    paint = _painter(colour)
    steps = list(getattr(result, "steps", ()))
    leaves = [r for r in steps if _leaf(r)]
    kinds = ("passed", "error", "failed", "interrupted", "skipped", "not_applicable")
    counts = {s: sum(1 for r in leaves if r.status == s) for s in kinds}
    commands = getattr(result, "commands", None)
    if commands is None:
        commands = sum(r.count for r in leaves if getattr(r, "kind", "command") == "command")
    state = "interrupted" if result.interrupted else result.status
    verdict = paint(state, state.upper().replace("_", " "))
    parts = [_plural(len(leaves), "step")]
    parts += [f"{counts[s]} {s.replace('_', ' ')}" for s in kinds[1:] if counts[s]]
    seed = getattr(result, "seed", None)
    tail = f", seed {seed}" if seed is not None else ""
    lines = [
        f"{result.name}{_ids(result)}: {verdict}  {', '.join(parts)}, {_plural(commands, 'command')} "
        f"in {format_seconds(result.duration)}{tail}"
    ]
    message = getattr(result, "message", "")
    if result.status in ("error", "interrupted", "not_applicable") and message:
        word = result.status.replace("_", " ")
        lines.append(f"  {paint(result.status, word)}: {message}")
    if steps:
        rows: list[tuple[str, ...]] = [
            (
                r.path if hasattr(r, "path") else "",
                paint(r.status, _WORD.get(r.status, r.status.upper())),
                "  " * getattr(r, "depth", 0) + r.name + _ids(r),
                _step_what(r),
                f"{r.count:,}" if r.count or r.status != "skipped" else "-",
                f"{r.failed:,}" if r.failed else "-",
                _latency_cell(r) if _leaf(r) else "",
                _first_line(getattr(r, "message", "")),
            )
            for r in steps
        ]
        latency = "LATENCY min / p50 / p99 / max"
        headers: tuple[str, ...]  # the NOTE column goes when no row has a note
        headers = ("#", "", "STEP", "DEVICE: COMMAND", "COUNT", "FAILED", latency, "NOTE")
        if not any(row[-1] for row in rows):  # no notes: no empty column
            headers, rows = headers[:-1], [row[:-1] for row in rows]
        lines += ["  " + row for row in _table(headers, rows, right={4, 5})]
    for r in steps:
        if r.status not in ("failed", "error") or not _leaf(r):
            continue
        where = f"  ({r.mark})" if getattr(r, "mark", None) else ""
        word = _WORD.get(r.status, r.status.upper())
        lines.append("")
        lines.append(f"  {paint('failed', word)} step {r.path}: {r.name} [{_step_what(r)}]{where}")
        lines += [f"    {m}" for m in (getattr(r, "message", "") or "").splitlines()]
        details = list(getattr(r, "failures", ()))
        for detail in details[:detail_limit]:
            lines += failure_lines(detail, indent="    ")
        more = r.failed - min(len(details), detail_limit)
        if more > 0 and details:
            lines.append(f"    ... and {_plural(more, 'more failed command')}")
    notes = [n for n in getattr(result, "notes", ()) if n]
    if result.status == "passed" and not result.interrupted:
        # routine notes (unit attentions cleared at open) are in the log; a broken
        # reporter is not routine: its file is incomplete
        notes = [n for n in notes if n.startswith("reporter")]
    if notes:
        lines.append("")
        lines += [f"  note: {n}" for n in notes]
    again = getattr(result, "reproduce", "")
    if again and result.status in ("failed", "error") and not result.interrupted:
        lines += ["", f"  reproduce: {again}"]  # the one line that runs this failure again
    return lines


def _first_line(text: str, width: int = 72) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def _painter(colour: bool) -> Any:
    def paint(state: str, text: str) -> str:
        code = _COLOUR.get(state)
        return f"\x1b[{code}m{text}\x1b[0m" if colour and code else text

    return paint


class ConsoleReporter:
    """Progress and summary on a text stream (stdout by default)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        live: bool | None = None,
        colour: bool | None = None,
        interval: float = 0.1,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.live = tty if live is None else live
        self.colour = (tty and "NO_COLOR" not in os.environ) if colour is None else colour
        self.interval = interval
        self.results: list[Any] = []
        self._paint = _painter(self.colour)
        self._drawn = False  # a progress line is on screen
        self._reset(None)

    def _reset(self, scenario: Any) -> None:
        self.scenario_name = getattr(scenario, "name", "")
        self.total = 0
        self.done = 0
        self.commands = 0
        self.failed_commands = 0
        self.failed_steps = 0
        self.running: dict[str, str] = {}  # step path -> name, in start order
        self.started = time.monotonic()
        self._next_draw = 0.0
        self._rate = 0.0
        self._rate_mark = (self.started, 0)

    # -- the runner's protocol -------------------------------------------------

    def scenario_started(self, scenario: Any, plan: Any) -> None:
        self._reset(scenario)
        self.total = _count_steps(scenario, plan)
        seed = getattr(plan, "seed", None)
        where = getattr(scenario, "file", "")
        header = scenario.name + _ids(scenario) + (f"  ({where})" if where else "")
        self._print(header + (f"  seed {seed}" if seed is not None else ""))
        devices = _devices(scenario, plan)
        if devices:
            self._print(f"  devices: {devices}")
        for note in getattr(plan, "notes", ()):  # steps -k did not name that run anyway
            self._print(f"  note: {note}")
        if self.live:
            self._draw(time.monotonic())

    def device_opened(self, result: Any) -> None:
        """``  open a: TEST UNIT READY: cleared UNIT ATTENTION (...); ...``: not a step, no counter."""
        self._print(f"  open {result.device}: {result.message}")

    def step_started(self, step: Any, path: str) -> None:
        if getattr(step, "kind", "command") not in CONTAINERS:  # the steps, not their group
            self.running[path] = getattr(step, "name", None) or path

    def command_done(self, step_path: str, io: Any, failure: Any) -> None:
        self.commands += 1
        if failure is not None:
            self.failed_commands += 1
        if self.live:
            now = time.monotonic()
            if now >= self._next_draw:
                self._draw(now)

    def step_finished(self, result: Any) -> None:
        path = getattr(result, "path", None)
        if path is not None:
            self.running.pop(path, None)
        if not _leaf(result):  # a group: its steps were reported one by one
            if self.live:
                self._draw(time.monotonic())
            return
        if getattr(result, "iteration", None):  # a later pass of a group: only its failures
            if result.status in ("failed", "error"):
                self.failed_steps += result.status == "failed"
                self._print(self._step_line(result))
            elif self.live:
                self._draw(time.monotonic())
            return
        self.done += 1
        if result.status == "failed":
            self.failed_steps += 1
        if not self.live:
            self._print(self._step_line(result))
            return
        if result.status in ("failed", "error"):  # at once, above the progress line
            self._print(self._step_line(result))
        self._draw(time.monotonic())

    def scenario_finished(self, result: Any) -> None:
        self._clear()
        self.results.append(result)
        self._print("")  # what is above is progress; the summary is the report
        for line in format_result(result, colour=self.colour):
            self._print(line)
        self._print("")

    def scenario_error(self, scenario: Any, plan: Any, message: str) -> None:
        """The scenario could not start (a device would not open): say so, count it."""
        self._clear()
        self._print(f"{scenario.name}  ({getattr(scenario, 'file', '')})")
        self._print(f"{scenario.name}: {self._paint('error', 'ERROR')}  {message}")
        self._print("")
        self.results.append(_Errored(scenario.name, message))

    def close(self) -> None:
        """The run's last word: a total when several scenarios ran."""
        self._clear()
        if len(self.results) < 2:
            self.stream.flush()
            return
        by: dict[str, list[str]] = {}
        for r in self.results:
            by.setdefault("interrupted" if r.interrupted else r.status, []).append(r.name)
        parts = [f"{len(v)} {k}" for k, v in by.items()]
        self._print(f"{_plural(len(self.results), 'scenario')}: {', '.join(parts)}")
        for state in ("failed", "error"):
            if by.get(state):
                self._print(f"  {state}: {', '.join(by[state])}")
        self.stream.flush()

    # -- drawing -----------------------------------------------------------------

    def _step_line(self, result: Any) -> str:
        word = self._paint(result.status, _WORD.get(result.status, result.status.upper()))
        n = max(self.total, self.done)
        width = len(str(n))
        text = f"  {word} [{self.done:>{width}}/{n}] {result.name}"
        if getattr(result, "iteration", None):
            text += f" (pass {result.iteration + 1})"
        what = _step_what(result)
        if what:
            text += f"  ({what})"
        if result.count != 1:
            text += f"  {_plural(result.count, 'command')}"
        if result.failed:
            text += f", {result.failed:,} failed"
            first = next(iter(getattr(result, "failures", ())), None)
            message = (getattr(first, "message", "") or "").splitlines()
            if message:  # the whole of it is in the summary below
                text += f": {_first_line(message[0], 100)}"
        return text

    def _draw(self, now: float) -> None:
        self._next_draw = now + self.interval
        t0, n0 = self._rate_mark
        if now - t0 >= self.interval / 2:
            rate = (self.commands - n0) / (now - t0)
            self._rate = rate if self._rate == 0 else 0.5 * self._rate + 0.5 * rate
            self._rate_mark = (now, self.commands)
        running = next(reversed(self.running.values()), "") if self.running else ""
        more = f" (+{len(self.running) - 1})" if len(self.running) > 1 else ""
        fails = f"{self.failed_steps} failed" if self.failed_steps else "no failures"
        n = max(self.total, self.done)
        line = (
            f"  {self.scenario_name}: step {self.done}/{n}  {self.commands:,} cmds  "
            f"{self._rate:,.0f} cmd/s  {fails}"
        )
        if running:
            line += f"  > {running}{more}"
        columns = _columns(self.stream)
        if len(line) > columns - 1:
            line = line[: columns - 2] + "~"
        self.stream.write("\r\x1b[K" + line)
        self.stream.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False

    def _print(self, line: str) -> None:
        self._clear()
        self.stream.write(line + "\n")
        self.stream.flush()  # a CI log shows each step as it finishes, not at exit


class _Errored:
    """A scenario that never started, as the run's total counts it."""

    def __init__(self, name: str, message: str) -> None:
        self.name, self.message = name, message
        self.status, self.interrupted = "error", False


def _columns(stream: TextIO) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 100
    return columns if columns >= 40 else 100  # a pty nobody sized (script, CI) says 0

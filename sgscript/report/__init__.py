"""Reports: what a run tells people (console) and machines (JSON Lines, JUnit XML).

Every reporter implements any subset of the runner's ``Reporter`` protocol
(``scenario_started``, ``device_opened``, ``step_started``, ``command_done``,
``step_finished``, ``scenario_finished``) plus ``close()``; ``Reporters`` fans one call out to
several, so the runner sees one reporter whatever the command line asked for.
``close()`` is the "the run is over, however it ended" call: the CLI and the
pytest plugin make it in a ``finally:``, so an interrupted run still leaves
its log and JUnit file behind.

The helpers below are shared so the three outputs describe a command and a
failure the same way (sense by its one-line summary, CDB in spaced hex,
durations in the unit a person reads).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "PROTOCOL",
    "Reporters",
    "command_status",
    "device_targets",
    "failure_lines",
    "format_seconds",
    "io_record",
    "latency_dict",
    "spaced_hex",
]

#: The runner's reporter methods (all optional), in the order a run calls them.
PROTOCOL = (
    "scenario_started",
    "device_opened",
    "step_started",
    "command_done",
    "step_finished",
    "scenario_finished",
)


class Reporters:
    """Several reporters seen as one; a method a reporter lacks is simply not called.

    ``command_done`` is bound once to the list of reporters that have it, so a
    million-command repeat pays for no ``getattr`` per command.
    """

    def __init__(self, reporters: Iterable[Any] = ()) -> None:
        self.reporters = [r for r in reporters if r is not None]
        self._command_done = [r.command_done for r in self.reporters if hasattr(r, "command_done")]

    def _each(self, method: str, *args: Any) -> None:
        for reporter in self.reporters:
            fn = getattr(reporter, method, None)
            if fn is not None:
                fn(*args)

    def scenario_started(self, scenario: Any, plan: Any) -> None:
        self._each("scenario_started", scenario, plan)

    def device_opened(self, result: Any) -> None:
        self._each("device_opened", result)

    def step_started(self, step: Any, path: str) -> None:
        self._each("step_started", step, path)

    def command_done(self, step_path: str, io: Any, failure: Any) -> None:
        for fn in self._command_done:
            fn(step_path, io, failure)

    def step_finished(self, result: Any) -> None:
        self._each("step_finished", result)

    def scenario_finished(self, result: Any) -> None:
        self._each("scenario_finished", result)

    def scenario_error(self, scenario: Any, plan: Any, message: str) -> None:
        """Not the runner's: the CLI's word that a scenario could not start (device open)."""
        self._each("scenario_error", scenario, plan, message)

    def run_interrupted(self, signal: str) -> None:
        """Not the runner's: the CLI's word that a signal ended the run between scenarios."""
        self._each("run_interrupted", signal)

    def close(self) -> None:
        """Close them all, even when one of them fails (its error is raised after)."""
        error: BaseException | None = None
        for reporter in self.reporters:
            fn = getattr(reporter, "close", None)
            if fn is None:
                continue
            try:
                fn()
            except BaseException as exc:  # keep closing the others: their files matter too
                error = error or exc
        if error is not None:
            raise error


# ------------------------------------------------------------------ helpers


def format_seconds(seconds: float | None) -> str:
    """``812us``, ``1.25ms``, ``3.40s``: three significant digits in the unit that fits."""
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f}us"
    if seconds < 1:
        ms = seconds * 1e3
        return f"{ms:.2f}ms" if ms < 10 else f"{ms:.1f}ms" if ms < 100 else f"{ms:.0f}ms"
    return f"{seconds:.2f}s"


def spaced_hex(raw: bytes | str | None) -> str:
    """``28 00 00 ...`` from bytes or a hex string (spaced or not), as sg3_utils prints CDBs."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        text = raw
        try:
            raw = bytes.fromhex("".join(text.split()))
        except ValueError:
            return text
    return " ".join(f"{b:02x}" for b in raw)


def latency_dict(latency: Any) -> dict[str, float] | None:
    """A ``LatencyStats`` (or anything with min/p50/p99/max/mean) as plain seconds."""
    if latency is None:
        return None
    if hasattr(latency, "to_dict"):
        return latency.to_dict()
    return {k: getattr(latency, k) for k in ("min", "p50", "p99", "max", "mean")}


_STATUS_NAMES: dict[int, str] = {}


def _status_name(status: int) -> str:
    name = _STATUS_NAMES.get(status)
    if name is None:  # once per status value, not per command (--log-commands logs millions)
        from ..scsi.status import ScsiStatus

        try:
            name = ScsiStatus(status).name
        except ValueError:
            name = f"0x{status:02x}"
        _STATUS_NAMES[status] = name
    return name


def command_status(io: Any) -> str:
    """What came back, truthfully: the SCSI status only when the device gave one.

    ``timeout`` (the command timed out: no status came back), ``aborted`` (this
    nexus's task management function aborted it: no status), ``transport_error``
    (the driver refused or lost it: it may never have reached the device),
    ``host_error`` (the host adapter ended it: DID_NO_CONNECT, DID_RESET, ...),
    else the SCSI status by name (``GOOD``, ``CHECK_CONDITION``, ...).
    """
    if getattr(io, "os_error", None) is not None:
        return "transport_error"
    from ..scsi.errors import CommandTimeout

    if io.timed_out or isinstance(getattr(io, "failure", None), CommandTimeout):
        return "timeout"
    told = getattr(io, "transport_outcome", None)
    if told is not None and told.outcome.value == "aborted":
        return "aborted"  # a task management function of this nexus ended it: no status
    if io.host_status and not io.status:
        return "host_error"
    return _status_name(io.status)


def device_targets(scenario: Any, plan: Any) -> dict[str, str]:
    """Each device name → the target this run opens (``--device`` bindings and options applied)."""
    bound = getattr(plan, "bindings", None) or {}
    out: dict[str, str] = {}
    for name, device in getattr(scenario, "devices", {}).items():
        target = bound.get(name, getattr(device, "target", device))
        if hasattr(plan, "device_target"):
            # a report is no place to fail: keep what the spec says
            with contextlib.suppress(Exception):
                target = plan.device_target(name)[0]
        out[name] = str(target)
    return out


def io_record(io: Any, index: int | None = None, failure: Any = None) -> dict[str, Any]:
    """One command as JSON: what was sent, what came back, how long it took, the verdict."""
    record: dict[str, Any] = {}
    if index is not None:
        record["index"] = index
    command = getattr(io, "command", None)
    if command is not None:
        record["command"] = type(command).__name__
    record["cdb"] = bytes(io.cdb).hex()
    record["status"] = command_status(io)
    if getattr(io, "os_error", None) is not None:
        record["error"] = str(io.os_error.strerror or io.os_error)
    sense = io.sense if io.sense_raw else None
    if sense is not None:
        record["sense"] = sense.summary()
        record["sense_raw"] = bytes(io.sense_raw).hex()
    elif io.sense_raw:
        record["sense_raw"] = bytes(io.sense_raw).hex()
    if io.host_status or io.driver_status:
        record["host_status"] = io.host_status
        record["driver_status"] = io.driver_status
    if io.timed_out:
        record["timed_out"] = True
    ended = getattr(io, "ended", "")
    if ended:
        record["ended"] = ended
    record["duration"] = round(io.duration, 9)
    if io.data_out is not None:
        record["data_out"] = len(io.data_out)
    elif io.buffer is not None:  # bytes transferred (the residual off), without copying them
        record["data_in"] = io.received
    if failure is not None:
        # the verdict only: the CDB and sense are above, once
        detail = failure.to_dict() if hasattr(failure, "to_dict") else {"message": str(failure)}
        record["failure"] = {k: v for k, v in detail.items() if k not in ("cdb_hex", "sense")}
    return record


def failure_lines(failure: Any, indent: str = "") -> list[str]:
    """A ``FailureDetail`` as a person reads it: message, expected, got, sense, CDB, data diff.

    Only what the message does not already say is repeated below it.
    """
    message = (getattr(failure, "message", "") or "").strip()
    index = getattr(failure, "index", None)
    head = f"command #{index}: " if index is not None else ""
    first, *more = message.splitlines() or [""]
    lines = [f"{indent}{head}{first}".rstrip()]
    lines += [f"{indent}    {m}" for m in more]
    rows: list[tuple[str, str]] = []
    expected = getattr(failure, "expected", None)
    got = getattr(failure, "got", None)
    if expected and expected not in message:
        rows.append(("expected", str(expected)))
    if got and got not in message:
        rows.append(("got", str(got)))
    sense = getattr(failure, "sense", None)
    if sense:
        summary = sense.get("summary") if isinstance(sense, dict) else str(sense)
        if summary and summary not in message:
            rows.append(("sense", summary))
        raw = sense.get("raw") if isinstance(sense, dict) else None
        if raw:
            rows.append(("sense data", spaced_hex(raw)))
    cdb = getattr(failure, "cdb_hex", None)
    if cdb:
        cdb_text = spaced_hex(cdb)
        if cdb_text not in message:
            rows.append(("cdb", cdb_text))
    for label, text in rows:
        lines.append(f"{indent}    {label + ':':<11} {text}")
    diff = getattr(failure, "data_diff", None)
    if diff and diff not in message:
        lines.append(f"{indent}    data:")
        lines += [f"{indent}      {d}" for d in str(diff).splitlines()]
    return lines

"""The JSON Lines log (``--log F.jsonl``): one object per line, written as the run goes.

| ``type`` | when | holds |
|---|---|---|
| ``run`` | first line | sgscript and Python versions, host, seed, spec files, device bindings, argv, start time |
| ``scenario_start`` | a scenario begins | name, file, seed, devices |
| ``open`` | each device, once the scenario has started | what opening it sent and cleared: a step result of kind ``open`` (path ``open.NAME``) |
| ``command`` | only with ``--log-commands``: every command as it completes | step path, ``seq`` (completion order in the step), ``index`` (the command's number in its step's repeat), CDB, status (the SCSI status by name, or ``timeout``, ``transport_error``, ``host_error`` when none came back), sense, duration, failure |
| ``step`` | a step finished | the ``StepResult`` (status, count, failed, latency aggregate, first failures) and ``commands``: every command of a non-repeated step, only the failed ones (first 100) of a repeat |
| ``scenario`` | a scenario finished (also when interrupted), or could not start (``status: error``, a device did not open) | the whole ``ScenarioResult``: the record of that run |
| ``end`` | ``close()`` | scenarios finished, ``interrupted`` (a scenario was cut short, or a signal ended the run between scenarios) and ``signal`` (its name, or null) |

Every record validates against ``schemas/sgscript-log.schema.json`` (shipped as
``sgscript/report/sgscript-log.schema.json``; ``docs/log.md`` describes it).

Durability: every ``run``/``scenario``/``step`` line is flushed to the kernel
as it is written, so a run cut short (Ctrl-C, a crash, even SIGKILL) keeps
every line up to the cut on the same host; ``command`` lines are flushed at
least every 0.1 s and at each step's end (a flush per command would cost
more than the command on ``sim:``).  ``os.fsync`` is called once, at
``close()``: only a power loss or kernel crash before it could lose lines,
and an fsync per step would make every step wait for the disk.  A log
without its ``end`` line was cut short.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any

from . import device_targets, io_record

__all__ = ["MAX_FAILED_COMMANDS", "JsonlReporter", "run_header"]

#: Failed commands of one repeated step logged one by one; the step's counts cover the rest.
MAX_FAILED_COMMANDS = 100


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


def run_header(
    *,
    seed: int | None,
    specs: Sequence[str],
    bindings: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
    log_commands: bool = False,
) -> dict[str, Any]:
    """The first line: enough to replay the run (same specs, bindings and seed)."""
    from .._version import __version__

    return {
        "type": "run",
        "sgscript": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "seed": seed,
        "specs": list(specs),
        "bindings": dict(bindings or {}),
        "argv": list(sys.argv if argv is None else argv),
        "log_commands": log_commands,
        "started": _now(),
    }


class _StepLog:
    """What one step keeps of its commands until it finishes: bounded whatever the repeat."""

    __slots__ = ("failed", "first", "n")

    def __init__(self) -> None:
        self.n = 0
        self.first: dict[str, Any] | None = None
        self.failed: list[dict[str, Any]] = []


def _clean(io: Any) -> bool:
    """GOOD, nothing else: no sense, no host or driver status (a timeout or a transport
    error always leaves a ``failure``)."""
    return (
        io.failure is None
        and not io.status
        and not io.sense_raw
        and not io.host_status
        and not io.driver_status
        and io.command is not None
    )


class JsonlReporter:
    """Writes the log to ``target`` (a path, opened for writing, or an open text file)."""

    def __init__(
        self,
        target: str | os.PathLike[str] | IO[str],
        *,
        header: Mapping[str, Any] | None = None,
        log_commands: bool = False,
        flush_interval: float = 0.1,
    ) -> None:
        if isinstance(target, str | os.PathLike):
            self.file: IO[str] = open(target, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())
            self._owned = True
        else:
            self.file, self._owned = target, False
        self.log_commands = log_commands
        self.flush_interval = flush_interval
        self._steps: dict[str, _StepLog] = {}
        self._quoted: dict[str, str] = {}  # step path -> its command lines' start
        self._scenario: str | None = None  # started, not yet finished
        self._finished = 0
        self._next_flush = 0.0
        self._closed = False
        self._interrupted = False
        self._signal: str | None = None
        self.write(dict(header) if header is not None else run_header(seed=None, specs=[]))

    def write(self, record: Mapping[str, Any], *, flush: bool = True) -> None:
        self.file.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
        if flush:
            self.file.flush()

    # -- the runner's protocol -------------------------------------------------

    def scenario_started(self, scenario: Any, plan: Any) -> None:
        self._scenario = scenario.name
        self._steps.clear()
        devices = device_targets(scenario, plan)
        self.write(
            {
                "type": "scenario_start",
                "scenario": scenario.name,
                "file": getattr(scenario, "file", None),
                "seed": getattr(plan, "seed", None),
                "devices": devices,
                "time": _now(),
            }
        )

    def device_opened(self, result: Any) -> None:
        """What opening a device sent: an ``open`` record, a step result of kind ``open`` (path
        ``open.NAME``) with a type of its own, so ``step`` records stay the spec's steps."""
        self.write({"type": "open", "scenario": self._scenario, **result.to_dict()})

    def step_started(self, step: Any, path: str) -> None:
        self._steps[path] = _StepLog()

    def command_done(self, step_path: str, io: Any, failure: Any) -> None:
        log = self._steps.get(step_path)
        if log is None:
            log = self._steps[step_path] = _StepLog()
        log.n += 1
        index = getattr(io, "index", None)  # the runner's Io knows its number in the step
        if self.log_commands:
            if failure is None and _clean(io):
                self._write_clean(step_path, log.n - 1, index, io)
                return
            record = io_record(io, index, failure=failure)
            record = {"type": "command", "step": step_path, "seq": log.n - 1, **record}
            now = time.monotonic()
            self.write(record, flush=now >= self._next_flush)
            if now >= self._next_flush:
                self._next_flush = now + self.flush_interval
            return
        if failure is not None:
            if len(log.failed) < MAX_FAILED_COMMANDS:
                log.failed.append({"seq": log.n - 1, **io_record(io, index, failure=failure)})
        elif log.n == 1:
            log.first = {"seq": 0, **io_record(io, index)}

    def _write_clean(self, step_path: str, seq: int, index: int | None, io: Any) -> None:
        """A GOOD command with nothing else to say, formatted without a dict or ``json.dumps``:
        the same keys, order and values ``io_record`` gives (a test holds them equal)."""
        head = self._quoted.get(step_path)
        if head is None:
            head = self._quoted[step_path] = f'{{"type":"command","step":{json.dumps(step_path)},'
        if io.data_out is not None:
            size = f',"data_out":{len(io.data_out)}}}\n'
        elif io.buffer is not None:
            size = f',"data_in":{io.received}}}\n'
        else:
            size = "}\n"
        number = "" if index is None else f'"index":{index},'
        self.file.write(
            f'{head}"seq":{seq},{number}"command":"{type(io.command).__name__}",'
            f'"cdb":"{io.cdb.hex()}",'
            f'"status":"GOOD","duration":{round(io.duration, 9)!r}{size}'
        )
        now = time.monotonic()
        if now >= self._next_flush:
            self.file.flush()
            self._next_flush = now + self.flush_interval

    def step_finished(self, result: Any) -> None:
        path = getattr(result, "path", None)
        log = (self._steps.pop(path, None) if path is not None else None) or _StepLog()
        record: dict[str, Any] = {"type": "step", "scenario": self._scenario, **result.to_dict()}
        if not self.log_commands:
            if log.n == 1:
                record["commands"] = log.failed or ([log.first] if log.first else [])
            else:
                record["commands"] = log.failed
                dropped = getattr(result, "failed", 0) - len(log.failed)
                if dropped > 0:
                    record["commands_not_logged"] = dropped
        self.write(record)

    def scenario_finished(self, result: Any) -> None:
        self.write({"type": "scenario", **result.to_dict(), "time": _now()})
        self._scenario = None
        self._finished += 1
        self._interrupted = self._interrupted or bool(getattr(result, "interrupted", False))
        self._signal = self._signal or getattr(result, "signal", None)

    def run_interrupted(self, signal: str) -> None:
        """A signal ended the run outside any scenario: the ``end`` line says so."""
        self._interrupted = True
        self._signal = self._signal or signal

    def scenario_error(self, scenario: Any, plan: Any, message: str) -> None:
        """A scenario that could not start: its ``scenario`` record says why."""
        self.write(
            {
                "type": "scenario",
                "name": scenario.name,
                "file": getattr(scenario, "file", None),
                "seed": getattr(plan, "seed", None),
                "status": "error",
                "message": message,
                "steps": [],
                "time": _now(),
            }
        )
        self._finished += 1

    def close(self) -> None:
        """The ``end`` line, one fsync, and the file closed (if this reporter opened it)."""
        if self._closed:
            return
        self._closed = True
        self.write(
            {
                "type": "end",
                "scenarios": self._finished,
                "interrupted": self._interrupted or self._scenario is not None,
                "signal": self._signal,
                "time": _now(),
            }
        )
        # a pipe or a StringIO has nothing to sync
        with contextlib.suppress(OSError, AttributeError, ValueError):
            os.fsync(self.file.fileno())
        if self._owned:
            self.file.close()

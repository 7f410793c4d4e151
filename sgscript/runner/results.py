"""What a run returns: per-step and per-scenario results, picklable and JSON-ready.

The hook specs type their ``result`` parameters with these; nothing here runs
anything, so this module imports only the scenario model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..scenario.model import Mark

__all__ = ["FailureDetail", "Latency", "LatencyStats", "ScenarioResult", "StepResult"]

#: Failed commands a step keeps the details of (the count is exact; the details stop here).
MAX_FAILURES = 10


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
    status: str  # passed | failed | skipped | error | interrupted | not_applicable
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
    id: str | None = None  # the requirement it proves (``id:``)
    refs: tuple[str, ...] = ()
    #: How many times it ran (a group repeats its steps); ``iteration``: which pass this
    #: record is, while a run reports it (None outside a repeating group).
    passes: int = 1
    iteration: int | None = None

    def merge(self, later: StepResult) -> StepResult:
        """This step's record with a later pass of it added: counts sum, the worst status wins."""
        worse = _RANK.get(later.status, 0) > _RANK.get(self.status, 0)
        merged = StepResult(**{k: getattr(later, k) for k in self.__dataclass_fields__})
        merged.status = later.status if worse else self.status
        merged.message = later.message if worse or not self.message else self.message
        merged.count = self.count + later.count
        merged.failed = self.failed + later.failed
        merged.failures = (self.failures + later.failures)[:MAX_FAILURES]
        merged.duration = self.duration + later.duration
        merged.passes = self.passes + later.passes
        merged.iteration = None
        return merged

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "id": self.id,
            "refs": list(self.refs),
            "passes": self.passes,
            "iteration": self.iteration,
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


#: Which status a step that ran several times keeps: the worst of its passes.
_RANK = {
    "not_applicable": 0,
    "skipped": 1,
    "passed": 2,
    "interrupted": 3,
    "failed": 4,
    "error": 5,
}

#: Step and scenario statuses, in words for people.
NOT_APPLICABLE = "not_applicable"


@dataclass
class ScenarioResult:
    """One scenario on its devices: the whole record of the run (picklable, JSON-ready)."""

    name: str
    file: str
    seed: int
    steps: list[StepResult] = field(default_factory=list)
    status: str = "passed"  # passed | failed | error | interrupted | skipped | not_applicable
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
    id: str | None = None
    refs: tuple[str, ...] = ()
    #: The command line that runs this scenario again exactly (``runner.reproduce``):
    #: ``sgscript run x.yaml --seed 123 -k '...' --device a=/dev/sg3``; "" when unknown.
    reproduce: str = ""
    #: What opening each device sent and cleared (kind ``open``, path ``open.NAME``): not steps.
    preparation: list[StepResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "id": self.id,
            "refs": list(self.refs),
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
            "reproduce": self.reproduce,
            "preparation": [s.to_dict() for s in self.preparation],
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

"""Fault injection: what a target option or a spec's device entry asks the disk to do wrong.

Faults belong to the logical unit, so every I_T nexus that reaches it sees them.
They come as target options (``sim:lu0?medium_error=1000-1099&latency=2ms``)
or as a mapping (a spec's ``faults:`` entry) whose values are either the same
text or already structured (ints, lists, mappings); ``configure`` takes both.

Options (text form; a list is comma-separated, or the key repeated):

``medium_error=START[-END][:read|write|both],...``
    Bad LBA ranges (mode ``read`` by default).  A READ (or VERIFY, ...) touching
    one: MEDIUM ERROR, UNRECOVERED READ ERROR (11h/00h); a WRITE: MEDIUM ERROR,
    WRITE ERROR (0Ch/00h); INFORMATION is the first bad LBA the command touches.
``medium_repair=true|false``
    Default true: a WRITE over ``read`` bad blocks succeeds and repairs them, as a
    drive reallocates a pending sector.  ``write``/``both`` ranges never heal.
``every_nth=N:OUTCOME[:Command],...``
    Every Nth command (of that kind only, if named) fails with OUTCOME.
``sense_on=Command:OUTCOME[:COUNT],...``
    That command fails with OUTCOME (the next COUNT times; default: always).
``busy_every=N`` · ``task_set_full_every=N``
    Every Nth command: BUSY / TASK SET FULL.
``task_set_full_above=K``
    TASK SET FULL while K commands (of every nexus) are already in the task set.
``hang=Command,...`` · ``hang_every=N``
    Those commands / every Nth command never complete: the reactor's timeout ends them.
``latency=D`` · ``latency.Command=D``
    Completions held back by D: ``2ms``, ``uniform:1ms:5ms``, ``exp:MEAN[:MAX]``,
    ``normal:MEAN:SD``; for every command, or for that command (which wins).
``seed=N``
    The latency RNG's seed (default 0): runs replay.
``gone_after=N``
    After N more commands the device is gone: submissions fail with ENODEV
    (``TransportError``), commands still held end with DID_NO_CONNECT (``HostError``).

OUTCOME is ``KEY/ASC/ASCQ`` (``ABORTED_COMMAND/47/00``; ASC and ASCQ are hex as the
standards write them: ``47``, ``0x47`` and ``47h`` are all 47h), a sense key alone
(ASC/ASCQ 0), a named condition of ``sim.core.C`` (``UNRECOVERED_READ_ERROR``), or a
status without sense (``BUSY``, ``TASK_SET_FULL``, ``RESERVATION_CONFLICT``,
``TASK_ABORTED``, ``ACA_ACTIVE``).  Durations need a unit (``ns``, ``us``, ``µs``,
``ms``, ``s``); a bare number is accepted only as a structured value, in seconds.
Command names are the catalog's (``Read10``); unknown ones are refused with
suggestions.  An empty value (``medium_error=``) or None clears that option.

Structured values take the same text, or: ``medium_error`` a list of
``[START, END]`` pairs or ``{start, end, on}``; ``every_nth`` a list of ``{n,
sense | status, command}``; ``sense_on`` a mapping ``{Command: OUTCOME}`` or a list
of ``{command, sense | status, count}``; OUTCOME a mapping ``{key, asc, ascq}`` or
``{status}`` (ints as they are); ``latency`` a number of seconds or a mapping
``{default: D, Read10: D}``; ``hang`` a list of names; a nested ``faults:`` key is
unwrapped.

Counting ("every Nth", ``gone_after``) starts when the option is configured and
covers the commands of every nexus.  Configuring an option replaces that option
only: a second opening of ``sim:lu0`` without fault options leaves them alone.
Faults are decided in this order: TASK SET FULL above K, then the per-command
rules (``sense_on``, ``every_nth``, ``busy_every``, ``task_set_full_every``; every
matching rule counts the command, the first that fires wins), before any unit
attention or reservation check.  A command that hangs or is delayed has
already taken effect on the medium: only its completion is held.
"""

from __future__ import annotations

import difflib
import math
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl

from .. import grammar
from ..scsi.cdb import identify, lookup
from ..scsi.errors import UsageError
from ..scsi.status import ScsiStatus, SenseKey
from .core import C, Condition, Fail, Request, StatusFail, Unit

__all__ = ["OPTIONS", "Faults", "Outcome", "Port", "parse_duration", "unknown_option"]


class Port(Protocol):
    """What a transport attached to a logical unit offers the faults (``transport/sim.py``)."""

    def held(self) -> int:
        """Commands this nexus has in the device's task set (answered, completion held)."""

    def lost(self) -> None:
        """The device went away: end every held command with DID_NO_CONNECT."""


# ------------------------------------------------------------------ values


_STATUSES = frozenset(
    {"BUSY", "TASK_SET_FULL", "RESERVATION_CONFLICT", "TASK_ABORTED", "ACA_ACTIVE"}
)


class _Bad(Exception):
    """A value that does not parse; ``configure`` words it with the option's name."""


def parse_duration(value: Any) -> float:
    """``2ms`` → 0.002; a number is seconds (``grammar.parse_duration``). Text without a
    unit is refused unless it is ``0``: ``latency=5`` in a query string could mean anything."""
    try:
        return grammar.parse_duration(value, unit_required=True)
    except ValueError as exc:
        raise _Bad(str(exc)) from None


def _count(value: Any, minimum: int = 1) -> int:
    try:
        n = grammar.parse_int(value)
    except ValueError as exc:
        raise _Bad(str(exc)) from None
    if n < minimum:
        raise _Bad(f"{n} must be at least {minimum}")
    return n


def _bool(value: Any) -> bool:
    try:
        return grammar.parse_bool(value)
    except ValueError as exc:
        raise _Bad(str(exc)) from None


def _hex_byte(value: Any) -> int:
    try:
        return grammar.parse_hex_byte(value)
    except ValueError as exc:
        raise _Bad(str(exc)) from None


def _command(name: Any) -> str:
    try:
        return lookup(str(name).strip()).__name__
    except UsageError as exc:  # UnknownCommandError words it with suggestions
        raise _Bad(str(exc)) from None


def _items(value: Any) -> list[Any]:
    """A list option's items: comma-separated text, or a list/tuple as given."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _condition_names() -> list[str]:
    return [k for k, v in vars(C).items() if isinstance(v, Condition)]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an injected fault answers: CHECK CONDITION with ``condition``, or a bare status."""

    condition: Condition | None = None
    status: ScsiStatus | None = None

    def error(self) -> Exception:
        if self.condition is not None:
            return Fail(self.condition)
        return StatusFail(self.status or ScsiStatus.BUSY)

    @classmethod
    def parse(cls, value: Any) -> Outcome:
        """``KEY/ASC/ASCQ``, a sense key, a ``C`` name or a status; or a mapping of those."""
        if isinstance(value, Outcome):
            return value
        if isinstance(value, Mapping):
            if "status" in value:
                return cls.parse(str(value["status"]))
            if "key" not in value and "sense_key" not in value:
                raise _Bad(f"{dict(value)!r} needs 'key' (and asc, ascq) or 'status'")
            key = cls.parse(str(value.get("key", value.get("sense_key"))))
            if key.condition is None:
                raise _Bad(f"{dict(value)!r}: 'key' must be a sense key")
            asc, ascq = _hex_byte(value.get("asc", 0)), _hex_byte(value.get("ascq", 0))
            return cls(condition=Condition(key.condition.key, asc, ascq))
        parts = str(value).split("/")
        head = parts[0].strip().upper().replace("-", "_").replace(" ", "_")
        if len(parts) == 1:
            if head in _STATUSES:
                return cls(status=ScsiStatus[head])
            named = getattr(C, head, None)
            if isinstance(named, Condition):
                return cls(condition=named)
        elif len(parts) != 3:
            raise _Bad(f"{value!r}: write KEY/ASC/ASCQ, a sense key, a condition or a status")
        try:
            sense_key = SenseKey.parse(head)
        except ValueError:
            words = [*_STATUSES, *SenseKey.__members__, *_condition_names()]
            near = difflib.get_close_matches(head, words, n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise _Bad(f"{parts[0]!r} is not a sense key, status or condition{hint}") from None
        asc, ascq = (_hex_byte(parts[1]), _hex_byte(parts[2])) if len(parts) == 3 else (0, 0)
        return cls(condition=Condition(sense_key, asc, ascq))

    def __str__(self) -> str:
        if self.condition is None:
            return (self.status or ScsiStatus.BUSY).name
        c = self.condition
        return f"{SenseKey(c.key).name}/{c.asc:02X}h/{c.ascq:02X}h"


# ------------------------------------------------------------ latency


def _text(seconds: float) -> str:
    """0.002 → ``2ms``: a duration as the options write it."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale or unit == "us":
            return f"{seconds / scale:.6g}{unit}"
    return "0s"


class Latency(ABC):
    """A latency distribution; ``draw(rng)`` gives seconds."""

    __slots__: tuple[str, ...]  # the parameters: each subclass is a dataclass(slots=True)

    @abstractmethod
    def draw(self, rng: random.Random) -> float:
        """One latency, in seconds."""

    def __str__(self) -> str:
        name = {"Fixed": "", "Uniform": "uniform:", "Exponential": "exp:", "Normal": "normal:"}
        values = [v for v in (getattr(self, f) for f in self.__slots__) if v != math.inf]
        return name[type(self).__name__] + ":".join(_text(v) for v in values)


@dataclass(frozen=True, slots=True)
class Fixed(Latency):
    seconds: float

    def draw(self, rng: random.Random) -> float:
        return self.seconds


@dataclass(frozen=True, slots=True)
class Uniform(Latency):
    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True, slots=True)
class Exponential(Latency):
    mean: float
    cap: float = math.inf

    def draw(self, rng: random.Random) -> float:
        return min(rng.expovariate(1.0 / self.mean), self.cap) if self.mean else 0.0


@dataclass(frozen=True, slots=True)
class Normal(Latency):
    mean: float
    sd: float

    def draw(self, rng: random.Random) -> float:
        return max(0.0, rng.gauss(self.mean, self.sd))


def _latency(value: Any) -> Latency:
    if not isinstance(value, str):
        return Fixed(parse_duration(value))
    kind, _, rest = value.strip().partition(":")
    args = [parse_duration(a) for a in rest.split(":")] if rest else []
    kind = kind.lower()
    if not rest:
        return Fixed(parse_duration(value))
    if kind in ("fixed", "const") and len(args) == 1:
        return Fixed(args[0])
    if kind == "uniform" and len(args) == 2:
        if args[0] > args[1]:
            raise _Bad(f"{value!r}: the low bound is above the high one")
        return Uniform(*args)
    if kind in ("exp", "exponential") and len(args) in (1, 2):
        return Exponential(*args)
    if kind in ("normal", "gauss") and len(args) == 2:
        return Normal(*args)
    raise _Bad(f"{value!r}: write 2ms, uniform:LOW:HIGH, exp:MEAN[:MAX] or normal:MEAN:SD")


# ------------------------------------------------------------- rules


@dataclass(slots=True)
class _Rule:
    """One per-command fault: fires on every ``every``-th matching command, ``left`` times."""

    outcome: Outcome
    every: int = 1
    command: str | None = None
    left: int = -1  # -1: no limit
    seen: int = 0


def _medium(value: Any) -> list[list[int]]:
    """Ranges as [start, end, read, write] (mutable: a repairing write splits them)."""
    ranges = []
    for item in _items(value):
        if isinstance(item, Mapping):
            start = _count(item.get("start", item.get("lba")), 0)
            end = _count(item.get("end", start), 0)
            mode = str(item.get("on", item.get("mode", "read")))
        elif isinstance(item, list | tuple):
            start, end = _count(item[0], 0), _count(item[-1], 0)
            mode = "read"
        else:
            span, _, mode = str(item).partition(":")
            first, _, last = span.partition("-")
            start = _count(first, 0)
            end = _count(last, 0) if last else start
            mode = mode or "read"
        mode = mode.strip().lower()
        if mode not in ("read", "write", "both"):
            raise _Bad(f"{item!r}: the mode is read, write or both, not {mode!r}")
        if end < start:
            raise _Bad(f"{item!r}: the range ends before it starts")
        ranges.append([start, end, int(mode != "write"), int(mode != "read")])
    return ranges


def _every_nth(value: Any) -> list[_Rule]:
    rules = []
    for item in _items(value):
        if isinstance(item, Mapping):
            n, outcome, command = item.get("n", item.get("every")), item.get("sense"), None
            outcome = outcome if outcome is not None else item.get("status")
            command = item.get("command")
        else:
            n, _, rest = str(item).partition(":")
            outcome, _, command = rest.rpartition(":") if rest.count(":") else (rest, "", "")
        if not outcome:
            raise _Bad(f"{item!r}: write N:OUTCOME[:Command]")
        rules.append(
            _Rule(Outcome.parse(outcome), _count(n), _command(command) if command else None)
        )
    return rules


def _sense_on(value: Any) -> list[_Rule]:
    if isinstance(value, Mapping) and "command" not in value:
        value = [{"command": k, "sense": v} for k, v in value.items()]
    rules = []
    for item in _items(value):
        if isinstance(item, Mapping):
            command, count = item.get("command"), item.get("count")
            outcome = item.get("sense", item.get("status"))
        else:
            command, _, rest = str(item).partition(":")
            outcome, count = rest, None
            head, _, tail = rest.rpartition(":")
            if head and tail.strip().isdigit():
                outcome, count = head, tail
        if not command or not outcome:
            raise _Bad(f"{item!r}: write Command:OUTCOME[:COUNT]")
        left = _count(count) if count is not None else -1
        rules.append(_Rule(Outcome.parse(outcome), 1, _command(command), left))
    return rules


def _every(outcome: Outcome) -> Callable[[Any], list[_Rule]]:
    return lambda value: [_Rule(outcome, _count(value))]


def _hang(value: Any) -> frozenset[str]:
    return frozenset(_command(name) for name in _items(value))


def _latency_option(value: Any) -> dict[str | None, Latency]:
    """``latency``: one distribution, or a mapping ``{default|*: ..., Read10: ...}``."""
    if isinstance(value, Mapping):
        return {
            None if k in ("default", "*") else _command(k): _latency(v) for k, v in value.items()
        }
    return {None: _latency(value)}


#: Option name → parser of its value (text or structured); ``latency.NAME`` is also known.
OPTIONS: dict[str, Callable[[Any], Any]] = {
    "medium_error": _medium,
    "medium_repair": _bool,
    "every_nth": _every_nth,
    "sense_on": _sense_on,
    "busy_every": _every(Outcome(status=ScsiStatus.BUSY)),
    "task_set_full_every": _every(Outcome(status=ScsiStatus.TASK_SET_FULL)),
    "task_set_full_above": lambda v: _count(v, 0),
    "hang": _hang,
    "hang_every": _count,
    "latency": _latency_option,
    "seed": lambda v: _count(v, 0),
    "gone_after": _count,
}
#: Options whose text may list several values; a repeated query key joins them.
LIST_OPTIONS = frozenset({"medium_error", "every_nth", "sense_on", "hang"})
#: The order in which per-command rules are consulted (the first that fires wins).
_RULE_ORDER = ("sense_on", "every_nth", "busy_every", "task_set_full_every")


def unknown_option(key: str, known: Iterable[str]) -> UsageError:
    """``unknown sim option 'medium_errors' (did you mean medium_error?); known: ...``."""
    known = sorted(set(known))
    near = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    return UsageError(f"unknown sim option {key!r}{hint}; known: {', '.join(known)}")


def parse_options(options: Mapping[str, Any] | str) -> dict[str, Any]:
    """Check and parse fault options without applying them (a ``UsageError`` on the first bad one)."""
    if isinstance(options, str):
        try:
            pairs = parse_qsl(options.lstrip("?"), keep_blank_values=True, strict_parsing=True)
        except ValueError as exc:
            raise UsageError(f"sim fault options {options!r}: {exc}") from None
        joined: dict[str, str] = {}
        for key, value in pairs:
            joined[key] = f"{joined[key]},{value}" if key in joined else value
        options = joined
    parsed: dict[str, Any] = {}
    for key, value in options.items():
        if key == "faults":  # a spec's device entry may nest them
            parsed.update(parse_options(value or {}))
            continue
        base, dot, command = key.partition(".")
        if base not in OPTIONS or (dot and base != "latency"):
            raise unknown_option(key, [*OPTIONS, "latency.<Command>"])
        if value is None or value == "" or value == []:
            parsed[key] = None
            continue
        try:
            if dot:
                parsed[f"latency.{_command(command)}"] = _latency(value)
            else:
                parsed[key] = OPTIONS[key](value)
        except _Bad as exc:
            raise UsageError(f"sim option {key}={_show(value)}: {exc}") from None
    return parsed


def _show(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


# ------------------------------------------------------------- the faults


class Faults:
    """The faults configured on one logical unit, and the counters that drive them.

    ``check``, ``medium`` and ``delay`` are on every command's path: with no fault
    configured each is one attribute test.
    """

    def __init__(self, lu: Unit) -> None:
        self.lu = lu
        self.gone = False
        #: True when ``delay`` may return anything but 0.0 (latency, hangs, gone_after).
        self.timing = False
        self.ports: set[Port] = set()
        self.rng = random.Random(0)
        self._given: dict[str, Any] = {}
        self._rules: list[_Rule] = []
        self._checks = False
        self._tsf_above: int | None = None
        self._bad: list[list[int]] = []
        self._repair = True
        self._hang: frozenset[str] = frozenset()
        self._hang_every = 0
        self._latency: Latency | None = None
        self._latency_by: dict[str, Latency] = {}
        self._by_name = False
        self._gone_after = 0
        self._hang_seen = 0
        self._commands = 0

    # -- configuration -----------------------------------------------------------

    def configure(self, options: Mapping[str, Any] | str) -> None:
        """Apply fault options (text or structured); unknown keys name the known ones.

        Nothing is applied unless every option parses.
        """
        parsed = parse_options(options)
        if not parsed:
            return
        ranges = parsed.get("medium_error")
        if ranges:
            last = self.lu.blocks - 1
            for start, *_ in ranges:
                if start > last:
                    raise UsageError(
                        f"sim option medium_error: LBA {start} is past the last LBA {last}"
                    )
        for key, value in parsed.items():
            if value is None:
                self._given.pop(key, None)
            else:
                self._given[key] = value
            if key == "medium_error":
                self._bad = [list(r) for r in value or ()]
            elif key == "seed":
                self.rng = random.Random(value or 0)
            elif key == "hang_every":
                self._hang_seen = 0
            elif key == "gone_after":
                self._commands = 0
                self.gone = False
        self._rebuild()

    def clear(self) -> None:
        """Remove every fault; the device is back if it was gone."""
        self._given.clear()
        self._bad = []
        self.gone = False
        self._rebuild()

    def _rebuild(self) -> None:
        g = self._given
        self._rules = [rule for key in _RULE_ORDER for rule in g.get(key, ())]
        self._tsf_above = g.get("task_set_full_above")
        self._checks = bool(self._rules) or self._tsf_above is not None
        self._repair = g.get("medium_repair", True)
        self._hang = g.get("hang", frozenset())
        self._hang_every = g.get("hang_every", 0)
        by = dict(g.get("latency", {}))
        by.update({k.partition(".")[2]: v for k, v in g.items() if k.startswith("latency.")})
        self._latency = by.pop(None, None)
        self._latency_by = by
        self._by_name = bool(self._hang or self._latency_by)
        self._gone_after = g.get("gone_after", 0)
        self.timing = bool(
            self._latency or self._latency_by or self._hang or self._hang_every or self._gone_after
        )

    def describe(self) -> dict[str, str]:
        """The options in force, as option text that ``configure`` takes back."""
        out: dict[str, str] = {}
        if self._bad:  # the live ranges: repairs and marks included
            modes = {(1, 0): "read", (0, 1): "write", (1, 1): "both", (0, 0): "read"}
            out["medium_error"] = ",".join(f"{s}-{e}:{modes[(r, w)]}" for s, e, r, w in self._bad)
        for key, value in sorted(self._given.items()):
            if key == "medium_error":
                continue
            if key == "every_nth":
                out[key] = ",".join(
                    f"{r.every}:{r.outcome}" + (f":{r.command}" if r.command else "") for r in value
                )
            elif key == "sense_on":
                out[key] = ",".join(
                    f"{r.command}:{r.outcome}" + (f":{r.left}" if r.left >= 0 else "")
                    for r in value
                )
            elif key in ("busy_every", "task_set_full_every"):
                out[key] = str(value[0].every)
            elif key == "hang":
                out[key] = ",".join(sorted(value))
            elif key == "latency":
                for command, dist in value.items():
                    out[f"latency.{command}" if command else "latency"] = str(dist)
            else:
                out[key] = str(value).lower() if isinstance(value, bool) else str(value)
        return dict(sorted(out.items()))

    # -- the transports -----------------------------------------------------------

    def attach(self, port: Port) -> None:
        """A nexus (transport) starts sending commands to this logical unit."""
        self.ports.add(port)

    def detach(self, port: Port) -> None:
        self.ports.discard(port)

    @property
    def in_flight(self) -> int:
        """Commands in the device's task set, every nexus together (as the transports hold them)."""
        return sum(port.held() for port in self.ports)

    def disappear(self) -> None:
        """The device goes away now: new submissions fail, held commands end DID_NO_CONNECT."""
        self.gone = True
        for port in list(self.ports):
            port.lost()

    # -- on every command ----------------------------------------------------------

    def check(self, req: Request) -> None:
        """Raise the injected failure for ``req``, if one applies (before UAs and reservations)."""
        if not self._checks:
            return
        above = self._tsf_above
        if above is not None and self.in_flight >= above:
            raise StatusFail(ScsiStatus.TASK_SET_FULL)
        name = req.command.__name__
        hit = None
        for rule in self._rules:
            if rule.left == 0 or (rule.command is not None and rule.command != name):
                continue
            rule.seen += 1
            if hit is None and rule.seen % rule.every == 0:
                hit = rule
        if hit is not None:
            if hit.left > 0:
                hit.left -= 1
            raise hit.outcome.error()

    def medium(self, req: Request, lba: int, count: int, *, write: bool) -> None:
        """Raise a medium error when ``lba``..``lba+count-1`` touches an injected bad range.

        Call it just before the medium is touched: a write that passes repairs the
        read-only bad blocks it covers (unless ``medium_repair=false``).
        """
        if not self._bad or count <= 0:
            return
        end = lba + count - 1
        first = None
        for start, stop, bad_read, bad_write in self._bad:
            if (bad_write if write else bad_read) and start <= end and stop >= lba:
                hit = max(start, lba)
                first = hit if first is None else min(first, hit)
        if first is not None:
            raise Fail(C.WRITE_ERROR if write else C.UNRECOVERED_READ_ERROR, information=first)
        if write and self._repair:
            self._heal(lba, end)

    def mark(self, lba: int, count: int, *, read: bool = True, write: bool = False) -> None:
        """Make ``count`` blocks from ``lba`` bad from now on (WRITE LONG with WR_UNCOR, tests)."""
        if count > 0:
            self._bad.append([lba, lba + count - 1, int(read), int(write)])

    def _heal(self, lba: int, end: int) -> None:
        kept = []
        for r in self._bad:
            start, stop, bad_read, bad_write = r
            if bad_write or stop < lba or start > end:
                kept.append(r)
                continue
            if start < lba:
                kept.append([start, lba - 1, bad_read, bad_write])
            if stop > end:
                kept.append([end + 1, stop, bad_read, bad_write])
        self._bad = kept

    def delay(self, cdb: bytes) -> float | None:
        """Seconds before the completion of ``cdb`` is delivered; None: never.

        The transport calls it once per command it answered, so it also counts
        commands toward ``gone_after`` and ``hang_every``.
        """
        if not self.timing:
            return 0.0
        if self._gone_after:
            self._commands += 1
            if self._commands >= self._gone_after and not self.gone:
                self.disappear()
        name = None
        if self._by_name:
            cls = identify(cdb) if cdb else None
            name = cls.__name__ if cls is not None else None
            if name in self._hang:
                return None
        if self._hang_every:
            self._hang_seen += 1
            if self._hang_seen % self._hang_every == 0:
                return None
        dist = self._latency_by.get(name, self._latency) if name is not None else self._latency
        return dist.draw(self.rng) if dist is not None else 0.0

    def __repr__(self) -> str:
        given = " ".join(f"{k}={v}" for k, v in self.describe().items())
        return f"<Faults {self.lu.name}/{self.lu.lun}{' ' + given if given else ''}>"

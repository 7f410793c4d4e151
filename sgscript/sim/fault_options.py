"""The fault options' grammar: text or structured values in, checked values out.

Nothing here acts on a logical unit: ``parse_options`` checks and parses, ``Faults``
(``faults.py``) applies.  Options (text form; a list is comma-separated, or the key
repeated):

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
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .. import grammar
from ..scsi.catalog import Catalog, standard_catalog
from ..scsi.errors import UsageError
from ..scsi.status import ScsiStatus, SenseKey
from .core import C, Condition, Fail, StatusFail
from .latency import Exponential, Fixed, Latency, Normal, Uniform

__all__ = [
    "LIST_OPTIONS",
    "OPTIONS",
    "Outcome",
    "Rule",
    "parse_duration",
    "parse_options",
    "unknown_option",
]


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


def _command(name: Any, catalog: Catalog) -> str:
    try:
        return catalog.lookup(str(name).strip()).__name__
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
class Rule:
    """One per-command fault: fires on every ``every``-th matching command, ``left`` times."""

    outcome: Outcome
    every: int = 1
    command: str | None = None
    left: int = -1  # -1: no limit
    seen: int = 0


#: Parses one option's value; command names in it resolve in the catalog.
Parser = Callable[[Any, Catalog], Any]


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


def _every_nth(value: Any, catalog: Catalog) -> list[Rule]:
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
            Rule(Outcome.parse(outcome), _count(n), _command(command, catalog) if command else None)
        )
    return rules


def _sense_on(value: Any, catalog: Catalog) -> list[Rule]:
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
        rules.append(Rule(Outcome.parse(outcome), 1, _command(command, catalog), left))
    return rules


def _every(outcome: Outcome) -> Parser:
    return lambda value, _: [Rule(outcome, _count(value))]


def _hang(value: Any, catalog: Catalog) -> frozenset[str]:
    return frozenset(_command(name, catalog) for name in _items(value))


def _latency_option(value: Any, catalog: Catalog) -> dict[str | None, Latency]:
    """``latency``: one distribution, or a mapping ``{default|*: ..., Read10: ...}``."""
    if isinstance(value, Mapping):
        return {
            None if k in ("default", "*") else _command(k, catalog): _latency(v)
            for k, v in value.items()
        }
    return {None: _latency(value)}


#: Option name → parser of its value (text or structured) and the catalog command names
#: resolve in; ``latency.NAME`` is also known.
OPTIONS: dict[str, Parser] = {
    "medium_error": lambda v, _: _medium(v),
    "medium_repair": lambda v, _: _bool(v),
    "every_nth": _every_nth,
    "sense_on": _sense_on,
    "busy_every": _every(Outcome(status=ScsiStatus.BUSY)),
    "task_set_full_every": _every(Outcome(status=ScsiStatus.TASK_SET_FULL)),
    "task_set_full_above": lambda v, _: _count(v, 0),
    "hang": _hang,
    "hang_every": lambda v, _: _count(v),
    "latency": _latency_option,
    "seed": lambda v, _: _count(v, 0),
    "gone_after": lambda v, _: _count(v),
}
#: Options whose text may list several values; a repeated query key joins them.
LIST_OPTIONS = frozenset({"medium_error", "every_nth", "sense_on", "hang"})


def unknown_option(key: str, known: Iterable[str]) -> UsageError:
    """``unknown sim option 'medium_errors' (did you mean medium_error?); known: ...``."""
    known = sorted(set(known))
    near = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    return UsageError(f"unknown sim option {key!r}{hint}; known: {', '.join(known)}")


def parse_options(
    options: Mapping[str, Any] | str, catalog: Catalog | None = None
) -> dict[str, Any]:
    """Check and parse fault options without applying them (a ``UsageError`` on the first bad one).

    Command names (``hang=Read10``) resolve in ``catalog`` (default: the standard one).
    """
    catalog = catalog if catalog is not None else standard_catalog()
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
            parsed.update(parse_options(value or {}, catalog))
            continue
        base, dot, command = key.partition(".")
        if base not in OPTIONS or (dot and base != "latency"):
            raise unknown_option(key, [*OPTIONS, "latency.<Command>"])
        if value is None or value == "" or value == []:
            parsed[key] = None
            continue
        try:
            if dot:
                parsed[f"latency.{_command(command, catalog)}"] = _latency(value)
            else:
                parsed[key] = OPTIONS[key](value, catalog)
        except _Bad as exc:
            raise UsageError(f"sim option {key}={_show(value)}: {exc}") from None
    return parsed


def _show(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)

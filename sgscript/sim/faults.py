"""Fault injection: what a target option or a spec's device entry asks the disk to do wrong.

Faults belong to the logical unit, so every I_T nexus that reaches it sees them.
They come as target options (``sim:lu0?medium_error=1000-1099&latency=2ms``)
or as a mapping (a spec's ``faults:`` entry) whose values are either the same
text or already structured (ints, lists, mappings); ``configure`` takes both.

``fault_options.py`` has the options and their grammar; ``latency.py`` the latency
distributions.

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

import random
from collections.abc import Mapping
from typing import Any, Protocol

from ..scsi.errors import UsageError
from ..scsi.status import ScsiStatus
from .core import C, Fail, Request, StatusFail, Unit
from .fault_options import (
    LIST_OPTIONS,
    OPTIONS,
    Outcome,
    Rule,
    parse_duration,
    parse_options,
    unknown_option,
)
from .latency import Fixed, Latency

# Outcome, the option table and its parsers, and Fixed are imported from here by target.py
# and the tests: they stay importable where they were before the split.
__all__ = [
    "LIST_OPTIONS",
    "OPTIONS",
    "Faults",
    "Fixed",
    "Outcome",
    "Port",
    "parse_duration",
    "parse_options",
    "unknown_option",
]


class Port(Protocol):
    """What a transport attached to a logical unit offers the faults (``transport/sim.py``)."""

    def held(self) -> int:
        """Commands this nexus has in the device's task set (answered, completion held)."""

    def lost(self) -> None:
        """The device went away: end every held command with DID_NO_CONNECT."""


#: The order in which per-command rules are consulted (the first that fires wins).
_RULE_ORDER = ("sense_on", "every_nth", "busy_every", "task_set_full_every")


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
        self._rules: list[Rule] = []
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
        parsed = parse_options(options, self.lu.catalog)
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
            cls = self.lu.catalog.identify(cdb) if cdb else None
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

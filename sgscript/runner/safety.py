"""Never the wrong disk: which steps change a device, and when they may run.

A step is **destructive** when what it sends can change the device:

- a catalog command marked ``changes_media`` (WRITE, UNMAP, FORMAT UNIT,
  WRITE BUFFER...) or ``changes_state`` (MODE SELECT, reservations, START STOP
  UNIT, SET TIMESTAMP...);
- a raw ``cdb:`` whose operation code (and service action) the catalog marks,
  or does not know at all, or whose bytes are only known at run time;
- a raw ``cdb:`` with ``data:`` (data-out) where the catalog's command for that
  opcode takes none: data of unknown meaning;
- a ``reset:`` step: a LUN reset aborts every initiator's commands and drops
  SPC-2 reservations; target, bus and host resets reach other logical units
  and other disks on the same adapter (the system disk too);
- a ``task:`` step: every task management function aborts commands (another
  program's too, on a shared nexus), and the resets among them are ``reset:``'s.

Against a **real** device (the sg driver; a plugin's transport unless its class
says ``simulated = True``) destructive steps run only when the caller allows
them (``sgscript run --allow-destructive``, ``--sgscript-allow-destructive``,
``run_scenario(..., allow_destructive=True)``); otherwise the run is refused
before any device is opened (``DestructiveRefused``, exit 2).  ``sim:`` needs
no permission.  Even when allowed, an sg device whose disk (or a partition of
it) is mounted, held by LVM/MD/dm, swapped on or holds the root file system is
refused (``transport.linux.holders``), and the disk is claimed ``O_EXCL`` for the run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..scenario.model import Mark, Step
from ..scenario.plan import Plan, PlannedStep
from ..scsi.catalog import Catalog, standard_catalog
from ..scsi.cdb import Command, Direction
from ..scsi.errors import UsageError

__all__ = [
    "DestructiveRefused",
    "DestructiveStep",
    "check_holders",
    "check_plan",
    "check_plugin_targets",
    "destructive_reason",
    "destructive_steps",
    "target_simulated",
]

_FLAG = "--allow-destructive"


class DestructiveRefused(UsageError):
    """Destructive steps for a real device without permission, or a disk in use: nothing sent.

    ``lines`` are the problems, one per line (``str()`` joins them), each
    naming the step (``FILE:LINE:COL``) or the device and its holder.
    """

    def __init__(self, headline: str, lines: Iterable[str]) -> None:
        self.headline = headline
        self.lines = list(lines)
        super().__init__("\n".join([headline, *(f"  {line}" for line in self.lines)]))


@dataclass(frozen=True)
class DestructiveStep:
    """One step that can change its device, and why."""

    path: str
    name: str
    device: str
    command: str  # Write10, cdb 2a 00 ..., reset lun
    reason: str  # "changes medium contents"
    mark: Mark | None = None

    def describe(self, target: str | None = None) -> str:
        where = f"{self.mark}: " if self.mark is not None else ""
        on = f"device {self.device}" + (f" ({target})" if target else "")
        return f"{where}step {self.path} ({self.name}): {self.command} {self.reason} on {on}"


def _marked(cls: type[Command]) -> str | None:
    if cls.changes_media:
        return "changes medium contents"
    if cls.changes_state:
        return "changes device state"
    return None


def destructive_reason(
    step: Step, variables: Mapping[str, Any] | None = None, catalog: Catalog | None = None
) -> str | None:
    """Why ``step`` can change its device, or None when it cannot (see the module docstring).

    Names and raw CDBs resolve in ``catalog`` (the scenario's; default the standard one).
    """
    catalog = catalog if catalog is not None else standard_catalog()
    if step.kind == "reset":
        return "resets the device (aborts every initiator's commands, drops reservations)"
    if step.kind == "task":
        return "is a task management function (it aborts commands; a reset drops reservations)"
    if step.kind != "command":
        return None
    if step.cdb is None:
        if step.command is None:
            return None
        return _marked(catalog.lookup(step.command))
    raw = _raw_cdb(step.cdb, variables or {})
    if raw is None:
        return "is a raw CDB known only at run time"
    cls = catalog.identify(raw)
    if cls is None:
        return f"is a raw CDB with opcode {raw[0]:02X}h, unknown to the catalog"
    why = _marked(cls)
    if why is not None:
        return f"is a raw {cls.__name__}, which {why}"
    if step.data is not None and Direction.OUT not in cls.directions:
        return f"sends data-out with a raw {cls.__name__}, which takes none (unknown meaning)"
    return None


def _raw_cdb(text: Any, variables: Mapping[str, Any]) -> bytes | None:
    """The CDB bytes when they can be known before the run (expressions over ``vars:``)."""
    from ..scenario.expr import resolve

    try:
        value = resolve(text, variables)
        raw = bytes.fromhex(str(value).replace(":", " ").replace(",", " "))
    except Exception:  # a saved variable, a bad value: the run will tell; here, unknown
        return None
    return raw or None


def destructive_steps(plan: Plan) -> list[DestructiveStep]:
    """The selected steps of ``plan`` that can change their device, in plan order."""
    try:
        variables = plan.initial_vars()
    except Exception:
        variables = {}
    out = []
    for ps in plan.steps():
        reason = destructive_reason(ps.step, variables, plan.catalog)
        if reason is not None:
            out.append(_entry(ps, reason))
    return out


def _entry(ps: PlannedStep, reason: str) -> DestructiveStep:
    step = ps.step
    what = (
        f"reset {step.reset}"
        if step.kind == "reset"
        else f"task {step.task}"
        if step.kind == "task"
        else step.command or f"cdb {step.cdb}"
    )
    return DestructiveStep(ps.path, step.name, step.device or "", what, reason, step.mark)


def target_simulated(target: str) -> bool | None:
    """True for ``sim:``, False for the sg driver, None when a plugin decides (on opening)."""
    from ..transport import target_scheme

    scheme = target_scheme(target)
    if scheme == "sim":
        return True
    if scheme == "sg":
        return False
    return None


def check_plan(
    plan: Plan,
    allow_destructive: bool,
    *,
    devices: Mapping[str, str] | None = None,
    holders: bool = True,
    host: Any = None,
) -> list[DestructiveStep]:
    """Refuse ``plan`` before anything is opened, or return its destructive steps.

    ``devices`` maps device names to their target strings (default: the
    plan's); only those known to be real (sg) are judged here, plugin targets
    are judged by the runner once their transport says what it is.  With ``allow_destructive`` the sg devices that would be changed are
    checked for holders (``holders=False`` skips that).
    """
    found = destructive_steps(plan)
    if not found:
        return found
    targets = dict(devices) if devices is not None else _targets(plan, found)
    real = [d for d in found if target_simulated(targets.get(d.device, "")) is False]
    if real and not allow_destructive:
        raise refusal(plan, real, targets)
    if real and holders:
        check_holders(plan, sorted({d.device for d in real}), targets, host=host)
    return found


def check_plugin_targets(plan: Plan, pm: Any) -> None:
    """Without permission, refuse destructive steps on a plugin's real device before the
    run sends anything to any device.

    Only a plugin's transport knows whether it is simulated, so each such device is
    opened through ``sgscript_open_target``, asked, and closed again; nothing is sent.
    ``sgscript run a.yaml b.yaml`` calls this for every spec before the first one runs,
    or ``a.yaml`` would already have written its devices when ``b.yaml`` is refused
    (exit 2 means nothing was sent).
    """

    if pm is None:
        return
    found = destructive_steps(plan)
    targets = _targets(plan, found)
    real, opened = [], {}
    for d in found:
        target = targets.get(d.device, "")
        if target_simulated(target) is not None or d.device not in plan.scenario.devices:
            continue
        if d.device not in opened:
            device = plan.scenario.devices[d.device]
            try:
                transport = pm.hook.sgscript_open_target(
                    target=plan.bindings.get(d.device, device.target),
                    options=device.open_options(),
                )
            except Exception:  # the run opens it again and reports why (exit 3)
                transport = None
            opened[d.device] = transport is not None and not getattr(transport, "simulated", False)
            if transport is not None:
                with contextlib.suppress(Exception):
                    transport.close()
        if opened[d.device]:
            real.append(d)
    if real:
        raise refusal(plan, real, targets)


def _targets(plan: Plan, found: Iterable[DestructiveStep]) -> dict[str, str]:
    out = {}
    for d in found:
        if d.device in plan.scenario.devices:
            with contextlib.suppress(Exception):
                out[d.device] = plan.device_target(d.device)[0]
    return out


def refusal(
    plan: Plan, steps: Iterable[DestructiveStep], targets: Mapping[str, str]
) -> DestructiveRefused:
    """The error for destructive steps on real devices without permission."""
    steps = list(steps)
    return DestructiveRefused(
        f"{plan.scenario.file}: {len(steps)} step(s) would change a real device and"
        f" {_FLAG} was not given; nothing was sent:",
        [d.describe(targets.get(d.device)) for d in steps],
    )


def check_holders(
    plan: Plan, names: Iterable[str], targets: Mapping[str, str], *, host: Any = None
) -> None:
    """Refuse when the disk behind any of these sg devices is in use (mounted, held, swap)."""
    from ..transport.linux import holders as h

    paths = host if host is not None else h.HOST
    problems = []
    for name in names:
        target = targets.get(name, "")
        block = disk_of(target, paths)
        if block is None:
            continue
        found = h.find_holders(block, paths)
        if found:
            problems.append(f"device {name} ({target}) is disk /dev/{block}: " + "; ".join(found))
    if problems:
        raise DestructiveRefused(
            f"{plan.scenario.file}: refusing to change a disk in use (even with {_FLAG});"
            " nothing was sent:",
            problems,
        )


def disk_of(target: str, paths: Any = None) -> str | None:
    """The block device name (``sdb``) behind an sg target, when sysfs tells."""
    from ..transport import target_path
    from ..transport.linux import holders as h

    paths = paths if paths is not None else h.HOST
    path = target_path(target)
    sg = h.sg_name_of_node(path, paths)
    return h.block_of_sg(sg, paths) if sg is not None else None

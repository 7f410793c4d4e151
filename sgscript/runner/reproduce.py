"""The one command line that runs a scenario again exactly: ``reproduce: sgscript run ...``.

A failure is only as useful as the way back to it.  Everything that shapes what a
scenario sends is on that line: its spec, the seed (every random value is drawn
from it and the step's path), the ``-k`` in effect, the ``--device`` bindings and
``--var`` overrides it takes, ``--data-dir``, ``-p`` plugins,
``--allow-destructive``, a ``--max-transfer`` other than the default and the
run's ``--on-error``; each
argument quoted for a POSIX shell.  A ``sim:`` disk is one disk for a whole
command line, so the earlier specs that opened one of the scenario's disks come
first on the line: the scenario found the disk as they left it.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..limits import MAX_TRANSFER

__all__ = ["Invocation", "reproduce_command", "sharing_disks", "sim_disks"]


@dataclass(frozen=True)
class Invocation:
    """What of the command line shapes a run besides the plan (which knows its spec, seed,
    ``-k``, bindings and transfer bound): ``--var`` as given (``NAME=VALUE``, each spec
    takes the names it declares), ``--data-dir``, ``-p``, ``--allow-destructive``."""

    vars: tuple[str, ...] = ()
    data_dirs: tuple[str, ...] = ()
    plugins: tuple[str, ...] = ()
    allow_destructive: bool = False
    #: Spec paths are shown relative to this directory when they lie under it (pytest
    #: knows specs by absolute path; the line is run where pytest was).
    cwd: str | None = None


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def _spec(path: str, cwd: str | None) -> str:
    if cwd and os.path.isabs(path):
        rel = os.path.relpath(path, cwd)
        if not rel.startswith(os.pardir):
            return rel
    return path


def reproduce_command(plans: Sequence[Any], invocation: Invocation | None = None) -> str:
    """``sgscript run SPEC… --seed N [-k EXPR] [--device NAME=TARGET]… [--var NAME=VALUE]…
    [--data-dir DIR]… [-p PLUGIN]… [--allow-destructive] [--max-transfer SIZE]`` for the
    last of ``plans``, after those it needs first (``sharing_disks``); "" when a scenario
    has no file to name (built in Python)."""
    how = invocation or Invocation()
    if not plans or not all(p.scenario.file for p in plans):
        return ""
    last = plans[-1]
    args = ["sgscript", "run", *(_spec(p.scenario.file, how.cwd) for p in plans)]
    args += ["--seed", str(last.seed)]
    if last.select:
        args += ["-k", last.select]
    bindings: dict[str, str] = {}
    for plan in plans:
        for name, target in plan.bindings.items():
            bindings.setdefault(name, target)
    for name, target in bindings.items():
        args += ["--device", f"{name}={target}"]
    declared = {name for plan in plans for name in plan.scenario.vars}
    for item in how.vars:
        if item.partition("=")[0].strip() in declared:
            args += ["--var", item]
    for directory in how.data_dirs:
        args += ["--data-dir", directory]
    for plugin in how.plugins:
        args += ["-p", plugin]
    if how.allow_destructive:
        args.append("--allow-destructive")
    if last.max_transfer != MAX_TRANSFER:
        args += ["--max-transfer", _size(last.max_transfer)]
    for event, action in getattr(last, "on_error", {}).items():
        args += ["--on-error", f"{event}={action}"]
    return " ".join(shlex.quote(a) for a in args)


def sim_disks(plan: Any) -> set[str]:
    """The names of the ``sim:`` disks a plan's selected steps open."""
    from ..sim.target import target_options

    used = {ps.step.device for ps in plan.steps() if ps.step.device}
    disks = set()
    for name in plan.scenario.devices:
        if name not in used:
            continue
        try:
            target, options = plan.device_target(name)
            if target.startswith("sim:"):
                disks.add(target_options(target[4:], options)[0])
        except ValueError:  # opening it says why
            continue
    return disks


def sharing_disks(plans: Sequence[Any], index: int) -> list[Any]:
    """``plans[index]`` after the earlier plans whose ``sim:`` disks it finds as they left
    them: those that opened one of its disks, and in turn the earlier ones that opened a
    disk of theirs (what they did depended on it)."""
    needed = [plans[index]]
    disks = sim_disks(plans[index])
    for plan in reversed(plans[:index]):
        theirs = sim_disks(plan)
        if theirs & disks:
            needed.insert(0, plan)
            disks |= theirs
    return needed

"""One session set-up for the CLI and the pytest plugin: plugins, specs, ``--var``, bindings, seed.

``sgscript run``/``plan``/``validate`` and ``pytest specs/`` start a run the
same way: one plugin manager, every spec loaded (``--data-dir``), ``--var``
applied, ``--device`` bindings checked against what the specs declare, one
seed, each spec planned (``-k``, ``--max-transfer``) and checked — targets and
values — before any device is opened.  Each front end only says how it prints.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..scenario import SpecError
from ..scenario import load as scenario_loader
from ..scenario.load import override_vars, parse_vars
from ..scenario.model import Scenario
from ..scenario.plan import Plan
from ..scsi.errors import UsageError
from .safety import check_plan, check_plugin_targets

__all__ = [
    "Batch",
    "bindings_for",
    "check_bindings",
    "check_destructive",
    "load_all",
    "load_one",
    "load_scenario",
    "new_seed",
    "parse_bindings",
    "plan_problems",
    "plan_specs",
    "plugin_manager",
    "shared_sim_problems",
    "target_problems",
    "task_problems",
    "with_vars",
]


def plugin_manager(names: Sequence[str]) -> Any:
    """The session's plugin manager: built-ins, installed entry points and ``-p`` modules.

    The built-in reporters (``report.builtin``) are registered here, above verify.
    """
    from ..report import builtin as builtin_reporters
    from ..verify.plugins import get_plugin_manager

    pm = get_plugin_manager(list(names))
    pm.register(builtin_reporters, name="sgscript.report.builtin")
    return pm


def load_scenario(
    path: str,
    *,
    plugins: Any = None,
    expect_kinds: Mapping[str, Any] | None = None,
    data_dirs: Sequence[str] = (),
) -> Scenario:
    """``sgscript.load_scenario``: a spec loaded as ``sgscript run`` loads it.

    ``plugins`` is a plugin manager (``get_plugin_manager``) or ``-p`` module names;
    by default the installed plugins, whose commands and expectation kinds the spec
    may use.  (``scenario.load_scenario`` itself knows only what it is given.)
    """
    from ..verify.plugins import get_plugin_manager

    if plugins is None or isinstance(plugins, list | tuple):
        plugins = get_plugin_manager(list(plugins or ()))
    return scenario_loader.load_scenario(
        path, plugins=plugins, expect_kinds=expect_kinds, data_dirs=data_dirs
    )


def new_seed() -> int:
    """A seed for a session that was not given one (printed, so it replays)."""
    return secrets.randbelow(2**32)


def parse_bindings(items: Sequence[str]) -> dict[str, str]:
    """``["a=/dev/sg3", "b=sim:lu0"]`` → ``{"a": "/dev/sg3", "b": "sim:lu0"}`` (``--device``)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, target = item.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise UsageError(f"--device: expected NAME=TARGET (a=/dev/sg3), got {item!r}")
        if name.strip() in out:
            raise UsageError(f"--device: {name.strip()} bound twice")
        out[name.strip()] = target.strip()
    return out


def bindings_for(scenario: Any, bindings: Mapping[str, str]) -> dict[str, str]:
    """The bindings a scenario uses: each spec takes the ``--device`` names it declares."""
    return {n: t for n, t in bindings.items() if n in scenario.devices}


def check_bindings(bindings: Mapping[str, str], scenarios: Sequence[Any]) -> None:
    """A ``--device`` name no spec declares is a usage error (a typo would bind nothing)."""
    declared = sorted({n for s in scenarios for n in s.devices})
    for name in bindings:
        if name not in declared:
            names = ", ".join(declared) or "none"
            raise UsageError(f"--device {name}=...: no spec declares a device {name!r} ({names})")


def expand_specs(paths: Sequence[str]) -> list[str]:
    """The spec files ``paths`` name: a directory stands for every scenario under it
    (``*.yaml``/``*.yml`` saying ``sgscript:`` at the top level, in path order; included
    fragments do not), a file for itself."""
    out: list[str] = []
    for path in paths:
        if not os.path.isdir(path):
            out.append(path)
            continue
        found = []
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                if name.endswith((".yaml", ".yml")):
                    found.append(os.path.join(root, name))
        scenarios = [f for f in found if _is_scenario(f)]
        if not scenarios:
            raise UsageError(f"{path}: no scenario (a YAML file saying sgscript: 1) under it")
        out += scenarios
    return out


def _is_scenario(path: str) -> bool:
    """As the pytest plugin decides: the file says ``sgscript:`` at the top level."""
    try:
        with open(path, "rb") as f:
            return re.search(rb"^sgscript[ \t]*:", f.read(64 * 1024), re.MULTILINE) is not None
    except OSError:
        return True  # loading it says what is wrong


def load_all(
    paths: Sequence[str], pm: Any, data_dirs: Sequence[str] = ()
) -> tuple[list[Scenario], list[str]]:
    """Every spec loaded (a directory: every scenario under it), and every problem of
    them all (``FILE:LINE:COL: ...``)."""
    scenarios, problems = [], []
    for path in expand_specs(paths):
        try:
            scenarios.append(scenario_loader.load_scenario(path, plugins=pm, data_dirs=data_dirs))
        except SpecError as exc:
            problems += str(exc).splitlines()
        except OSError as exc:
            problems.append(f"{path}: cannot read: {exc.strerror or exc}")
    return scenarios, problems


def with_vars(scenarios: list[Any], items: Iterable[str]) -> list[Any]:
    """``--var`` applied (``scenario.load.override_vars``): a name no spec declares is exit 2."""
    return override_vars(scenarios, parse_vars(items))


def load_one(
    path: str,
    pm: Any,
    *,
    data_dirs: Sequence[str],
    overrides: Mapping[str, Any],
    seed: int,
) -> Scenario:
    """One spec loaded with the overrides it declares, its values checked as a run checks them.

    Raises ``SpecError`` for any problem, what ``--var`` makes of the values included.
    """
    scenario = scenario_loader.load_scenario(path, plugins=pm, data_dirs=data_dirs)
    (scenario,) = override_vars([scenario], overrides, strict=False)  # each takes its own
    problems = Plan(scenario, seed=seed).check()
    if problems:  # what --var makes of the values: found before anything is sent
        raise SpecError(problems)
    return scenario


def target_problems(scenario: Any, plan: Any = None, pm: Any = None) -> list[str]:
    """What opening each device would refuse, found before anything is opened or sent
    (``FILE:LINE:COL: ...``): an unknown target kind (unless a plugin may open it), a
    target naming no device, a ``sim:`` option or geometry opening refuses, a ``sim:``
    ``file=`` outside the spec's directory or not an sgscript sim disk of the same
    geometry.  Nothing is created."""
    from ..sim.target import check_target
    from ..transport import builtin_schemes, target_path, target_scheme

    plan = plan if plan is not None else Plan(scenario, seed=0)
    plugins_open = pm is not None and bool(pm.hook.sgscript_open_target.get_hookimpls())
    schemes = sorted(getattr(pm, "target_kinds", None) or builtin_schemes())
    problems = []
    for name, device in scenario.devices.items():
        where = f"{device.mark}: " if device.mark is not None else ""
        try:
            target, options = plan.device_target(name)
            scheme = target_scheme(target)
            if scheme == "sim":
                check_target(target[4:], options, plan.catalog)
            elif scheme not in schemes and not plugins_open:
                known = ", ".join(f"{s}:" for s in schemes)
                raise UsageError(
                    f"unknown target kind {scheme + ':'!r} in {target!r} (known: {known})"
                )
            elif scheme in schemes and not target_path(target):
                raise UsageError(f"target {target!r} names no device")
        except ValueError as exc:
            text = str(exc)
            problems.append(text if text.startswith(where) else f"{where}devices.{name}: {text}")
    return problems + task_problems(plan)


def task_problems(plan: Any) -> list[str]:
    """``task:`` steps their device's driver cannot send (ABORT TASK through the sg driver),
    each as ``FILE:LINE:COL: step PATH: why``; plugin targets are asked at run time."""
    from ..scsi.tmf import TaskFunction
    from ..transport import target_scheme

    problems = []
    for ps in plan.steps():
        step = ps.step
        if step.kind != "task" or step.device not in plan.scenario.devices:
            continue
        if target_scheme(plan.device_target(step.device)[0]) != "sg":
            continue
        from ..transport.linux.sg import SG_TASKS, sg_refusal

        function = TaskFunction(step.task)
        if function not in SG_TASKS:
            where = f"{step.mark}: " if step.mark is not None else ""
            problems.append(f"{where}step {ps.path}: {sg_refusal(function)}")
    return problems


def shared_sim_problems(plans: Sequence[tuple[Any, Any]]) -> list[str]:
    """``sim:NAME`` is one disk for a whole command line: every later opening of a name
    must fit the disk its first opening makes (what it says of the geometry and identity
    the same, a LUN the disk has).  Opening refuses a misfit only once the specs before
    it have run; this finds it before anything is sent (``FILE:LINE:COL: ...``)."""
    import dataclasses

    from ..sim.lu import LuConfig
    from ..sim.target import lu_config, option_int, target_options

    disk_keys = {f.name for f in dataclasses.fields(LuConfig)} - {"extra"}
    first: dict[str, tuple[str, LuConfig, int]] = {}  # name -> (who made it, config, luns)
    problems = []
    for scenario, plan in plans:
        used = {ps.step.device for ps in plan.steps() if ps.step.device}
        for name, device in scenario.devices.items():
            if name not in used:
                continue
            try:
                target, options = plan.device_target(name)
                if not target.startswith("sim:"):
                    continue
                disk, given = target_options(target[4:], options)
                luns = option_int("luns", str(given.get("luns", "1")))
                lun = option_int("lun", str(given.get("lun", "0")))
                config, _ = lu_config({k: v for k, v in given.items() if k in disk_keys})
            except ValueError:  # target_problems said why already
                continue
            where = f"{device.mark}: devices.{name}" if device.mark else f"devices.{name}"
            made = first.setdefault(disk, (scenario.file, config, luns))
            who, had, count = made
            for key in sorted(k for k in given if k in disk_keys):
                if getattr(config, key) != getattr(had, key):
                    problems.append(
                        f"{where}: sim:{disk} is one disk for the whole command line: {who}"
                        f" makes it with {key}={getattr(had, key)!r}, this opens it with"
                        f" {key}={getattr(config, key)!r} (another name is another disk)"
                    )
            if lun >= count:
                problems.append(
                    f"{where}: sim:{disk} is one disk for the whole command line: {who}"
                    f" makes it with luns={count}, so it has no LUN {lun}"
                )
    return problems


def plan_problems(plans: Sequence[Any]) -> list[str]:
    """Plan-time checks (``Plan.check``) of every plan, as lines."""
    return [str(p) for plan in plans for p in plan.check()]


@dataclass
class Batch:
    """The specs of one command line, loaded and planned: nothing sent yet."""

    plans: list[tuple[Any, Any]]  # (scenario, plan), the ones -k leaves something of
    seed: int
    pm: Any  # the plugin manager (built-ins, entry points, -p)


def plan_specs(
    specs: Sequence[str],
    *,
    plugins: Sequence[str],
    vars: Iterable[str],
    devices: Sequence[str],
    seed: int | None,
    select: str | None,
    data_dirs: Sequence[str],
    max_transfer: int,
    pm: Any = None,
    on_error: Mapping[str, Any] | None = None,
) -> Batch | list[str]:
    """Load, bind and plan every spec: the batch, or every problem found (nothing was sent).

    ``pm`` is the plugin manager already made from ``plugins`` (the command line
    made it before parsing, for ``sgscript_addoption``); None makes it here.

    A usage mistake found on the way (a ``--var`` or ``--device`` no spec
    declares, a bad target, ``-k`` selecting nothing) raises ``UsageError``.
    """
    if pm is None:
        pm = plugin_manager(plugins)
    scenarios, problems = load_all(specs, pm, data_dirs)
    if problems:
        return problems
    scenarios = with_vars(scenarios, vars)
    bindings = parse_bindings(devices)
    check_bindings(bindings, scenarios)
    seed = seed if seed is not None else new_seed()
    plans = []
    for scenario in scenarios:
        plan = Plan(
            scenario,
            bindings=bindings_for(scenario, bindings),
            seed=seed,
            select=select,
            max_transfer=max_transfer,
            on_error=on_error,
        )
        problems = target_problems(scenario, plan, pm)  # before any spec runs
        if problems:
            raise UsageError(problems[0])
        if plan.selected:
            plans.append((scenario, plan))
    if not plans:
        raise UsageError(f"-k {select!r} selects no step of any spec")
    problems = shared_sim_problems(plans)
    if problems:
        raise UsageError(problems[0])
    problems = plan_problems([plan for _, plan in plans])
    if problems:
        return problems
    return Batch(plans, seed, pm)


def check_destructive(plans: Sequence[Any], allow: bool, pm: Any = None) -> None:
    """Every plan's destructive steps, before the first one sends anything (``DestructiveRefused``).

    Without permission a plugin's device is opened, asked whether it is real, and
    closed again (``safety.check_plugin_targets``); nothing is sent.
    """
    for plan in plans:
        check_plan(plan, allow)
    if not allow:  # a plugin's device says whether it is real only once opened
        for plan in plans:
            check_plugin_targets(plan, pm)

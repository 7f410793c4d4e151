"""``Plan``: one scenario compiled — steps by path, seed, ``-k``, targets, checks, streams."""

from __future__ import annotations

import dataclasses
import itertools
import os
import random
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ...limits import (
    MAX_QUEUE_DEPTH,
    MAX_REPEAT,
    MAX_TRANSFER,
)
from ...scsi.cdb import Command, Direction
from ...scsi.errors import UsageError
from ..model import CONTAINERS, ErrorAction, Mark, Scenario, Step
from .commands import _Maker
from .select import Pulled, compile_selection, keep_dependencies
from .steps import DEFAULT_BLOCK_SIZE, Env, PlannedStep, PreviewRow
from .targets import block_size_option, device_target
from .values import (
    _CHECKED,
    _DATA_KEYS,
    _MARKED,
    _as_int,
    _env,
    _message,
    _names,
    _only_fields_use_index,
    _resolve,
    _shown,
    _step_uses_index,
    _vars_text,
    _VarsTooBig,
    _why,
    loop_values,
)

if TYPE_CHECKING:
    from ..load import Problem

__all__ = ["Plan"]


#: The queue a device opens with for a step whose depth reads a value saved at run time.
RUNTIME_DEPTH = 256


class Plan:
    """A scenario ready to run: paths, seed, selection, device targets, command streams."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        bindings: Mapping[str, str] | None = None,
        seed: int | None = None,
        select: str | None = None,
        max_transfer: int = MAX_TRANSFER,
        on_error: Mapping[str, ErrorAction] | None = None,
    ) -> None:
        self.scenario = scenario
        #: The run's ``on_error:`` table (``--on-error``): under the scenario's own.
        self.on_error = dict(on_error or {})
        #: The commands its steps name, and raw CDBs identify as (the scenario's).
        self.catalog = scenario.catalog
        #: The most one command may move (``--max-transfer``); checked before data is built.
        self.max_transfer = max_transfer
        #: ``--device NAME=TARGET`` for names this scenario declares (others are ignored:
        #: one command line binds the devices of many specs).
        self.bindings = {k: v for k, v in (bindings or {}).items() if k in scenario.devices}
        self.seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**32)
        self.select = select or None
        self.base_dir = os.path.dirname(os.path.abspath(scenario.file)) if scenario.file else "."
        self._matcher = compile_selection(select) if select else None
        self._all: list[PlannedStep] = []
        self._selected: dict[str, bool] = {}
        #: Steps ``-k`` did not name that run because selected steps read what they save.
        self.pulled: list[Pulled] = []
        names = (scenario.name, *([scenario.id] if scenario.id else ()), *scenario.refs)
        self._walk(scenario.steps, "", 0, False, names)
        self._walk(scenario.finally_steps, "finally.", 0, True, names)
        self._by_path = {ps.path: ps for ps in self._all}
        self._by_id: dict[int, PlannedStep] = {}
        for ps in self._all:
            self._by_id.setdefault(id(ps.step), ps)
        self._mark_selection()

    # -- structure -------------------------------------------------------------

    def _walk(
        self, steps: Iterable[Step], prefix: str, depth: int, final: bool, names: tuple[str, ...]
    ) -> None:
        for n, step in enumerate(steps, 1):
            path = f"{prefix}{n}"
            keywords = (*names, step.name, *([step.id] if step.id else ()), *step.refs)
            self._all.append(PlannedStep(path, step, depth, final, keywords))
            for b, branch in enumerate(step.branches, 1):
                self._walk(branch, f"{path}.{b}.", depth + 1, final, keywords)
            if step.kind == "group":  # its steps are 5.1, 5.2; its finally: 5.finally.1
                self._walk(step.body, f"{path}.", depth + 1, final, keywords)
                self._walk(step.cleanup, f"{path}.finally.", depth + 1, True, keywords)

    def _mark_selection(self) -> None:
        match = self._matcher
        selected = self._selected
        for ps in self._all:
            selected[ps.path] = match is None or match(ps.keywords)
        # a container runs when any of its steps does (its finally: does not count)
        for ps in reversed(self._all):
            if ps.step.kind in CONTAINERS and not selected[ps.path]:
                selected[ps.path] = any(
                    selected[c.path] for c in self._inside(ps) if not self._cleanup_of(ps, c)
                )
        # a finally: runs when what it cleans up after does (-k naming one runs it too)
        for ps in self._all:
            if ps.step.kind == "group":
                for c in self._inside(ps):
                    if self._cleanup_of(ps, c):
                        selected[c.path] = selected[ps.path]
        anything = any(selected.values())
        for ps in self._all:
            if ps.path.startswith("finally."):
                selected[ps.path] = anything
        if match is not None and anything:  # what the selected steps read runs too
            self.pulled = keep_dependencies(self._all, selected)

    @property
    def notes(self) -> list[str]:
        """What ``-k`` added (``-k also runs 2 (saves last_lba) for 5``): for ``plan``,
        ``--list`` and the run's notes."""
        return [p.note() for p in self.pulled]

    def _inside(self, ps: PlannedStep) -> list[PlannedStep]:
        prefix = ps.path + "."
        return [c for c in self._all if c.path.startswith(prefix)]

    @staticmethod
    def _cleanup_of(group: PlannedStep, ps: PlannedStep) -> bool:
        return ps.path.startswith(group.path + ".finally.")

    def all_steps(self) -> list[PlannedStep]:
        """Every step with its path, selected or not, parallel groups before their steps."""
        return list(self._all)

    def steps(self) -> list[PlannedStep]:
        """The selected steps, in file order (a parallel group before its branches' steps)."""
        return [ps for ps in self._all if self._selected[ps.path]]

    def is_selected(self, path: str) -> bool:
        return self._selected.get(path, False)

    @property
    def selected(self) -> bool:
        """Whether ``-k`` leaves anything of this scenario to run."""
        return any(self._selected.values())

    def children(self, planned: PlannedStep) -> list[list[PlannedStep]]:
        """A parallel group's branches as planned steps (the selected ones, top level of each)."""
        out = []
        for b in range(1, len(planned.step.branches) + 1):
            prefix = f"{planned.path}.{b}."
            out.append(
                [
                    ps
                    for ps in self._all
                    if ps.path.startswith(prefix)
                    and "." not in ps.path[len(prefix) :]
                    and self._selected[ps.path]
                ]
            )
        return out

    def group_steps(self, planned: PlannedStep) -> tuple[list[PlannedStep], list[PlannedStep]]:
        """A group's selected steps and its selected ``finally:`` steps (top level of each)."""

        def level(prefix: str) -> list[PlannedStep]:
            return [
                ps
                for ps in self._all
                if ps.path.startswith(prefix)
                and "." not in ps.path[len(prefix) :]
                and self._selected[ps.path]
            ]

        return level(planned.path + "."), level(planned.path + ".finally.")

    def error_policy(self, step: PlannedStep | Step | str) -> dict[str, ErrorAction]:
        """A step's ``on_error:`` table: the run's, the scenario's, each enclosing group's,
        then its own; the nearer wins, event by event."""
        ps = self.find(step)
        table = {**self.on_error, **self.scenario.on_error}
        parts = ps.path.split(".")
        for n in range(1, len(parts)):
            outer = self._by_path.get(".".join(parts[:n]))
            if outer is not None and outer.step.kind == "group":
                table.update(outer.step.on_error)
        table.update(ps.step.on_error)
        return table

    def top(self, final: bool = False) -> list[PlannedStep]:
        """The selected steps of ``steps:`` (or ``finally:``) at the top level."""
        return [
            ps
            for ps in self._all
            if ps.final == final and ps.depth == 0 and self._selected[ps.path]
        ]

    def find(self, step: Step | PlannedStep | str) -> PlannedStep:
        """The planned step for a path, a model step (by identity) or a planned step."""
        if isinstance(step, PlannedStep):
            return step
        found = self._by_path.get(step) if isinstance(step, str) else self._by_id.get(id(step))
        if found is None:
            raise KeyError(f"no step {step!r} in {self.scenario.name}")
        return found

    # -- devices ---------------------------------------------------------------

    def device_target(self, name: str) -> tuple[str, dict[str, Any]]:
        """The target to open for device ``name`` and the options its target kind gets.

        A backing file (``file=``) the spec names is confined to the spec's
        directory; one given with ``--device`` is the user's own path.
        """
        return device_target(self.scenario.devices[name], self.bindings.get(name), self.base_dir)

    def device_queue_depth(self, name: str) -> int:
        """The device's declared queue depth, or enough for every step's (at least 16).

        Depths written as expressions (``"${qd}"``, ``--var qd=64``) count with their
        value; one that reads a value ``save:``d at run time cannot be known before the
        device opens, and counts as ``RUNTIME_DEPTH``.
        """
        device = self.scenario.devices[name]
        variables: dict[str, Any] | None = None

        def value(depth: Any) -> int:
            nonlocal variables
            if isinstance(depth, int) and not isinstance(depth, bool):
                return depth
            try:  # a random draw here may differ from the step's own: the step run caps it
                if variables is None:
                    variables = self.initial_vars()  # evaluated once, for every step
                got = _resolve(depth, variables, random.Random(f"{self.seed}:depth"))
                return _as_int("queue_depth", got, 1, MAX_QUEUE_DEPTH)
            except Exception:  # reads a saved value (or is bad: Plan.check says so)
                return RUNTIME_DEPTH

        if device.queue_depth:
            return value(device.queue_depth)
        return max(
            [16, *(value(ps.step.queue_depth) for ps in self._all if ps.step.device == name)]
        )

    def block_size_hint(self, name: str | None) -> int:
        """The block size ``sgscript plan`` assumes: what the device's target string (its
        ``sim:`` binding, or the spec's) and ``options:`` say, else 512 (a device bound to
        another kind tells its own at run time)."""
        device = self.scenario.devices.get(name or "")
        if device is None:
            return DEFAULT_BLOCK_SIZE
        target = self.bindings.get(device.name, device.target)
        if target != device.target and not target.startswith("sim:"):
            return DEFAULT_BLOCK_SIZE
        return block_size_option(target, device.options) or DEFAULT_BLOCK_SIZE

    # -- values ----------------------------------------------------------------

    def initial_vars(self) -> dict[str, Any]:
        """``vars:`` evaluated in order (a value may use the ones before it, or draw)."""
        rng = random.Random(f"{self.seed}:vars")
        out: dict[str, Any] = {"iteration": 0}
        total = 0
        for name, value in self.scenario.vars.items():
            got = _resolve(value, out, rng)
            total = _vars_text(total, got)
            out[name] = got
        return out

    def rng(self, step: PlannedStep | Step | str) -> random.Random:
        """The step's own random stream: the same seed and path draw the same values."""
        return random.Random(f"{self.seed}:{self.find(step).path}")

    def counts(
        self, step: PlannedStep | Step | str, env: Env | Mapping[str, Any]
    ) -> tuple[int, int]:
        """(repeat, queue_depth) of a step, evaluated against ``env``."""
        ps = self.find(step)
        env = _env(env)
        rng = self.rng(ps)
        repeat = _as_int("repeat", _resolve(ps.step.repeat, env.vars, rng), 0, MAX_REPEAT)
        depth = _as_int(
            "queue_depth", _resolve(ps.step.queue_depth, env.vars, rng), 1, MAX_QUEUE_DEPTH
        )
        return repeat, depth

    # -- checks before anything is sent -----------------------------------------

    def check(self) -> list[Problem]:
        """Every value that depends only on ``vars:`` (and ``--var``), evaluated and range-checked.

        What a selected step would send is built now (the first and last index,
        the bounds of a random range) so a field out of range, a repeat past its
        bound or a transfer past ``max_transfer`` is found before the run
        opens a device; values that read a variable ``save:``d at run time can
        only be checked then (a step failure).  Each problem is at the step's
        (or the variable's) ``FILE:LINE:COL``.
        """
        from ..load import Problem

        scenario = self.scenario
        top = scenario.mark or Mark(scenario.file, 1, 1)
        problems: list[Problem] = []
        rng = random.Random(f"{self.seed}:vars")
        vars_: dict[str, Any] = {"iteration": 0}
        unknown: set[str] = set()
        total = 0
        for name, value in scenario.vars.items():
            if _names(value) & unknown:
                unknown.add(name)
                continue
            try:
                got = _resolve(value, vars_, rng)
                total = _vars_text(total, got)
                vars_[name] = got
            except _CHECKED as exc:
                mark = scenario.var_marks.get(name, top)
                problems.append(Problem(mark, f"vars.{name}: {_message(exc)}"))
                unknown.add(name)
                if isinstance(exc, _VarsTooBig):  # once, not once per var after it
                    unknown.update(scenario.vars)
                    break
        for ps in self.steps():
            step = ps.step
            if step.kind == "command":
                for message in self._check_command(ps, vars_, unknown):
                    marked = _MARKED.match(message)  # a data pattern's own place is more precise
                    if marked is not None:
                        file, line, column, text = marked.groups()
                        where = Mark(file, int(line), int(column))
                        problems.append(Problem(where, f"step {ps.path}: {text}"))
                    else:
                        problems.append(Problem(step.mark or top, f"step {ps.path}: {message}"))
            elif step.kind == "group" and step.loop is not None:
                unknown.add(step.loop[0])  # each value is checked when the group reaches it
            unknown.update(step.save)
        return problems

    def _check_command(
        self, ps: PlannedStep, vars_: Mapping[str, Any], unknown: set[str]
    ) -> Iterator[str]:
        step = ps.step
        rng = self.rng(ps)
        repeat: int | None = None
        if not _names(step.repeat) & unknown:
            try:
                repeat = _as_int("repeat", _resolve(step.repeat, vars_, rng), 0, MAX_REPEAT)
            except _CHECKED as exc:
                yield _message(exc)
        if not _names(step.queue_depth) & unknown:
            try:
                _as_int("queue_depth", _resolve(step.queue_depth, vars_, rng), 1, MAX_QUEUE_DEPTH)
            except _CHECKED as exc:
                yield _message(exc)
        yield from self._check_durations(step, vars_, unknown, rng)
        values: list[Any] = [*step.fields.values(), step.cdb, step.data_in]
        if step.data is not None:
            values += [getattr(step.data, key) for key in _DATA_KEYS]
        if any(_names(v) & unknown for v in values):
            return  # it reads what an earlier step saves: checked when it runs
        indices = [0]
        if _step_uses_index(step) and repeat:
            indices.append(repeat - 1)
        block_size = self.block_size_hint(step.device)
        try:
            for index in indices:
                env = Env({**vars_, "index": index}, block_size)
                maker = self._maker(step, env, rng, checking=True)
                for _ in maker.extremes():
                    pass
        except _CHECKED as exc:
            yield _message(exc)

    @staticmethod
    def _check_durations(
        step: Step, vars_: Mapping[str, Any], unknown: set[str], rng: random.Random
    ) -> Iterator[str]:
        """``expect: {duration: {min, max}}`` bounds that read only ``vars:``: durations now."""
        from ..load import parse_duration

        for e in step.expect:
            if e.kind != "duration" or not isinstance(e.value, Mapping):
                continue
            for key in ("min", "max"):
                bound = e.value.get(key)
                if bound is None or _names(bound) & unknown:
                    continue
                try:
                    parse_duration(_resolve(bound, vars_, rng))
                except _CHECKED as exc:
                    yield f"expect.duration.{key}: {_message(exc)}"

    def command_stream(
        self,
        step: PlannedStep | Step | str,
        env: Env | Mapping[str, Any] | None = None,
        *,
        repeat: int | None = None,
        rng: random.Random | None = None,
    ) -> Iterator[Command]:
        """The commands of one command step, lazily: ``repeat`` times the evaluated fields.

        Values are evaluated when the stream starts (expressions see the variables
        saved before the step), random ones per command.  A bad value raises
        ``UsageError`` (from the generator, when it is reached).
        """
        ps = self.find(step)
        env = _env(env)
        rng = rng if rng is not None else self.rng(ps)
        if repeat is None:
            repeat = _as_int("repeat", _resolve(ps.step.repeat, env.vars, rng), 0, MAX_REPEAT)
        return self._stream(ps.step, env, rng, repeat)

    def _stream(self, step: Step, env: Env, rng: random.Random, repeat: int) -> Iterator[Command]:
        if step.kind != "command":
            raise UsageError(f"step {step.name!r} is a {step.kind} step: it sends no commands")
        if _step_uses_index(step):
            base = {**env.vars, "index": 0}
            indexed = Env(base, env.block_size)
            if _only_fields_use_index(step):  # one maker: the index fields change per command
                maker = self._maker(step, indexed, rng, index_varies=True)
                for index in range(repeat):
                    base["index"] = index
                    yield maker()
                return
            for index in range(repeat):  # the CDB or data differ: each command afresh
                base["index"] = index
                yield self._maker(step, indexed, rng)()
            return
        make = self._maker(step, env, rng)
        if not make.varies:
            command = make()
            yield from itertools.repeat(command, repeat)
            return
        for _ in range(repeat):
            yield make()

    def _maker(
        self,
        step: Step,
        env: Env,
        rng: random.Random,
        *,
        index_varies: bool = False,
        checking: bool = False,
    ) -> _Maker:
        return _Maker(
            step,
            env,
            rng,
            self.seed,
            self.base_dir,
            self.max_transfer,
            catalog=self.catalog,
            index_varies=index_varies,
            checking=checking,
        )

    # -- sgscript plan ---------------------------------------------------------

    def preview(self, *, per_step: int = 1) -> Iterator[PreviewRow]:
        """The compiled stream for ``sgscript plan`` / ``--list``, without opening a device.

        One row per selected step with its first ``per_step`` commands (more rows
        for a repeat when asked).  Values ``save:``d by earlier steps are unknown
        until the run: what depends on them shows as ``?``.
        """
        vars_ = self.initial_vars()
        unknown: set[str] = set()
        for ps in self.steps():
            step = ps.step
            device = step.device
            target = self.device_target(device)[0] if device in self.scenario.devices else None
            base: dict[str, Any] = {
                "path": ps.path,
                "name": step.name,
                "kind": step.kind,
                "depth": ps.depth,
                "device": device,
                "target": target,
                "final": ps.final,
            }
            if step.kind == "reset":
                rows: Iterable[PreviewRow] = [PreviewRow(**base, command=f"reset {step.reset}")]
            elif step.kind == "task":
                aim = f" of {step.of}" if step.of is not None else ""
                rows = [PreviewRow(**base, command=f"task {step.task}{aim}")]
            elif step.kind == "sleep":
                rows = [PreviewRow(**base, command=f"sleep {step.sleep:g}s")]
            elif step.kind == "parallel":
                label = f"parallel ({len(step.branches)} branches)"
                rows = [PreviewRow(**base, command=label)]
            elif step.kind == "group":
                rows = [self._preview_group(ps, base, vars_, unknown)]
            elif step.kind == "check":
                rows = [PreviewRow(**base, command=f"check {(step.check or '').strip()}")]
            else:
                rows = self._preview_command(ps, base, vars_, unknown, per_step)
            conditions = _conditions(step)
            for n, row in enumerate(rows):
                if n == 0 and conditions:  # decided when it runs: plan says on what
                    note = "; ".join(filter(None, [conditions, row.note]))
                    row = dataclasses.replace(row, note=note)
                yield row
            for name in step.save:
                unknown.add(name)
                vars_.pop(name, None)

    def _preview_group(
        self, ps: PlannedStep, base: dict[str, Any], vars_: dict[str, Any], unknown: set[str]
    ) -> PreviewRow:
        """A group's row; its steps preview with the first pass's loop value."""
        step = ps.step
        parts = []
        repeat: int | str = 1
        note = ""
        if step.loop is not None:
            var, values = step.loop
            try:
                items = loop_values(values, vars_)
                parts.append(f"for {var} in {_shown(items)}")
                repeat = len(items)
                if items:
                    vars_[var] = items[0]
            except Exception as exc:
                parts.append(f"for {var}")
                repeat = "?"
                note = _why(exc, unknown)
                unknown.add(var)
        elif step.repeat != 1:
            try:
                repeat = _as_int(
                    "repeat", _resolve(step.repeat, vars_, self.rng(ps)), 0, MAX_REPEAT
                )
            except Exception as exc:
                repeat, note = "?", _why(exc, unknown)
        if step.duration is not None:
            parts.append(f"for {step.duration:g}s")
        words = ", ".join(parts)
        n = len(step.body)
        label = f"group ({n} step{'s' if n != 1 else ''}{', ' + words if words else ''})"
        return PreviewRow(**base, command=label, repeat=repeat, note=note)

    def _preview_command(
        self,
        ps: PlannedStep,
        base: dict[str, Any],
        vars_: dict[str, Any],
        unknown: set[str],
        per_step: int,
    ) -> Iterator[PreviewRow]:
        env = Env(vars_, self.block_size_hint(ps.step.device))
        rng = self.rng(ps)
        label = ps.step.command or "cdb"
        try:
            repeat, depth = self.counts(ps, env)
        except Exception as exc:
            yield PreviewRow(
                **base, command=label, cdb_hex="?", repeat="?", note=_why(exc, unknown)
            )
            return
        try:
            stream = self.command_stream(ps, env, repeat=repeat, rng=rng)
            first = list(itertools.islice(stream, max(1, per_step)))
        except Exception as exc:
            yield PreviewRow(
                **base,
                command=label,
                cdb_hex="?",
                repeat=repeat,
                queue_depth=depth,
                note=_why(exc, unknown),
            )
            return
        for n, cmd in enumerate(first):
            bs = env.block_size
            out = cmd.data_length(bs) if cmd.direction is Direction.OUT else 0
            din = cmd.data_length(bs) if cmd.direction is Direction.IN else 0
            row = PreviewRow(
                **base,
                command=cmd.describe(),
                cdb_hex=cmd.bind(bs).hex(" "),
                data_out=out,
                data_in=din,
                repeat=repeat,
                queue_depth=depth,
                note="" if n == 0 else f"command {n + 1} of {repeat}",
            )
            yield row


def _conditions(step: Step) -> str:
    """``when: X; requires: Y``: what decides at run time whether a step applies."""
    parts = [f"when: {step.when.strip()}"] if step.when is not None else []
    parts += [f"requires: {r.strip()}" for r in step.requires]
    return "; ".join(parts)

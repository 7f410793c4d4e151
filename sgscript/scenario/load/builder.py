"""Validated data → the model: the scenario, its devices, steps and parallel groups.

``_Builder`` reads the included files (``includes.py``), checks every value
(``values.py``) and builds the frozen ``Scenario``; variables in scope are
tracked step by step (``save:``, parallel branches, ``finally:``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from ...grammar import abbreviated as _short
from ...limits import MAX_QUEUE_DEPTH, MAX_REPEAT
from ...scsi.catalog import Catalog, standard_catalog
from ...scsi.tmf import TaskFunction
from ..model import Count, Device, Mark, Scenario, Step, every_step, steps_beside
from .doc import Doc, _Problems
from .includes import _At, _Includes
from .values import BUILTIN_VARS, _Values

__all__: list[str] = []

_FUNCTIONS = frozenset(f.value for f in TaskFunction)


class _Builder(_Includes, _Values):
    """Reads the included files and turns validated data into the model, checking meaning."""

    def __init__(
        self,
        problems: _Problems,
        kinds: Mapping[str, Any],
        roots: Sequence[str] = (),
        catalog: Catalog | None = None,
    ) -> None:
        self.problems = problems
        self.kinds = kinds
        self.catalog = catalog if catalog is not None else standard_catalog()
        self.roots = list(roots)  # where included and data files may be (confinement)
        self.docs: dict[tuple[str, str], Doc | None] = {}
        self.order: list[str] = []
        self.steps_seen = 0
        self.includes_seen = 0  # every expansion, a file included again counted again
        self.devices: dict[str, Device] = {}
        self.defaults: dict[str, Any] = {}
        self.hidden: set[str] = set()  # saved by sibling parallel branches: not in scope
        self.aims: list[tuple[str, _At]] = []  # ABORT TASK steps' of:, checked once all is built

    # -- the scenario -----------------------------------------------------

    def scenario(self, doc: Doc, name: str) -> Scenario | None:
        data = doc.data if isinstance(doc.data, dict) else {}
        stack = (doc.abspath or doc.file,)
        merged = self.gather(doc, stack)
        self.devices = {n: d for n, at in merged.devices.items() if (d := self.device(n, at))}
        scope: set[str] = set(BUILTIN_VARS)
        variables: dict[str, Any] = {}
        for var, at in merged.vars.items():
            if var in BUILTIN_VARS:
                self.problems.at(
                    at.doc, at.path, f"{var!r} is a built-in variable: pick another name", key=True
                )
            self.check_value(at, scope)
            variables[var] = at.value
            scope.add(var)
        self.check_defaults(merged.defaults, scope)
        steps = self.steps(self.expand(data.get("steps"), doc, ("steps",), stack), "", scope)
        final = self.steps(
            self.expand(data.get("finally"), doc, ("finally",), stack), "finally.", scope
        )
        self.check_aims((*steps, *final))
        policy = data.get("on_failure", "stop")
        title, description = data.get("name"), data.get("description")
        meta = self.meta(_At(data, doc, (), stack), set(variables) | set(BUILTIN_VARS))
        return Scenario(
            name=title if isinstance(title, str) else name,
            file=doc.file,
            description=description if isinstance(description, str) else "",
            version=data.get("sgscript", 1) if isinstance(data.get("sgscript"), int) else 1,
            devices=self.devices,
            vars=variables,
            steps=steps,
            finally_steps=final,
            on_failure=policy if policy in ("stop", "continue") else "stop",
            **meta,
            mark=doc.mark(()),
            base_dir=doc.base_dir,
            includes=tuple(d.file for d in self.docs.values() if d is not None),
            var_marks={var: at.doc.mark(at.path) for var, at in merged.vars.items()},
            catalog=self.catalog,
        )

    def device(self, name: str, at: _At) -> Device | None:
        value = at.value
        mark = at.doc.mark(at.path)
        if isinstance(value, str):
            return Device(name, value, mark=mark)
        if not isinstance(value, dict) or not isinstance(value.get("target"), str):
            return None
        timeout = (
            self.duration(_At(value["timeout"], at.doc, (*at.path, "timeout")), timeout=True)
            if "timeout" in value
            else None
        )
        qd = value.get("queue_depth")
        if isinstance(qd, int) and not isinstance(qd, bool) and qd > MAX_QUEUE_DEPTH:
            self.problems.at(
                at.doc,
                (*at.path, "queue_depth"),
                f"queue_depth is at most {MAX_QUEUE_DEPTH}, got {_short(qd)}",
            )
            qd = None
        initiator = value.get("initiator")
        options = value.get("options")
        return Device(
            name,
            value["target"],
            initiator=initiator if isinstance(initiator, str) else None,
            queue_depth=qd if isinstance(qd, int) and not isinstance(qd, bool) else None,
            timeout=timeout,
            options=dict(options) if isinstance(options, dict) else {},
            mark=mark,
            unit_attention="keep" if value.get("unit_attention") == "keep" else "clear",
        )

    def check_defaults(self, defaults: Mapping[str, _At], scope: set[str]) -> None:
        for key, at in defaults.items():
            if key == "device":
                if isinstance(at.value, str):
                    self.check_device(at)
                    self.defaults[key] = at.value
            elif key == "timeout":
                self.defaults[key] = self.duration(at, timeout=True)
            elif key == "expect":
                self.defaults[key] = self.expectations(at, scope, None)
            elif key == "queue_depth":
                self.check_value(at, scope)
                self.defaults[key] = at.value
            elif key in ("on_failure", "optional"):
                self.defaults[key] = at.value
            elif key == "on_error":
                self.defaults[key] = self.error_policy(at)

    # -- steps ------------------------------------------------------------

    def steps(self, items: list[_At], prefix: str, scope: set[str]) -> tuple[Step, ...]:
        out = []
        for i, at in enumerate(items):
            step = self.step(at, f"{prefix}{i + 1}", scope)
            if step is not None:
                out.append(step)
        return tuple(out)

    def step(self, at: _At, spath: str, scope: set[str]) -> Step | None:
        data = at.value
        if not isinstance(data, dict):
            return None
        mark = at.doc.mark(at.path)
        name = data.get("name") if isinstance(data.get("name"), str) else None
        if "group" in data:
            return self.group(at, spath, scope, name, mark)
        meta = self.meta(at, scope)  # a group's conditions see its loop variable: its own
        if "check" in data:
            text = self.condition(_At(data["check"], at.doc, (*at.path, "check")), scope)
            return Step(
                "check",
                name or f"check {data['check']}",
                check=text,
                on_failure=self.policy(data),
                mark=mark,
                path=spath,
                **meta,
            )
        if "parallel" in data:
            return self.parallel(at, spath, scope, name, mark, meta)
        if "reset" in data:
            device = self.step_device(at)
            kind = data["reset"] if isinstance(data["reset"], str) else "lun"
            return Step(
                "reset",
                name or f"reset {kind} on {device or '?'}",
                device=device,
                reset=kind,
                on_failure=self.policy(data),
                mark=mark,
                path=spath,
                **meta,
            )
        if "task" in data:
            return self.task_step(at, spath, name, mark, meta)
        if "sleep" in data:
            seconds = self.duration(_At(data["sleep"], at.doc, (*at.path, "sleep")))
            return Step(
                "sleep",
                name or f"sleep {data['sleep']}",
                sleep=seconds,
                mark=mark,
                path=spath,
                **meta,
            )
        step = self.command_step(at, spath, scope, name, mark)
        return None if step is None else replace(step, **meta)

    def task_step(
        self, at: _At, spath: str, name: str | None, mark: Mark, meta: Mapping[str, Any]
    ) -> Step:
        """``task: FUNCTION``: a task management function on the step's device; ABORT TASK
        names the step beside it whose commands it aborts (``of:``, checked in ``check_aims``)."""
        data, doc, path = at.value, at.doc, at.path
        device = self.step_device(at)
        function = data["task"] if isinstance(data["task"], str) else "lun_reset"
        of = data.get("of") if isinstance(data.get("of"), str) else None
        if function == "abort_task" and "of" not in data:
            self.problems.at(
                doc,
                (*path, "task"),
                "abort_task needs of: the step beside it (in another parallel: branch) whose"
                " commands in flight it aborts (abort_task_set aborts all of this nexus's)",
            )
        elif function != "abort_task" and "of" in data:
            self.problems.at(
                doc,
                (*path, "of"),
                f"of is for abort_task; {function} reaches every command it concerns",
                key=True,
            )
        elif of is not None:
            self.aims.append((spath, _At(of, doc, (*path, "of"), at.stack)))
        title = TaskFunction(function).title if function in _FUNCTIONS else function
        return Step(
            "task",
            name or f"{title} on {device or '?'}",
            device=device,
            task=function,
            of=of,
            on_failure=self.policy(data),
            mark=mark,
            path=spath,
            **meta,
        )

    def check_aims(self, steps: tuple[Step, ...]) -> None:
        """Each ``of:`` names one command step that runs beside its ABORT TASK, on its device."""
        by_path = {s.path: s for s in every_step(steps)}
        for spath, at in self.aims:
            task = by_path.get(spath)
            if task is None:
                continue
            beside = steps_beside(steps, spath)
            found = [s for s in beside if at.value in (s.name, s.path)]
            if not found:
                there = [s for s in every_step(steps) if at.value in (s.name, s.path)]
                if there:
                    why = (
                        f"step {there[0].path} ({there[0].name}) does not run beside it:"
                        " ABORT TASK aims at commands in flight, of a command step in another"
                        " branch of a parallel: that holds it"
                    )
                else:
                    names = [s.name for s in beside]
                    near = difflib.get_close_matches(at.value, names, n=1)
                    why = f"no step named {at.value!r}" + (
                        f" (did you mean {near[0]!r}?)" if near else ""
                    )
                self.problems.at(at.doc, at.path, why)
            elif len(found) > 1:
                paths = ", ".join(s.path for s in found)
                self.problems.at(
                    at.doc, at.path, f"{at.value!r} names steps {paths}: give one's path"
                )
            elif found[0].device != task.device:
                self.problems.at(
                    at.doc,
                    at.path,
                    f"step {found[0].path} runs on device {found[0].device}, this ABORT TASK"
                    f" on {task.device}: it reaches only its own I_T nexus's commands",
                )

    def meta(self, at: _At, scope: set[str]) -> dict[str, Any]:
        """What every step (and the scenario) may carry: ``when``, ``requires``, ``id``, ``refs``."""
        data, doc, path = at.value, at.doc, at.path
        out: dict[str, Any] = {}
        if "when" in data:
            out["when"] = self.condition(_At(data["when"], doc, (*path, "when")), scope)
        if "requires" in data:
            out["requires"] = self.conditions(
                _At(data["requires"], doc, (*path, "requires")), scope
            )
        if "on_error" in data:
            out["on_error"] = self.error_policy(_At(data["on_error"], doc, (*path, "on_error")))
        elif path and "on_error" in self.defaults and ("command" in data or "cdb" in data):
            out["on_error"] = self.defaults["on_error"]
        if isinstance(data.get("id"), str):
            out["id"] = data["id"]
        refs = data.get("refs")
        if isinstance(refs, str):
            out["refs"] = (refs,)
        elif isinstance(refs, list):
            out["refs"] = tuple(r for r in refs if isinstance(r, str))
        return out

    def group(self, at: _At, spath: str, scope: set[str], name: str | None, mark: Mark) -> Step:
        """``group:`` steps run in order, looped by ``for:``/``repeat:``/``duration:``, then
        its ``finally:``.  The loop variable and ``iteration`` are in scope inside only;
        what the steps save stays in scope after the group."""
        data, doc, path = at.value, at.doc, at.path
        inner = set(scope) | {"iteration"}
        loop = None
        raw = data.get("for")
        if isinstance(raw, dict) and len(raw) == 1:
            ((var, values),) = raw.items()
            here = _At(values, doc, (*path, "for", var))
            if var in BUILTIN_VARS or var in scope:
                what = "a built-in variable" if var in BUILTIN_VARS else "already a variable"
                self.problems.at(
                    doc, (*path, "for", var), f"for: {var!r} is {what}: pick another name", key=True
                )
            self.check_value(here, scope)
            loop = (var, values)
            inner.add(var)
        repeat = self.count(data, at, "repeat", scope, 1)
        if "for" in data and "repeat" in data:
            self.problems.at(
                doc, (*path, "repeat"), "a group takes for: or repeat:, not both", key=True
            )
        duration = None
        if "duration" in data:
            duration = self.duration(_At(data["duration"], doc, (*path, "duration")), timeout=True)
        meta = self.meta(at, inner)
        counts = self.counts(at, inner, None)
        items = self.expand(data.get("group"), doc, (*path, "group"), at.stack)
        body = self.steps(items, f"{spath}.", inner)
        final = self.expand(data.get("finally"), doc, (*path, "finally"), at.stack)
        cleanup = self.steps(final, f"{spath}.finally.", inner)
        scope |= inner - {"iteration", *(loop[:1] if loop else ())}
        n = len(body)
        return Step(
            "group",
            name or f"group ({n} step{'s' if n != 1 else ''})",
            body=body,
            cleanup=cleanup,
            loop=loop,
            repeat=repeat,
            duration=duration,
            counts=counts,
            on_failure=self.policy(data),
            mark=mark,
            path=spath,
            **meta,
        )

    def parallel(
        self,
        at: _At,
        spath: str,
        scope: set[str],
        name: str | None,
        mark: Mark,
        meta: Mapping[str, Any],
    ) -> Step:
        branches = []
        saved: set[str] = set()
        raw = at.value["parallel"] if isinstance(at.value["parallel"], list) else []
        by_branch = [_saved_names(branch) for branch in raw]
        outer_hidden = self.hidden
        for b, branch in enumerate(raw):
            self.hidden = outer_hidden | {
                n for i, names in enumerate(by_branch) if i != b for n in names
            }
            bpath = (*at.path, "parallel", b)
            if isinstance(branch, list):  # a sequence
                items = self.expand(branch, at.doc, bpath, at.stack)
            else:  # a lone step (or an include: its steps are the sequence)
                items = self.splice([(branch, bpath)], at.doc, at.stack)
            inner = set(scope)
            branches.append(self.steps(items, f"{spath}.{b + 1}.", inner))
            saved |= inner - scope
        self.hidden = outer_hidden
        scope |= saved
        n = len(branches)
        return Step(
            "parallel",
            name or f"parallel ({n} branch{'es' if n != 1 else ''})",
            branches=tuple(branches),
            on_failure=self.policy(at.value),
            mark=mark,
            path=spath,
            **meta,
        )

    def command_step(
        self, at: _At, spath: str, scope: set[str], name: str | None, mark: Mark
    ) -> Step | None:
        data, doc, path = at.value, at.doc, at.path
        if "command" not in data and "cdb" not in data:
            return None  # not a step at all: the schema said what is missing
        device = self.step_device(at)
        cls = None
        command: str | None = None
        fields: dict[str, Any] = {}
        raw = data.get("command")
        if isinstance(raw, str):
            cls = self.lookup(raw, _At(raw, doc, (*path, "command")), key=False)
        elif isinstance(raw, dict) and len(raw) == 1:
            ((cname, given),) = raw.items()
            cls = self.lookup(cname, _At(cname, doc, (*path, "command", cname)), key=True)
            if cls is not None and isinstance(given, dict):
                fields = self.fields(cls, given, doc, (*path, "command", cname), scope)
        values: dict[str, int | None] = {}
        if cls is not None:
            command = cls.__name__
            values = self.cdb_constants(cls, fields)
        cdb = None
        if isinstance(data.get("cdb"), str):
            cdb = self.cdb(_At(data["cdb"], doc, (*path, "cdb")), scope)
        direction = getattr(cls, "direction", None)
        direction_name = getattr(direction, "value", None)
        data_in = data.get("data_in")
        if data_in is not None:
            self.check_value(_At(data_in, doc, (*path, "data_in")), scope)
            if cls is not None and direction_name != "in":
                self.problems.at(
                    doc,
                    (*path, "data_in"),
                    f"{command} reads no data: data_in does not apply",
                    key=True,
                )
        spec = None
        if isinstance(data.get("data"), dict):
            spec = self.data_source(_At(data["data"], doc, (*path, "data")), scope, cls)
            if cls is not None and direction_name != "out":
                self.problems.at(
                    doc,
                    (*path, "data"),
                    f"{command} sends no data: data: is data-out (to check data-in, use expect: {{data: ...}})",
                    key=True,
                )
            if cdb is not None and data_in is not None:
                self.problems.at(
                    doc,
                    (*path, "data"),
                    "a raw CDB either reads (data_in) or writes (data), not both",
                    key=True,
                )
        if "expect" in data:
            expect = self.expectations(
                _At(data["expect"], doc, (*path, "expect")), scope, cls, values
            )
        else:
            expect = self.defaults.get("expect", ())
        save: dict[str, str] = {}
        if isinstance(data.get("save"), dict):
            save = self.save(_At(data["save"], doc, (*path, "save")), cls, scope, values)
        repeat = self.count(data, at, "repeat", scope, 1)
        qd = self.count(data, at, "queue_depth", scope, self.defaults.get("queue_depth", 1))
        counts = self.counts(at, scope, cls, values)
        timeout = (
            self.duration(_At(data["timeout"], doc, (*path, "timeout")), timeout=True)
            if "timeout" in data
            else self.defaults.get("timeout")
        )
        optional = data.get("optional", self.defaults.get("optional", False))
        label = command or (f"cdb {cdb}" if cdb else "command")
        scope |= set(save)
        return Step(
            "command",
            name or f"{label} on {device or '?'}",
            device=device,
            command=command,
            fields=fields,
            cdb=cdb,
            data_in=data_in,
            data=spec,
            expect=expect,
            save=save,
            counts=counts,
            repeat=repeat,
            queue_depth=qd,
            timeout=timeout,
            optional=optional if isinstance(optional, bool) else False,
            on_failure=self.policy(data),
            mark=mark,
            path=spath,
        )

    def counts(
        self, at: _At, scope: set[str], cls: Any, values: Mapping[str, int | None] | None = None
    ) -> tuple[Count, ...]:
        """``counts:`` of a command step or a group: what to tally, and its bounds."""
        out = []
        for i, item in enumerate(at.value.get("counts") or ()):
            if not isinstance(item, dict):
                continue
            here = (*at.path, "counts", i)
            match = self.expectations(
                _At(item.get("match"), at.doc, (*here, "match")), scope, cls, values
            )
            for key in ("at_least", "at_most"):
                if key in item:
                    self.check_value(_At(item[key], at.doc, (*here, key)), scope)
            out.append(Count(match, item.get("at_least"), item.get("at_most"), at.doc.mark(here)))
        return tuple(out)

    def count(
        self, data: Mapping[str, Any], at: _At, key: str, scope: set[str], default: Any
    ) -> Any:
        if key not in data:
            return default
        value = data[key]
        here = _At(value, at.doc, (*at.path, key))
        self.check_value(here, scope)
        limit = MAX_REPEAT if key == "repeat" else MAX_QUEUE_DEPTH
        for const, cpath in self.constants(here, scope):
            if isinstance(const, int) and not isinstance(const, bool) and const > limit:
                self.problems.at(at.doc, cpath, f"{key} is at most {limit}, got {_short(const)}")
        return value

    def policy(self, data: Mapping[str, Any]) -> Literal["stop", "continue"] | None:
        value = data.get("on_failure", self.defaults.get("on_failure"))
        return value if value in ("stop", "continue") else None

    def step_device(self, at: _At) -> str | None:
        data = at.value
        if isinstance(data.get("device"), str):
            self.check_device(_At(data["device"], at.doc, (*at.path, "device")))
            return data["device"]
        if "device" in self.defaults:
            return self.defaults["device"]
        if len(self.devices) == 1:
            return next(iter(self.devices))
        if "device" in data:
            return None  # wrong type: the schema said so
        if self.devices:
            names = ", ".join(self.devices)
            self.problems.at(
                at.doc,
                at.path,
                f"which device? add device: (one of {names}) or defaults: {{device: ...}}",
            )
        else:
            self.problems.at(at.doc, at.path, "no device: declare one under devices:")
        return None

    def check_device(self, at: _At) -> None:
        name = at.value
        if name in self.devices:
            return
        declared = list(self.devices)
        if not declared:
            hint = ": declare it under devices:"
        else:
            near = difflib.get_close_matches(name, declared, n=1)
            hint = (
                f" (did you mean {near[0]!r}?)" if near else f" (declared: {', '.join(declared)})"
            )
        self.problems.at(at.doc, at.path, f"device {name!r} is not declared{hint}")


def _saved_names(data: Any) -> set[str]:
    """Variables a step (or list of steps) saves, nested parallel groups included."""
    if isinstance(data, list):
        return {n for item in data for n in _saved_names(item)}
    if not isinstance(data, dict):
        return set()
    names = set(data["save"]) if isinstance(data.get("save"), dict) else set()
    for key in ("parallel", "group", "finally"):
        names |= _saved_names(data.get(key))
    return names

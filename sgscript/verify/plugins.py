"""Finding plugins, building what they contributed, and judging a command.

``get_plugin_manager(extra)`` registers, in order: the built-ins (``sgscript.builtin``
and the built-in expectations), every plugin of the ``sgscript`` entry-point group
(installed packages), then each ``-p MODULE`` (``-p no:NAME`` blocks an entry point).
Then it builds, on the manager it returns, what those plugins contributed and
nothing else: ``pm.catalog`` (``sgscript_add_commands``), ``pm.sim_handlers``
(``sgscript_sim_handlers``) and ``pm.target_kinds`` (``sgscript_target_kinds``).
There is no process-wide registry: two managers in one process see only their own
plugins' commands, handlers and target kinds.  Plugin commands join the catalog
with collisions refused:

| a plugin command...                                 | is                                  |
|-----------------------------------------------------|-------------------------------------|
| with a new name and an opcode nobody uses           | added (vendor opcodes C0h-FFh)      |
| the same definition from a module imported again    | accepted (a reload, pytester)       |
| named like, or identifying the same CDBs as, a      | refused (``UsageError``), unless    |
| catalog command (same opcode, same fixed fields)    | the class says ``replace = True``:  |
|                                                     | then it takes their place           |
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import jsonschema
import pluggy

from .. import builtin as builtin_plugins
from .. import hookspecs
from ..hookspecs import PROJECT, CheckContext, ExpectationKind, TargetFactory
from ..scsi.catalog import Catalog
from ..scsi.cdb import Command
from ..scsi.errors import UsageError
from ..sim.lu import Handler
from . import builtin
from .builtin import failed_message

__all__ = [
    "ENTRY_POINT_GROUP",
    "SHORT_FORMS",
    "KindTable",
    "PluginManager",
    "expectation_kinds",
    "expectation_schema",
    "get_plugin_manager",
    "verify",
]

ENTRY_POINT_GROUP = "sgscript"
#: ``expect: good`` / ``expect: fail`` / ``expect: any``: a kind named alone, without a value.
SHORT_FORMS = ("good", "fail", "any")
_KIND_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class PluginManager(pluggy.PluginManager):
    """A pluggy manager with what its plugins contributed, built once they are all loaded."""

    #: Every command class its plugins added, by name.
    catalog: Catalog
    #: What ``sim:`` units opened under it answer, by command name.
    sim_handlers: dict[str, Handler]
    #: Target kinds by scheme (``open_transport(..., kinds=pm.target_kinds)``).
    target_kinds: dict[str, TargetFactory]

    @functools.cached_property
    def kinds(self) -> KindTable:
        """Every expectation kind, built-in and plugin (checked once per manager)."""
        return expectation_kinds(self)

    @functools.cached_property
    def expect_schemas(self) -> dict[str, Any]:
        """Every expectation kind: name → JSON Schema of its value (what the loader checks)."""
        return {name: kind.schema for name, kind in self.kinds.items()}


# ------------------------------------------------------------------ loading


def _one_line(exc: BaseException) -> str:
    """``Type: message`` on one line (pluggy's validation errors span several)."""
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"{type(exc).__name__}: {text}".rstrip(": ")


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except Exception as exc:
        culprit = ""
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if pm.get_plugin(ep.name) is None and not pm.is_blocked(ep.name):
                culprit = f" {ep.name!r} ({ep.value})"
                break
        raise UsageError(
            f"plugin{culprit} of the {ENTRY_POINT_GROUP!r} entry-point group failed to load: "
            f"{_one_line(exc)}"
        ) from None


def _load_module(pm: pluggy.PluginManager, name: str) -> None:
    try:
        module = importlib.import_module(name)
    except Exception as exc:
        raise UsageError(f"-p {name}: cannot import plugin module: {_one_line(exc)}") from None
    if pm.is_registered(module) or pm.get_plugin(name) is not None:
        return  # also found through its entry point
    try:
        pm.register(module, name=name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise UsageError(f"-p {name}: {_one_line(exc)}") from None


def get_plugin_manager(extra: Iterable[str] = ()) -> PluginManager:
    """Built-ins, the ``sgscript`` entry points and ``-p`` modules; their contributions built.

    ``extra`` are ``-p`` values: a module name to load, or ``no:NAME`` to block the
    entry-point plugin ``NAME``.  Any problem is a one-line ``UsageError``.
    """
    pm = PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for plugin_name, plugin in builtin_plugins.PLUGINS.items():
        pm.register(plugin, name=plugin_name)
    pm.register(builtin, name="sgscript.builtin")
    names = list(extra)
    for name in names:
        if name.startswith("no:"):
            pm.set_blocked(name[3:])
    _load_entry_points(pm)
    for name in names:
        if not name.startswith("no:"):
            _load_module(pm, name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise UsageError(f"plugin {pm.get_name(exc.plugin)}: {_one_line(exc)}") from None
    pm.catalog = build_catalog(pm)
    pm.sim_handlers = builtin_plugins.sim.sim_handlers(pm)
    pm.target_kinds = builtin_plugins.transports.target_kinds(pm, pm.catalog, pm.sim_handlers)
    return pm


# ------------------------------------------------------------------ commands


def _fixed(cls: type[Command]) -> dict[tuple[int, int, int], int]:
    return {
        (s.field.byte, s.field.bit, s.field.width): s.field.default
        for s in cls.layout.slots
        if s.field.fixed and s.field.name != "operation_code"
    }


def _overlaps(a: type[Command], b: type[Command]) -> bool:
    """Whether some CDB would identify as both (same opcode, no fixed field tells them apart)."""
    if a.opcode != b.opcode:
        return False
    fa, fb = _fixed(a), _fixed(b)
    return not any(where in fb and fb[where] != value for where, value in fa.items())


def _same_definition(a: type[Command], b: type[Command]) -> bool:
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def _add_command(table: dict[str, type[Command]], cls: Any, plugin: str) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Command) and "opcode" in cls.__dict__):
        raise UsageError(
            f"plugin {plugin}: sgscript_add_commands returned {cls!r}, not a Command class "
            "with an opcode"
        )
    name = cls.__name__
    if not 0 <= cls.opcode <= 0xFF:
        raise UsageError(f"plugin {plugin}: {name} has opcode {cls.opcode}, not 00h..FFh")
    clash = [
        other
        for other in table.values()
        if other is not cls
        and not _same_definition(other, cls)  # its module imported again (reload, pytester)
        and (other.__name__ == name or _overlaps(other, cls))
    ]
    if clash and not getattr(cls, "replace", False):
        others = ", ".join(f"{c.__name__} ({c.opcode:02X}h)" for c in clash)
        raise UsageError(
            f"plugin {plugin}: command {name} (opcode {cls.opcode:02X}h) collides with {others};"
            " vendor commands use opcodes C0h-FFh, or set replace = True on the class"
        )
    for other in clash:
        del table[other.__name__]
    table[name] = cls


def build_catalog(pm: pluggy.PluginManager) -> Catalog:
    """The catalog of ``pm``: every plugin's ``sgscript_add_commands`` classes, in
    registration order (the built-in tables first), collisions refused."""
    table: dict[str, type[Command]] = {}
    for impl in pm.hook.sgscript_add_commands.get_hookimpls():  # in registration order
        classes = cast("list[type[Command]]", impl.function() or ())
        if impl.plugin is builtin_plugins.catalog:  # the T10 tables: service actions share opcodes
            table.update((cls.__name__, cls) for cls in classes)
            continue
        for cls in classes:
            _add_command(table, cls, impl.plugin_name)
    return Catalog(table.values())


# ------------------------------------------------------------------ expectation kinds


class KindTable(dict[str, ExpectationKind]):
    """Expectation kinds by name, and the plugin manager whose per-command hook ``verify`` calls."""

    pm: pluggy.PluginManager | None
    check_hook: bool


def expectation_kinds(pm: pluggy.PluginManager | None = None) -> KindTable:
    """Every expectation kind, built-in and plugin, by name; a kind defined twice is refused.

    ``pm=None`` gives the built-ins alone.
    """
    table = KindTable()
    table.pm = pm
    table.check_hook = bool(pm and pm.hook.sgscript_check_command.get_hookimpls())
    owner: dict[str, str] = {}
    impls = pm.hook.sgscript_expectation_kinds.get_hookimpls() if pm is not None else [None]
    for impl in impls:
        plugin = "sgscript.builtin" if impl is None else impl.plugin_name
        kinds = (
            builtin.KINDS if impl is None else cast("list[ExpectationKind]", impl.function() or ())
        )
        for kind in kinds:
            if not isinstance(kind, ExpectationKind):
                raise UsageError(f"plugin {plugin}: {kind!r} is not an ExpectationKind")
            if not _KIND_NAME.match(kind.name):
                raise UsageError(
                    f"plugin {plugin}: expectation kind {kind.name!r} must be lower_snake_case"
                )
            if kind.name in owner:
                raise UsageError(
                    f"expectation kind {kind.name!r} is defined by both {owner[kind.name]}"
                    f" and {plugin}"
                )
            try:  # the built-ins' schemas are the packaged file's, checked by its tests
                if impl is not None and impl.plugin is not builtin:
                    jsonschema.Draft202012Validator.check_schema(dict(kind.schema))
            except jsonschema.SchemaError as exc:
                raise UsageError(
                    f"plugin {plugin}: the schema of expectation kind {kind.name!r} is not a"
                    f" JSON Schema: {exc.message}"
                ) from None
            owner[kind.name] = plugin
            table[kind.name] = kind
    return table


def expectation_schema(pm: pluggy.PluginManager | None = None) -> dict[str, Any]:
    """The JSON Schema of ``expect:``: a short form (``good``/``fail``/``any``) or a mapping.

    A mapping's keys are the kinds (each with its own schema), unknown keys refused::

        {"type": ["string", "object"],
         "if": {"type": "string"}, "then": {"enum": ["good", "fail", "any"]},
         "properties": {"status": {...}, "data": {...}, ...},
         "additionalProperties": false, "minProperties": 1}

    ``properties``/``additionalProperties`` apply to mappings only; ``then`` to strings.
    """
    kinds = expectation_kinds(pm)
    properties: dict[str, Any] = {}
    for name, kind in sorted(kinds.items()):
        schema = dict(kind.schema)
        if kind.description and "description" not in schema:
            schema["description"] = kind.description
        properties[name] = schema
    return {
        "description": "what the command must return: good | fail | any, or a mapping of kinds",
        "type": ["string", "object"],
        "if": {"type": "string"},
        "then": {"enum": [f for f in SHORT_FORMS if f in kinds]},
        "properties": properties,
        "additionalProperties": False,
        "minProperties": 1,
    }


# ------------------------------------------------------------------ judging


def _kind_and_value(expectation: Any) -> tuple[str, Any]:
    if isinstance(expectation, str):
        return expectation, None
    if isinstance(expectation, Mapping):
        ((kind, value),) = expectation.items()
        return kind, value
    return expectation.kind, expectation.value


def verify(
    ctx: CheckContext,
    expectations: Sequence[Any],
    kinds: Mapping[str, ExpectationKind],
    *,
    pm: pluggy.PluginManager | None = None,
) -> list[str]:
    """Every failure message for one completed command (empty: it met its expectations).

    Each expectation (a model ``Expectation``) is checked by its kind; when none covers
    failure, a failed command fails with ``expected GOOD, got ...``.  Then every plugin's
    ``sgscript_check_command`` (``pm``, or the one ``expectation_kinds`` was given).
    """
    io = ctx.io
    if pm is None:
        pm = getattr(kinds, "pm", None) if getattr(kinds, "check_hook", True) else None
    if not expectations and pm is None:
        return [] if io.failure is None else [failed_message(ctx)]
    out: list[str] = []
    covered = False
    for expectation in expectations:
        name, value = _kind_and_value(expectation)
        kind = kinds.get(name)
        if kind is None:
            out.append(f"unknown expectation kind {name!r} (known: {', '.join(sorted(kinds))})")
            continue
        try:
            covered = covered or kind.covers_failure(value)
            message = kind.check(ctx, value)
        except Exception as exc:
            message = f"{name}: the check failed: {_one_line(exc)}"
        if message:
            out.append(message)
    if not covered and io.failure is not None:
        out.insert(0, failed_message(ctx))
    if pm is not None:
        try:
            out.extend(m for m in pm.hook.sgscript_check_command(ctx=ctx) if m)
        except Exception as exc:
            out.append(f"sgscript_check_command failed: {_one_line(exc)}")
    return out

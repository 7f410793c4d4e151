"""Every hook a plugin can implement, in one place: the whole plugin contract (docs/plugins.md).

sgscript is one pluggy project named ``sgscript``.  A plugin is a module (or any
object) with functions marked ``@sgscript.hookspecs.hookimpl`` whose names are the
hooks below; it is found through the ``sgscript`` entry-point group or ``-p MODULE``.
The built-ins use these same hooks: the sg and sim target kinds, the command
catalog, the simulated disk's handlers (``sgscript/builtin/``) and the built-in
expectations (``sgscript/verify/builtin.py``).

| hook                           | called                          | returns                           |
|--------------------------------|---------------------------------|-----------------------------------|
| ``sgscript_addoption``         | once, on the parser, before it  | nothing (adds options to parser)  |
|                                | parses (``call_historic``)      |                                   |
| ``sgscript_add_commands``      | once, when plugins load         | command classes, each with its    |
|                                |                                 | response decoder and parameter    |
|                                |                                 | encoder (``decoder``/``encoder``) |
| ``sgscript_expectation_kinds`` | once, when plugins load         | ``ExpectationKind`` objects       |
| ``sgscript_target_kinds``      | once, when plugins load         | ``{scheme: factory}``             |
| ``sgscript_sim_handlers``      | once, when plugins load         | ``{command name: handler}``       |
| ``sgscript_reporters``         | once per run, with the options  | reporter objects                  |
| ``sgscript_open_target``       | per device the runner opens     | a ``Transport``, or None (first   |
|                                |                                 | non-None wins)                    |
| ``sgscript_check_command``     | per completed command           | a failure message, or None        |
| ``sgscript_step_finished``     | per finished step               | nothing (watch results)           |
| ``sgscript_scenario_finished`` | per finished scenario           | nothing                           |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse

    from .runner.results import ScenarioResult, StepResult
    from .scsi.catalog import Catalog
    from .scsi.cdb import Command
    from .sim.lu import Handler
    from .transport.base import Io, Transport

__all__ = [
    "PROJECT",
    "CheckContext",
    "ExpectationKind",
    "TargetFactory",
    "hookimpl",
    "hookspec",
    "sgscript_add_commands",
    "sgscript_addoption",
    "sgscript_check_command",
    "sgscript_expectation_kinds",
    "sgscript_open_target",
    "sgscript_reporters",
    "sgscript_scenario_finished",
    "sgscript_sim_handlers",
    "sgscript_step_finished",
    "sgscript_target_kinds",
]

PROJECT = "sgscript"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: Opens ``scheme:REST`` targets: ``factory(REST, queue_depth=, initiator=, options=)``.
TargetFactory = Callable[..., "Transport"]


def _never(value: Any) -> bool:
    return False


@dataclass(frozen=True)
class ExpectationKind:
    """One key of ``expect:``: its name, the JSON Schema of its value, and its check.

    ``check(ctx, value)`` returns None when the command met the expectation, else
    a message saying what was expected and what came back.  ``covers_failure(value)``
    is True when the kind itself judges a failed command (``status``, ``sense``,
    ``fail``, ``any``); when no expectation of a step covers failure, a command
    that failed is a failure whatever the other kinds say.
    """

    name: str
    schema: Mapping[str, Any]
    check: Callable[[CheckContext, Any], str | None]
    covers_failure: Callable[[Any], bool] = _never
    description: str = ""


@dataclass(slots=True)
class CheckContext:
    """What a check sees of one completed command.

    ``io`` is the completion (``.status .sense .data .cdb .duration .failure``);
    ``lba`` the first LBA the command addressed (None when it addresses none);
    ``seed`` the run's seed (the default of data patterns); ``base_dir`` the
    spec's directory (data files); ``index`` the command's number within its step.
    """

    io: Io
    step: Any = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    device: str = ""
    block_size: int = 512
    lba: int | None = None
    seed: int = 0
    base_dir: str = "."
    index: int = 0


@hookspec(historic=True)
def sgscript_addoption(parser: argparse.ArgumentParser) -> None:
    """Add command-line options to ``parser`` (``parser.add_argument``), before it parses.

    ``sgscript run`` calls it on its parser: the plugins are known before parsing
    because ``-p`` is pre-parsed (as pytest does), so installed and ``-p`` plugins'
    options appear in ``sgscript run --help`` and reach ``sgscript_reporters`` as
    ``config`` keys (``--acme-rack`` is ``config["acme_rack"]``).  Historic
    (``call_historic``): a plugin registered later is called too.  Option names
    carry the plugin's prefix; one that clashes with another is a usage error.
    The pytest plugin does not call it (pytest has its own ``pytest_addoption``).
    """


@hookspec
def sgscript_add_commands() -> list[type[Command]]:  # type: ignore[empty-body]
    """Command classes for the catalog (vendor opcodes C0h-FFh).

    A plugin manager's catalog is exactly what its plugins return here (the
    built-in plugin returns the T10 tables); defining a class registers nothing.
    A command brings its own data formats: its class's ``decoder`` (``(command,
    data-in bytes) -> dict``, or a ``decode_response`` method) and ``encoder``
    (``dict -> parameter-list bytes``), and the shapes of what they return and take
    (``response``/``parameters``, ``sgscript.scsi.shapes``: listed by ``sgscript
    commands``, the names ``validate`` checks ``fields:`` and ``save:`` against).  A class that collides with a catalog
    command (same name, or the same CDBs) is refused unless it says ``replace = True``.
    """


@hookspec
def sgscript_expectation_kinds() -> list[ExpectationKind]:  # type: ignore[empty-body]
    """Expectation kinds to add: new keys of ``expect:``, each with its value's schema."""


@hookspec
def sgscript_target_kinds(  # type: ignore[empty-body]
    catalog: Catalog, sim_handlers: Mapping[str, Handler]
) -> dict[str, TargetFactory]:
    """Target kinds to add: ``{"acme": factory}`` opens ``acme:REST`` targets.

    ``factory(REST, queue_depth=N, initiator=NAME, options={...})`` returns a
    ``Transport``; ``options`` are the device's ``options:`` from the spec: a
    factory uses those it understands and lists the rest in the transport's
    ``unused_options``.  ``catalog`` and ``sim_handlers`` (take them only if needed)
    are what every plugin contributed, for targets that answer commands themselves.
    A scheme two plugins define is refused.
    """


@hookspec
def sgscript_sim_handlers() -> dict[str, Handler]:  # type: ignore[empty-body]
    """What the simulated disk (``sim:``) answers: ``{command class name: handler}``.

    ``handler(lu, request)`` returns the data-in bytes (or None), raises
    ``sim.Fail(condition)`` for CHECK CONDITION, and keeps its state in ``lu.state``.
    A command name two plugins handle is refused.
    """


@hookspec
def sgscript_reporters(config: Mapping[str, Any]) -> list[Any]:  # type: ignore[empty-body]
    """Reporter objects for one run (``runner.Reporter``'s methods, any subset).

    ``config`` holds the parsed command-line options by name (``vars(args)``: a
    plugin's own among them) and the run's keys: ``seed`` (the run's), ``specs``,
    ``bindings`` (``{device name: target}``), ``argv`` (the command line the log
    records).  The built-in reporters (``report/builtin.py``) come through this hook
    too and read: ``console`` (true under ``sgscript run``), ``junit`` (a path:
    JUnit XML), ``log`` (a path: the JSON Lines log) and ``log_commands``.  Under
    pytest only the run's keys and ``log`` (per item, with ``--sgscript-log``) are
    there.  Read keys with ``config.get``; return nothing when yours are absent.  A
    reporter that cannot open its output raises ``UsageError("cannot write ...")``.
    """


@hookspec(firstresult=True)
def sgscript_open_target(target: str, options: dict[str, Any]) -> Transport | None:
    """A transport for ``target`` (``acme:rack3/slot7``), or None to let others try.

    ``options`` holds the device's ``options:`` and ``queue_depth``, ``initiator``,
    ``timeout`` when the spec gives them.
    """


@hookspec
def sgscript_check_command(ctx: CheckContext) -> str | None:
    """Verify every completed command: a failure message, or None."""


@hookspec
def sgscript_step_finished(result: StepResult) -> None:
    """Watch results: a step finished (``runner.StepResult``)."""


@hookspec
def sgscript_scenario_finished(result: ScenarioResult) -> None:
    """Watch results: a scenario finished (``runner.ScenarioResult``)."""

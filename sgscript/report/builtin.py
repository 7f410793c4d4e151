"""The built-in reporters (console, JSON Lines, JUnit XML) as a plugin, and collecting reporters.

The session's plugin manager (``runner.session.plugin_manager``) registers this
module as ``sgscript.report.builtin``; ``sgscript run`` and the pytest plugin get
every reporter of a run from ``collect_reporters``.  (It is not one of
``sgscript.builtin``'s plugins: those sit below verify, and the reports on top.)

The config keys they read (``sgscript run`` fills them from its options; the
pytest plugin fills ``log`` per item):

| key | reporter |
|---|---|
| ``console`` (true) | the console report (``sgscript run`` always) |
| ``junit`` (path) | JUnit XML, written once now so a bad path is found before anything is sent |
| ``log`` (path) | the JSON Lines log; its header from ``seed``, ``specs``, ``bindings`` |
| | (``{name: target}``), ``argv`` (the command line it records) and ``log_commands`` |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

from ..hookspecs import hookimpl
from ..scsi.errors import UsageError

__all__ = ["collect_reporters", "sgscript_reporters"]


def _unwritable(path: Any, exc: OSError) -> UsageError:
    return UsageError(f"cannot write {path}: {exc.strerror or exc}")


@hookimpl(tryfirst=True)
def sgscript_reporters(config: Mapping[str, Any]) -> list[Any] | None:
    """The reporters ``config`` asks for, console first; None when it asks for none.

    ``tryfirst``: called before any plugin's, so the console report comes first.
    """
    found: list[Any] = []
    if config.get("console"):
        from ..report.console import ConsoleReporter

        found.append(ConsoleReporter())
    if config.get("junit"):
        from ..report.junit import JunitReporter

        junit = JunitReporter(config["junit"])
        try:
            junit.write()  # now: a path that cannot be written is a usage error, not a lost report
        except OSError as exc:
            raise _unwritable(config["junit"], exc) from exc
        found.append(junit)
    if config.get("log"):
        from ..report.jsonl import JsonlReporter, run_header

        log_commands = bool(config.get("log_commands", False))
        header = run_header(
            seed=config.get("seed"),
            specs=config.get("specs", ()),
            bindings=config.get("bindings"),
            argv=config.get("argv", ()),
            log_commands=log_commands,
        )
        try:
            found.append(JsonlReporter(config["log"], header=header, log_commands=log_commands))
        except OSError as exc:
            raise _unwritable(config["log"], exc) from exc
    return found or None


def collect_reporters(pm: pluggy.PluginManager, config: Mapping[str, Any]) -> list[Any]:
    """Every plugin's reporters for one run, the built-ins' first, as pluggy calls them.

    A reporter that cannot open its output raises ``UsageError`` (``cannot write ...``);
    the ``OSError`` behind it is its ``__cause__``.
    """
    return [reporter for batch in pm.hook.sgscript_reporters(config=config) for reporter in batch]

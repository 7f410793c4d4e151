"""The ``sgscript`` command line: thin glue between argv and the library.

Each subcommand is an entry in ``SUBCOMMANDS`` (argument set-up + handler),
so later ones (``run``, ``validate``, ``plan``, ``schema``) slot in without
touching the rest.  Handlers return the process exit code of the contract
(0 ok, 1 expectation failed, 2 bad input, 3 device or transport broke,
130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP); ``main`` turns caller mistakes into exit 2 with one
``sgscript: error: ...`` line instead of a traceback.  All SCSI knowledge
lives in ``sgscript.scsi``; the package only parses and formats:

| module | holds |
|---|---|
| ``__init__`` | ``SUBCOMMANDS``, the parser, ``main`` |
| ``exits`` | the exit codes of the contract |
| ``tools`` | ``commands``, ``cdb``, ``sense``, ``devices``, ``negative``: no scenario, no device opened |
| ``scenarios`` | ``run``, ``plan``, ``validate``, ``schema``, ``coverage``: over ``runner.session`` |
| ``format`` | the tables people read |
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .._version import __version__
from .exits import EXIT_DEVICE, EXIT_OK, EXIT_USAGE
from .scenarios import (
    _configure_coverage,
    _configure_plan,
    _configure_run,
    _configure_schema,
    _configure_validate,
    _run_coverage,
    _run_plan,
    _run_run,
    _run_schema,
    _run_validate,
)
from .tools import (
    _configure_cdb,
    _configure_commands,
    _configure_devices,
    _configure_negative,
    _configure_sense,
    _run_cdb,
    _run_commands,
    _run_devices,
    _run_negative,
    _run_sense,
    parse_hex,
)

__all__ = ["SUBCOMMANDS", "Subcommand", "main", "parse_hex"]

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Subcommand:
    """One ``sgscript NAME``: its one-line help, how to set up its arguments, what runs it."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Handler
    description: str = ""


SUBCOMMANDS: dict[str, Subcommand] = {
    "commands": Subcommand(
        "the command catalog, or one command's fields",
        _configure_commands,
        _run_commands,
        "List every command sgscript can build, or show one command's CDB fields,\n"
        "how its data-phase size is computed, and the fields of its decoded response\n"
        "(the names expect: {fields:} and save: take) and of its parameter list.\n"
        "CDB field values narrow the response to theirs:\n"
        "  sgscript commands Inquiry evpd=1 page_code=0x83",
    ),
    "cdb": Subcommand(
        "encode a CDB from field values, or decode one (--decode HEX)",
        _configure_cdb,
        _run_cdb,
        "Encode:  sgscript cdb Read10 lba=0x1000 transfer_length=8\n"
        "Decode:  sgscript cdb --decode 28 00 00 00 10 00 00 00 08 00\n"
        "Values are decimal, 0x hex, 28h, or the field's symbolic names.",
    ),
    "sense": Subcommand(
        "decode sense data",
        _configure_sense,
        _run_sense,
        "Decode sense data (fixed or descriptor format) as sg_decode_sense does:\n"
        "  sgscript sense 70 00 05 00 00 00 00 0a 00 00 00 00 24 00",
    ),
    "devices": Subcommand(
        "SCSI generic devices on this host, with vendor, model, serial, WWN",
        _configure_devices,
        _run_devices,
        "List /dev/sg* nodes from sysfs; no device is opened.",
    ),
    "validate": Subcommand(
        "check specs (schema, commands, fields, expressions); no device opened",
        _configure_validate,
        _run_validate,
        "Check each SPEC as run would, without opening a device: prints\n"
        "'SPEC: ok (N steps, M destructive)' or every problem as FILE:LINE:COL: message.\n"
        "Exit 0 when all are valid, 2 when any has a problem.",
    ),
    "schema": Subcommand(
        "print the scenario JSON Schema",
        _configure_schema,
        _run_schema,
        "The JSON Schema (2020-12) of spec files, for editors and CI:\n"
        "  # yaml-language-server: $schema=../schemas/sgscript.schema.json\n"
        "Installed plugins' expect kinds are included.",
    ),
    "negative": Subcommand(
        "generate scenarios that set reserved CDB bits and reserved codes, one at a time",
        _configure_negative,
        _run_negative,
        "Print a scenario (YAML) with a case per reserved CDB bit of each command (all\n"
        "of the catalog, or those named), from the field tables, and a case per reserved\n"
        "code of each bounded field (its smallest and largest, from the standards' tables\n"
        "in sgscript/scsi/reserved_codes.py); --kind bits or codes picks one kind. Each\n"
        "case expects INVALID FIELD IN CDB with the field pointer at that bit (--strict),\n"
        "or also naming no field; a reserved bit also any answer that is not INVALID\n"
        "FIELD IN CDB (SPC-5 lets a device ignore reserved bits, never reserved codes):\n"
        "  sgscript negative -o specs/negative",
    ),
    "coverage": Subcommand(
        "which libiscsi iscsi-test-cu tests the specs counter, which commands they send",
        _configure_coverage,
        _run_coverage,
        "Gather the specs' refs: (libiscsi:Suite.Test names a counterpart of that\n"
        "iscsi-test-cu test, other refs are clauses) and the commands they send:\n"
        "  sgscript coverage specs/ --json\n"
        "--strict exits 1 when a SCSI test has neither a counterpart nor a listed reason,\n"
        "or a clause ref is no number ('SBC-4 5.16', 'SBC-4 table 34') or a counterpart\n"
        "sends the command its test is about without citing that command's clause.",
    ),
    "run": Subcommand(
        "run scenarios against their devices",
        _configure_run,
        _run_run,
        "Run each SPEC in turn and report per step (console; --junit, --log for CI).\n"
        "  sgscript run specs/reserve_release.yaml --device a=/dev/sg3 --device b=/dev/sg4\n"
        "The seed is printed: --seed N replays a run's random choices exactly.\n"
        "Exit 0 all held, 1 an expectation failed, 2 bad spec or arguments (nothing sent),\n"
        "3 a device could not be opened or its transport broke (a lost device is never a pass),\n"
        "130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP (finally: runs, the logs say so).\n"
        "Steps that change a real device (writes, MODE SELECT, reservations, resets, raw\n"
        "CDBs the catalog does not know) need --allow-destructive; without it the run\n"
        "exits 2 naming them, before any device is opened. A disk that is mounted, held\n"
        "by LVM/MD/dm, swapped on or holding / is refused even with it. sim: needs no flag.",
    ),
    "plan": Subcommand(
        "the compiled command stream of a spec (CDBs in hex); no device opened",
        _configure_plan,
        _run_plan,
        "Dry run: each command the spec would send (step, device, command, CDB, data size).\n"
        "Values saved from responses at run time (save:) show as '?'. Steps that change\n"
        "their device are marked DESTRUCTIVE (on a real device: --allow-destructive).",
    ),
}


# -------------------------------------------------------------------- main


def _run_plugins(argv: Sequence[str]) -> Any:
    """``sgscript run``'s plugin manager, made before the command line is parsed.

    As pytest does, ``-p`` is pre-parsed so that the plugins (installed ones and
    ``-p`` modules) can add options to ``run``'s parser through ``sgscript_addoption``.
    None for the other subcommands, or when ``-p`` is malformed (the parser says so).
    """
    if not argv or argv[0] != "run":
        return None
    pre = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    pre.add_argument("-p", dest="plugins", action="append", default=[])
    try:
        known, _ = pre.parse_known_args(list(argv[1:]))
    except (argparse.ArgumentError, SystemExit):
        return None
    from ..runner.session import plugin_manager

    return plugin_manager(known.plugins)


def _add_plugin_options(pm: Any, parser: argparse.ArgumentParser) -> None:
    """Every plugin's ``sgscript_addoption`` on ``parser``; a clash is a usage error."""
    from ..scsi.errors import UsageError

    try:
        pm.hook.sgscript_addoption.call_historic(kwargs={"parser": parser})
    except argparse.ArgumentError as exc:
        raise UsageError(f"sgscript_addoption: {exc}") from None


def build_parser(run_pm: Any = None) -> argparse.ArgumentParser:
    """The whole argv grammar, one sub-parser per ``SUBCOMMANDS`` entry.

    ``run_pm`` (``_run_plugins``): its plugins' options are added to ``run``'s parser.
    """
    parser = argparse.ArgumentParser(
        prog="sgscript",
        description="Declarative SCSI tests over the Linux sg driver.",
        epilog="exit codes: 0 ok, 1 expectation failed, 2 bad spec or command line, "
        "3 device or transport broke, 130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP",
    )
    parser.add_argument("--version", action="version", version=f"sgscript {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, spec in SUBCOMMANDS.items():
        p = sub.add_parser(
            name,
            help=spec.help,
            description=spec.description or spec.help,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        spec.configure(p)
        if name == "run" and run_pm is not None:
            _add_plugin_options(run_pm, p)
    return parser


def _error(message: str) -> None:
    from ..limits import clip

    line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
    print(clip(f"sgscript: error: {line}"), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run one command line; returns the exit code (the console script exits with it)."""
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        run_pm = _run_plugins(words)
        parser = build_parser(run_pm)
    except ValueError as exc:  # a plugin that does not load, or clashing options: UsageError
        _error(str(exc) or type(exc).__name__)
        return EXIT_USAGE
    try:
        args = parser.parse_args(words)
    except SystemExit as exc:  # --help, --version, or argparse's own usage error (2)
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_USAGE)
    args.argv = words  # for logs that say how to replay
    args._pm = run_pm  # the plugins already loaded (``run``): not loaded twice
    try:
        return SUBCOMMANDS[args.command].run(args)
    except KeyboardInterrupt as exc:
        return 128 + getattr(exc, "signum", 2)
    except BrokenPipeError:
        # The reader went away (``| head``): not an error; keep the interpreter's
        # final flush from raising again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except ValueError as exc:  # UsageError is one; so are bad numbers from the tables
        _error(str(exc) or type(exc).__name__)
        return EXIT_USAGE
    except OSError as exc:
        _error(str(exc) or type(exc).__name__)
        return EXIT_DEVICE

"""The ``sgscript`` command line: thin glue between argv and the library.

Each subcommand is an entry in ``SUBCOMMANDS`` (argument set-up + handler),
so later ones (``run``, ``validate``, ``plan``, ``schema``) slot in without
touching the rest.  Handlers return the process exit code of the contract
(0 ok, 1 expectation failed, 2 bad input, 3 device or transport broke,
130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP); ``main`` turns caller mistakes into exit 2 with one
``sgscript: error: ...`` line instead of a traceback.  All SCSI knowledge
lives in ``sgscript.scsi``; this module only parses and formats.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import re
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import __version__, grammar
from .scsi.cdb import Blocks, Bytes, Command, Computed, Direction, NoData, Transfer
from .scsi.errors import UsageError

__all__ = ["SUBCOMMANDS", "Subcommand", "main", "parse_hex"]

Handler = Callable[[argparse.Namespace], int]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_DEVICE = 3
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Subcommand:
    """One ``sgscript NAME``: its one-line help, how to set up its arguments, what runs it."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Handler
    description: str = ""


# ----------------------------------------------------------------- parsing

def parse_hex(tokens: Sequence[str], what: str = "hex") -> bytes:
    """Bytes from hex as people paste it: ``"28 00 01"``, ``"280001"``, ``"28:00:01"``, ``0x28``
    (``grammar.parse_hex``: a one-digit piece is one byte, so ``5`` means 05h, as in
    sg_decode_sense)."""
    try:
        raw = grammar.parse_hex(" ".join(tokens))
    except ValueError as exc:
        raise UsageError(f"{what}: {exc}") from None
    if not raw:
        raise UsageError(f"no {what} bytes given")
    return raw


def _field_value(cls: type[Command], name: str, text: str) -> int | str:
    """A number (decimal, 0x.., 28h) or a symbolic name, left for the command's table to judge."""
    values = cls.layout.by_name[name].field.values
    folded = text.strip().lower().replace("-", "_").replace(" ", "_")
    if values and folded in values:
        return text
    with contextlib.suppress(ValueError):
        return grammar.parse_int(text)  # 16, 0x10, 010 (decimal), 10h
    if not values:
        with contextlib.suppress(ValueError):
            return int(grammar.parse_bool(text))
    return text


def _field_assignments(cls: type[Command], tokens: Sequence[str]) -> dict[str, int | str]:
    """``["lba=0x10", "transfer_length=1"]`` as keyword arguments under the tables' names."""
    kwargs: dict[str, int | str] = {}
    for token in tokens:
        key, sep, text = token.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"expected FIELD=VALUE, got {token!r}")
        name = cls.layout.canonical(key.strip())
        if name in kwargs:
            raise UsageError(f"{cls.__name__}: field {name} given twice")
        kwargs[name] = _field_value(cls, name, text)
    return kwargs


def _parse_status(text: str) -> int:
    """A SCSI status byte: hex as sg_decode_sense takes it (``18``, ``0x18``) or a name."""
    from .scsi.status import ScsiStatus

    if not re.fullmatch(grammar.HEX_BYTE_PATTERN, text):
        return int(ScsiStatus.parse(text.strip()))
    try:
        return grammar.parse_hex_byte(text)
    except ValueError as exc:
        raise UsageError(f"status: {exc}") from None


# -------------------------------------------------------------- formatting


def _num(value: int) -> str:
    return str(value) if value < 10 else f"0x{value:x}"


def _hex_bytes(raw: bytes) -> str:
    return " ".join(f"{b:02x}" for b in raw)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (headers, *rows)
    ]


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2))


def _service_action(cls: type[Command]) -> int | None:
    """The service action a command class is pinned to, when it is one of a family."""
    slot = cls.layout.by_name.get("service_action")
    return slot.field.default if slot is not None and slot.field.fixed else None


def _opcode_text(cls: type[Command]) -> str:
    """``28h``, or ``9Eh/10h`` and ``7Fh/0009h`` (as wide as the SERVICE ACTION field)."""
    sa = _service_action(cls)
    text = f"{cls.opcode:02X}h"
    if sa is not None:
        digits = max(2, (cls.layout.by_name["service_action"].field.width + 3) // 4)
        text += f"/{sa:0{digits}X}h"
    return text


def _marks(cls: type[Command]) -> str:
    return ("M" if cls.changes_media else "") + ("S" if cls.changes_state else "")


def _transfer_info(cls: type[Command]) -> dict[str, Any]:
    """How the data-phase size follows from the fields, as data (same keys for every kind)."""
    t: Transfer = cls.transfer
    info: dict[str, Any] = dict.fromkeys(("kind", "field", "scale", "zero", "factor", "text"))
    info.update(kind="none", text="no data phase")
    label = ""
    name = getattr(t, "field", None)
    if isinstance(name, str) and name in cls.layout.by_name:
        label = f"{cls.layout.by_name[name].field.label} ({name})"
    if cls.direction is Direction.NONE or isinstance(t, NoData):
        return info
    if isinstance(t, Bytes):
        scale = f" x {t.scale}" if t.scale != 1 else ""
        info.update(kind="bytes", field=t.field, scale=t.scale, text=f"{label}{scale} bytes")
    elif isinstance(t, Blocks):
        factor = f" x {t.factor}" if t.factor != 1 else ""
        zero = f"; 0 means {t.zero} blocks" if t.zero else ""
        info.update(
            kind="blocks",
            field=t.field,
            zero=t.zero,
            factor=t.factor,
            text=f"{label}{factor} x logical block size{zero}",
        )
    elif isinstance(t, Computed):
        info.update(kind="computed", text=t.doc or "computed from several fields")
    else:
        info.update(kind=type(t).__name__.lower(), text=(t.__doc__ or type(t).__name__).strip())
    return info


def _command_summary(cls: type[Command]) -> dict[str, Any]:
    return {
        "name": cls.__name__,
        "opcode": cls.opcode,
        "service_action": _service_action(cls),
        "cdb_length": cls.length,
        "direction": cls.direction.value,
        "title": cls.title,
        "standard": cls.standard,
        "changes_media": cls.changes_media,
        "changes_state": cls.changes_state,
    }


def _command_detail(cls: type[Command]) -> dict[str, Any]:
    out = _command_summary(cls)
    out["doc"] = inspect.cleandoc(cls.__doc__) if cls.__doc__ else ""
    out["fields"] = [
        {
            "name": f.name,
            "label": f.label,
            "byte": f.byte,
            "bit": f.bit,
            "width": f.width,
            "default": f.default,
            "values": dict(f.values) if f.values else None,
            "fixed": f.fixed,
        }
        for f in cls.layout.fields
    ]
    out["transfer"] = _transfer_info(cls)
    return out


def _symbols(values: Mapping[str, int] | None) -> str:
    return ", ".join(f"{k}={_num(v)}" for k, v in values.items()) if values else ""


def _decoded(cmd: Command) -> dict[str, Any]:
    cls = type(cmd)
    values = cmd.field_values()
    names = {k: cls.layout.by_name[k].field.name_of(v) for k, v in values.items()}
    return {
        "name": cls.__name__,
        "title": cls.title,
        "cdb": cmd.cdb.hex(),
        "direction": cls.direction.value,
        "fields": values,
        "symbols": {k: s for k, s in names.items() if s is not None},
    }


# ---------------------------------------------------------------- handlers


def _configure_commands(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", metavar="NAME", help="one command: its fields")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _run_commands(args: argparse.Namespace) -> int:
    from .scsi.cdb import catalog, lookup

    if args.name:
        cls = lookup(args.name)
        if args.json:
            _print_json(_command_detail(cls))
            return EXIT_OK
        _print_command(cls)
        return EXIT_OK
    classes = sorted(catalog().values(), key=lambda c: c.__name__)
    if args.json:
        _print_json([_command_summary(c) for c in classes])
        return EXIT_OK
    rows = [
        (c.__name__, _opcode_text(c), str(c.length), c.direction.value, _marks(c), c.title)
        for c in classes
    ]
    for line in _table(("NAME", "OPCODE", "LEN", "DATA", "MARK", "TITLE"), rows):
        print(line)
    print(f"\n{len(classes)} commands; MARK: M changes medium contents, S changes device state")
    return EXIT_OK


def _print_command(cls: type[Command]) -> None:
    d = _command_detail(cls)
    head = f"{cls.__name__}: {cls.title}" if cls.title else cls.__name__
    print(head + (f"  [{cls.standard}]" if cls.standard else ""))
    print(f"opcode {_opcode_text(cls)}, {cls.length}-byte CDB, data {cls.direction.value}")
    media, state = cls.changes_media, cls.changes_state
    changes = [w for f, w in ((media, "medium contents"), (state, "device state")) if f]
    if changes:
        print("changes " + " and ".join(changes))
    if d["doc"]:
        print("\n" + d["doc"])
    rows = []
    for f in cls.layout.fields:
        values = "(fixed)" if f.fixed else _symbols(f.values)
        rows.append((f.name, str(f.byte), str(f.bit), str(f.width), _num(f.default), values))
    print()
    for line in _table(("FIELD", "BYTE", "BIT", "WIDTH", "DEFAULT", "VALUES"), rows):
        print(line)
    print(f"\ntransfer: {d['transfer']['text']}")


def _configure_cdb(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "args",
        nargs="+",
        metavar="ARG",
        help="NAME FIELD=VALUE... to encode; with --decode, the CDB in hex",
    )
    p.add_argument("--decode", action="store_true", help="decode a CDB given in hex")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _run_cdb(args: argparse.Namespace) -> int:
    from .scsi.cdb import decode_cdb, lookup

    if args.decode:
        raw = parse_hex(args.args, "CDB")
        cmd = decode_cdb(raw)
        extra = len(raw) - type(cmd).length
        if extra > 0:
            print(f"sgscript: note: {extra} byte(s) after the CDB ignored", file=sys.stderr)
    else:
        cls = lookup(args.args[0])
        cmd = cls(**_field_assignments(cls, args.args[1:]))
    decoded = _decoded(cmd)
    if args.json:
        _print_json(decoded)
    elif not args.decode:
        print(_hex_bytes(cmd.cdb))
    else:
        _print_decoded(cmd, decoded)
    return EXIT_OK


def _print_decoded(cmd: Command, decoded: Mapping[str, Any]) -> None:
    cls = type(cmd)
    print(f"{cls.__name__}: {cls.title}" if cls.title else cls.__name__)
    print(f"cdb: {_hex_bytes(cmd.cdb)}")
    rows = []
    for name, value in decoded["fields"].items():
        text = str(value) if value < 10 else f"{value} (0x{value:x})"
        symbol = decoded["symbols"].get(name)
        rows.append((name, f"{symbol} ({text})" if symbol else text))
    for line in _table(("FIELD", "VALUE"), rows):
        print("  " + line)


def _configure_sense(p: argparse.ArgumentParser) -> None:
    p.add_argument("hex", nargs="*", metavar="HEX", help="sense bytes in hex")
    p.add_argument(
        "--status",
        "-s",
        metavar="SS",
        help="SCSI status byte too: hex as in sg_decode_sense (2, 18) or a name",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _run_sense(args: argparse.Namespace) -> int:
    from .scsi.sense import parse_sense
    from .scsi.status import ScsiStatus

    status = _parse_status(args.status) if args.status is not None else None
    if not args.hex and status is None:
        raise UsageError("no sense bytes given")
    sense = parse_sense(parse_hex(args.hex, "sense")) if args.hex else None
    if args.json:
        out: dict[str, Any] = sense.to_dict() if sense is not None else {}
        if status is not None:
            known = status in ScsiStatus._value2member_map_
            out["status"] = {
                "code": status,
                "name": ScsiStatus(status).name if known else None,
                "title": ScsiStatus.text(status),
            }
        _print_json(out)
        return EXIT_OK
    if status is not None:
        print(f"SCSI status: {ScsiStatus.text(status)}")
    if sense is not None:
        print(sense.describe().rstrip("\n"))
    return EXIT_OK


def _configure_devices(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--sysfs-root",
        default="/sys",
        metavar="DIR",
        help="where sysfs is mounted (default /sys)",
    )


def _run_devices(args: argparse.Namespace) -> int:
    from .transport.linux.sysfs import list_sg_nodes

    nodes = list_sg_nodes(args.sysfs_root)
    if args.json:
        _print_json([n.to_dict() for n in nodes])
        return EXIT_OK
    if not nodes:
        print("sgscript: no SCSI generic devices (is the sg driver loaded?)", file=sys.stderr)
        return EXIT_OK
    rows = [
        tuple(
            v or "-"
            for v in (
                n.path,
                n.hctl,
                n.type_name,
                n.vendor,
                n.model,
                n.rev,
                n.serial,
                n.wwn,
                n.block,
            )
        )
        for n in nodes
    ]
    headers = ("DEVICE", "H:C:T:L", "TYPE", "VENDOR", "MODEL", "REV", "SERIAL", "WWN", "BLOCK")
    for line in _table(headers, rows):
        print(line)
    return EXIT_OK


# ------------------------------------------------------------ run and plan
#
# Glue only: the loader reads specs, ``scenario.plan.Plan`` compiles them,
# ``run.run_scenario`` runs them, ``report`` writes what happened.


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


def _seed(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _add_plugin_option(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("-p", dest="plugins", action="append", default=[], metavar="PLUGIN", help=help)


def _add_var_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--var",
        dest="vars",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override the spec's vars: entry NAME (VALUE as YAML: 100, 1.5, true, text); repeatable",
    )


def _size(text: str) -> int:
    """``--max-transfer``: bytes, or with a unit (``64MiB``, ``1G``, ``512k``)."""
    if not re.fullmatch(grammar.SIZE_PATTERN, text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (like 4096, 4k, 64MiB)")
    value = grammar.parse_size(text)
    if not 1 <= value <= 1 << 40:
        raise argparse.ArgumentTypeError(f"must be 1 byte to 1 TiB, got {text!r}")
    return value


def _add_input_options(p: argparse.ArgumentParser) -> None:
    """``--data-dir`` and ``--max-transfer``: where spec files may be, how much one command moves."""
    from .limits import MAX_TRANSFER

    p.add_argument(
        "--data-dir",
        dest="data_dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="a directory includes and data files may come from, besides the spec's; repeatable",
    )
    p.add_argument(
        "--max-transfer",
        type=_size,
        default=MAX_TRANSFER,
        metavar="SIZE",
        help=f"the largest data transfer of one command (default {MAX_TRANSFER >> 20}MiB)",
    )


def _check_plans(plans: Sequence[Any]) -> bool:
    """Plan-time checks (``Plan.check``) of every plan: True when all hold, else printed."""
    problems = [str(p) for plan in plans for p in plan.check()]
    for line in problems:
        print(line, file=sys.stderr)
    return not problems


def _with_vars(args: argparse.Namespace, scenarios: list[Any]) -> list[Any]:
    """``--var`` applied (``scenario.load.override_vars``): a name no spec declares is exit 2."""
    from .scenario.load import override_vars, parse_vars

    return override_vars(scenarios, parse_vars(args.vars))


def _configure_spec_args(p: argparse.ArgumentParser, *, many: bool = True) -> None:
    p.add_argument("specs", nargs="+" if many else 1, metavar="SPEC", help="scenario file (YAML)")
    _add_var_option(p)
    p.add_argument(
        "--device",
        "-d",
        action="append",
        default=[],
        metavar="NAME=TARGET",
        help="bind the spec's device NAME to TARGET (/dev/sg3, sim:lu0?...); repeatable",
    )
    p.add_argument("--seed", type=_seed, metavar="N", help="seed of every random choice")
    _add_plugin_option(p, "load a plugin module (as well as the installed ones); repeatable")
    p.add_argument(
        "-k", dest="select", metavar="EXPR", help="only scenarios/steps whose name matches"
    )
    _add_input_options(p)


def _configure_run(p: argparse.ArgumentParser) -> None:
    _configure_spec_args(p)
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML (a testsuite per scenario)")
    p.add_argument("--log", metavar="FILE", help="write a JSON Lines log (a record per step)")
    p.add_argument(
        "--log-commands", action="store_true", help="log every command, repeats included"
    )
    p.add_argument("--list", action="store_true", help="list the steps; send nothing")
    p.add_argument(
        "--allow-destructive",
        action="store_true",
        help="let steps that change a real device run (writes, MODE SELECT, reservations,"
        " resets, unknown raw CDBs); a disk that is mounted or in use is refused even then",
    )


def _plugin_manager(names: Sequence[str]) -> Any:
    from .verify.plugins import get_plugin_manager

    return get_plugin_manager(list(names))


def _load_all(paths: Sequence[str], pm: Any, data_dirs: Sequence[str] = ()) -> list[Any] | None:
    """Every spec loaded, or None after printing all their problems (``FILE:LINE:COL: ...``)."""
    from .scenario import SpecError, load_scenario

    scenarios, problems = [], []
    for path in paths:
        try:
            scenarios.append(load_scenario(path, plugins=pm, data_dirs=data_dirs))
        except SpecError as exc:
            problems += str(exc).splitlines()
        except OSError as exc:
            problems.append(f"{path}: cannot read: {exc.strerror or exc}")
    for line in problems:
        print(line, file=sys.stderr)
    return None if problems else scenarios


def _check_bindings(bindings: Mapping[str, str], scenarios: Sequence[Any]) -> None:
    declared = sorted({n for s in scenarios for n in s.devices})
    for name in bindings:
        if name not in declared:
            names = ", ".join(declared) or "none"
            raise UsageError(f"--device {name}=...: no spec declares a device {name!r} ({names})")


@dataclass
class _Batch:
    """The specs of one command line, loaded and planned: nothing sent yet."""

    plans: list[tuple[Any, Any]]  # (scenario, plan), the ones -k leaves something of
    seed: int
    pm: Any  # the plugin manager (built-ins, entry points, -p)


def _plans(args: argparse.Namespace) -> _Batch | int:
    """Load, bind and plan every spec, or print every problem and return exit 2."""
    import secrets

    from .scenario.plan import Plan

    pm = _plugin_manager(args.plugins)
    scenarios = _load_all(args.specs, pm, args.data_dirs)
    if scenarios is None:
        return EXIT_USAGE
    scenarios = _with_vars(args, scenarios)
    bindings = parse_bindings(args.device)
    _check_bindings(bindings, scenarios)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**32)
    plans = []
    for scenario in scenarios:
        plan = Plan(
            scenario,
            bindings=bindings_for(scenario, bindings),
            seed=seed,
            select=args.select,
            max_transfer=args.max_transfer,
        )
        problems = _target_problems(scenario, plan, pm)  # before any spec runs
        if problems:
            raise UsageError(problems[0])
        if plan.selected:
            plans.append((scenario, plan))
    if not plans:
        raise UsageError(f"-k {args.select!r} selects no step of any spec")
    if not _check_plans([plan for _, plan in plans]):
        return EXIT_USAGE
    return _Batch(plans, seed, pm)


def _check_outputs(args: argparse.Namespace, batch: _Batch) -> None:
    """``--log`` and ``--junit`` must not name a spec or a file it includes (``run a.yaml
    --log a.yaml`` overwrote the spec with its own log), nor the same file twice."""
    inputs = {os.path.realpath(p) for p in args.specs}
    for scenario, _ in batch.plans:
        inputs.update(os.path.realpath(p) for p in getattr(scenario, "includes", ()))
    seen: dict[str, str] = {}
    for option in ("--log", "--junit"):
        path = getattr(args, option[2:], None)
        if not path:
            continue
        real = os.path.realpath(path)
        if real in inputs:
            raise UsageError(
                f"{option} {path}: that is a spec or included file; it would be overwritten"
            )
        if real in seen:
            raise UsageError(f"{option} {path}: {seen[real]} writes that file already")
        seen[real] = option


def _run_run(args: argparse.Namespace) -> int:
    batch = _plans(args)
    if isinstance(batch, int):
        return batch
    _check_outputs(args, batch)
    if args.list:
        for scenario, plan in batch.plans:
            _print_steps(scenario, plan)
        return EXIT_OK
    return _execute(args, batch)


def _reporters(args: argparse.Namespace, seed: int) -> Any:
    from .report import Reporters
    from .report.console import ConsoleReporter
    from .report.jsonl import JsonlReporter, run_header
    from .report.junit import JunitReporter

    reporters: list[Any] = [ConsoleReporter()]
    if args.junit:
        junit = JunitReporter(args.junit)
        try:
            junit.write()  # now: a path that cannot be written is a usage error, not a lost report
        except OSError as exc:
            raise UsageError(f"cannot write {args.junit}: {exc.strerror or exc}") from None
        reporters.append(junit)
    if args.log:
        header = run_header(
            seed=seed,
            specs=args.specs,
            bindings=parse_bindings(args.device),
            argv=["sgscript", *getattr(args, "argv", sys.argv[1:])],
            log_commands=args.log_commands,
        )
        try:
            reporters.append(JsonlReporter(args.log, header=header, log_commands=args.log_commands))
        except OSError as exc:
            raise UsageError(f"cannot write {args.log}: {exc.strerror or exc}") from None
    return Reporters(reporters)


#: A scenario's outcome → exit code; the run exits with the highest.
_OUTCOME = {"passed": EXIT_OK, "skipped": EXIT_OK, "failed": EXIT_FAILED, "error": EXIT_DEVICE}


def _execute(args: argparse.Namespace, batch: _Batch) -> int:
    """Run the scenarios one after another; every report is closed however the run ends.

    A scenario whose device cannot be opened is reported and the others still
    run.  The exit code is the worst outcome: a device or transport failure (3)
    outranks a failed expectation (1) because the run is then incomplete.
    """
    from .run import run_plan, signal_name
    from .safety import DestructiveRefused, check_plan, check_plugin_targets
    from .scsi.errors import TransportError
    from .sim import forget_targets

    allow = bool(getattr(args, "allow_destructive", False))
    try:  # every spec of the command line, before the first one sends anything
        for _, plan in batch.plans:
            check_plan(plan, allow)
        if not allow:  # a plugin's device says whether it is real only once opened
            for _, plan in batch.plans:
                check_plugin_targets(plan, batch.pm)
    except DestructiveRefused as exc:
        _print_refusal(exc)
        return EXIT_USAGE
    report = _reporters(args, batch.seed)
    skipped = len(args.specs) - len(batch.plans)
    note = f"; {skipped} spec(s) deselected by -k" if skipped else ""
    print(f"seed {batch.seed} (--seed {batch.seed} replays this run){note}", flush=True)
    codes = [EXIT_OK]
    stop = _StopSignals()
    try:
        stop.install()
        for scenario, plan in batch.plans:
            forget_targets()  # each scenario starts from fresh simulated disks
            try:
                result = run_plan(
                    plan,
                    reporter=report,
                    log_commands=args.log_commands,
                    plugins=batch.pm,
                    allow_destructive=allow,
                )
            except DestructiveRefused as exc:  # a plugin's real device, or a disk claimed since
                _print_refusal(exc)
                return EXIT_USAGE
            except (TransportError, OSError) as exc:  # DeviceOpenError: nothing was sent
                print(f"sgscript: error: {scenario.file}: {exc}", file=sys.stderr, flush=True)
                report.scenario_error(scenario, plan, str(exc))
                codes.append(EXIT_DEVICE)
                continue
            if result.interrupted:
                return _exit_for(result.signal)
            codes.append(_OUTCOME.get(result.status, EXIT_FAILED))
    except KeyboardInterrupt as exc:  # between scenarios (the runner handles it within one)
        name = signal_name(getattr(exc, "signum", signal.SIGINT))
        report.run_interrupted(name)
        return _exit_for(name)
    finally:
        stop.closing = True  # a signal now is noted, not raised: the files get finished
        try:
            report.close()
        finally:
            stop.restore()
    return max(codes)


def _print_refusal(exc: Any) -> None:
    """``DestructiveRefused``: the headline, then one line per step or device."""
    print(f"sgscript: error: {exc.headline}", file=sys.stderr)
    for line in exc.lines:
        print(f"  {line}", file=sys.stderr)
    sys.stderr.flush()


def _exit_for(name: str | None) -> int:
    """130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP: 128 + the number, as shells report."""
    try:
        return 128 + int(signal.Signals[name or "SIGINT"])
    except KeyError:
        return EXIT_INTERRUPTED


class _StopSignals:
    """SIGTERM and SIGHUP end ``sgscript run`` as Ctrl-C does, not by killing it.

    Outside a scenario the handler raises ``Interrupted`` (a KeyboardInterrupt);
    inside one the runner installs its own (graceful stop, ``finally:``) and puts
    this one back.  A SIGHUP that is ignored (``nohup``) stays ignored.
    """

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}
        self.closing = False

    def __call__(self, signum: int, frame: Any) -> None:
        if not self.closing:
            from .run import Interrupted  # imported already: the run is under way

            raise Interrupted(signum)

    sgscript_interrupt = True  # the runner may take over while a scenario runs

    def install(self) -> None:
        from .run import SIGNALS

        for signum in SIGNALS:
            current = signal.getsignal(signum)
            if current is signal.default_int_handler or current == signal.SIG_DFL:
                self.previous[signum] = signal.signal(signum, self)

    def restore(self) -> None:
        for signum, old in self.previous.items():
            signal.signal(signum, old)
        self.previous.clear()


def _print_steps(scenario: Any, plan: Any) -> None:
    """``--list``: the selected steps by path (nesting indented), device and command."""
    print(f"{scenario.name}  ({scenario.file})")
    rows = []
    for ps in plan.steps():
        step = ps.step
        if step.kind == "command":
            what = step.command or f"cdb {step.cdb}"
            if step.repeat != 1:
                what += f" x{step.repeat}"
        elif step.kind == "reset":
            what = f"reset {step.reset}"
        elif step.kind == "sleep":
            what = f"sleep {step.sleep:g}s"
        else:  # a parallel group: its branches' steps follow, indented
            what = ""
        name = "  " * ps.depth + step.name
        rows.append((ps.path, name, step.device or "-", what))
    for line in _table(("STEP", "NAME", "DEVICE", "COMMAND"), rows):
        print("  " + line)


def _configure_plan(p: argparse.ArgumentParser) -> None:
    _configure_spec_args(p, many=False)


def _run_plan(args: argparse.Namespace) -> int:
    """The compiled stream: each selected step's (first) command, its CDB and data size."""
    from .safety import destructive_steps

    batch = _plans(args)
    if isinstance(batch, int):
        return batch
    scenario, plan = batch.plans[0]
    print(f"{scenario.name}  ({scenario.file})  seed {plan.seed}")
    destructive = {d.path: d for d in destructive_steps(plan)}
    rows = []
    for row in plan.preview():
        data = (
            f"out {row.data_out}" if row.data_out else f"in {row.data_in}" if row.data_in else "-"
        )
        times = f"x{row.repeat}" if row.repeat != 1 else ""
        if row.queue_depth != 1:
            times += f" qd {row.queue_depth}"
        device = f"{row.device} ({row.target})" if row.device else "-"
        found = destructive.get(row.path)
        note = row.note
        if found is not None and not row.note.startswith("command "):
            note = "; ".join(filter(None, [f"DESTRUCTIVE: {found.reason}", row.note]))
        rows.append(
            (
                row.path,
                device,
                row.command or "-",
                row.cdb_hex or "-",
                data,
                times.strip(),
                note,
            )
        )
    headers = ("STEP", "DEVICE", "COMMAND", "CDB", "DATA", "TIMES", "NOTE")
    for line in _table(headers, rows):
        print("  " + line)
    if destructive:
        print(
            f"{len(destructive)} destructive step(s): on a real device they run only with"
            " --allow-destructive"
        )
    return EXIT_OK


# ------------------------------------------------------- validate and schema
#
# Glue only: ``scenario.load`` does the checking, ``scenario.schema`` owns the schema.


def _configure_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("specs", nargs="+", metavar="SPEC", help="scenario file (YAML)")
    _add_plugin_option(p, "load a plugin module (its commands and expect kinds); repeatable")
    _add_var_option(p)
    _add_input_options(p)


def _run_validate(args: argparse.Namespace) -> int:
    from .safety import destructive_steps
    from .scenario import SpecError, load_scenario
    from .scenario.load import check_var_names, override_vars, parse_vars
    from .scenario.plan import Plan

    pm = _plugin_manager(args.plugins)
    overrides = parse_vars(args.vars)
    bad = 0
    loaded = []
    for path in args.specs:
        try:
            scenario = load_scenario(path, plugins=pm, data_dirs=args.data_dirs)
        except SpecError as exc:
            print(exc, flush=True)
            bad += 1
            continue
        problems = _target_problems(scenario, pm=pm)
        if problems:
            print("\n".join(problems), flush=True)
            bad += 1
            continue
        loaded.append(scenario)
        # what --var makes of the values, checked as run checks them (nothing is opened)
        (scenario,) = override_vars([scenario], overrides, strict=False)
        plan = Plan(scenario, seed=0, max_transfer=args.max_transfer)
        problems = plan.check()
        if problems:
            print("\n".join(str(p) for p in problems), flush=True)
            bad += 1
            continue
        n = len(scenario.all_steps())
        m = len(destructive_steps(plan))
        changes = f", {m} destructive" if m else ""
        print(f"{path}: ok ({n} step{'s' if n != 1 else ''}{changes})", flush=True)
    if loaded:  # the --var names must be declared
        check_var_names(overrides, (n for s in loaded for n in s.vars))
    return EXIT_USAGE if bad else EXIT_OK


def _target_problems(scenario: Any, plan: Any = None, pm: Any = None) -> list[str]:
    """What opening each device would refuse, found before anything is opened or sent
    (``FILE:LINE:COL: ...``): an unknown target kind (unless a plugin may open it), a
    target naming no device, a ``sim:`` option or geometry opening refuses, a ``sim:``
    ``file=`` outside the spec's directory or not an sgscript sim disk of the same
    geometry.  Nothing is created."""
    from .scenario.plan import Plan
    from .sim.target import check_target
    from .transport import schemes, target_path, target_scheme

    plan = plan if plan is not None else Plan(scenario, seed=0)
    plugins_open = pm is not None and bool(pm.hook.sgscript_open_target.get_hookimpls())
    problems = []
    for name, device in scenario.devices.items():
        where = f"{device.mark}: " if device.mark is not None else ""
        try:
            target, rest = plan.device_target(name)
            scheme = target_scheme(target)
            if scheme == "sim":
                check_target(target[4:], rest)
            elif scheme not in schemes() and not plugins_open:
                known = ", ".join(f"{s}:" for s in schemes())
                raise UsageError(
                    f"unknown target kind {scheme + ':'!r} in {target!r} (known: {known})"
                )
            elif scheme in schemes() and not target_path(target):
                raise UsageError(f"target {target!r} names no device")
        except ValueError as exc:
            text = str(exc)
            problems.append(text if text.startswith(where) else f"{where}devices.{name}: {text}")
    return problems


def _configure_schema(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", "-o", metavar="FILE", help="write it to FILE instead")
    _add_plugin_option(p, "include a plugin module's expect kinds; repeatable")


def _run_schema(args: argparse.Namespace) -> int:
    from .scenario.schema import plugin_schema_text

    text = plugin_schema_text(_plugin_manager(args.plugins))
    if not args.output:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return EXIT_OK


SUBCOMMANDS: dict[str, Subcommand] = {
    "commands": Subcommand(
        "the command catalog, or one command's fields",
        _configure_commands,
        _run_commands,
        "List every command sgscript can build, or show one command's CDB fields\n"
        "and how its data-phase size is computed.",
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


def build_parser() -> argparse.ArgumentParser:
    """The whole argv grammar, one sub-parser per ``SUBCOMMANDS`` entry."""
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
    return parser


def _error(message: str) -> None:
    from .limits import clip

    line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
    print(clip(f"sgscript: error: {line}"), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run one command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or argparse's own usage error (2)
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_USAGE)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for logs that say how to replay
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

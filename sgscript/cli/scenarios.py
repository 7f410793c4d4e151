"""``sgscript run``, ``plan``, ``validate``, ``schema``: glue between argv and the session.

Glue only: ``runner.session`` loads, binds and plans the specs (as the pytest
plugin does), ``runner.run_plan`` runs them, ``report`` writes what happened,
``format.py`` prints the tables.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from typing import TYPE_CHECKING, Any

from .. import grammar
from ..scsi.errors import UsageError
from .exits import _OUTCOME, EXIT_DEVICE, EXIT_FAILED, EXIT_OK, EXIT_USAGE, _exit_for
from .format import _print_steps, _table

if TYPE_CHECKING:
    from ..runner.session import Batch

__all__: list[str] = []


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


def _on_error(text: str) -> tuple[str, Any]:
    """``--on-error EVENT=ACTION``, checked as a spec's ``on_error:`` entry is."""
    from ..scenario.load.values import parse_error_action
    from ..scenario.model import ERROR_EVENTS

    event, _, action = text.partition("=")
    event = event.strip()
    if event not in ERROR_EVENTS:
        raise argparse.ArgumentTypeError(
            f"unknown event {event!r} (one of {', '.join(ERROR_EVENTS)})"
        )
    try:
        return event, parse_error_action(action)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_input_options(p: argparse.ArgumentParser) -> None:
    """``--data-dir`` and ``--max-transfer``: where spec files may be, how much one command moves."""
    from ..limits import MAX_TRANSFER

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
    p.add_argument(
        "--on-error",
        dest="on_error",
        action="append",
        default=[],
        type=_on_error,
        metavar="EVENT=ACTION",
        help="the run's error policy, under every spec's own (busy='retry 3 every 1ms',"
        " unit_attention=ignore, timeout=stop); repeatable",
    )


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


def _plans(args: argparse.Namespace) -> Batch | int:
    """Load, bind and plan every spec, or print every problem and return exit 2."""
    from ..runner.session import plan_specs

    batch = plan_specs(
        args.specs,
        plugins=args.plugins,
        pm=getattr(args, "_pm", None),
        vars=args.vars,
        devices=args.device,
        seed=args.seed,
        select=args.select,
        data_dirs=args.data_dirs,
        max_transfer=args.max_transfer,
        on_error=dict(args.on_error),
    )
    if isinstance(batch, list):
        for line in batch:
            print(line, file=sys.stderr)
        return EXIT_USAGE
    return batch


def _check_outputs(args: argparse.Namespace, batch: Batch) -> None:
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


def _reporters(args: argparse.Namespace, batch: Batch) -> Any:
    """The run's reporters, from every plugin's ``sgscript_reporters`` (the built-ins' first)."""
    from ..report import Reporters
    from ..report.builtin import collect_reporters

    return Reporters(collect_reporters(batch.pm, _run_config(args, batch.seed)))


def _run_config(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """What ``sgscript_reporters`` sees: the parsed options by name, and the run's own keys.

    ``console`` (always), ``seed`` (the one this run uses), ``bindings`` (``{name:
    target}`` from ``--device``) and ``argv`` (the command line the log records).
    """
    from ..runner.session import parse_bindings

    config = {k: v for k, v in vars(args).items() if not k.startswith("_")}
    config.update(
        console=True,
        seed=seed,
        bindings=parse_bindings(args.device),
        argv=["sgscript", *getattr(args, "argv", sys.argv[1:])],
    )
    return config


def _execute(args: argparse.Namespace, batch: Batch) -> int:
    """Run the scenarios one after another; every report is closed however the run ends.

    A scenario whose device cannot be opened is reported and the others still
    run.  The exit code is the worst outcome: a device or transport failure (3)
    outranks a failed expectation (1) because the run is then incomplete.
    """
    from ..runner import run_plan, signal_name
    from ..runner.reproduce import Invocation, reproduce_command, sharing_disks
    from ..runner.safety import DestructiveRefused
    from ..runner.session import check_destructive
    from ..scsi.errors import TransportError
    from ..sim import forget_targets

    allow = bool(getattr(args, "allow_destructive", False))
    try:  # every spec of the command line, before the first one sends anything
        check_destructive([plan for _, plan in batch.plans], allow, batch.pm)
    except DestructiveRefused as exc:
        _print_refusal(exc)
        return EXIT_USAGE
    report = _reporters(args, batch)
    skipped = len(args.specs) - len(batch.plans)
    note = f"; {skipped} spec(s) deselected by -k" if skipped else ""
    print(f"seed {batch.seed} (--seed {batch.seed} replays this run){note}", flush=True)
    codes = [EXIT_OK]
    stop = _StopSignals()
    how = Invocation(
        vars=tuple(args.vars),
        data_dirs=tuple(args.data_dirs),
        plugins=tuple(args.plugins),
        allow_destructive=allow,
    )
    plans = [plan for _, plan in batch.plans]
    forget_targets()  # one sim: name is one disk for this command line, made fresh for it
    try:
        stop.install()
        for n, (scenario, plan) in enumerate(batch.plans):
            again = reproduce_command(sharing_disks(plans, n), how)
            try:
                result = run_plan(
                    plan,
                    reporter=report,
                    log_commands=args.log_commands,
                    plugins=batch.pm,
                    allow_destructive=allow,
                    reproduce=again,
                )
            except DestructiveRefused as exc:  # a plugin's real device, or a disk claimed since
                _print_refusal(exc)
                return EXIT_USAGE
            except (TransportError, OSError) as exc:  # DeviceOpenError: nothing was sent
                print(f"sgscript: error: {scenario.file}: {exc}", file=sys.stderr)
                print(f"  reproduce: {again}", file=sys.stderr, flush=True)
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
            forget_targets()  # the disks of this command line end with it (backing files closed)
    return max(codes)


def _print_refusal(exc: Any) -> None:
    """``DestructiveRefused``: the headline, then one line per step or device."""
    print(f"sgscript: error: {exc.headline}", file=sys.stderr)
    for line in exc.lines:
        print(f"  {line}", file=sys.stderr)
    sys.stderr.flush()


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
            from ..runner import Interrupted  # imported already: the run is under way

            raise Interrupted(signum)

    sgscript_interrupt = True  # the runner may take over while a scenario runs

    def install(self) -> None:
        from ..runner import SIGNALS

        for signum in SIGNALS:
            current = signal.getsignal(signum)
            if current is signal.default_int_handler or current == signal.SIG_DFL:
                self.previous[signum] = signal.signal(signum, self)

    def restore(self) -> None:
        for signum, old in self.previous.items():
            signal.signal(signum, old)
        self.previous.clear()


def _configure_plan(p: argparse.ArgumentParser) -> None:
    _configure_spec_args(p, many=False)


def _run_plan(args: argparse.Namespace) -> int:
    """The compiled stream: each selected step's (first) command, its CDB and data size."""
    from ..runner.safety import destructive_steps
    from ..scenario.plan.prepare import open_rows

    batch = _plans(args)
    if isinstance(batch, int):
        return batch
    scenario, plan = batch.plans[0]
    print(f"{scenario.name}  ({scenario.file})  seed {plan.seed}")
    destructive = {d.path: d for d in destructive_steps(plan)}
    rows = []
    for row in [*open_rows(plan), *plan.preview()]:  # what opening each device sends, first
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
    for note in plan.notes:
        print(f"  note: {note}")
    if destructive:
        print(
            f"{len(destructive)} destructive step(s): on a real device they run only with"
            " --allow-destructive"
        )
    return EXIT_OK


def _configure_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("specs", nargs="+", metavar="SPEC", help="scenario file (YAML)")
    _add_plugin_option(p, "load a plugin module (its commands and expect kinds); repeatable")
    _add_var_option(p)
    _add_input_options(p)


def _run_validate(args: argparse.Namespace) -> int:
    from ..runner.safety import destructive_steps
    from ..runner.session import expand_specs, plugin_manager, target_problems
    from ..scenario import SpecError, load_scenario
    from ..scenario.load import check_var_names, override_vars, parse_vars
    from ..scenario.plan import Plan

    pm = plugin_manager(args.plugins)
    overrides = parse_vars(args.vars)
    bad = 0
    loaded = []
    for path in expand_specs(args.specs):
        try:
            scenario = load_scenario(path, plugins=pm, data_dirs=args.data_dirs)
        except SpecError as exc:
            print(exc, flush=True)
            bad += 1
            continue
        # what --var makes of the values, checked as run checks them (nothing is opened)
        (overridden,) = override_vars([scenario], overrides, strict=False)
        plan = Plan(overridden, seed=0, max_transfer=args.max_transfer)
        problems = target_problems(overridden, plan, pm)
        if problems:
            print("\n".join(problems), flush=True)
            bad += 1
            continue
        loaded.append(scenario)
        scenario = overridden
        issues = plan.check()
        if issues:
            print("\n".join(str(p) for p in issues), flush=True)
            bad += 1
            continue
        n = scenario.count_steps()
        m = len(destructive_steps(plan))
        changes = f", {m} destructive" if m else ""
        print(f"{path}: ok ({n} step{'s' if n != 1 else ''}{changes})", flush=True)
    if loaded:  # the --var names must be declared
        check_var_names(overrides, (n for s in loaded for n in s.vars))
    return EXIT_USAGE if bad else EXIT_OK


def _configure_coverage(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "specs", nargs="*", default=["specs"], metavar="SPEC", help="specs or directories"
    )
    _add_plugin_option(p, "load a plugin module (its commands); repeatable")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--json", action="store_true", help="the whole table as JSON")
    how.add_argument("--markdown", action="store_true", help="the docs page (docs/coverage.md)")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a SCSI test has neither a counterpart nor a reason, a ref names no"
        " test, or a clause ref is no number or is missing from a counterpart",
    )


def _run_coverage(args: argparse.Namespace) -> int:
    import json

    from ..coverage import LIBISCSI_VERSION, coverage, markdown
    from ..runner.session import load_all, plugin_manager

    scenarios, problems = load_all(args.specs, plugin_manager(args.plugins))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return EXIT_USAGE
    result = coverage(scenarios)
    data = result.to_dict()
    if args.json:
        print(json.dumps(data, indent=2))
    elif args.markdown:
        sys.stdout.write(markdown(result))
    else:
        print(
            f"iscsi-test-cu {LIBISCSI_VERSION}: {data['scsi_tests']} SCSI tests,"
            f" {data['covered']} with a counterpart, {len(data['not_covered_with_reason'])}"
            f" left out for a reason, {len(data['missing'])} not covered;"
            f" {len(data['not_over_sg'])} iSCSI-protocol tests have no meaning over sg"
        )
        for test, row in data["tests"].items():
            if row["scenarios"]:
                print(f"  {test}: {', '.join(row['scenarios'])}")
        for line in data["unknown_refs"]:
            print(f"  unknown ref: {line}")
        for line in data["clause_problems"]:
            print(f"  clause: {line}")
    failing = data["missing"] or data["unknown_refs"] or data["clause_problems"]
    return EXIT_FAILED if args.strict and failing else EXIT_OK


def _configure_schema(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", "-o", metavar="FILE", help="write it to FILE instead")
    _add_plugin_option(p, "include a plugin module's expect kinds; repeatable")


def _run_schema(args: argparse.Namespace) -> int:
    from ..runner.session import plugin_manager
    from ..scenario.schema import plugin_schema_text

    text = plugin_schema_text(plugin_manager(args.plugins).expect_schemas)
    if not args.output:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return EXIT_OK

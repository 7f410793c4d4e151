"""``sgscript commands``, ``cdb``, ``sense``, ``devices``: the catalog and decoding tools.

Nothing here reads a scenario or opens a device; argument parsing lives here,
the tables in ``format.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections.abc import Sequence
from typing import Any

from .. import grammar
from ..clauses import COMMAND_CLAUSES
from ..scsi.cdb import Command
from ..scsi.errors import UsageError
from .exits import EXIT_OK
from .format import (
    _command_detail,
    _command_summary,
    _decoded,
    _direction,
    _hex_bytes,
    _marks,
    _opcode_text,
    _print_command,
    _print_decoded,
    _print_json,
    _table,
)
from .scenarios import _add_plugin_option

__all__ = ["parse_hex"]


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
    from ..scsi.status import ScsiStatus

    if not re.fullmatch(grammar.HEX_BYTE_PATTERN, text):
        return int(ScsiStatus.parse(text.strip()))
    try:
        return grammar.parse_hex_byte(text)
    except ValueError as exc:
        raise UsageError(f"status: {exc}") from None


_PLUGIN_HELP = "also load plugin module PLUGIN (its commands); -p no:NAME skips an installed one"


def _catalog(args: argparse.Namespace) -> Any:
    """The catalog of this command line's plugins (installed and ``-p``): their commands too."""
    from ..runner.session import plugin_manager

    return plugin_manager(args.plugins).catalog


def _configure_commands(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", metavar="NAME", help="one command: its fields")
    p.add_argument(
        "values",
        nargs="*",
        metavar="FIELD=VALUE",
        help="with NAME: only the response these CDB field values choose (evpd=1 page_code=0x83)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _add_plugin_option(p, _PLUGIN_HELP)


def _run_commands(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    if args.name:
        cls = catalog.lookup(args.name)
        given = {
            name: cls.layout.coerce(name, value)
            for name, value in _field_assignments(cls, args.values).items()
        }
        if args.json:
            _print_json(_command_detail(cls, given))
            return EXIT_OK
        _print_command(cls, given)
        return EXIT_OK
    if args.values:
        raise UsageError("FIELD=VALUE needs a command NAME before it")
    classes = sorted(catalog.values(), key=lambda c: c.__name__)
    if args.json:
        _print_json([_command_summary(c) for c in classes])
        return EXIT_OK
    rows = [
        (c.__name__, _opcode_text(c), str(c.length), _direction(c), _marks(c), c.title)
        for c in classes
    ]
    for line in _table(("NAME", "OPCODE", "LEN", "DATA", "MARK", "TITLE"), rows):
        print(line)
    print(f"\n{len(classes)} commands; MARK: M changes medium contents, S changes device state")
    return EXIT_OK


def _configure_cdb(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "args",
        nargs="+",
        metavar="ARG",
        help="NAME FIELD=VALUE... to encode; with --decode, the CDB in hex",
    )
    p.add_argument("--decode", action="store_true", help="decode a CDB given in hex")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _add_plugin_option(p, _PLUGIN_HELP)


def _run_cdb(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    if args.decode:
        raw = parse_hex(args.args, "CDB")
        cmd = catalog.decode_cdb(raw)
        extra = len(raw) - type(cmd).length
        if extra > 0:
            print(f"sgscript: note: {extra} byte(s) after the CDB ignored", file=sys.stderr)
    else:
        cls = catalog.lookup(args.args[0])
        cmd = cls(**_field_assignments(cls, args.args[1:]))
    decoded = _decoded(cmd)
    if args.json:
        _print_json(decoded)
    elif not args.decode:
        print(_hex_bytes(cmd.cdb))
    else:
        _print_decoded(cmd, decoded)
    return EXIT_OK


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
    from ..scsi.sense import parse_sense
    from ..scsi.status import ScsiStatus

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
    from ..transport.linux.sysfs import list_sg_nodes

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


def _configure_negative(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "names", nargs="*", metavar="COMMAND", help="commands to generate for (default: all)"
    )
    p.add_argument(
        "--kind",
        choices=("all", *_NEGATIVE_KINDS),
        default="all",
        help="bits: every reserved CDB bit set; codes: every bounded field set to a code its"
        " table reserves; all (the default): both",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="require INVALID FIELD IN CDB with the field pointer at the byte and bit (default:"
        " also INVALID FIELD IN CDB naming no field; for a reserved bit any answer that is not"
        " INVALID FIELD IN CDB, as SPC-5 lets a device ignore reserved bits; for a reserved"
        " service action INVALID COMMAND OPERATION CODE)",
    )
    p.add_argument("--target", default="sim:negative", metavar="TARGET", help="device a's target")
    p.add_argument(
        "--output",
        "-o",
        metavar="DIR",
        help="write the scenarios to DIR (reserved_bits_NN.yaml, reserved_codes_NN.yaml, a few"
        " hundred cases each, under the YAML node bound) instead of one to standard output",
    )
    _add_plugin_option(p, _PLUGIN_HELP)


#: The kinds of negative case and the stem of their files.
_NEGATIVE_KINDS = {"bits": "reserved_bits", "codes": "reserved_codes"}
#: The lenient cases' other answers: INVALID FIELD IN CDB naming no field, no refusal at all
#: (a reserved bit only), INVALID COMMAND OPERATION CODE (a reserved service action only: SPC
#: says "the operation code and service action code combine to specify the command", and the
#: T10 reflector's threads on it, 2008-05 and 2014-04, found devices answering either way).
_UNPOINTED = "{sense: {key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field_pointer: null}}"
_NOT_INVALID_FIELD = '{any: true, check: "not (sense_key == 5 and asc == 0x24 and ascq == 0)"}'
_INVALID_OPCODE = "{sense: {key: ILLEGAL_REQUEST, asc: 0x20, ascq: 0}}"
#: Cases per file with --output: each file stays well under the YAML node bound.
_CASES_PER_FILE = 400


def _run_negative(args: argparse.Namespace) -> int:
    import os

    from ..scsi.negative import code_cases, negative_cases

    catalog = _catalog(args)
    names = args.names or list(catalog)
    kinds = list(_NEGATIVE_KINDS) if args.kind == "all" else [args.kind]
    #: per kind, per command: its cases and their YAML lines
    blocks: dict[str, list[tuple[int, list[str]]]] = {kind: [] for kind in kinds}
    for name in names:
        cls = catalog.lookup(name)
        if "bits" in blocks and (bits := negative_cases(cls)):
            blocks["bits"].append((len(bits), _negative_block(cls.__name__, bits, args.strict)))
        if "codes" in blocks and (codes := code_cases(cls, catalog)):
            blocks["codes"].extend(_code_blocks(codes, args.strict))
    total = {kind: sum(n for n, _ in blocks[kind]) for kind in kinds}
    if not args.output:
        lines = [line for kind in kinds for _, block in blocks[kind] for line in block]
        sys.stdout.write(_negative_header(args, kinds, "") + "\n".join(lines) + "\n")
    else:
        os.makedirs(args.output, exist_ok=True)
        for kind in kinds:
            for k, lines in enumerate(_split(blocks[kind]), 1):
                path = os.path.join(args.output, f"{_NEGATIVE_KINDS[kind]}_{k:02}.yaml")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(_negative_header(args, [kind], f"_{k:02}") + "\n".join(lines) + "\n")
    counts = ", ".join(f"{total[kind]} reserved {kind}" for kind in kinds)
    print(f"# {sum(total.values())} cases ({counts})", file=sys.stderr)
    return EXIT_OK


def _split(blocks: list[tuple[int, list[str]]]) -> list[list[str]]:
    """Whole groups into files of at most ``_CASES_PER_FILE`` cases (a larger group alone)."""
    files: list[list[str]] = [[]]
    count = 0
    for n, lines in blocks:
        if files[-1] and count + n > _CASES_PER_FILE:
            files.append([])
            count = 0
        files[-1] += lines
        count += n
    return files


#: What each kind's scenario says it does: (the cases, the strict answer, the lenient one).
_NEGATIVE_TEXT = {
    "bits": (
        [
            "Every reserved CDB bit of each command the device supports, set one at a time",
            "on a CDB whose fields are otherwise at their defaults (no data moves where a",
            "length field allows zero). A device that checks answers ILLEGAL REQUEST, INVALID",
        ],
        [
            "FIELD IN CDB with the field pointer at that byte and bit (SPC-5 4.4.1, sense-key",
            "specific data).",
        ],
        [
            "FIELD IN CDB with the field pointer at that byte (SPC-5 4.4.1, sense-key",
            "specific data; the bit pointer is optional);",
            "SPC-5 lets a device ignore reserved bits and",
            "need not say which field it refused, so INVALID FIELD IN CDB without a field",
            "pointer, or an answer that is not INVALID FIELD IN CDB at all, passes too.",
        ],
    ),
    "codes": (
        [
            "Every bounded CDB field of each command the device supports, set to the",
            "smallest and the largest code its table reserves, one field at a time on a CDB",
            "whose other fields are at their defaults (no data moves where a length field",
            "allows zero). A reserved code in a defined field shall be reported as an error",
            "(SPC-5 3.3, 4.2.1): ILLEGAL REQUEST, INVALID FIELD IN CDB.",
        ],
        [
            "The field pointer points at the field's most significant byte and bit (SPC-5",
            "4.4.1, sense-key specific data).",
        ],
        [
            "The field pointer points at the field's most significant byte (the bit pointer",
            "is optional), or no field is named; a reserved service action may also be",
            "refused as INVALID COMMAND OPERATION CODE (T10 reads operation code and service",
            "action as one command). A device that ignores the code fails.",
        ],
    ),
}


def _negative_header(args: argparse.Namespace, kinds: list[str], part: str) -> str:
    words = ["sgscript", "negative", *args.argv[1:]]
    name = f"reserved_cdb_{kinds[0]}" if len(kinds) == 1 else "reserved_cdb_bits_and_codes"
    text = [
        line
        for kind in kinds
        for line in _NEGATIVE_TEXT[kind][0] + _NEGATIVE_TEXT[kind][1 if args.strict else 2]
    ]
    return "\n".join(
        [
            f"# Generated by `{' '.join(words)}`: run it again after a field table changes",
            "# yaml-language-server: $schema=../../schemas/sgscript.schema.json",
            "sgscript: 1",
            f"name: {name}" + ("_strict" if args.strict else "") + part,
            "description: >-",
            *(f"  {line}" for line in text),
            "  A case the device answers as not supported (the command, or its service action)",
            "  is skipped (optional). Generated from sgscript's field tables.",
            "refs: [SPC-5 4.4.1" + (", SPC-5 3.3, SPC-5 4.2.1]" if "codes" in kinds else "]"),
            f'devices: {{a: "{args.target}"}}',
            "on_failure: continue",
            "steps:",
            "",
        ]
    )


def _negative_block(name: str, cases: list[Any], strict: bool) -> list[str]:
    lines = [
        f"  - name: {name} with a reserved bit set",
        f"    requires: [\"device.supports('{name}')\"]",
        "    group:",
    ]
    for case in cases:
        # strict: the byte and the bit; lenient: the byte (BPV 0 names only the byte)
        expect = _pointed(case.byte, case.bit, strict)
        if not strict:
            expect = f"{{any_of: [{expect}, {_UNPOINTED}, {_NOT_INVALID_FIELD}]}}"
        lines.append(
            f'      - {{name: "{name} byte {case.byte} bit {case.bit}",'
            f' cdb: "{case.cdb.hex(" ")}"{_negative_data(case)}, optional: true, expect: {expect}}}'
        )
    return lines


def _pointed(byte: int, bit: int, strict: bool) -> str:
    """INVALID FIELD IN CDB with the pointer at ``byte`` (and ``bit`` when strict), C/D set."""
    at = f"byte: {byte}, bit: {bit}" if strict else f"byte: {byte}"
    return (
        f"{{sense: {{key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field_pointer: {{{at}}}, cd: 1}}}}"
    )


def _negative_data(case: Any) -> str:
    if case.data_out:
        return f", data: {{pattern: zeros, length: {case.data_out}}}"
    return f", data_in: {case.data_in}" if case.data_in else ""


def _code_blocks(cases: list[Any], strict: bool) -> list[tuple[int, list[str]]]:
    """A group per command's own fields, and one per operation code whose service action
    the cases set (it applies when the device reports any command of that operation code)."""
    groups: dict[tuple[bool, tuple[str, ...]], list[Any]] = {}
    for case in cases:
        groups.setdefault((case.shared, case.commands), []).append(case)
    out = []
    for (_, commands), group in groups.items():
        first = group[0]
        if first.shared:
            title = f"{first.cdb[0]:02X}h with a reserved service action"
        else:
            title = f"{first.command} with a reserved code in a defined field"
        supports = " or ".join(f"device.supports('{name}')" for name in commands)
        lines = [f"  - name: {title}", f'    requires: ["{supports}"]', "    group:"]
        for case in group:
            expect = _pointed(case.byte, case.bit, strict)
            if not strict:
                others = [_UNPOINTED, *([_INVALID_OPCODE] if case.service_action else [])]
                expect = f"{{any_of: [{', '.join([expect, *others])}]}}"
            who = f"{case.cdb[0]:02X}h" if case.shared else case.command
            # the clause that defines the command (the table the codes come from is
            # named in scsi/reserved_codes.py): refs cite clause numbers
            clause = COMMAND_CLAUSES.get(case.command)
            refs = f', refs: ["{clause}"]' if clause and not case.shared else ""
            lines.append(
                f'      - {{name: "{who} {case.label} {case.code}'
                f' byte {case.byte} bit {case.bit}", cdb: "{case.cdb.hex(" ")}"'
                f"{_negative_data(case)}, optional: true{refs}, expect: {expect}}}"
            )
        out.append((len(group), lines))
    return out

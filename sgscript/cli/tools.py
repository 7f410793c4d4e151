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

from ..scsi.cdb import Command
from ..scsi.errors import UsageError
from .exits import EXIT_OK
from .format import (
    _command_detail,
    _command_summary,
    _decoded,
    _hex_bytes,
    _marks,
    _opcode_text,
    _print_command,
    _print_decoded,
    _print_json,
    _table,
)

__all__ = ["parse_hex"]

_SEPARATORS = re.compile(r"[\s:,]+")
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")
_HEX_SUFFIX = re.compile(r"[0-9a-fA-F]+[hH]")  # T10 style: 28h
_BOOLEANS = {"true": 1, "yes": 1, "on": 1, "false": 0, "no": 0, "off": 0}


def parse_hex(tokens: Sequence[str], what: str = "hex") -> bytes:
    """Bytes from hex as people paste it: ``"28 00 01"``, ``"280001"``, ``"28:00:01"``, ``0x28``.

    Several short tokens are one byte each (so ``5`` means 05h, as in
    sg_decode_sense); otherwise the digits are joined and must pair up.
    """
    pieces = [p for token in tokens for p in _SEPARATORS.split(token) if p]
    digits: list[str] = []
    for piece in pieces:
        body = piece[2:] if piece[:2].lower() == "0x" else piece
        if not _HEX_DIGITS.fullmatch(body):
            raise UsageError(f"{what}: {piece!r} is not hexadecimal")
        digits.append(body)
    if not digits:
        raise UsageError(f"no {what} bytes given")
    if len(digits) > 1 and all(len(d) <= 2 for d in digits):
        return bytes(int(d, 16) for d in digits)
    joined = "".join(digits)
    if len(joined) % 2:
        raise UsageError(f"{what}: odd number of hex digits ({len(joined)})")
    return bytes.fromhex(joined)


def _field_value(cls: type[Command], name: str, text: str) -> int | str:
    """A number (decimal, 0x.., 28h) or a symbolic name, left for the command's table to judge."""
    values = cls.layout.by_name[name].field.values
    folded = text.strip().lower().replace("-", "_").replace(" ", "_")
    if values and folded in values:
        return text
    t = text.strip()
    with contextlib.suppress(ValueError):
        return int(t, 0)
    if t.isdigit():
        return int(t, 10)  # "010": decimal with a leading zero
    if _HEX_SUFFIX.fullmatch(t):
        return int(t[:-1], 16)
    if not values and folded in _BOOLEANS:
        return _BOOLEANS[folded]
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

    t = text.strip()
    body = t[2:] if t[:2].lower() == "0x" else t
    value = int(body, 16) if _HEX_DIGITS.fullmatch(body) else int(ScsiStatus.parse(t))
    if not 0 <= value <= 0xFF:
        raise UsageError(f"status {text!r} does not fit one byte")
    return value


def _configure_commands(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", metavar="NAME", help="one command: its fields")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _run_commands(args: argparse.Namespace) -> int:
    from ..scsi.cdb import catalog, lookup

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
    from ..scsi.cdb import decode_cdb, lookup

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
    from ..transport.sysfs import list_sg_nodes

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

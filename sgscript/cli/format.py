"""Tables and JSON for people: the catalog, one command's fields, decoded CDBs, plans.

The formatting half of the command line; ``tools.py`` and ``scenarios.py`` parse
arguments and call these to print.  No SCSI knowledge beyond reading the tables.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..scsi import shapes
from ..scsi.cdb import (
    Blocks,
    Bytes,
    Command,
    Computed,
    Direction,
    NoData,
    Transfer,
    fixed_service_action,
)

__all__: list[str] = []


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


def _opcode_text(cls: type[Command]) -> str:
    """``28h``, or ``9Eh/10h`` and ``7Fh/0009h`` (as wide as the SERVICE ACTION field)."""
    sa = fixed_service_action(cls)
    text = f"{cls.opcode:02X}h"
    if sa is not None:
        digits = max(2, (cls.layout.by_name["service_action"].field.width + 3) // 4)
        text += f"/{sa:0{digits}X}h"
    return text


def _direction(cls: type[Command]) -> str:
    """``in``, ``out``, ``none``, or ``fields`` when each command's fields decide (ATA
    PASS-THROUGH: PROTOCOL, T_LENGTH, T_DIR)."""
    return "fields" if len(cls.directions) > 1 else cls.direction.value


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
    if cls.directions == {Direction.NONE} or isinstance(t, NoData):
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
        "service_action": fixed_service_action(cls),
        "cdb_length": cls.length,
        "direction": _direction(cls),
        "title": cls.title,
        "standard": cls.standard,
        "changes_media": cls.changes_media,
        "changes_state": cls.changes_state,
    }


def _data_cases(
    cls: type[Command], shape: shapes.Shape | None, given: Mapping[str, int]
) -> list[shapes.Case] | None:
    """The shapes a data phase takes (one per value of the CDB fields that choose it and
    are not ``given``), or None when it has none declared."""
    if shape is None:
        return None
    defaults = {f.name: f.default for f in cls.layout.fields}
    return shapes.cases(shape, given, defaults)


def _cases_json(cases: list[shapes.Case] | None) -> list[dict[str, Any]] | None:
    if cases is None:
        return None
    return [
        {
            "when": dict(case.when),
            "title": case.title,
            "fields": [row.to_dict() for row in shapes.rows(case.shape)],
            "open": isinstance(case.shape, shapes.Record) and case.shape.open,
        }
        for case in cases
    ]


def _command_detail(cls: type[Command], given: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Everything about one command; ``response`` and ``parameters`` list the fields of
    its decoded data-in and of its parameter list (for the CDB field values ``given``)."""
    given = given or {}
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
    out["response"] = _cases_json(_data_cases(cls, cls.response, given))
    out["parameters"] = _cases_json(_data_cases(cls, cls.parameters, given))
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
        "direction": cmd.direction.value,
        "fields": values,
        "symbols": {k: s for k, s in names.items() if s is not None},
    }


def _print_command(cls: type[Command], given: Mapping[str, int] | None = None) -> None:
    given = given or {}
    d = _command_detail(cls, given)
    head = f"{cls.__name__}: {cls.title}" if cls.title else cls.__name__
    print(head + (f"  [{cls.standard}]" if cls.standard else ""))
    data = _direction(cls)
    if data == "fields":
        data = "in or out, as the fields say (see transfer)"
    print(f"opcode {_opcode_text(cls)}, {cls.length}-byte CDB, data {data}")
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
    response = _data_cases(cls, cls.response, given)
    if response is not None:
        _print_cases(
            "response fields (the names expect: {fields: ...} and save: take; N: a list index)",
            response,
        )
    elif cls.direction is Direction.IN:
        undeclared = cls.decoder is not None or cls.decode_response is not Command.decode_response
        print(
            "\nresponse: "
            + (
                "decoded, its fields not declared"
                if undeclared
                else "not decoded into fields (expect: {data: ...} checks its bytes)"
            )
        )
    parameters = _data_cases(cls, cls.parameters, given)
    if parameters is not None:
        _print_cases("parameter list fields (what the encoder takes; N: a list index)", parameters)


def _print_cases(what: str, cases: list[shapes.Case]) -> None:
    """Each shape's fields as a table; list entries are ``N`` in the paths."""
    print(f"\n{what}:")
    for case in cases:
        when = case.when_text()
        title = case.title or "(not described)"
        print(f"\nwith {when}: {title}" if when else f"\n{title}")
        rows = shapes.rows(case.shape)
        if not rows:
            print("  (known only when the answer comes)")
            continue
        within = any(r.within for r in rows)
        table = [
            (
                r.path,
                r.type_text,
                *((r.within,) if within else ()),
                _symbols(r.shape.values if isinstance(r.shape, shapes.Scalar) else None),
            )
            for r in rows
        ]
        headers = ("FIELD", "TYPE", *(("IN",) if within else ()), "VALUES")
        for line in _table(headers, table):
            print("  " + line)


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
        elif step.kind == "task":
            what = f"task {step.task}"
        elif step.kind == "sleep":
            what = f"sleep {step.sleep:g}s"
        else:  # a parallel group: its branches' steps follow, indented
            what = ""
        name = "  " * ps.depth + step.name
        rows.append((ps.path, name, step.device or "-", what))
    for line in _table(("STEP", "NAME", "DEVICE", "COMMAND"), rows):
        print("  " + line)
    for note in getattr(plan, "notes", ()):
        print(f"  note: {note}")

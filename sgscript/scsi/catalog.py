"""A catalog: command classes by name and by CDB, built from a list and never changed after.

There is no process-wide registry. The standard tables (``commands.STANDARD``) make
``standard_catalog()``, which the Python API's ``lookup``/``decode_cdb`` use; a
plugin manager builds its own ``Catalog`` from what its plugins' ``sgscript_add_commands``
returned, and everything that runs under it (the loader, the planner, the simulated
disk, the CLI's tools) is handed that one.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Iterator, Mapping

from .cdb import Command
from .errors import FieldValueError, UnknownCommandError

__all__ = ["Catalog", "catalog", "decode_cdb", "identify", "lookup", "standard_catalog"]


def _fixed_count(cls: type[Command]) -> int:
    return sum(1 for s in cls.layout.slots if s.field.fixed)


class Catalog(Mapping[str, type[Command]]):
    """Command classes by class name; ``identify`` finds the class a CDB belongs to."""

    __slots__ = ("_by_name", "_by_opcode", "_folded", "_identified")

    def __init__(self, classes: Iterable[type[Command]] = ()) -> None:
        self._by_name: dict[str, type[Command]] = {}
        self._by_opcode: dict[int, list[type[Command]]] = {}
        for cls in classes:
            if cls.__name__ in self._by_name:
                raise ValueError(f"command {cls.__name__} is in the catalog twice")
            self._by_name[cls.__name__] = cls
            self._by_opcode.setdefault(cls.opcode, []).append(cls)
        self._folded = {name.lower(): cls for name, cls in self._by_name.items()}
        self._identified: dict[bytes, type[Command] | None] = {}

    def __getitem__(self, name: str) -> type[Command]:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __repr__(self) -> str:
        return f"<Catalog of {len(self)} commands>"

    def with_opcode(self, opcode: int) -> list[type[Command]]:
        """The classes whose CDBs start with ``opcode`` (several: service actions)."""
        return list(self._by_opcode.get(opcode, ()))

    def lookup(self, name: str) -> type[Command]:
        """The class called ``name`` (case, ``_`` and spaces folded); suggests near names."""
        cls = self._by_name.get(name) or self._folded.get(
            name.lower().replace("_", "").replace(" ", "")
        )
        if cls is None:
            raise UnknownCommandError(name, difflib.get_close_matches(name, list(self), n=3))
        return cls

    def identify(self, cdb: bytes) -> type[Command] | None:
        """The class a CDB belongs to, without building a command (cached: targets ask per CDB)."""
        key = cdb[:2] if len(cdb) < 10 or cdb[0] != 0x7F else cdb[:2] + cdb[8:10]
        if key in self._identified:
            return self._identified[key]
        best: type[Command] | None = None
        for cls in self._by_opcode.get(cdb[0], ()):
            fixed = [s for s in cls.layout.slots if s.field.fixed]
            got = cls.layout.decode(cdb)
            if all(got.get(s.field.name) == s.field.default for s in fixed) and (
                best is None or len(fixed) > _fixed_count(best)
            ):
                best = cls
        self._identified[key] = best
        return best

    def decode_cdb(self, raw: bytes | bytearray | str) -> Command:
        """The command a CDB encodes, with every field value; raw hex is accepted."""
        if isinstance(raw, str):
            raw = bytes.fromhex(raw.replace(":", " "))
        raw = bytes(raw)
        if not raw:
            raise FieldValueError("empty CDB")
        best = self.identify(raw)
        if best is None:
            raise UnknownCommandError(f"opcode {raw[0]:02X}h", [])
        if len(raw) < best.length:
            raise FieldValueError(f"{best.__name__} needs {best.length} CDB bytes, got {len(raw)}")
        got = best.layout.decode(raw)
        slots = best.layout.by_name
        kwargs = {
            k: v for k, v in got.items() if not slots[k].field.fixed and v != slots[k].field.default
        }
        return best(**kwargs)


@functools.cache
def standard_catalog() -> Catalog:
    """The SPC-5, SBC-4 and SAT commands of ``commands``, with their decoders and encoders."""
    from .commands import STANDARD

    return Catalog(STANDARD)


def catalog() -> Mapping[str, type[Command]]:
    """The standard command classes by name."""
    return standard_catalog()


def lookup(name: str) -> type[Command]:
    """The standard command class called ``name``; suggests near names when unknown."""
    return standard_catalog().lookup(name)


def identify(cdb: bytes) -> type[Command] | None:
    """The standard command class a CDB belongs to."""
    return standard_catalog().identify(cdb)


def decode_cdb(raw: bytes | bytearray | str) -> Command:
    """The standard command a CDB encodes, with every field value; raw hex is accepted."""
    return standard_catalog().decode_cdb(raw)

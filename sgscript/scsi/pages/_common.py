"""Helpers the page modules share: safe slicing, ASCII fields, tables with coded-value names.

Decoders never index past the data they were given: a response cut short by a
small allocation length decodes to fewer fields, not to an ``IndexError``.
Encoders range-check every value through the table (``Layout.coerce``), so a
value that does not fit is a ``FieldValueError`` (a ``UsageError``), never a
silently truncated byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..cdb import Layout
from ..errors import FieldValueError

Data = bytes | bytearray | memoryview

__all__ = [
    "Data",
    "as_bytes",
    "be",
    "from_hex",
    "overlay",
    "pack",
    "put_text",
    "text",
    "unpack",
]


def as_bytes(data: Data) -> bytes:
    return data if isinstance(data, bytes) else bytes(data)


def be(data: bytes, offset: int, size: int) -> int | None:
    """The big-endian integer at ``offset``, or None when the data stops short."""
    if offset + size > len(data):
        return None
    return int.from_bytes(data[offset : offset + size], "big")


def text(raw: bytes) -> str:
    """An ASCII field as the standard means it: space padded, sometimes NUL padded."""
    return raw.decode("ascii", "replace").strip(" \0")


def put_text(value: Any, size: int, name: str, pad: bytes = b" ") -> bytes:
    """An ASCII field left-aligned and padded (with spaces, as SPC asks) to ``size`` bytes."""
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    else:
        try:
            raw = str(value).encode("ascii")
        except UnicodeEncodeError as exc:
            raise FieldValueError(f"{name}={value!r} is not ASCII") from exc
    if len(raw) > size:
        raise FieldValueError(f"{name}={value!r} is longer than {size} bytes")
    return raw.ljust(size, pad)


def from_hex(value: Any, name: str) -> bytes:
    """Bytes from a hex string (spaces and colons allowed) or from bytes."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        try:
            return bytes.fromhex(value.replace(":", "").replace(" ", ""))
        except ValueError as exc:
            raise FieldValueError(f"{name}={value!r} is not hex") from exc
    raise FieldValueError(f"{name}={value!r} is neither hex nor bytes")


def unpack(layout: Layout, data: bytes, offset: int = 0) -> dict[str, Any]:
    """Decode a table; a coded field with a known value also gets ``<name>_name``."""
    out: dict[str, Any] = layout.decode(data, offset)
    for slot in layout.slots:
        f = slot.field
        if f.values is not None and f.name in out:
            sym = f.name_of(out[f.name])
            if sym is not None:
                out[f.name + "_name"] = sym
    return out


def _coerced(layout: Layout, values: Mapping[str, Any]) -> dict[str, int]:
    got: dict[str, int] = {}
    for slot in layout.slots:
        name = slot.field.name
        if name in values and values[name] is not None:
            got[name] = layout.coerce(name, values[name])
    return got


def pack(layout: Layout, values: Mapping[str, Any], **forced: int) -> bytes:
    """Encode a table from a (possibly decoded) dict: unknown keys are ignored.

    Ignoring keys the table lacks (``*_name``, nested lists) is what lets a
    decoded dict go straight back into its encoder.
    """
    got = _coerced(layout, values)
    got.update(forced)
    return layout.encode(got)


def overlay(layout: Layout, base: bytes, values: Mapping[str, Any]) -> bytes:
    """Write the table fields present in ``values`` over ``base``, keeping every other bit.

    This is read-modify-write at the bit level: reserved and unknown bits a
    device reported survive a decode/encode cycle untouched.
    """
    base = base[: layout.length].ljust(layout.length, b"\0")
    acc = int.from_bytes(base, "big")
    for name, value in _coerced(layout, values).items():
        s = layout.by_name[name]
        acc = (acc & ~(s.mask << s.shift)) | (value << s.shift)
    return acc.to_bytes(layout.length, "big")

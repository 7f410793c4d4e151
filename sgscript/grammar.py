"""The value grammar every layer shares: durations, sizes, integers, hex bytes and booleans.

A spec's ``timeout: 2m``, a sim target's ``latency=2m``, an ``expect: {duration:
{max: 2m}}`` and the command line read one grammar, and say the same words when a
value is wrong.  Each value kind is a parse function plus the regular expression
the JSON Schema uses for it (``schemas/sgscript.schema.json`` carries these
patterns verbatim; a test holds the two equal).  The patterns are ECMA-262 as
well as Python syntax, so editors validating a spec agree with sgscript.

Parse functions raise ``GrammarError`` (a ``ValueError``); each caller prefixes the
option or field it was reading.  This module imports nothing of sgscript but
``limits``, so every layer (``sim``, ``transport``, ``scenario``, ``verify``, the
CLI) may use it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .limits import MAX_DURATION

__all__ = [
    "BOOLEAN_PATTERN",
    "DURATION_PATTERN",
    "DURATION_UNITS",
    "HEX_BYTE_PATTERN",
    "HEX_PATTERN",
    "INTEGER_PATTERN",
    "SIZE_PATTERN",
    "DurationRangeError",
    "GrammarError",
    "abbreviated",
    "parse_bool",
    "parse_duration",
    "parse_hex",
    "parse_hex_byte",
    "parse_int",
    "parse_size",
    "size_text",
]


class GrammarError(ValueError):
    """A value that does not read as its kind; the message names the value, not the field."""


class DurationRangeError(GrammarError):
    """A duration that parses but is not finite or is past ``limits.MAX_DURATION``
    (the schema cannot say so, so the loader reports these itself)."""


#: Longest number text read (past any size, count or duration sgscript can use).
_MAX_DIGITS = 40


def abbreviated(value: Any) -> str:
    """A value as an error message quotes it: at most 40 characters."""
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _show(value: Any) -> str:
    return repr(abbreviated(value)) if isinstance(value, str) else abbreviated(value)


# ------------------------------------------------------------------ durations

#: Seconds per unit; a bare number is seconds.
DURATION_UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
}
DURATION_PATTERN = (
    r"^\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*(ns|us|µs|ms|s|min|m|h)?\s*$"
)
_DURATION = re.compile(DURATION_PATTERN)


def parse_duration(value: Any, *, unit_required: bool = False) -> float:
    """Seconds from ``50ms``, ``1.5s``, ``100us``, ``2m``, ``1h`` (also ``ns``, ``µs``, ``min``,
    ``1e-3s``) or a number of seconds.

    Finite, not negative and at most ``MAX_DURATION`` (a week): ``.inf`` would sleep
    or wait forever.  ``unit_required``: text other than ``0`` must carry a unit
    (a query string's ``latency=5`` could mean anything).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise GrammarError(f"{_show(value)} is not a duration (like 50ms, 1.5s, 100us)")
    if isinstance(value, str):
        m = _DURATION.fullmatch(value)
        if m is None or len(m.group(1)) > _MAX_DIGITS:
            raise GrammarError(f"{_show(value)} is not a duration (like 50ms, 1.5s, 100us)")
        number, _, exponent, unit = m.groups()
        if exponent and len(exponent.lstrip("eE+-").lstrip("0")) > 3:
            seconds = math.inf if not exponent.lstrip("eE").startswith("-") else 0.0
        else:
            seconds = float(number + (exponent or "")) * DURATION_UNITS[unit or "s"]
        if unit is None and unit_required and seconds:
            raise GrammarError(f"{value!r} needs a unit ({number}ms, {number}us, {number}s)")
    elif value != value:
        raise DurationRangeError("a duration must be a number, got .nan")
    elif value < 0:
        raise GrammarError(f"a duration cannot be negative: {value}")
    else:
        seconds = float(value) if value <= MAX_DURATION else math.inf
    if not seconds <= MAX_DURATION:
        raise DurationRangeError(
            f"a duration is at most {MAX_DURATION / 86400:g} days, got {abbreviated(value)}"
        )
    return seconds


# ------------------------------------------------------------------ numbers

#: A byte count: ``512``, ``4k``, ``4KiB``, ``64 MiB``, ``1G``, ``2T`` (binary units).
SIZE_PATTERN = r"^\s*([0-9]+)\s*([kKmMgGtT]?)(i?[bB]?)\s*$"
_SIZE = re.compile(SIZE_PATTERN)
_SIZE_SHIFT = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}

#: An integer: decimal (``010`` is ten), ``0x1f``, ``0o17``, ``0b101``, ``1_000``, T10's ``1Fh``.
INTEGER_PATTERN = (
    r"^\s*[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*|[0-9a-fA-F]+[hH])\s*$"
)
_INTEGER = re.compile(INTEGER_PATTERN)


def _too_long(value: Any) -> None:
    if isinstance(value, str) and len(value.strip()) > _MAX_DIGITS:
        raise GrammarError(f"{value.strip()[:20]!r}...: number too large")


def parse_int(value: Any) -> int:
    """An integer from a number or text (``INTEGER_PATTERN``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    _too_long(value)
    text = value.strip() if isinstance(value, str) else ""
    m = _INTEGER.fullmatch(text)
    if m is None:
        raise GrammarError(f"{_show(value)} is not a number")
    if text[-1] in "hH":
        return int(text[:-1], 16)
    try:
        return int(text, 0)
    except ValueError:  # "010": decimal with a leading zero; "1__0": refused
        try:
            return int(text, 10)
        except ValueError:
            raise GrammarError(f"{_show(value)} is not a number") from None


def parse_size(value: Any) -> int:
    """Bytes from ``SIZE_PATTERN`` text (``4k`` is 4096), or from an integer (``parse_int``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    _too_long(value)
    m = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        try:
            return parse_int(value)
        except GrammarError:
            raise GrammarError(f"{_show(value)} is not a size (like 4096, 4k, 64MiB)") from None
    return int(m.group(1)) << _SIZE_SHIFT[m.group(2).lower()]


def size_text(n: int) -> str:
    """``32 MiB``, ``4 KiB``, ``520 bytes``: a byte count as a person reads it."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % (scale // 16 or 1) == 0:
            return f"{n / scale:g} {unit}"
    return f"{n:,} bytes"


# ------------------------------------------------------------------ hex

#: Hex bytes as people paste them: ``12 00 00 00 24 00``, ``de:ad:be:ef``, ``0xde 0xad``,
#: ``deadbeef``; spaces, colons and commas separate.
HEX_PATTERN = r"^[\s:,]*(0[xX])?[0-9a-fA-F]+([\s:,]+(0[xX])?[0-9a-fA-F]+)*[\s:,]*$"
_SEPARATORS = re.compile(r"[\s:,]+")
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")

#: One byte in hex, as ASC/ASCQ are written: ``47``, ``0x47``, ``47h``.
HEX_BYTE_PATTERN = r"^\s*(0[xX])?[0-9a-fA-F]+[hH]?\s*$"


def parse_hex(text: str) -> bytes:
    """Bytes from ``HEX_PATTERN`` text.  A piece of one digit is one byte (``5`` is 05h,
    as sg_decode_sense reads it); longer pieces are whole bytes.  No pieces: no bytes."""
    if not isinstance(text, str):
        raise GrammarError(f"{_show(text)} is not hex bytes (like '00 01 02 03')")
    digits: list[str] = []
    for piece in filter(None, _SEPARATORS.split(text)):
        body = piece[2:] if piece[:2].lower() == "0x" else piece
        if not _HEX_DIGITS.fullmatch(body):
            raise GrammarError(f"{abbreviated(piece)!r} is not hexadecimal")
        digits.append(body.zfill(2) if len(body) == 1 else body)
    joined = "".join(digits)
    if len(joined) % 2:
        raise GrammarError(f"odd number of hex digits ({len(joined)})")
    return bytes.fromhex(joined)


def parse_hex_byte(value: Any) -> int:
    """A byte from an integer or ``HEX_BYTE_PATTERN`` text (bare digits are hex: ``21`` is 21h)."""
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    else:
        text = str(value).strip().lower().removesuffix("h").removeprefix("0x")
        if not _HEX_DIGITS.fullmatch(text) or isinstance(value, bool):
            raise GrammarError(f"{_show(value)} is not a hex byte (47, 0x47, 47h)")
        n = int(text, 16)
    if not 0 <= n <= 0xFF:
        raise GrammarError(f"{_show(value)} does not fit a byte")
    return n


# ------------------------------------------------------------------ booleans

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
#: ``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``, any case.
BOOLEAN_PATTERN = (
    r"^\s*("
    + "|".join(
        "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in w) for w in _TRUE + _FALSE
    )
    + r")\s*$"
)


def parse_bool(value: Any) -> bool:
    """A boolean from ``true``/``false`` (``BOOLEAN_PATTERN``) or a number (0 is false)."""
    if isinstance(value, bool | int):
        return bool(value)
    folded = value.strip().lower() if isinstance(value, str) else None
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise GrammarError(f"{_show(value)} is not a boolean (true/false)")

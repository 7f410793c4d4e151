"""Data patterns: the bytes a write sends, and the check of what a read brings back.

One description serves both sides (``data:`` of a write, ``expect: {data: ...}``
of a read), so a spec writes a range with a pattern and reads it back with the
same words.  Every pattern is a pure function of (seed, LBA, position), never of
the command that moved it, so a range written in one size of chunk can be read
back in another.

| key                     | bytes                                                          |
|-------------------------|----------------------------------------------------------------|
| ``pattern: lba``        | per block: a 16-byte header (LBA 8 bytes big-endian, seed low   |
|                         | 32 bits, block index within the writing command 4 bytes, shown |
|                         | but not checked) + a fill derived from (seed, LBA): a block    |
|                         | from the wrong LBA, another run (seed) or never written is     |
|                         | named as such, as fio's verify does                            |
| ``pattern: zeros``      | all zero                                                       |
| ``pattern: byte``       | ``value`` (0..255) repeated                                    |
| ``pattern: incrementing`` | byte ``i`` of the buffer is ``i mod 256``                    |
| ``pattern: random``     | seeded pseudo-random, per block from (seed, LBA): reproducible |
| ``file: PATH``          | the file (relative to the spec's directory) from ``offset``,   |
|                         | repeated to fill the length and cut at it                      |
| ``hex: "de ad"``        | the literal, repeated and cut likewise; in a check, just those |
|                         | bytes at ``offset`` (default 0), the rest not compared         |
| ``sha256: HEX``         | (checks only) the SHA-256 of the data                          |

``seed`` defaults to the ``seed`` argument (the runner passes the run's seed,
so a write and its read-back agree without naming one).  ``length`` (checks)
compares only the first ``length`` bytes and fails a shorter transfer.
Values reaching these functions are resolved: ints, not ``${...}``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .. import grammar
from ..limits import clip
from ..scsi.errors import UsageError
from .model import DataSource

__all__ = [
    "CHECK_ONLY",
    "HEADER",
    "PATTERNS",
    "DataMismatch",
    "PatternError",
    "check_data",
    "compare_data",
    "describe",
    "hex_diff",
    "make_data",
    "parse_hex",
]

PATTERNS = ("lba", "zeros", "byte", "incrementing", "random")
#: Keys that only mean something when checking data-in.
CHECK_ONLY = ("offset", "sha256")
#: Bytes of the ``lba`` pattern's per-block header.
HEADER = 16
_KEYS = ("pattern", "seed", "value", "file", "hex", "offset", "sha256", "length")
_SOURCES = ("pattern", "file", "hex", "sha256")
_INCREMENTING = bytes(range(256))


class PatternError(UsageError):
    """A data description that cannot make bytes (unknown pattern, missing file, ...)."""


@dataclass(frozen=True, slots=True)
class _Spec:
    pattern: str | None = None
    seed: int | None = None
    value: int | None = None
    file: str | None = None
    hex: bytes | None = None
    offset: int | None = None
    sha256: str | None = None
    length: int | None = None
    where: str = ""


def _int(name: str, value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise PatternError(f"{where}data {name} must be an integer, got {value!r}")
    return value


def parse_hex(text: Any, where: str = "") -> bytes:
    """Bytes from ``"de ad be ef"``, ``"dead:beef"``, ``"0xde 0xad"``; ``where`` prefixes errors."""
    if isinstance(text, (bytes, bytearray)):
        return bytes(text)
    if isinstance(text, int) and not isinstance(text, bool):
        text = f"{text:x}"
    if not isinstance(text, str):
        raise PatternError(f"{where}data hex must be a string of hex digits, got {text!r}")
    try:
        raw = grammar.parse_hex(text)
    except ValueError as exc:
        raise PatternError(f"{where}data hex {clip(text, 60)!r}: {exc}") from None
    if not raw:
        raise PatternError(f"{where}data hex {text!r}: no hex bytes")
    return raw


def _spec(spec: DataSource | Mapping[str, Any] | _Spec) -> _Spec:
    if isinstance(spec, _Spec):
        return spec
    # A step's source or expectation is the same for all its commands: checked once.
    try:
        key: Any = ("source", id(spec)) if isinstance(spec, DataSource) else frozenset(spec.items())
        known = _SEEN.get(key)
    except (TypeError, AttributeError):  # unhashable values: checked every time
        return _checked_spec(spec)
    if known is not None and known[0] == spec:
        return known[1]
    checked = _checked_spec(spec)
    if len(_SEEN) >= 256:
        _SEEN.clear()
    _SEEN[key] = (spec, checked)  # holding a source keeps its id unique (it is frozen)
    return checked


_SEEN: dict[Any, tuple[object, _Spec]] = {}


def _checked_spec(spec: DataSource | Mapping[str, Any]) -> _Spec:
    if isinstance(spec, DataSource):
        raw: dict[str, Any] = {k: getattr(spec, k) for k in _KEYS if hasattr(spec, k)}
        mark = spec.mark
    elif isinstance(spec, Mapping):
        unknown = sorted(set(spec) - set(_KEYS) - {"mark"})
        raw, mark = dict(spec), spec.get("mark")
        if unknown:
            raise PatternError(f"{_where(mark)}data has no key {unknown[0]!r} ({', '.join(_KEYS)})")
    else:
        raise PatternError(f"data must be a mapping, got {spec!r}")
    where = _where(mark)
    given = [k for k in _SOURCES if raw.get(k) is not None]
    if len(given) != 1:
        what = "none" if not given else " and ".join(given)
        raise PatternError(f"{where}data needs exactly one of pattern, file, hex, sha256 ({what})")
    pattern = raw.get("pattern")
    if pattern is not None and pattern not in PATTERNS:
        raise PatternError(f"{where}unknown data pattern {pattern!r} ({', '.join(PATTERNS)})")
    value = _int("value", raw.get("value"), where)
    if pattern == "byte" and (value is None or not 0 <= value <= 255):
        raise PatternError(f"{where}pattern byte needs a value 0..255, got {value!r}")
    sha = raw.get("sha256")
    if sha is not None and not (isinstance(sha, str) and re.fullmatch(r"[0-9a-fA-F]{64}", sha)):
        raise PatternError(f"{where}data sha256 must be 64 hex digits, got {sha!r}")
    return _Spec(
        pattern=pattern,
        seed=_int("seed", raw.get("seed"), where),
        value=value,
        file=raw.get("file"),
        hex=None if raw.get("hex") is None else parse_hex(raw["hex"], where),
        offset=_int("offset", raw.get("offset"), where),
        sha256=None if sha is None else sha.lower(),
        length=_int("length", raw.get("length"), where),
        where=where,
    )


_parse_hex = parse_hex  # the planner's name for it


def _where(mark: Any) -> str:
    return f"{mark}: " if mark is not None else ""


# ----------------------------------------------------------------- making


def _repeat(unit: bytes, length: int) -> bytes:
    if not unit:
        return bytes(length)
    return (unit * (length // len(unit) + 1))[:length]


@lru_cache(maxsize=8)
def _read_file(path: str, mtime_ns: int, size: int) -> bytes:
    from ..limits import MAX_DATA_FILE_BYTES
    from .files import read_regular

    return read_regular(path, MAX_DATA_FILE_BYTES)  # a regular file (never a FIFO), bounded


def _file_bytes(s: _Spec, base_dir: str) -> bytes:
    path = os.path.join(base_dir, os.path.expanduser(s.file or ""))
    try:
        st = os.stat(path)
        data = _read_file(path, st.st_mtime_ns, st.st_size)
    except OSError as exc:
        raise PatternError(f"{s.where}data file {s.file!r}: {exc.strerror or exc}") from None
    except ValueError as exc:  # FileRefused: a FIFO, a device, too large
        raise PatternError(f"{s.where}data file {s.file!r}: {exc}") from None
    if not data:
        raise PatternError(f"{s.where}data file {s.file!r} is empty")
    return data


def _blocks(length: int, block_size: int, lba: int, block: Any) -> bytes:
    if block_size <= 0:
        raise PatternError(f"block size must be positive, got {block_size}")
    n = -(-length // block_size)
    return b"".join(block(lba + i, i) for i in range(n))[:length]


def _lba_block(seed: int, block_size: int) -> Any:
    if block_size < HEADER:
        raise PatternError(f"pattern lba needs blocks of at least {HEADER} bytes")
    tag = (seed & 0xFFFFFFFF).to_bytes(4, "big")
    fill = block_size - HEADER

    def block(lba: int, index: int) -> bytes:
        return (
            (lba & (2**64 - 1)).to_bytes(8, "big")
            + tag
            + (index & 0xFFFFFFFF).to_bytes(4, "big")
            + _lba_fill(seed, lba, fill)
        )

    return block


@lru_cache(maxsize=32768)  # at most 32,768 blocks' fill: ~16 MiB at 512-byte blocks
def _lba_fill(seed: int, lba: int, size: int) -> bytes:
    """The hashed part of a ``pattern: lba`` block: what writing and checking both need."""
    return hashlib.shake_256(f"sgscript-lba:{seed}:{lba}".encode()).digest(size)


def _lba_matches(data: bytes, lba: int, seed: int, block_size: int) -> bool:
    """Whether whole ``pattern: lba`` blocks are all as written: each header's LBA and seed
    and its fill compared in place (the block index is informational, as in the full check)."""
    if block_size < HEADER or len(data) % block_size:
        return False
    tag = (seed & 0xFFFFFFFF).to_bytes(4, "big")
    fill = block_size - HEADER
    here = lba
    for at in range(0, len(data), block_size):
        here &= 0xFFFFFFFFFFFFFFFF
        if data[at : at + 12] != here.to_bytes(8, "big") + tag or data[
            at + HEADER : at + block_size
        ] != _lba_fill(seed, here, fill):
            return False
        here += 1
    return True


def _random_block(seed: int, block_size: int) -> Any:
    def block(lba: int, index: int) -> bytes:
        return hashlib.shake_256(f"sgscript-random:{seed}:{lba}".encode()).digest(block_size)

    return block


def _make(s: _Spec, lba: int, length: int, block_size: int, seed: int, base_dir: str) -> bytes:
    if length < 0:
        raise PatternError(f"data length must not be negative, got {length}")
    seed = s.seed if s.seed is not None else seed
    if s.pattern == "zeros":
        return bytes(length)
    if s.pattern == "byte":
        return bytes([s.value or 0]) * length
    if s.pattern == "incrementing":
        return _repeat(_INCREMENTING, length)
    if s.pattern == "lba":
        return _blocks(length, block_size, lba, _lba_block(seed, block_size))
    if s.pattern == "random":
        return _blocks(length, block_size, lba, _random_block(seed, block_size))
    if s.file is not None:
        whole = _file_bytes(s, base_dir)
        start = s.offset or 0
        if start >= len(whole):  # a window past the end would send zeros, silently
            raise PatternError(
                f"{s.where}data file {s.file!r}: offset {start} is past its end ({len(whole)} bytes)"
            )
        return _repeat(whole[start:], length)
    if s.hex is not None:
        return _repeat(s.hex, length)
    raise PatternError(f"{s.where}sha256 only checks data; it cannot make data to send")


def make_data(
    spec: DataSource | Mapping[str, Any],
    *,
    lba: int,
    length: int,
    block_size: int,
    seed: int,
    base_dir: str = ".",
) -> bytes:
    """Exactly ``length`` bytes of ``spec`` for a command starting at ``lba``.

    ``seed`` is the default when the spec names none; ``base_dir`` anchors ``file``.
    """
    return _make(_spec(spec), lba, length, block_size, seed, base_dir)


# ----------------------------------------------------------------- checking


@dataclass(frozen=True)
class DataMismatch:
    """Where data-in first differs from what was expected, and what the block says."""

    offset: int  # first mismatching byte, in the data-in buffer
    expected: bytes  # the whole expected buffer (or the compared part)
    got: bytes
    what: str  # the description of the expectation (``pattern lba, seed 7, from LBA 0x10``)
    detail: str = ""  # a diagnosis (wrong LBA, wrong seed, zeros), or a length problem

    @property
    def diff(self) -> str:
        if self.offset < 0:
            return ""
        return hex_diff(self.expected, self.got, self.offset)

    @property
    def got_text(self) -> str:
        """What came back, in words (the part after "got")."""
        if self.offset < 0:
            return self.detail
        return f"a mismatch at offset {_off(self.offset)}" + (
            f": {self.detail}" if self.detail else ""
        )

    @property
    def message(self) -> str:
        return f"expected data {self.what}, got {self.got_text}"

    def __str__(self) -> str:
        diff = self.diff
        return self.message + ("\n" + diff if diff else "")


def _off(offset: int) -> str:
    return f"{offset} (0x{offset:x})" if offset >= 10 else str(offset)


def hex_diff(expected: bytes, got: bytes, offset: int, *, width: int = 16) -> str:
    """Two aligned hex rows around ``offset`` and a caret under every differing byte."""
    start = max(0, (offset - 4) // 4 * 4)
    exp = expected[start : start + width]
    have = got[start : start + width]
    n = max(len(exp), len(have))

    def row(chunk: bytes) -> str:
        return " ".join(f"{b:02x}" for b in chunk) + "   " * (n - len(chunk))

    marks = "".join(
        "^^ " if i >= len(exp) or i >= len(have) or exp[i] != have[i] else "   " for i in range(n)
    ).rstrip()
    lead = f"  @0x{start:06x} "
    return "\n".join(
        [
            f"{lead}expected {row(exp).rstrip()}",
            f"{lead}got      {row(have).rstrip()}",
            " " * (len(lead) + 9) + marks,
        ]
    )


def describe(spec: DataSource | Mapping[str, Any], *, seed: int | None = None) -> str:
    """The expectation in words: ``pattern lba (seed 7)``, ``hex 00 01 at offset 4``."""
    return _describe(_spec(spec), seed=seed)


def _describe(s: _Spec, *, seed: int | None) -> str:
    if s.pattern is not None:
        if s.pattern in ("lba", "random"):
            used = s.seed if s.seed is not None else seed
            return f"pattern {s.pattern}" + ("" if used is None else f" (seed {used})")
        if s.pattern == "byte":
            return f"pattern byte 0x{s.value or 0:02x}"
        return f"pattern {s.pattern}"
    if s.file is not None:
        return f"from file {s.file}"
    if s.hex is not None:
        text = s.hex[:16].hex(" ") + (" ..." if len(s.hex) > 16 else "")
        return f"hex {text} at offset {s.offset or 0}"
    return f"sha256 {s.sha256}"


def _first_difference(a: bytes, b: bytes) -> int:
    """The first index where ``a`` and ``b`` differ (they are known to differ)."""
    n = min(len(a), len(b))
    lo, step = 0, 4096
    while lo < n and a[lo : lo + step] == b[lo : lo + step]:
        lo += step
    for i in range(lo, min(lo + step, n)):
        if a[i] != b[i]:
            return i
    return n


def _diagnose_lba(got: bytes, offset: int, lba: int, seed: int, block_size: int) -> str:
    k = offset // block_size
    block = got[k * block_size : (k + 1) * block_size]
    want_lba = lba + k
    where = f"block {k} (LBA 0x{want_lba:x})"
    if len(block) < HEADER:
        return f"{where} is cut short"
    if not any(block):
        return f"{where} reads as zeros: never written, unmapped or lost"
    got_lba = int.from_bytes(block[:8], "big")
    got_seed = int.from_bytes(block[8:12], "big")
    index = int.from_bytes(block[12:16], "big")
    want_seed = seed & 0xFFFFFFFF
    if got_lba != want_lba or got_seed != want_seed:
        clean = _lba_block(got_seed, block_size)(got_lba, index) == bytes(block)
        parts = []
        if got_lba != want_lba:
            parts.append(f"holds the data of LBA 0x{got_lba:x}")
        if got_seed != want_seed:
            parts.append(f"carries seed {got_seed}, not {want_seed} (another run's data)")
        more = "" if clean else ", and its fill is damaged too"
        return f"{where} {' and '.join(parts)}{more}"
    return f"{where} is corrupted at byte {offset - k * block_size} of the block"


def compare_data(
    spec: DataSource | Mapping[str, Any],
    data: bytes,
    *,
    lba: int,
    block_size: int,
    seed: int,
    base_dir: str = ".",
    length: int | None = None,
) -> DataMismatch | None:
    """Compare data-in with ``spec``; None when it matches, else where and how it differs."""
    s = _spec(spec)
    data = bytes(data)
    length = s.length if s.length is not None else length
    what = _describe(s, seed=seed)
    if s.pattern in ("lba", "random"):
        what += f" from LBA 0x{lba:x}"
    if length is not None:
        if len(data) < length:
            return DataMismatch(-1, b"", data, what, f"{len(data)} bytes, not {length}")
        data = data[:length]
    if s.sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest == s.sha256:
            return None
        return DataMismatch(-1, b"", data, what, f"sha256 {digest} over {len(data)} bytes")
    if s.hex is not None:
        start = s.offset or 0
        end = start + len(s.hex)
        if len(data) < end:
            return DataMismatch(
                -1, b"", data, what, f"{len(data)} bytes, too few to hold {end} bytes"
            )
        window = data[start:end]
        if window == s.hex:
            return None
        expected = data[:start] + s.hex + data[end:]
        at = start + _first_difference(s.hex, window)
        return DataMismatch(at, expected, data, what)
    if s.pattern == "lba" and _lba_matches(
        data, lba, s.seed if s.seed is not None else seed, block_size
    ):
        return None  # the common case; a mismatch is found and explained below
    expected = _make(s, lba, len(data), block_size, seed, base_dir)
    if s.pattern == "lba":
        # The header's block index says which block of the *writing* command this was:
        # informational, so a range may be read back in other chunks than it was written.
        fixed = bytearray(expected)
        for at in range(12, len(data) - 3, block_size):
            fixed[at : at + 4] = data[at : at + 4]
        expected = bytes(fixed)
    if expected == data:
        return None
    at = _first_difference(expected, data)
    detail = ""
    if s.pattern == "lba":
        used = s.seed if s.seed is not None else seed
        detail = _diagnose_lba(data, at, lba, used, block_size)
    elif block_size > 0 and len(data) > block_size:
        detail = f"block {at // block_size}, byte {at % block_size}"
    return DataMismatch(at, expected, data, what, detail)


def check_data(
    spec: DataSource | Mapping[str, Any],
    data: bytes,
    *,
    lba: int,
    block_size: int,
    seed: int,
    base_dir: str = ".",
    length: int | None = None,
) -> str | None:
    """None when ``data`` matches ``spec``; else the message with a short hex diff."""
    mismatch = compare_data(
        spec, data, lba=lba, block_size=block_size, seed=seed, base_dir=base_dir, length=length
    )
    return None if mismatch is None else str(mismatch)

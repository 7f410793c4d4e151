"""The built-in expectations, a plugin like any other: they come in through the same hook.

| kind       | value                                            | a failed command   |
|------------|--------------------------------------------------|--------------------|
| ``good``   | (none)                                           | fails it           |
| ``status`` | a status name or code (``RESERVATION_CONFLICT``)  | judged by it       |
| ``sense``  | a sense key name, or ``{key, asc, ascq, information}`` | judged by it   |
| ``fail``   | (none): any failure; or ``{status, sense, error}`` | required           |
| ``any``    | (none)                                           | allowed            |
| ``data``   | a data description (``spec/patterns.py``)         | not checked        |
| ``fields`` | decoded response fields: a value, or ``{min, max}`` | not checked      |
| ``duration`` | ``{max: 50ms, min: ...}``                      | checked too        |

Each message says what was expected and what came back, in the words
``sg_decode_sense`` uses for the sense, and ends with the CDB in hex.
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Mapping
from dataclasses import fields as dataclass_fields
from typing import Any

from ..grammar import parse_duration
from ..hookspecs import CheckContext, ExpectationKind, hookimpl
from ..scenario.model import DataSource
from ..scenario.patterns import CHECK_ONLY, compare_data
from ..scenario.schema import builtin_kind_schemas
from ..scsi import errors
from ..scsi.asc import additional_sense_text
from ..scsi.status import ScsiStatus, SenseKey

__all__ = [
    "KINDS",
    "Mismatch",
    "failed_message",
    "mismatch",
    "missing_field",
    "outcome",
    "parse_duration",
    "sgscript_expectation_kinds",
]


# ------------------------------------------------------------------ messages


class Mismatch(str):
    """A failure message that also carries its parts, for reports that show them apart.

    It *is* the message (a ``str``: ``expected X, got Y; CDB ..``, then the hex diff
    lines for data); ``.expected``, ``.got``, ``.cdb_hex`` and ``.data_diff`` are the
    pieces (``FailureDetail``'s fields).
    """

    expected: str
    got: str
    cdb_hex: str
    data_diff: str | None

    def __new__(
        cls, expected: str, got: str, cdb_hex: str = "", data_diff: str | None = None
    ) -> Mismatch:
        text = f"expected {expected}, got {got}"
        if cdb_hex:
            text += f"; CDB {cdb_hex}"
        if data_diff:
            text += "\n" + data_diff
        self = super().__new__(cls, text)
        self.expected, self.got, self.cdb_hex, self.data_diff = expected, got, cdb_hex, data_diff
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Mismatch, (self.expected, self.got, self.cdb_hex, self.data_diff))


def outcome(io: Any) -> str:
    """What came back, in words: ``GOOD``, ``CHECK CONDITION, Illegal Request, ...``."""
    failure = io.failure
    if failure is None:
        return ScsiStatus.text(io.status)
    return failure.detail


def mismatch(ctx: CheckContext, expected: str, got: str | None = None, **kw: Any) -> Mismatch:
    """``expected EXPECTED, got GOT; CDB ..`` for ``ctx``'s command (GOT: what came back)."""
    cdb = ctx.io.cdb
    return Mismatch(expected, outcome(ctx.io) if got is None else got, cdb.hex(" "), **kw)


def failed_message(ctx: CheckContext) -> Mismatch:
    """The default verdict on a failed command that no expectation allowed to fail."""
    return mismatch(ctx, "GOOD")


# ------------------------------------------------------------------ values


def _resolve(value: Any, ctx: CheckContext) -> Any:
    """Expressions in an expectation (``${last_lba}``), evaluated against the step's vars."""
    if isinstance(value, str):
        if "${" not in value:
            return value
    elif isinstance(value, Mapping):
        if not (len(value) == 1 and "random" in value):
            return {k: _resolve(v, ctx) for k, v in value.items()}
    else:
        return value
    from ..scenario.expr import resolve

    return resolve(value, ctx.vars, random.Random(f"{ctx.seed}:{ctx.index}"))


def _named(enum: type[Any], value: Any) -> Any:
    return enum.parse(value) if isinstance(value, str) else enum(value)


def _code(value: Any) -> str:
    return f"{value:02X}h"


def _ms(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f} ms".replace(".000 ms", " ms")
    return f"{seconds * 1e6:.1f} us"


# ------------------------------------------------------------------ good / status / sense / fail


def _check_good(ctx: CheckContext, value: Any) -> str | None:
    return None if ctx.io.failure is None else failed_message(ctx)


def _check_status(ctx: CheckContext, value: Any) -> str | None:
    want = _named(ScsiStatus, value)
    io = ctx.io
    if io.status == want and (want != ScsiStatus.GOOD or io.failure is None):
        return None
    return mismatch(ctx, f"status {want.title}")


SenseWant = tuple[SenseKey | None, int | None, int | None, int | None]


def _sense_want(value: Any, ctx: CheckContext) -> SenseWant:
    """(key, asc, ascq, information) wanted; None: not checked."""
    if isinstance(value, Mapping):
        key, info = value.get("key"), value.get("information")
        if info is not None:
            info = _resolve(info, ctx)
            if isinstance(info, float) and info.is_integer():
                info = int(info)
            if isinstance(info, bool) or not isinstance(info, int) or info < 0:
                raise ValueError(f"information {info!r} is not an integer >= 0")
        return (
            None if key is None else _named(SenseKey, key),
            value.get("asc"),
            value.get("ascq"),
            info,
        )
    return _named(SenseKey, value), None, None, None


def _sense_words(want: SenseWant) -> str:
    key, asc, ascq, info = want
    parts = [] if key is None else [key.title]
    if asc is not None and ascq is not None:
        parts.append(f"{additional_sense_text(asc, ascq)} (ASC {_code(asc)}, ASCQ {_code(ascq)})")
    elif asc is not None:
        parts.append(f"ASC {_code(asc)}")
    elif ascq is not None:
        parts.append(f"ASCQ {_code(ascq)}")
    if info is not None:
        parts.append(f"information 0x{info:x}")
    return ", ".join(parts)


def _information(sense: Any) -> int | None:
    """INFORMATION as the standard defines it: fixed format only with VALID set."""
    if sense.information is None or not (sense.valid or sense.descriptor_format):
        return None
    return int(sense.information)


def _sense_matches(io: Any, want: SenseWant) -> bool:
    sense = io.sense
    if sense is None:
        return False
    key, asc, ascq, info = want
    return all(
        w is None or w == got
        for w, got in ((key, sense.sense_key), (asc, sense.asc), (ascq, sense.ascq))
    ) and (info is None or info == _information(sense))


def _got_sense(io: Any, information: bool = False) -> str:
    sense = io.sense
    if sense is None:
        return outcome(io)
    text = outcome(io) if io.failure is not None else f"{ScsiStatus.text(io.status)}"
    if sense.asc is not None and sense.ascq is not None:
        text += f" (ASC {_code(sense.asc)}, ASCQ {_code(sense.ascq)})"
    if information:
        got = _information(sense)
        text += ", no information" if got is None else f", information 0x{got:x}"
    if io.failure is None:
        text += f" with sense {sense.summary()}"
    return text


def _check_sense(ctx: CheckContext, value: Any) -> str | None:
    want = _sense_want(value, ctx)
    if _sense_matches(ctx.io, want):
        return None
    return mismatch(ctx, f"sense {_sense_words(want)}", _got_sense(ctx.io, want[3] is not None))


_ERRORS = {
    name: cls
    for name, cls in vars(errors).items()
    if isinstance(cls, type) and issubclass(cls, errors.TaskFailed) and cls is not errors.TaskFailed
}
_ERRORS.pop("ExpectationFailed", None)


def _check_fail(ctx: CheckContext, value: Any) -> str | None:
    io = ctx.io
    narrow = value if isinstance(value, Mapping) else {}
    words = []
    information = False
    ok = io.failure is not None
    if "status" in narrow:
        want = _named(ScsiStatus, narrow["status"])
        words.append(want.title)
        ok = ok and io.status == want
    if "sense" in narrow:
        want = _sense_want(narrow["sense"], ctx)
        words.append(_sense_words(want))
        ok = ok and _sense_matches(io, want)
        information = want[3] is not None
    if "error" in narrow:
        cls = _ERRORS[narrow["error"]]
        words.append(narrow["error"])
        ok = ok and isinstance(io.failure, cls)
    if ok:
        return None
    expected = "a failure" + (f" ({', '.join(words)})" if words else "")
    return mismatch(ctx, expected, _got_sense(io, information) if "sense" in narrow else None)


def _check_any(ctx: CheckContext, value: Any) -> str | None:
    return None


# ------------------------------------------------------------------ data / fields / duration


def _command_lba(ctx: CheckContext) -> int:
    if ctx.lba is not None:
        return ctx.lba
    try:
        return int(ctx.io.command.logical_block_address)
    except AttributeError:
        return 0


def _data_value(value: Any) -> dict[str, Any]:
    if isinstance(value, DataSource):
        out = {f.name: getattr(value, f.name) for f in dataclass_fields(value)}
        return {k: v for k, v in out.items() if v is not None}
    return dict(value)


def _check_data(ctx: CheckContext, value: Any) -> str | None:
    io = ctx.io
    if io.failure is not None:
        return None  # nothing arrived to check; the failure is judged elsewhere
    mark = value.mark if isinstance(value, DataSource) else None
    spec = _resolve({k: v for k, v in _data_value(value).items() if k != "mark"}, ctx)
    if mark is not None:
        spec["mark"] = mark
    whole = spec.get("sha256") is None and spec.get("hex") is None
    found = compare_data(
        spec,
        io.data,
        lba=_command_lba(ctx),
        block_size=ctx.block_size,
        seed=ctx.seed,
        base_dir=ctx.base_dir,
        length=io.dxfer_len if whole and spec.get("length") is None else None,
    )
    if found is None:
        return None
    got = found.got_text
    if found.offset < 0 and io.resid:
        got += f" (residual {io.resid})"
    return mismatch(ctx, "data " + found.what, got, data_diff=found.diff or None)


MISSING = object()  # lookup_path's "no such field"


def lookup_path(decoded: Any, path: str) -> Any:
    """A dotted path into decoded fields (``mode_pages.0.wce``), or ``MISSING``.

    One rule for ``expect: {fields:}`` and ``save:`` (runner/step.py), so a path that
    checks a field also saves it.
    """
    here = decoded
    for part in path.split("."):
        if isinstance(here, Mapping) and part in here:
            here = here[part]
        elif isinstance(here, (list, tuple)) and part.lstrip("-").isdigit():
            try:
                here = here[int(part)]
            except IndexError:
                return MISSING
        else:
            return MISSING
    return here


def missing_field(decoded: Any, path: str) -> str:
    """Why ``lookup_path(decoded, path)`` found nothing, where the walk stopped:
    ``designation_descriptors has 3 entries (0..2)``, ``mode_pages.0 has no field
    'wcee' (did you mean wce?)``. For the messages of ``fields:`` and ``save:``."""
    here = decoded
    parts = path.split(".")
    for i, part in enumerate(parts):
        done = ".".join(parts[:i]) or "the response"
        if isinstance(here, Mapping):
            if part in here:
                here = here[part]
                continue
            names = [str(k) for k in here]
            near = difflib.get_close_matches(part, names, n=3)
            if near:
                return f"{done} has no field {part!r} (did you mean {', '.join(near)}?)"
            shown = names if len(names) <= 12 else [*names[:12], "…"]
            return f"{done} has no field {part!r}; it has: {', '.join(shown)}"
        if isinstance(here, (list, tuple)):
            n = len(here)
            if not part.lstrip("-").isdigit():
                return f"{done} is a list of {n}: give an entry's index, not {part!r}"
            if not -n <= int(part) < n:
                return f"{done} is empty" if not n else f"{done} has {n} entries (0..{n - 1})"
            here = here[int(part)]
            continue
        return f"{done} is {_show(here)}, with no field {part!r}"
    return f"{path} is there"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 10:
        return f"{value} (0x{value:x})"
    return str(value)


def _equal(want: Any, got: Any) -> bool:
    if isinstance(want, str) and isinstance(got, str):
        return want.rstrip() == got.rstrip()
    if isinstance(want, bool) or isinstance(got, bool):
        return bool(want) == bool(got) and not isinstance(got, str)
    return want == got


def _in_range(want: Mapping[str, Any], got: Any) -> bool:
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    lo, hi = want.get("min"), want.get("max")
    return (lo is None or got >= lo) and (hi is None or got <= hi)


def _range_words(want: Mapping[str, Any]) -> str:
    lo, hi = want.get("min"), want.get("max")
    if lo is not None and hi is not None:
        return f"{_show(lo)}..{_show(hi)}"
    return f">= {_show(lo)}" if lo is not None else f"<= {_show(hi)}"


def _check_fields(ctx: CheckContext, value: Any) -> str | None:
    io = ctx.io
    if io.failure is not None:
        return None
    decoded = io.command.decode_response(io.data)
    name = type(io.command).__name__
    if not decoded:
        return mismatch(ctx, f"decoded {name} response fields", "no decoded response")
    wants, gots = [], []
    for path, raw in value.items():
        want = _resolve(raw, ctx)
        got = lookup_path(decoded, path)
        ranged = isinstance(want, Mapping)
        if got is MISSING:
            wants.append(f"{path}={_range_words(want) if ranged else _show(want)}")
            gots.append(f"no field {path} in the {name} response: {missing_field(decoded, path)}")
            continue
        if _in_range(want, got) if ranged else _equal(want, got):
            continue
        wants.append(f"{path} {_range_words(want)}" if ranged else f"{path}={_show(want)}")
        gots.append(f"{path}={_show(got)}")
    if not wants:
        return None
    return mismatch(ctx, ", ".join(wants), ", ".join(gots))


def _check_duration(ctx: CheckContext, value: Any) -> str | None:
    took = ctx.io.duration
    lo = value.get("min")
    hi = value.get("max")
    lo_s = None if lo is None else parse_duration(_resolve(lo, ctx))
    hi_s = None if hi is None else parse_duration(_resolve(hi, ctx))
    if (lo_s is None or took >= lo_s) and (hi_s is None or took <= hi_s):
        return None
    if lo_s is not None and hi_s is not None:
        want = f"duration {_ms(lo_s)}..{_ms(hi_s)}"
    elif hi_s is not None:
        want = f"duration at most {_ms(hi_s)}"
    else:
        want = f"duration at least {_ms(lo_s or 0.0)}"
    return mismatch(ctx, want, f"{_ms(took)} ({outcome(ctx.io)})")


# ------------------------------------------------------------------ schemas

# The JSON Schema file is the one source of the built-in kinds' schemas (it is the
# documented contract, and what specs are validated against); each kind carries
# its entry of ``$defs/expect_kinds``, references inlined.
_SCHEMAS = builtin_kind_schemas()
assert set(CHECK_ONLY) <= set(_SCHEMAS["data"]["properties"])


def _yes(value: Any) -> bool:
    return True


KINDS: tuple[ExpectationKind, ...] = (
    ExpectationKind("good", _SCHEMAS["good"], _check_good, _yes, "status GOOD (the default)"),
    ExpectationKind("status", _SCHEMAS["status"], _check_status, _yes, "this SCSI status"),
    ExpectationKind("sense", _SCHEMAS["sense"], _check_sense, _yes, "sense key / ASC / ASCQ / INFO"),
    ExpectationKind("fail", _SCHEMAS["fail"], _check_fail, _yes, "must fail (any way, or this way)"),
    ExpectationKind("any", _SCHEMAS["any"], _check_any, _yes, "may fail; nothing else is judged"),
    ExpectationKind("data", _SCHEMAS["data"], _check_data, description="data-in contents"),
    ExpectationKind("fields", _SCHEMAS["fields"], _check_fields, description="decoded response"),
    ExpectationKind("duration", _SCHEMAS["duration"], _check_duration, description="latency bounds"),
)


@hookimpl
def sgscript_expectation_kinds() -> list[ExpectationKind]:
    return list(KINDS)

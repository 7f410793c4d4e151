"""The built-in expectations, a plugin like any other: they come in through the same hook.

| kind       | value                                            | a failed command   |
|------------|--------------------------------------------------|--------------------|
| ``good``   | (none)                                           | fails it           |
| ``status`` | a status name or code (``RESERVATION_CONFLICT``)  | judged by it       |
| ``sense``  | a sense key name, or ``{key, asc, ascq, information}`` | judged by it   |
| ``fail``   | (none): any failure; or ``{status, sense, error}`` | required           |
| ``any``    | (none)                                           | allowed            |
| ``data``   | a data description (``spec/patterns.py``)         | not checked        |
| ``fields`` | decoded response fields: a value, or checks (``{min, max}``, ``{mask, value}``, ``in``, ``regex``, ``length``, ``printable``) | not checked |
| ``duration`` | ``{max: 50ms, min: ...}``                      | checked too        |
| ``any_of`` | alternatives, each an ``expect`` of built-in kinds | as the alternatives |
| ``received`` / ``residual`` | data-in bytes moved / the residual: a value or checks | not checked |
| ``check``  | a condition over the variables and the answer      | checked too        |

Each message says what was expected and what came back, in the words
``sg_decode_sense`` uses for the sense, and ends with the CDB in hex.
"""

from __future__ import annotations

import difflib
import random
import re
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
    elif isinstance(value, list | tuple):
        return [_resolve(v, ctx) for v in value]
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


#: (keys, ASCs, ASCQs, information, the rest): each part a set of allowed values or None
#: (not checked); the rest holds ``format``, ``field_pointer``, ``cd``, ``progress``.
SenseWant = tuple[
    frozenset[SenseKey] | None,
    frozenset[int] | None,
    frozenset[int] | None,
    int | None,
    Mapping[str, Any],
]
_SENSE_EXTRAS = ("format", "field_pointer", "cd", "progress")


def _one_or_set(value: Any, parse: Any = None) -> frozenset[Any] | None:
    if value is None:
        return None
    items = value if isinstance(value, list | tuple) else [value]
    return frozenset(parse(v) if parse else v for v in items)


def _sense_want(value: Any, ctx: CheckContext) -> SenseWant:
    """What a ``sense`` expectation allows; None: not checked (a list: any one of them)."""
    if isinstance(value, Mapping):
        key, info = value.get("key"), value.get("information")
        if info is not None:
            info = _resolve(info, ctx)
            if isinstance(info, float) and info.is_integer():
                info = int(info)
            if isinstance(info, bool) or not isinstance(info, int) or info < 0:
                raise ValueError(f"information {info!r} is not an integer >= 0")
        extras = {k: value[k] for k in _SENSE_EXTRAS if k in value}
        return (
            _one_or_set(key, lambda k: _named(SenseKey, k)),
            _one_or_set(value.get("asc")),
            _one_or_set(value.get("ascq")),
            info,
            extras,
        )
    return _one_or_set(value, lambda k: _named(SenseKey, k)), None, None, None, {}


def _either(codes: frozenset[int], name: str) -> str:
    return " or ".join(f"{name} {_code(c)}" for c in sorted(codes))


def _sense_words(want: SenseWant) -> str:
    keys, ascs, ascqs, info, extras = want
    parts = [] if keys is None else [" or ".join(sorted(k.title for k in keys))]
    if ascs is not None and ascqs is not None and len(ascs) == len(ascqs) == 1:
        ((asc,), (ascq,)) = (tuple(ascs), tuple(ascqs))
        parts.append(f"{additional_sense_text(asc, ascq)} (ASC {_code(asc)}, ASCQ {_code(ascq)})")
    else:
        if ascs is not None:
            parts.append(_either(ascs, "ASC"))
        if ascqs is not None:
            parts.append(_either(ascqs, "ASCQ"))
    if info is not None:
        parts.append(f"information 0x{info:x}")
    if "format" in extras:
        parts.append(f"{extras['format']} format")
    if "field_pointer" in extras:
        fp = extras["field_pointer"]
        if fp is None:
            parts.append("no field pointer")
        else:
            byte, bit = (fp.get("byte"), fp.get("bit")) if isinstance(fp, Mapping) else (fp, None)
            where = {None: "", True: "CDB ", False: "parameter data "}[
                None if "cd" not in extras else bool(extras["cd"])
            ]
            parts.append(
                f"field pointer {where}byte {byte}" + ("" if bit is None else f" bit {bit}")
            )
    elif "cd" in extras:
        parts.append("field pointer into the " + ("CDB" if extras["cd"] else "parameter data"))
    if "progress" in extras:
        parts.append(f"progress {_check_words(extras['progress'])}")
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
    keys, ascs, ascqs, info, extras = want
    if not all(
        w is None or got in w
        for w, got in ((keys, sense.sense_key), (ascs, sense.asc), (ascqs, sense.ascq))
    ):
        return False
    if info is not None and info != _information(sense):
        return False
    if "format" in extras and (extras["format"] == "descriptor") != bool(sense.descriptor_format):
        return False
    sks = sense.sense_key_specific
    pointer = sks if sks is not None and sks.kind == "field_pointer" else None
    if "field_pointer" in extras:
        fp = extras["field_pointer"]
        if fp is None:
            if pointer is not None:
                return False
        else:
            byte, bit = (fp.get("byte"), fp.get("bit")) if isinstance(fp, Mapping) else (fp, None)
            if pointer is None or pointer.field_pointer != byte:
                return False
            if bit is not None and not (pointer.bpv and pointer.bit_pointer == bit):
                return False
    if "cd" in extras and (pointer is None or bool(pointer.cd) != bool(extras["cd"])):
        return False
    if "progress" in extras:
        fraction = sks.fraction if sks is not None else None
        if fraction is None or _field_fails(extras["progress"], fraction) is not None:
            return False
    return True


def _got_sense(io: Any, information: bool = False, extras: Mapping[str, Any] | None = None) -> str:
    extras = extras or {}
    sense = io.sense
    if sense is None:
        return outcome(io)
    text = outcome(io) if io.failure is not None else f"{ScsiStatus.text(io.status)}"
    if sense.asc is not None and sense.ascq is not None:
        text += f" (ASC {_code(sense.asc)}, ASCQ {_code(sense.ascq)})"
    if information:
        got = _information(sense)
        text += ", no information" if got is None else f", information 0x{got:x}"
    if "format" in extras:
        text += ", descriptor format" if sense.descriptor_format else ", fixed format"
    if {"field_pointer", "cd", "progress"} & set(extras) and "field pointer" not in text:
        if sense.sense_key_specific is None:
            text += ", no sense-key specific data (SKSV 0)"
        elif io.failure is not None:
            text += f" ({sense.summary()})"
    if io.failure is None:
        text += f" with sense {sense.summary()}"
    return text


def _check_sense(ctx: CheckContext, value: Any) -> str | None:
    want = _sense_want(value, ctx)
    if _sense_matches(ctx.io, want):
        return None
    got = _got_sense(ctx.io, want[3] is not None, want[4])
    return mismatch(ctx, f"sense {_sense_words(want)}", got)


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
    extras: Mapping[str, Any] = {}
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
        extras = want[4]
    if "error" in narrow:
        cls = _ERRORS[narrow["error"]]
        words.append(narrow["error"])
        ok = ok and isinstance(io.failure, cls)
    if ok:
        return None
    expected = "a failure" + (f" ({', '.join(words)})" if words else "")
    return mismatch(
        ctx, expected, _got_sense(io, information, extras) if "sense" in narrow else None
    )


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


def _number(value: Any) -> int | float | None:
    """A field's value as a number, however the decoder spells it (``'0x29'``, ``'41'``)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        text = value.strip().lower().removesuffix("h")
        try:
            return int(text, 0) if not value.strip().lower().endswith("h") else int(text, 16)
        except ValueError:
            return None
    return None


def _equal(want: Any, got: Any) -> bool:
    if isinstance(want, str) and isinstance(got, str):
        return want.rstrip() == got.rstrip()
    if isinstance(want, bool) or isinstance(got, bool):
        if isinstance(got, str):
            return False
        return bool(want) == bool(got)
    if isinstance(want, list | tuple) and isinstance(got, list | tuple):
        return len(want) == len(got) and all(_equal(w, g) for w, g in zip(want, got, strict=True))
    if isinstance(want, int | float) or isinstance(got, int | float):
        a, b = _number(want), _number(got)
        return a is not None and a == b
    return bool(want == got)


_CHECK_KEYS = ("min", "max", "mask", "value", "in", "not_in", "regex", "length", "printable")


def _field_fails(want: Mapping[str, Any], got: Any) -> str | None:
    """Which of a mapping of field checks ``got`` fails, in words; None when all hold."""
    n = _number(got)
    lo, hi = want.get("min"), want.get("max")
    if lo is not None or hi is not None:
        if n is None or isinstance(got, list | tuple | dict):
            return _range_words(want)
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            return _range_words(want)
    if "mask" in want:
        mask, value = want["mask"], want.get("value", want["mask"])
        if n is None or not isinstance(n, int) or (n & mask) != (int(value) & mask):
            return f"& 0x{mask:x} == 0x{int(value) & mask:x}"
    elif "value" in want and not _equal(want["value"], got):
        return f"== {_show(want['value'])}"
    if "in" in want and not any(_equal(w, got) for w in want["in"]):
        return f"in {_show(list(want['in']))}"
    if "not_in" in want and any(_equal(w, got) for w in want["not_in"]):
        return f"not in {_show(list(want['not_in']))}"
    if "regex" in want and (not isinstance(got, str) or re.search(want["regex"], got) is None):
        return f"matching /{want['regex']}/"
    if "length" in want:
        size = len(got) if isinstance(got, str | bytes | list | tuple | dict) else None
        spec = want["length"]
        ranged = isinstance(spec, Mapping)
        fits = size is not None and (_field_fails(spec, size) is None if ranged else size == spec)
        if not fits:
            return f"of length {_range_words(spec) if ranged else spec}"
    if want.get("printable"):
        text = got.encode("latin-1", "replace") if isinstance(got, str) else got
        if not isinstance(text, bytes) or any(c < 0x20 or c > 0x7E for c in text):
            return "printable ASCII (20h..7Eh)"
    return None


def _check_words(want: Any) -> str:
    if not isinstance(want, Mapping):
        return f"={_show(want)}"
    if set(want) <= {"min", "max"}:
        return f" {_range_words(want)}"
    return " " + ", ".join(w for k in _CHECK_KEYS if k in want and (w := _one_check_words(k, want)))


def _one_check_words(key: str, want: Mapping[str, Any]) -> str:
    if key in ("min", "max"):
        return _range_words(want) if key == "min" or "min" not in want else ""
    if key == "mask":
        return f"& 0x{want['mask']:x} == 0x{int(want.get('value', want['mask'])) & want['mask']:x}"
    if key == "value":
        return "" if "mask" in want else f"== {_show(want['value'])}"
    if key in ("in", "not_in"):
        return f"{key.replace('_', ' ')} {_show(list(want[key]))}"
    if key == "regex":
        return f"matching /{want['regex']}/"
    if key == "length":
        spec = want["length"]
        return f"of length {_range_words(spec) if isinstance(spec, Mapping) else spec}"
    return "printable ASCII" if want.get("printable") else ""


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
            wants.append(f"{path}{_check_words(want)}")
            gots.append(f"no field {path} in the {name} response: {missing_field(decoded, path)}")
            continue
        if _field_fails(want, got) is None if ranged else _equal(want, got):
            continue
        wants.append(f"{path}{_check_words(want)}")
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


def _measure(name: str, got: int) -> Any:
    def check(ctx: CheckContext, value: Any) -> str | None:
        want = _resolve(value, ctx)
        ok = _field_fails(want, got) is None if isinstance(want, Mapping) else _equal(want, got)
        return None if ok else mismatch(ctx, f"{name}{_check_words(want)}", f"{name} {got}")

    return check


def _check_received(ctx: CheckContext, value: Any) -> str | None:
    if ctx.io.failure is not None:
        return None
    return _measure("received", ctx.io.received)(ctx, value)


def _check_residual(ctx: CheckContext, value: Any) -> str | None:
    return _measure("residual", ctx.io.resid)(ctx, value)


def answer_names(io: Any) -> dict[str, Any]:
    """What ``expect: {check: ...}`` reads of a command's answer, besides the variables."""
    sense = io.sense if io.sense_raw else None
    decoded: Any = {}
    if io.failure is None:
        try:
            decoded = io.command.decode_response(io.data)
        except Exception:  # an undecodable answer: response has nothing, the rest is there
            decoded = {}
    return {
        "response": decoded,
        "status": io.status,
        "sense_key": None if sense is None else sense.sense_key,
        "asc": None if sense is None else sense.asc,
        "ascq": None if sense is None else sense.ascq,
        "received": io.received if io.failure is None else 0,
        "residual": io.resid,
        "data": io.data,
    }


def _check_condition(ctx: CheckContext, value: Any) -> str | None:
    from ..scenario.expr import condition

    if value is None:
        return None
    text = str(value)
    if condition(text).evaluate({**ctx.vars, **answer_names(ctx.io)}):
        return None
    return mismatch(ctx, f"check {text.strip()}", f"false ({outcome(ctx.io)})")


def _alternatives(value: Any) -> list[tuple[Any, ...]]:
    """``any_of``'s alternatives as tuples of expectations (the loader's form, or plain data)."""
    from ..scenario.model import Expectation

    out = []
    for alt in value:
        if isinstance(alt, tuple) and all(isinstance(e, Expectation) for e in alt):
            out.append(alt)
        elif isinstance(alt, str):
            out.append((Expectation(alt),))
        elif isinstance(alt, Mapping):
            out.append(tuple(Expectation(k, v) for k, v in alt.items()))
    return out


def _judge(ctx: CheckContext, alternative: tuple[Any, ...]) -> list[str]:
    messages = []
    covered = False
    for e in alternative:
        kind = _BY_NAME.get(e.kind)
        if kind is None:
            messages.append(f"any_of takes the built-in kinds, not {e.kind!r}")
            continue
        covered = covered or kind.covers_failure(e.value)
        message = kind.check(ctx, e.value)
        if message:
            messages.append(message)
    if not covered and ctx.io.failure is not None:
        messages.insert(0, failed_message(ctx))
    return messages


def _check_any_of(ctx: CheckContext, value: Any) -> str | None:
    alternatives = _alternatives(value)
    expected = []
    for alt in alternatives:
        messages = _judge(ctx, alt)
        if not messages:
            return None
        expected.append(" and ".join(getattr(m, "expected", str(m)) for m in messages))
    return mismatch(ctx, "one of: " + "; ".join(f"({w})" for w in expected))


def _any_covers(value: Any) -> bool:
    return any(
        _BY_NAME[e.kind].covers_failure(e.value)
        for alt in _alternatives(value)
        for e in alt
        if e.kind in _BY_NAME
    )


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
    ExpectationKind(
        "sense", _SCHEMAS["sense"], _check_sense, _yes, "sense key / ASC / ASCQ / INFO"
    ),
    ExpectationKind(
        "fail", _SCHEMAS["fail"], _check_fail, _yes, "must fail (any way, or this way)"
    ),
    ExpectationKind("any", _SCHEMAS["any"], _check_any, _yes, "may fail; nothing else is judged"),
    ExpectationKind("data", _SCHEMAS["data"], _check_data, description="data-in contents"),
    ExpectationKind("fields", _SCHEMAS["fields"], _check_fields, description="decoded response"),
    ExpectationKind(
        "duration", _SCHEMAS["duration"], _check_duration, description="latency bounds"
    ),
    ExpectationKind("received", _SCHEMAS["received"], _check_received, description="bytes moved"),
    ExpectationKind("residual", _SCHEMAS["residual"], _check_residual, description="residual"),
    ExpectationKind(
        "check", _SCHEMAS["check"], _check_condition, description="a condition on the answer"
    ),
)
_BY_NAME = {k.name: k for k in KINDS}
KINDS += (
    ExpectationKind(
        "any_of", _SCHEMAS["any_of"], _check_any_of, _any_covers, "one of these alternatives"
    ),
)


@hookimpl
def sgscript_expectation_kinds() -> list[ExpectationKind]:
    return list(KINDS)

"""A step's values at plan time: random draws, ``${index}``, bounds, and why one does not fit."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ...limits import MAX_REPEAT, MAX_VARS_TEXT
from ...scsi.errors import UsageError
from ..model import Step
from .steps import Env

__all__ = ["has_random", "loop_values", "uses_index"]


def has_random(value: Any) -> bool:
    """True when ``value`` draws from the RNG (a ``{random: [lo, hi]}`` anywhere in it)."""
    if isinstance(value, Mapping):
        return "random" in value or any(has_random(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_random(v) for v in value)
    return False


_INDEX = re.compile(r"\$\{[^}]*\bindex\b")


def uses_index(value: Any) -> bool:
    """True when ``value`` mentions the built-in ``index`` (it then differs per command)."""
    if isinstance(value, str):
        return bool(_INDEX.search(value))
    if isinstance(value, Mapping):
        return any(uses_index(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(uses_index(v) for v in value)
    return False


def _step_uses_index(step: Step) -> bool:
    data = step.data
    values = [*step.fields.values(), step.cdb, step.data_in]
    if data is not None:
        values += [getattr(data, key) for key in _DATA_KEYS]
    return any(uses_index(v) for v in values)


def _only_fields_use_index(step: Step) -> bool:
    """``${index}`` in fields alone (not the CDB, data-in size or data): one maker serves."""
    if step.data is not None or uses_index(step.cdb) or uses_index(step.data_in):
        return False
    return any(uses_index(v) for v in step.fields.values())


def loop_values(values: Any, vars: Mapping[str, Any]) -> Sequence[Any]:
    """What a group's ``for:`` walks, with these variables: a list (each entry resolved),
    ``{range: [start, stop(, step)]}`` (stop excluded; lazy, so a million passes cost
    nothing up front), or an expression whose value is a list (a saved response list)."""
    from ..expr import resolve

    if isinstance(values, Mapping) and "range" in values:
        bounds = [resolve(b, vars) for b in values["range"]]
        if any(isinstance(b, bool) or not isinstance(b, int) for b in bounds):
            raise UsageError(f"for: range bounds must be integers, got {bounds}")
        if len(bounds) == 3 and bounds[2] == 0:
            raise UsageError("for: a range's step must not be 0")
        walk = range(*bounds)
        if len(walk) > MAX_REPEAT:
            raise UsageError(f"for: a range of {len(walk):,} values is more than {MAX_REPEAT:,}")
        return walk
    if isinstance(values, list | tuple):
        return [resolve(v, vars) for v in values]
    got = resolve(values, vars)
    if isinstance(got, list | tuple | range):
        return got
    kind = "text" if isinstance(got, str) else type(got).__name__
    raise UsageError(f"for: needs a list of values, got {kind} {got!r}")


def _shown(values: Sequence[Any], limit: int = 8) -> str:
    """A loop's values for ``plan``: ``[0, 8, 16]``, ``range(0, 1024, 8)``, or the first few."""
    if isinstance(values, range):
        return repr(values)
    head = ", ".join(repr(v) for v in list(values[:limit]))
    return f"[{head}{', ...' if len(values) > limit else ''}]"


def _resolve(value: Any, vars: Mapping[str, Any], rng: random.Random) -> Any:
    from ..expr import resolve  # the loader's evaluator: one for validation and running

    return resolve(value, vars, rng)


class _VarsTooBig(UsageError):
    """The ``vars:`` together hold more text than ``MAX_VARS_TEXT``."""


def _vars_text(total: int, value: Any) -> int:
    """``total`` plus the text ``value`` holds; past ``MAX_VARS_TEXT`` a UsageError (each
    value is bounded, but thousands of 64k values filled gigabytes)."""
    if isinstance(value, str):
        total += len(value)
        if total > MAX_VARS_TEXT:
            raise _VarsTooBig(f"the vars hold more than {MAX_VARS_TEXT} characters of text")
    return total


def _as_int(what: str, value: Any, minimum: int = 0, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{what} must be a whole number, got {_show(value)}")
    if value < minimum:
        raise UsageError(f"{what} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise UsageError(f"{what} is at most {maximum}, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _transfer(what: str, size: int, limit: int) -> int:
    """``size`` when one command may move it (``--max-transfer``); checked before allocating."""
    if size > limit:
        raise UsageError(
            f"{what} of {size} bytes is more than the largest transfer, {limit} bytes"
            " (--max-transfer SIZE raises it)"
        )
    return size


def _names(value: Any) -> set[str]:
    """The variables a model value reads (through its ``${...}``)."""
    from ..expr import ExprError, is_expression, template

    if isinstance(value, str):
        if "$" not in value:
            return set()
        try:
            return set(template(value.strip() if is_expression(value) else value).names)
        except ExprError:
            return set()
    if isinstance(value, Mapping):
        return {n for v in value.values() for n in _names(v)}
    if isinstance(value, list | tuple):
        return {n for v in value for n in _names(v)}
    return set()


_DATA_KEYS = ("pattern", "seed", "value", "file", "hex", "length", "offset", "parameters")


#: What a value that cannot be built raises (ExprError and FieldValueError are ValueErrors).
_CHECKED = (ValueError, TypeError, ArithmeticError, KeyError)
#: A message that starts with its own FILE:LINE:COL.
_MARKED = re.compile(r"^(.+?):(\d+):(\d+): (.*)$", re.S)


def _message(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _why(exc: Exception, unknown: set[str]) -> str:
    text = str(exc)
    hits = sorted(name for name in unknown if re.search(rf"\b{re.escape(name)}\b", text))
    if hits:
        return f"depends on {', '.join(hits)}, saved at run time"
    return text


def _env(env: Env | Mapping[str, Any] | None) -> Env:
    if env is None:
        return Env()
    if isinstance(env, Env):
        return env
    return Env(dict(env))


def _bounds(value: Any, vars_: Mapping[str, Any], rng: random.Random) -> tuple[int, int] | None:
    """``{random: [lo, hi]}`` with bounds that draw nothing: (lo, hi), evaluated once per step.

    None for anything else (or bounds that are not a valid range: the per-command
    ``resolve`` then reports the problem in its own words).
    """
    if not (isinstance(value, Mapping) and len(value) == 1 and "random" in value):
        return None
    bounds = value["random"]
    if not isinstance(bounds, list | tuple) or len(bounds) != 2 or has_random(bounds):
        return None
    lo, hi = (_resolve(b, vars_, rng) for b in bounds)
    ok = all(isinstance(b, int) and not isinstance(b, bool) for b in (lo, hi))
    return (lo, hi) if ok and lo <= hi else None

"""The root of sgscript's errors and the caller's mistakes, which pure decoding raises.

Input mistakes (a field that does not fit, an unknown command, bytes that are
not sense data) are ``UsageError``: the caller's, not the device's.  They live
apart from the device errors in :mod:`sgscript.scsi.errors` (which re-exports
them) because ``sense.py`` raises them while ``errors.py`` carries decoded
sense: one module each way would be an import cycle.
"""

from __future__ import annotations

__all__ = [
    "FieldValueError",
    "SgscriptError",
    "UnknownCommandError",
    "UnknownFieldError",
    "UsageError",
]


class SgscriptError(Exception):
    """Everything sgscript raises on purpose."""


# ------------------------------------------------------------- caller errors


class UsageError(SgscriptError, ValueError):
    """Bad input from the caller: nothing was sent to a device."""


class FieldValueError(UsageError):
    """A field value that the command's table cannot hold."""


class UnknownFieldError(UsageError):
    def __init__(self, owner: str, name: str, suggestions: list[str]) -> None:
        hint = f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""
        super().__init__(f"{owner} has no field {name!r}{hint}")
        self.owner, self.name, self.suggestions = owner, name, suggestions


class UnknownCommandError(UsageError):
    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""
        super().__init__(f"unknown command {name!r}{hint}")
        self.name, self.suggestions = name, suggestions

"""Fault injection: what a target option or a spec's device entry asks the disk to do wrong."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..scsi.errors import UsageError
from .core import Request

if TYPE_CHECKING:
    from .lu import LogicalUnit

__all__ = ["Faults"]


class Faults:
    """The faults configured on one logical unit."""

    def __init__(self, lu: LogicalUnit) -> None:
        self.lu = lu
        self.gone = False

    def configure(self, options: dict[str, Any]) -> None:
        """Apply fault options; unknown keys are an error naming the known ones."""
        for key in options:
            raise UsageError(f"unknown sim option {key!r}")

    def check(self, req: Request) -> None:
        """Raise the injected failure for ``req``, if one applies."""

    def medium(self, req: Request, lba: int, count: int, *, write: bool) -> None:
        """Raise a medium error when ``lba``..``lba+count`` touches an injected bad range."""

    def delay(self, cdb: bytes) -> float | None:
        """Seconds before the completion of ``cdb`` is delivered; None: never."""
        return 0.0

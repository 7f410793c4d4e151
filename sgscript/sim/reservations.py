"""Reservations: SPC-2 RESERVE/RELEASE and persistent reservations (SPC-5 5.13)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core import Request

if TYPE_CHECKING:
    from .lu import LogicalUnit

__all__ = ["Reservations"]


class Reservations:
    """The reservation state of one logical unit, shared by every I_T nexus."""

    def __init__(self, lu: LogicalUnit) -> None:
        self.lu = lu

    def check(self, req: Request) -> None:
        """Raise RESERVATION CONFLICT where SPC-5 says ``req`` conflicts."""

    def reset(self) -> None:
        """A logical unit reset releases SPC-2 reservations; persistent ones survive."""

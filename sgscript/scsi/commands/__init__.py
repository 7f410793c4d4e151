"""The standard commands: ``STANDARD`` is every class of the T10 tables, in name order.

``spc`` holds the SPC-5 commands every device type shares; ``sbc`` the SBC-4
block commands and SAT's ATA PASS-THROUGH.  Each class is a table; the engine
in :mod:`sgscript.scsi.cdb` compiles it once when it is defined.
Each class gets its data formats here, from the tables of :mod:`sgscript.scsi.pages`:
decoder and encoder, and the shapes of what they return and take (a format for a
command the tables lack is an error).
"""

from __future__ import annotations

from ..cdb import Command
from ..pages import DECODERS, ENCODERS, PARAMETERS, RESPONSES
from . import sbc, spc
from .sbc import *  # noqa: F403
from .spc import *  # noqa: F403

__all__ = sorted([*spc.__all__, *sbc.__all__, "STANDARD"])

#: Every standard command class (what ``catalog.standard_catalog()`` is built from).
STANDARD: tuple[type[Command], ...] = tuple(
    getattr(spc, name, None) or getattr(sbc, name) for name in sorted([*spc.__all__, *sbc.__all__])
)


def _attach() -> None:
    classes = {cls.__name__: cls for cls in STANDARD}
    tables = (
        (DECODERS, "decoder"),
        (ENCODERS, "encoder"),
        (RESPONSES, "response"),
        (PARAMETERS, "parameters"),
    )
    for table, attribute in tables:
        unknown = sorted(set(table) - set(classes))
        if unknown:
            raise ValueError(f"{attribute}s for commands the tables lack: {', '.join(unknown)}")
        for name, function in table.items():
            setattr(classes[name], attribute, function)


_attach()

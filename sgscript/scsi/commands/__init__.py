"""The command catalog: importing this package registers every command class.

``spc`` holds the SPC-5 commands every device type shares; ``sbc`` the SBC-4
block commands and SAT's ATA PASS-THROUGH.  Each class is a table; the engine
in :mod:`sgscript.scsi.cdb` compiles it once and registers it by class name.
Each class gets its data formats here, from the tables of :mod:`sgscript.scsi.pages`
(a decoder or encoder for a command the catalog lacks is an error).
"""

from __future__ import annotations

from ..pages import DECODERS, ENCODERS
from . import sbc, spc
from .sbc import *  # noqa: F403
from .spc import *  # noqa: F403

__all__ = sorted([*spc.__all__, *sbc.__all__])


def _attach() -> None:
    classes = {name: getattr(spc, name, None) or getattr(sbc, name) for name in __all__}
    for table, attribute in ((DECODERS, "decoder"), (ENCODERS, "encoder")):
        unknown = sorted(set(table) - set(classes))
        if unknown:
            raise ValueError(f"{attribute}s for commands the catalog lacks: {', '.join(unknown)}")
        for name, function in table.items():
            setattr(classes[name], attribute, function)


_attach()

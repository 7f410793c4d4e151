"""The command catalog: importing this package registers every command class.

``spc`` holds the SPC-5 commands every device type shares; ``sbc`` the SBC-4
block commands and SAT's ATA PASS-THROUGH.  Each class is a table; the engine
in :mod:`sgscript.scsi.cdb` compiles it once and registers it by class name.
"""

from __future__ import annotations

from . import sbc, spc
from .sbc import *  # noqa: F403
from .spc import *  # noqa: F403

__all__ = sorted([*spc.__all__, *sbc.__all__])

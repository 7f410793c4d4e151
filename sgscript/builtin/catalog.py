"""The SCSI command catalog (SPC-5, SBC-4, SAT), with its decoders and encoders, as a plugin."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..scsi.cdb import Command
from ..scsi.commands import STANDARD

__all__ = ["STANDARD", "sgscript_add_commands"]


@hookimpl
def sgscript_add_commands() -> list[type[Command]]:
    return list(STANDARD)

"""The SCSI command catalog (SPC-5, SBC-4, SAT), with its decoders and encoders, as a plugin."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..scsi import commands
from ..scsi.cdb import Command

__all__ = ["STANDARD", "sgscript_add_commands"]

#: The standard commands, each class carrying its response decoder and parameter encoder.
STANDARD: tuple[type[Command], ...] = tuple(getattr(commands, name) for name in commands.__all__)


@hookimpl
def sgscript_add_commands() -> list[type[Command]]:
    return list(STANDARD)

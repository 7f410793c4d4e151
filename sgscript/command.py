"""The command catalog under the seed library's name: ``command.Read10(lba=0, transfer_length=1)``."""

from .scsi.catalog import catalog, decode_cdb, lookup
from .scsi.cdb import Command
from .scsi.commands import *  # noqa: F403
from .scsi.commands import __all__ as _commands

__all__ = ["Command", "catalog", "decode_cdb", "lookup", *_commands]

"""Pure SCSI: CDB tables, the command catalog, sense data, status codes, errors. No I/O.

The package brings its catalog with it: ``commands`` (the T10 tables, with their
decoders and encoders from ``pages``) is imported here, so the engine in ``cdb``
never reaches up for it.
"""

from . import commands  # noqa: F401  (the standard commands enter the catalog)

"""Pure SCSI: CDB tables, the command catalog, sense data, status codes, errors. No I/O.

``cdb`` is the field-table engine, ``commands`` the T10 tables (with their decoders
and encoders from ``pages``), ``catalog`` a lookup over a list of command classes:
the standard one, or the one a plugin manager built from its plugins.
"""

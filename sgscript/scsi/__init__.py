"""Pure SCSI: CDB tables, the command catalog, sense data, status codes, errors. No I/O."""

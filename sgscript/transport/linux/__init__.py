"""The Linux SCSI generic (sg) transport: the driver interface, its host/driver codes,
sysfs discovery and the block-device holders check.

Nothing here is imported by the portable core (the reactor, ``sim:``) except
``codes``, which is pure data.  ``sg`` opens ``/dev/sg*`` nodes; ``sysfs`` lists
them; ``holders`` says who uses a disk and claims it for a run.
"""

"""Device facts: which field of which answer a ``device.NAME`` condition reads (data only).

The runner asks (``runner/facts.py``); the loader checks names against ``FACT_NAMES``
before anything is sent, so ``device.lbpmee`` is a mistake at its line, not hours into a run.
"""

from __future__ import annotations

__all__ = ["BLOCK_LIMITS", "CAPACITY", "FACT_NAMES", "INQUIRY", "PROVISIONING"]

#: Standard INQUIRY fields kept as facts: (fact, decoded field).
INQUIRY = (
    ("peripheral_device_type", "peripheral_device_type"),
    ("rmb", "rmb"),
    ("version", "version"),
    ("protect", "protect"),
    ("tpgs", "tpgs"),
    ("cmdque", "cmdque"),
    ("hisup", "hisup"),
    ("vendor", "vendor_identification"),
    ("product", "product_identification"),
    ("revision", "product_revision_level"),
)
BLOCK_LIMITS = (
    ("wsnz", "wsnz"),
    ("max_write_same_length", "maximum_write_same_length"),
    ("max_transfer_length", "maximum_transfer_length"),
    ("optimal_transfer_length", "optimal_transfer_length"),
    ("max_unmap_lba_count", "maximum_unmap_lba_count"),
    ("max_unmap_descriptors", "maximum_unmap_block_descriptor_count"),
    ("max_compare_and_write_length", "maximum_compare_and_write_length"),
)
PROVISIONING = (
    ("lbpu", "lbpu"),
    ("lbpws", "lbpws"),
    ("lbpws10", "lbpws10"),
    ("lbprz", "lbprz"),
    ("anc_sup", "anc_sup"),
    ("dp", "dp"),
    ("provisioning_type", "provisioning_type"),
)
CAPACITY = (
    ("lbpme", "lbpme"),
    ("prot_en", "prot_en"),
    ("p_type", "p_type"),
    ("physical_block_exponent", "logical_blocks_per_physical_block_exponent"),
)

#: Every fact a device has (when the device answers what carries it).
FACT_NAMES = frozenset(
    {
        "name",
        "target",
        "block_size",
        "vpd_pages",
        "last_lba",
        "blocks",
        "opcodes",
        "tasks",
        "supports",
        "mode_pages",
        "dpofua",
        "wp",
        "log_pages",
        *(fact for table in (INQUIRY, BLOCK_LIMITS, PROVISIONING, CAPACITY) for fact, _ in table),
    }
)

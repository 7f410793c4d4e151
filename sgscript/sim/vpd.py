"""Vital product data of the simulated disk (SPC-5 7.7, SBC-4 6.6), built once per logical unit.

Every page comes from the catalog's VPD encoders; this module only decides
the values.  Choices a reader may look for:

* 83h carries an NAA 6 designator (``lu.naa``), a T10 vendor ID designator
  and a relative target port designator (port 1).  No target port group
  designator: the disk does not do ALUA (TPGS=0, REPORT TARGET PORT GROUPS is
  not implemented), and SPC-5 ties that designator to ALUA.
* B0h advertises the limits the handlers enforce: WSNZ=1 (WRITE SAME with 0
  blocks is refused rather than writing to the end of a thin disk), the
  maximum transfer, prefetch, unmap and write same lengths from ``LuConfig``.
* B1h: the configured rotation rate, WABEREQ 01b (reads after BLOCK ERASE are GOOD),
  a 2.5-inch form factor, FUAB and VBULS.
* B2h: thin provisioning with LBPU, LBPWS, LBPWS10 and LBPRZ=1 (deallocated
  blocks read as zeros), no anchoring (ANC_SUP=0); a fully provisioned disk
  (``thin=0``) reports provisioning type 0 and none of the bits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..scsi.pages import encode_vpd

if TYPE_CHECKING:
    from .lu import LogicalUnit

__all__ = ["MAX_COMPARE_AND_WRITE", "SUPPORTED_VPD_PAGES", "vpd_page"]

#: Pages INQUIRY with EVPD=1 answers, in the order page 00h lists them.
SUPPORTED_VPD_PAGES = (0x00, 0x80, 0x83, 0x86, 0xB0, 0xB1, 0xB2)

#: MAXIMUM COMPARE AND WRITE LENGTH (blocks) in VPD B0h.
MAX_COMPARE_AND_WRITE = 255

#: NOMINAL FORM FACTOR (SBC-4 table 262): 3 = 2.5 inch.
FORM_FACTOR = 3


def _identification(lu: LogicalUnit) -> list[dict[str, Any]]:
    cfg = lu.config
    vendor_id = cfg.vendor.encode("ascii").ljust(8)[:8] + f"{cfg.product} {lu.serial}".encode()
    return [
        {"code_set": "binary", "association": "logical_unit", "designator_type": "naa",
         "designator": lu.naa},
        {"code_set": "ascii", "association": "logical_unit", "designator_type": "t10_vendor_id",
         "designator": vendor_id},
        {"code_set": "binary", "association": "target_port",
         "designator_type": "relative_target_port", "designator": b"\x00\x00\x00\x01"},
    ]  # fmt: skip


def _values(lu: LogicalUnit, code: int) -> dict[str, Any]:
    cfg = lu.config
    thin = cfg.thin
    granularity = 1 << cfg.physical_block_exponent
    if code == 0x00:
        return {"supported_vpd_page_list": list(SUPPORTED_VPD_PAGES)}
    if code == 0x80:
        return {"product_serial_number": lu.serial}
    if code == 0x83:
        return {"designation_descriptors": _identification(lu)}
    if code == 0x86:
        return {
            "headsup": 1,
            "ordsup": 1,
            "simpsup": 1,
            "v_sup": 1,  # a volatile write cache (caching page WCE)
            "luiclr": 1,  # unit attentions are per I_T nexus
            "rtd_sup": 1,  # MODE SELECT RTD
            "extended_self_test_completion_minutes": 1,
            "maximum_supported_sense_data_length": 252,
            "additional_parameters": bytes(44),  # the page is 64 bytes long
        }
    if code == 0xB0:
        return {
            "wsnz": int(cfg.wsnz),
            "maximum_compare_and_write_length": MAX_COMPARE_AND_WRITE,
            "optimal_transfer_length_granularity": granularity,
            "maximum_transfer_length": cfg.max_transfer_blocks,
            "optimal_transfer_length": min(cfg.max_transfer_blocks, 256),
            "maximum_prefetch_length": cfg.max_transfer_blocks,
            "maximum_unmap_lba_count": cfg.max_unmap_blocks if thin else 0,
            "maximum_unmap_block_descriptor_count": cfg.max_unmap_descriptors if thin else 0,
            "optimal_unmap_granularity": granularity if thin else 0,
            "ugavalid": int(thin),
            "maximum_write_same_length": cfg.max_write_same_blocks,
            "maximum_atomic_transfer_length": cfg.max_atomic_blocks,
            "atomic_alignment": cfg.atomic_alignment if cfg.max_atomic_blocks else 0,
            "atomic_transfer_length_granularity": (
                cfg.atomic_granularity if cfg.max_atomic_blocks else 0
            ),
        }
    if code == 0xB1:
        return {
            "medium_rotation_rate": cfg.rotation_rate,
            "wabereq": 1,  # a read after BLOCK ERASE is GOOD (deallocated blocks)
            "nominal_form_factor": FORM_FACTOR,
            "fuab": 1,
            "vbuls": 1,
        }
    if code == 0xB2:
        return {
            "lbpu": int(thin),
            "lbpws": int(thin),
            "lbpws10": int(thin),
            "lbprz": int(thin),
            "provisioning_type": "thin_provisioned" if thin else "fully_provisioned",
        }
    raise KeyError(code)


def vpd_page(lu: LogicalUnit, code: int) -> bytes | None:
    """The VPD page ``code`` of ``lu`` (None when the disk has no such page)."""
    cache: dict[int, bytes] = lu.state.setdefault("vpd", {})
    page = cache.get(code)
    if page is None:
        if code not in SUPPORTED_VPD_PAGES:
            return None
        page = cache[code] = encode_vpd({"page_code": code, **_values(lu, code)})
    return page

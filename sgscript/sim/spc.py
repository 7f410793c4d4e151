"""SPC-5 commands of the simulated disk: identification, sense, LUN inventory."""

from __future__ import annotations

from ..scsi.pages import encode_report_luns, encode_standard_inquiry
from .core import Request
from .lu import LogicalUnit, handles


@handles("Inquiry")
def inquiry(lu: LogicalUnit, req: Request) -> bytes:
    if req.f("evpd"):
        raise req.invalid("evpd")
    if req.f("page_code"):
        raise req.invalid("page_code")
    cfg = lu.config
    return encode_standard_inquiry(
        {
            "peripheral_device_type": 0,
            "rmb": int(cfg.removable),
            "version": 7,  # SPC-5
            "response_data_format": 2,
            "hisup": 1,
            "cmdque": 1,
            "vendor_identification": cfg.vendor,
            "product_identification": cfg.product,
            "product_revision_level": cfg.revision,
        }
    )


@handles("ReportLuns")
def report_luns(lu: LogicalUnit, req: Request) -> bytes:
    target = getattr(lu, "target", None)
    luns = sorted(target.luns) if target is not None else [lu.lun]
    return encode_report_luns(luns)

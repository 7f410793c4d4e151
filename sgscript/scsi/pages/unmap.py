"""The UNMAP parameter list (SBC-4 5.32.2): block descriptors of (LBA, number of blocks)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..cdb import F, Layout
from ..errors import FieldValueError
from ..shapes import Items, record
from ._common import Data, as_bytes, pack, unpack

__all__ = ["UNMAP_PARAMETERS", "decode_unmap_parameters", "encode_unmap_parameters"]

HEADER = Layout(
    "UNMAP parameter list header",
    8,
    [
        F("unmap_data_length", 0, 7, 16),
        F("unmap_block_descriptor_data_length", 2, 7, 16),
    ],
)
BLOCK_DESCRIPTOR = Layout(
    "UNMAP block descriptor",
    16,
    [
        F("logical_block_address", 0, 7, 64),
        F("number_of_logical_blocks", 8, 7, 32),
    ],
)
#: The two length fields are 16 bits wide and count from bytes 2 and 8.
MAX_DESCRIPTORS = (0xFFFF - 6) // 16

#: What ``encode_unmap_parameters`` takes (the header's lengths are computed).
UNMAP_PARAMETERS = record(
    "UNMAP parameter list",
    {
        "unmap_block_descriptors": Items(
            record(BLOCK_DESCRIPTOR.name, BLOCK_DESCRIPTOR), most=MAX_DESCRIPTORS
        )
    },
)


def _descriptor(item: Any) -> Mapping[str, Any]:
    if isinstance(item, Mapping):
        return item
    try:
        lba, count = item
    except (TypeError, ValueError) as exc:
        raise FieldValueError(f"an UNMAP block descriptor is (lba, count), got {item!r}") from exc
    return {"logical_block_address": lba, "number_of_logical_blocks": count}


def encode_unmap_parameters(descriptors: Iterable[Any] | Mapping[str, Any]) -> bytes:
    """An UNMAP parameter list from (lba, count) pairs, descriptor dicts, or a decoded list."""
    if isinstance(descriptors, Mapping):
        descriptors = descriptors.get("unmap_block_descriptors", ())
    items = [_descriptor(d) for d in descriptors]
    if len(items) > MAX_DESCRIPTORS:
        raise FieldValueError(
            f"at most {MAX_DESCRIPTORS} UNMAP block descriptors fit, got {len(items)}"
        )
    body = b"".join(pack(BLOCK_DESCRIPTOR, d) for d in items)
    header = HEADER.encode(
        {"unmap_data_length": len(body) + 6, "unmap_block_descriptor_data_length": len(body)}
    )
    return header + body


def decode_unmap_parameters(data: Data) -> dict[str, Any]:
    """An UNMAP parameter list (what a simulated device receives): the whole descriptors."""
    raw = as_bytes(data)
    out = unpack(HEADER, raw)
    length = out.get("unmap_block_descriptor_data_length")
    if length is None:
        return {**out, "truncated": True} if raw else out
    end = min(8 + length, len(raw))
    out["unmap_block_descriptors"] = [
        unpack(BLOCK_DESCRIPTOR, raw, k) for k in range(8, end - 15, 16)
    ]
    if 8 + length > len(raw) or (end - 8) % 16:
        out["truncated"] = True
    return out

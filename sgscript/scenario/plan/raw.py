"""Raw ``cdb:`` steps: bytes as written, sent as they are (the escape hatch)."""

from __future__ import annotations

from typing import Any

from ...scsi.catalog import Catalog
from ...scsi.cdb import Command, Direction

__all__ = ["RawCommand"]


class RawCommand(Command):
    """A ``cdb:`` step: bytes as written, sent as they are (the escape hatch).

    The direction comes from the step (``data_in:`` → in, ``data:`` → out); the
    response decodes through the catalog command the CDB identifies, if any, so
    ``save:`` works on a raw INQUIRY too.
    """

    opcode = 0
    length = 1
    __slots__ = ("_catalog", "_raw")

    def __init__(self, raw: bytes, catalog: Catalog, **options: Any) -> None:
        super().__init__(**options)
        self._raw = bytes(raw)
        self._catalog = catalog

    @classmethod
    def build(
        cls,
        raw: bytes,
        catalog: Catalog,
        *,
        data_in: int | None = None,
        data: bytes | None = None,
        **options: Any,
    ) -> RawCommand:
        if data is not None:
            return _RawOut(raw, catalog, data=data, **options)
        if data_in:
            return _RawIn(raw, catalog, data_in=data_in, **options)
        return _RawNone(raw, catalog, **options)

    @property
    def cdb(self) -> bytes:
        return self._raw

    def bind(self, block_size: int) -> bytes:
        return self._raw

    def decode_response(self, data: bytes) -> dict[str, Any]:
        cls = self._catalog.identify(self._raw)
        if cls is None or len(self._raw) < cls.length:
            return {}
        try:
            return self._catalog.decode_cdb(self._raw).decode_response(data)
        except ValueError:
            return {}

    def field_values(self) -> dict[str, int]:
        return {}

    def as_catalog(self) -> Command | None:
        """The catalog command these bytes are (fields decoded), or None: what judging an
        answer by its fields (``optional:``'s "not supported") needs of a raw CDB."""
        cls = self._catalog.identify(self._raw)
        if cls is None or len(self._raw) < cls.length:
            return None
        try:
            return self._catalog.decode_cdb(self._raw)
        except ValueError:
            return None

    def describe(self) -> str:
        return f"cdb({self._raw.hex(' ')})"


class _RawNone(RawCommand):
    direction = Direction.NONE


class _RawIn(RawCommand):
    direction = Direction.IN


class _RawOut(RawCommand):
    direction = Direction.OUT

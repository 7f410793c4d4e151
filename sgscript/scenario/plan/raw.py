"""Raw ``cdb:`` steps: bytes as written, sent as they are (the escape hatch)."""

from __future__ import annotations

from typing import Any

from ...scsi.cdb import Command, Direction, identify

__all__ = ["RawCommand"]


class RawCommand(Command, register=False):
    """A ``cdb:`` step: bytes as written, sent as they are (the escape hatch).

    The direction comes from the step (``data_in:`` → in, ``data:`` → out); the
    response decodes through the catalog command the CDB identifies, if any, so
    ``save:`` works on a raw INQUIRY too.
    """

    opcode = 0
    length = 1
    __slots__ = ("_raw",)

    def __init__(self, raw: bytes, **options: Any) -> None:
        super().__init__(**options)
        self._raw = bytes(raw)

    @classmethod
    def build(
        cls, raw: bytes, *, data_in: int | None = None, data: bytes | None = None, **options: Any
    ) -> RawCommand:
        if data is not None:
            return _RawOut(raw, data=data, **options)
        if data_in:
            return _RawIn(raw, data_in=data_in, **options)
        return _RawNone(raw, **options)

    @property
    def cdb(self) -> bytes:
        return self._raw

    def bind(self, block_size: int) -> bytes:
        return self._raw

    def decode_response(self, data: bytes) -> dict[str, Any]:
        cls = identify(self._raw)
        if cls is None or len(self._raw) < cls.length:
            return {}
        from ...scsi.cdb import decode_cdb

        try:
            return decode_cdb(self._raw).decode_response(data)
        except ValueError:
            return {}

    def field_values(self) -> dict[str, int]:
        return {}

    def describe(self) -> str:
        return f"cdb({self._raw.hex(' ')})"


class _RawNone(RawCommand, register=False):
    direction = Direction.NONE


class _RawIn(RawCommand, register=False):
    direction = Direction.IN


class _RawOut(RawCommand, register=False):
    direction = Direction.OUT

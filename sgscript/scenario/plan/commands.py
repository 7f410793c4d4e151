"""One step's ``Command`` objects, built lazily: what draws nothing is built once."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from typing import Any

from ...limits import (
    MAX_TRANSFER,
)
from ...scsi.catalog import Catalog
from ...scsi.cdb import ALIASES, Command, Direction, Template
from ...scsi.errors import UsageError
from ..model import DataSource, Step
from .raw import RawCommand
from .steps import Env
from .values import _DATA_KEYS, _as_int, _bounds, _resolve, _transfer, has_random, uses_index

__all__: list[str] = []


class _Maker:
    """Builds one step's commands; what draws nothing is evaluated once."""

    def __init__(
        self,
        step: Step,
        env: Env,
        rng: random.Random,
        seed: int,
        base_dir: str,
        max_transfer: int = MAX_TRANSFER,
        *,
        catalog: Catalog,
        checking: bool = False,
        index_varies: bool = False,
    ) -> None:
        self.catalog = catalog
        self.max_transfer = max_transfer
        self.checking = checking  # Plan.check: sizes and fields only, no data built
        self.env = env
        self.rng = rng
        self.seed = seed
        self.base_dir = base_dir
        self.block_size = env.block_size
        vars_ = env.vars
        self.options: dict[str, Any] = {}
        if step.timeout is not None:
            self.options["timeout"] = step.timeout
        self.data: DataSource | None = step.data
        self.data_values: dict[str, Any] = {}
        #: Data-out known whole before the command is built: a parameter list encoded
        #: from its fields, or ``hex`` with ``${...}`` (text, or bytes saved from a read).
        self.literal: bytes | None = None
        if step.data is not None:
            for key in _DATA_KEYS:
                value = getattr(step.data, key)
                if value is not None and key != "file" and (key != "hex" or "$" in value):
                    value = _resolve(value, vars_, rng)
                self.data_values[key] = value
            hex_value = self.data_values.get("hex")
            if isinstance(hex_value, bytes | bytearray):
                self.literal = bytes(hex_value)
            elif hex_value is not None and step.data.hex is not None and "$" in step.data.hex:
                from ..patterns import parse_hex

                self.literal = parse_hex(str(hex_value), "")
            if self.literal is not None and not self.literal:
                raise UsageError("data hex is empty")
        self.raw: bytes | None = None
        self.cls: type[Command] | None = None
        self.fixed: dict[str, Any] = {}
        #: (field, value, (lo, hi) when it is a plain random draw with fixed bounds)
        self.varying: list[tuple[str, Any, tuple[int, int] | None]] = []
        if step.cdb is not None:
            text = _resolve(step.cdb, vars_, rng)
            try:
                self.raw = bytes.fromhex(str(text).replace(":", " ").replace(",", " "))
            except ValueError:
                raise UsageError(f"cdb {text!r} is not hex bytes") from None
            if not self.raw:
                raise UsageError("cdb is empty")
            if step.data_in is not None:
                self.options["data_in"] = self._data_in(_resolve(step.data_in, vars_, rng))
        else:
            if step.command is None:
                raise UsageError(f"step {step.name!r} names no command")
            self.cls = catalog.lookup(step.command)
            parameters = self.data_values.get("parameters")
            if parameters is not None:
                self.literal = self.cls.encode_parameters(_merged(parameters))
            for key, value in step.fields.items():
                if index_varies and uses_index(value):  # resolved per command, index and all
                    self.varying.append((key, value, None))
                elif has_random(value):
                    self.varying.append((key, value, _bounds(value, vars_, rng)))
                else:
                    self.fixed[key] = _resolve(value, vars_, rng)
            if step.data_in is not None:
                self.options["data_in"] = self._data_in(_resolve(step.data_in, vars_, rng))
        self.varies = bool(self.varying)
        self._template: Template | None = None

    def _data_in(self, value: Any) -> int:
        return _transfer("data_in", _as_int("data_in", value), self.max_transfer)

    def extremes(self) -> Iterator[Command]:
        """The commands at the ends of every ``{random: [lo, hi]}`` range (else one command)."""
        if self.raw is not None or not any(b for _, _, b in self.varying):
            yield self()
            return
        assert self.cls is not None
        for end in (0, 1):
            kwargs = dict(self.fixed)
            for key, value, bounds in self.varying:
                kwargs[key] = bounds[end] if bounds else _resolve(value, self.env.vars, self.rng)
            yield self._build(kwargs)

    def __call__(self) -> Command:
        if self.raw is not None:
            return self._raw()
        assert self.cls is not None
        kwargs = {} if self.data is None and self.varying else dict(self.fixed)
        rng = self.rng
        for key, value, bounds in self.varying:
            if bounds is not None:  # the same draw resolve() makes, without re-evaluating
                kwargs[key] = rng.randint(*bounds)
            else:
                kwargs[key] = _resolve(value, self.env.vars, rng)
        if self.data is None and self.varying:
            return self._patched(kwargs)
        return self._build(kwargs)

    def _patched(self, changing: dict[str, Any]) -> Command:
        """A stream of one command whose fields change: the fixed fields checked and encoded
        once (a ``Template``), each command's changing values checked and patched in."""
        template = self._template
        if template is None:
            assert self.cls is not None
            names = [key for key, _, _ in self.varying]
            template = self._template = Template(self.cls, self.fixed, names, **self.options)
            if not template.size_changes:
                _transfer(
                    f"{self.cls.__name__}'s data",
                    template.make(changing).data_length(self.block_size),
                    self.max_transfer,
                )
        command = template.make(changing)
        if template.size_changes:
            _transfer(
                f"{template.cls.__name__}'s data",
                command.data_length(self.block_size),
                self.max_transfer,
            )
        return command

    def _build(self, kwargs: dict[str, Any]) -> Command:
        assert self.cls is not None
        if self.data is None:
            command = self.cls(**kwargs, **self.options)
            _transfer(
                f"{self.cls.__name__}'s data",
                command.data_length(self.block_size),
                self.max_transfer,
            )
            return command
        lba = kwargs.get("lba", kwargs.get("logical_block_address", 0))
        length = self.data_values.get("length")
        if length is not None:  # the data's size decides; missing length fields follow it
            data = self._make_data(_as_int("lba", lba), _as_int("data length", length))
            return self.cls(**kwargs, data=data, **self.options)
        command = self.cls(**kwargs, **self.options)
        if command.direction is not Direction.OUT:
            raise UsageError(
                f"{self.cls.__name__} sends no data (data: is for data-out commands;"
                " check data-in with expect: {data: ...})"
            )
        size = _transfer(
            f"{self.cls.__name__}'s data", command.data_length(self.block_size), self.max_transfer
        )
        natural = self._natural_length()
        if size == 0 and natural:
            # MODE SELECT/UNMAP with hex or a file and no length field: the data's own
            # size decides, and the command's PARAMETER LIST LENGTH follows it.
            data = self._make_data(_as_int("lba", lba), natural)
            return self.cls(**kwargs, data=data, **self.options)
        command.options.data = self._make_data(
            int(command.values.get("logical_block_address", 0)), size
        )
        return command

    def _natural_length(self) -> int | None:
        """The size of a literal (``hex``, a parameter list) or ``file`` data source (from
        its ``offset``); None for a pattern."""
        if self.literal is not None:
            return len(self.literal)
        if self.data_values.get("hex") is not None:
            from ..patterns import parse_hex

            return len(parse_hex(self.data_values["hex"], ""))
        if self.data_values.get("file") is not None:
            size = _file_size(self.base_dir, self.data_values["file"])
            offset = self.data_values.get("offset") or 0
            return max(0, size - _as_int("data offset", offset))
        return None

    def _raw(self) -> Command:
        assert self.raw is not None
        if self.data is None:
            return RawCommand.build(self.raw, self.catalog, **self.options)
        length = self.data_values.get("length")
        if length is None:  # the literal's own size; a pattern has none
            length = self._natural_length()
            if length is None:
                raise UsageError("a raw cdb with a data pattern needs data length: N")
        data = self._make_data(0, _as_int("data length", length))
        return RawCommand.build(self.raw, self.catalog, data=data, **self.options)

    def _make_data(self, lba: int, length: int) -> bytes:
        from ..patterns import make_data  # the verify engineer's patterns: one definition

        _transfer("data", length, self.max_transfer)
        if self.checking:  # the size is checked; one block is enough to check the pattern's values
            length = min(length, self.block_size)
        if self.literal is not None:  # repeated to fill, cut at the size, as hex is
            whole = self.literal * (length // len(self.literal) + 1)
            return whole[:length]

        spec = DataSource(**self.data_values, mark=self.data.mark if self.data else None)
        return make_data(
            spec,
            lba=lba,
            length=length,
            block_size=self.block_size,
            seed=self.seed,  # the spec's own seed wins inside make_data
            base_dir=self.base_dir,
        )


def _merged(value: Any) -> Any:
    """A parameter list's values with every ``{from: SAVED, field: ...}`` laid over what
    it names (read-modify-write of a saved page or descriptor), short names (``lba``)
    spelt out."""
    if isinstance(value, dict):
        out = {ALIASES.get(k, k): _merged(v) for k, v in value.items() if k != "from"}
        if "from" in value:
            base = value["from"]
            if not isinstance(base, dict):
                raise UsageError(f"from: needs a saved mapping (a page, a descriptor), got {base!r}")
            out = {**base, **out}
        return out
    if isinstance(value, list | tuple):
        return [_merged(v) for v in value]
    return value


def _file_size(base_dir: str, name: str) -> int:
    try:
        return os.path.getsize(os.path.join(base_dir, os.path.expanduser(name)))
    except OSError as exc:
        raise UsageError(f"data file {name!r}: {exc.strerror or exc}") from None

"""The field-table engine: T10 tables (name, byte, bit, width) compiled to encoders and decoders.

A layout is declared the way the standards draw it: each field names the byte
holding its most significant bit, that bit's position (7..0) and its width in
bits; a multi-byte field runs big-endian from there. The same engine serves
CDBs (``Command``) and the fixed parts of parameter data (``Layout``).

Each layout is compiled once, into (shift, mask) pairs over one big-endian
integer, so encoding a CDB is a handful of integer operations.
"""

from __future__ import annotations

import difflib
import enum
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import shapes
from .errors import FieldValueError, UnknownFieldError

__all__ = [
    "ALIASES",
    "Blocks",
    "ByFields",
    "Bytes",
    "Command",
    "Decoder",
    "Direction",
    "Encoder",
    "Field",
    "Layout",
    "NoData",
    "Template",
    "Transfer",
    "fixed_service_action",
]

#: Short names accepted everywhere for the T10 field names.
ALIASES: dict[str, str] = {
    "lba": "logical_block_address",
    "sa": "service_action",
    "byt_blok": "byte_block",  # SAT-2's name of ATA PASS-THROUGH's BYTE_BLOCK
}


class Direction(enum.Enum):
    """Which way the data phase goes, seen from the initiator."""

    NONE = "none"
    IN = "in"  # from the device
    OUT = "out"  # to the device


@dataclass(frozen=True, slots=True)
class Field:
    """One row of a T10 table.

    ``byte``/``bit`` locate the field's most significant bit; ``width`` is in
    bits.  ``values`` gives symbolic names for coded values (service actions,
    page controls); ``fixed`` marks constants that identify the command and
    cannot be overridden.
    """

    name: str
    byte: int
    bit: int
    width: int
    default: int = 0
    values: Mapping[str, int] | None = None
    fixed: bool = False
    title: str = ""

    @property
    def label(self) -> str:
        """The name as the standard prints it (``TRANSFER LENGTH``)."""
        return self.title or self.name.replace("_", " ").upper()

    @property
    def maximum(self) -> int:
        return (1 << self.width) - 1

    def name_of(self, value: int) -> str | None:
        """The symbolic name of a coded value, when it has one."""
        if self.values:
            for key, val in self.values.items():
                if val == value:
                    return key
        return None


def F(
    name: str,
    byte: int,
    bit: int = 7,
    width: int = 8,
    default: int = 0,
    *,
    values: Mapping[str, int] | None = None,
    fixed: bool = False,
    title: str = "",
) -> Field:
    """Shorthand for a table row: ``F("transfer_length", 7, 7, 16)``."""
    return Field(name, byte, bit, width, default, values, fixed, title)


@dataclass(frozen=True, slots=True)
class _Slot:
    field: Field
    shift: int
    mask: int


class Layout:
    """A compiled table of fields over a fixed number of bytes."""

    __slots__ = ("_unpack", "by_name", "fields", "length", "name", "slots")

    def __init__(self, name: str, length: int, fields: Iterable[Field]) -> None:
        self.name = name
        self.length = length
        self.fields: tuple[Field, ...] = tuple(fields)
        self.slots: tuple[_Slot, ...] = tuple(self._compile(f) for f in self.fields)
        self.by_name: dict[str, _Slot] = {s.field.name: s for s in self.slots}
        if len(self.by_name) != len(self.slots):
            raise ValueError(f"{name}: duplicate field names")
        self._unpack = tuple((s.field.name, s.shift, s.mask) for s in self.slots)

    def _compile(self, f: Field) -> _Slot:
        msb = f.byte * 8 + (7 - f.bit)
        lsb = msb + f.width - 1
        if not (0 <= f.bit <= 7) or f.width < 1 or lsb >= self.length * 8:
            raise ValueError(f"{self.name}: field {f.name} does not fit {self.length} bytes")
        return _Slot(f, self.length * 8 - 1 - lsb, (1 << f.width) - 1)

    def canonical(self, key: str) -> str:
        """Resolve an alias; raise with a suggestion for unknown names."""
        if key in self.by_name:
            return key
        alias = ALIASES.get(key)
        if alias in self.by_name:
            return alias  # type: ignore[return-value]
        names = [s.field.name for s in self.slots if not s.field.fixed]
        near = difflib.get_close_matches(key, names + list(ALIASES), n=3)
        raise UnknownFieldError(self.name, key, near)

    def coerce(self, key: str, value: Any) -> int:
        """Range-check one value (symbolic names allowed) for field ``key``."""
        f = self.by_name[key].field
        if isinstance(value, str) and f.values is not None:
            code = f.values.get(value.lower().replace("-", "_").replace(" ", "_"))
            if code is None:
                raise FieldValueError(
                    f"{key}={value!r} is not one of {self.name}'s {f.label} values: "
                    + ", ".join(f.values)
                )
            return code
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int):
            raise FieldValueError(f"{key}={value!r} is not an integer ({self.name} {f.label})")
        if value < 0 or value > f.maximum:
            raise FieldValueError(
                f"{key}={value} does not fit {self.name}'s {f.width}-bit {f.label} (0..{f.maximum})"
            )
        return value

    def encode(self, values: Mapping[str, int]) -> bytes:
        """Pack already-coerced values; missing fields take their defaults."""
        acc = 0
        for s in self.slots:
            acc |= (values.get(s.field.name, s.field.default) & s.mask) << s.shift
        return acc.to_bytes(self.length, "big")

    def decode(self, raw: bytes | bytearray | memoryview, offset: int = 0) -> dict[str, int]:
        """Unpack every field that lies wholly inside ``raw`` (truncation-tolerant)."""
        if offset == 0 and len(raw) >= self.length:  # the common, whole case: no bounds checks
            acc = int.from_bytes(raw[: self.length], "big")
            return {name: (acc >> shift) & mask for name, shift, mask in self._unpack}
        avail = min(self.length, max(0, len(raw) - offset))
        chunk = bytes(raw[offset : offset + avail]).ljust(self.length, b"\0")
        acc = int.from_bytes(chunk, "big")
        out: dict[str, int] = {}
        for s in self.slots:
            f = s.field
            if (f.byte * 8 + (7 - f.bit) + f.width + 7) // 8 <= avail:
                out[f.name] = (acc >> s.shift) & s.mask
        return out


class ByFields:
    """A data direction the fields decide, command by command (ATA PASS-THROUGH's PROTOCOL,
    T_LENGTH and T_DIR), declared as ``direction = ByFields(rule)``.

    Read on a command it is that command's direction; read on the class, the direction of
    the all-defaults command. ``possible`` is what the rule can give: what a spec may do
    with the class before its fields are known (check its data-in, ``save:``, send data).
    """

    __slots__ = ("possible", "rule")

    def __init__(
        self,
        rule: Callable[[Mapping[str, int]], Direction],
        possible: Iterable[Direction] = tuple(Direction),
    ) -> None:
        self.rule = rule
        self.possible = frozenset(possible)

    def __get__(self, obj: Any, owner: type | None = None) -> Direction:
        if obj is None:
            return self.rule(getattr(owner, "nonzero_defaults", {}))
        return self.rule({**obj.nonzero_defaults, **obj.values})


# ---------------------------------------------------------------- transfers


class Transfer(ABC):
    """How many data bytes a command moves, from its fields and the block size."""

    #: Whether the size depends on the logical block size (the channel then learns it).
    uses_block_size: ClassVar[bool] = True

    @abstractmethod
    def size(self, values: Mapping[str, int], block_size: int) -> int:
        """Bytes in the data phase."""

    def infer(  # noqa: B027 - a no-op by default: most sizes cannot be inferred
        self, values: dict[str, int], nbytes: int, block_size: int
    ) -> None:
        """Fill the length field from a data-out buffer the caller supplied."""


@dataclass(frozen=True)
class NoData(Transfer):
    uses_block_size = False

    def size(self, values: Mapping[str, int], block_size: int) -> int:
        return 0


@dataclass(frozen=True)
class Bytes(Transfer):
    """The length field counts bytes (ALLOCATION LENGTH, PARAMETER LIST LENGTH)."""

    field: str
    scale: int = 1
    uses_block_size = False

    def size(self, values: Mapping[str, int], block_size: int) -> int:
        return values.get(self.field, 0) * self.scale

    def infer(self, values: dict[str, int], nbytes: int, block_size: int) -> None:
        values.setdefault(self.field, nbytes // self.scale)


@dataclass(frozen=True)
class Blocks(Transfer):
    """The length field counts logical blocks; ``zero`` is what 0 means (256 for READ(6))."""

    field: str
    zero: int = 0
    factor: int = 1

    def size(self, values: Mapping[str, int], block_size: int) -> int:
        n = values.get(self.field, 0) or self.zero
        return n * block_size * self.factor

    def infer(self, values: dict[str, int], nbytes: int, block_size: int) -> None:
        if self.field in values:
            return
        unit = block_size * self.factor
        if nbytes % unit:
            raise FieldValueError(
                f"{nbytes} bytes of data are not a whole number of {unit}-byte blocks"
            )
        n = nbytes // unit
        values[self.field] = 0 if self.zero and n == self.zero else n


@dataclass(frozen=True)
class Computed(Transfer):
    """Escape hatch for commands whose size rule is not a single field."""

    rule: Callable[[Mapping[str, int], int], int]
    doc: str = ""
    uses_block_size: bool = True  # type: ignore[misc]  # per rule, not per class

    def size(self, values: Mapping[str, int], block_size: int) -> int:
        return self.rule(values, block_size)


# ------------------------------------------------------------------ commands

#: A response decoder: the command (for its field values) and the data-in bytes -> fields.
Decoder = Callable[["Command", bytes], dict[str, Any]]
#: A parameter-list encoder: fields (a decoded dict goes straight back in) -> data-out bytes.
Encoder = Callable[[Mapping[str, Any]], bytes]

_RESERVED_KWARGS = frozenset(
    {"data", "timeout", "verify_handler", "handlers", "block_size", "data_in"}
)


@dataclass(slots=True, eq=False)
class _Options:
    data: bytes | None = None
    timeout: float | None = None
    verify_handler: Callable[..., Any] | None = None
    handlers: list[Callable[..., Any]] = field(default_factory=list)
    block_size: int | None = None
    data_in: int | None = None


class Command:
    """A SCSI command: one instance is one CDB plus what to send and how to judge it.

    Subclasses are tables: ``opcode``, ``length``, ``fields``, ``direction``,
    ``transfer``.  The class compiles its layout once, when it is defined; it enters
    a ``Catalog`` only when one is built with it (the standard tables, or what a
    plugin manager's ``sgscript_add_commands`` returned).
    """

    opcode: ClassVar[int]
    length: ClassVar[int]
    fields: ClassVar[tuple[Field, ...]] = ()
    direction: ClassVar[Direction] = Direction.NONE
    #: Every direction a command of this class may have: ``{direction}``, or what a
    #: ``ByFields`` direction's rule can give.
    directions: ClassVar[frozenset[Direction]] = frozenset({Direction.NONE})
    transfer: ClassVar[Transfer] = NoData()
    title: ClassVar[str] = ""
    standard: ClassVar[str] = ""
    #: Writes or erases medium contents: gated on real devices.
    changes_media: ClassVar[bool] = False
    #: Changes device state other than medium (reservations, mode, power).
    changes_state: ClassVar[bool] = False
    layout: ClassVar[Layout]
    #: Settable fields whose default is not 0 (``values`` holds only what was set).
    nonzero_defaults: ClassVar[dict[str, int]] = {}
    #: Decodes this command's data-in (``decode_response``); None: the response has no fields.
    decoder: ClassVar[Decoder | None] = None
    #: Encodes this command's parameter list (``encode_parameters``); None: it has none.
    encoder: ClassVar[Encoder | None] = None
    #: What ``decoder`` returns, declared beside it (``shapes``); None: not declared.
    response: ClassVar[shapes.Shape | None] = None
    #: What ``encoder`` takes, declared beside it; None: not declared.
    parameters: ClassVar[shapes.Shape | None] = None

    __slots__ = ("_bound", "_cdb", "_given", "options", "values")

    def __init_subclass__(cls, register: bool = False, **kw: Any) -> None:
        # ``register`` is accepted, and ignored, for plugins written when classes
        # entered a process-wide catalog on definition (``register=False`` opted out).
        super().__init_subclass__(**kw)
        # A shape describes one decoder (encoder): a class bringing its own without one
        # has none, rather than its base class's.
        own = cls.__dict__
        if ("decoder" in own or "decode_response" in own) and "response" not in own:
            cls.response = None
        if "encoder" in own and "parameters" not in own:
            cls.parameters = None
        if "opcode" not in cls.__dict__:
            return  # an abstract intermediate
        table = (F("operation_code", 0, 7, 8, cls.opcode, fixed=True), *cls.fields)
        cls.layout = Layout(cls.__name__, cls.length, table)
        cls.nonzero_defaults = {f.name: f.default for f in cls.fields if f.default and not f.fixed}
        declared = inspect.getattr_static(cls, "direction")
        cls.directions = (
            declared.possible if isinstance(declared, ByFields) else frozenset({declared})
        )

    def __init__(self, **kwargs: Any) -> None:
        opts = _Options()
        values: dict[str, int] = {}
        layout = self.layout
        for key, value in kwargs.items():
            if key in _RESERVED_KWARGS:
                if key == "data" and value is not None:
                    value = value.encode() if isinstance(value, str) else bytes(value)
                if key == "handlers":
                    value = list(value)
                setattr(opts, key, value)
                continue
            name = layout.canonical(key)
            if layout.by_name[name].field.fixed:
                raise FieldValueError(f"{type(self).__name__}: {name} is fixed by the command")
            values[name] = layout.coerce(name, value)
        self.options = opts
        self.values = values
        self._cdb: bytes | None = None
        self._given: dict[str, int] | None = None
        self._bound = 0
        if opts.data is not None:
            self._given = dict(values)
            self._infer(opts.block_size or 512)

    def _infer(self, block_size: int) -> None:
        assert self._given is not None and self.options.data is not None
        values = dict(self._given)
        self.transfer.infer(values, len(self.options.data), block_size)
        self.values = {name: self.layout.coerce(name, v) for name, v in values.items()}
        self._bound = block_size
        self._cdb = None

    def bind(self, block_size: int) -> bytes:
        """The CDB for a device with ``block_size``-byte blocks.

        Lengths inferred from a data-out buffer depend on the block size, which
        only the channel knows; lengths the caller gave are never touched.
        """
        if self._given is not None and block_size != self._bound and not self.options.block_size:
            self._infer(block_size)
        return self.cdb

    @property
    def infers_length(self) -> bool:
        """True when a length field is derived from the data-out buffer."""
        return self._given is not None and len(self._given) != len(self.values)

    # -- the CDB -----------------------------------------------------------

    @property
    def cdb(self) -> bytes:
        cdb = self._cdb
        if cdb is None:
            cdb = self._cdb = self.layout.encode(self.values)
        return cdb

    def __getattr__(self, name: str) -> Any:
        # Field values read as attributes: ``cmd.transfer_length``.
        layout = type(self).layout
        key = ALIASES.get(name, name)
        slot = layout.by_name.get(key)
        if slot is None:
            raise AttributeError(name)
        return self.values.get(key, slot.field.default)

    def field_values(self) -> dict[str, int]:
        """Every field, defaults included, in table order."""
        return {
            s.field.name: self.values.get(s.field.name, s.field.default) for s in self.layout.slots
        }

    # -- the data phase ------------------------------------------------------

    @property
    def data(self) -> bytes | None:
        return self.options.data

    @property
    def timeout(self) -> float | None:
        return self.options.timeout

    def data_length(self, block_size: int = 512) -> int:
        """Bytes moved in the data phase; ``data_in=`` overrides for data-in commands."""
        if self.direction is Direction.NONE:
            return 0
        if self.direction is Direction.OUT and self.options.data is not None:
            return len(self.options.data)
        if self.options.data_in is not None:
            return self.options.data_in
        values = self.values
        if self.nonzero_defaults:
            values = {**self.nonzero_defaults, **values}
        return self.transfer.size(values, self.options.block_size or block_size)

    def decode_response(self, data: bytes) -> dict[str, Any]:
        """Decoded data-in as named fields (empty when the response has no decoder)."""
        decoder = type(self).decoder
        return {} if decoder is None else decoder(self, bytes(data))

    @classmethod
    def encode_parameters(cls, values: Mapping[str, Any]) -> bytes:
        """The parameter list (data-out) for ``values``, range-checked by the encoder."""
        if cls.encoder is None:
            raise FieldValueError(f"{cls.__name__} has no parameter list to encode")
        return cls.encoder(values)

    # -- what the data phases hold -------------------------------------------

    @classmethod
    def response_fields(cls, values: Mapping[str, int | None] | None = None) -> shapes.Shape | None:
        """What ``decode_response`` returns for a CDB with these field ``values``, as a
        ``shapes.Shape``; None when that is not declared (a plugin's decoder without one).

        ``values`` maps field names (aliases too) to values; a field left out has its
        default, one mapped to None is known only at run time (the parts of the response
        it chooses are then ``OPEN``: any name passes). A command without a decoder
        returns no fields (``NO_FIELDS``).
        """
        if cls.response is None:
            plain = cls.decoder is None and cls.decode_response is Command.decode_response
            return shapes.NO_FIELDS if plain else None
        return shapes.resolve(cls.response, cls._choosing(values))

    @classmethod
    def parameter_fields(
        cls, values: Mapping[str, int | None] | None = None
    ) -> shapes.Shape | None:
        """What ``encode_parameters`` takes for these CDB field ``values`` (as
        ``response_fields``); None when the command has no parameter encoder, or declares
        no shape for it."""
        if cls.parameters is None:
            return None
        return shapes.resolve(cls.parameters, cls._choosing(values))

    @classmethod
    def response_path_problem(
        cls, path: str, values: Mapping[str, int | None] | None = None
    ) -> str | None:
        """Why the dotted ``path`` (``expect: {fields:}``, ``save:``) can never be in this
        command's decoded response when its CDB has these field ``values``, in one sentence
        with a did-you-mean; None when it may be, or when the response is not known before
        the run. Where the name is in the response for other CDB values, it says which."""
        shape = cls.response_fields(values)
        if shape is None:
            return None
        subject = cls._subject(values)
        problem = shapes.path_problem(shape, path, subject)
        if problem is None or cls.response is None:
            return problem
        for case in shapes.cases(cls.response, {}, cls._choosing(values)):
            if case.when and shapes.path_problem(case.shape, path, "", strict=True) is None:
                where = case.when_text()
                return f"{subject} has no response field {path!r}: {where} returns it"
        return problem

    @classmethod
    def parameter_path_problem(
        cls, path: str, values: Mapping[str, int | None] | None = None
    ) -> str | None:
        """Why ``path`` can never be a field of this command's parameter list (as
        ``response_path_problem``); None when it may be, or is not known."""
        shape = cls.parameter_fields(values)
        if shape is None:
            return None
        return shapes.path_problem(shape, path, cls.__name__, "parameter list field")

    @classmethod
    def _choosing(cls, values: Mapping[str, int | None] | None) -> dict[str, int | None]:
        chosen: dict[str, int | None] = {f.name: f.default for f in cls.layout.fields}
        for key, value in (values or {}).items():
            chosen[ALIASES.get(key, key)] = value
        return chosen

    @classmethod
    def _subject(cls, values: Mapping[str, int | None] | None) -> str:
        """``Inquiry with evpd=1, page_code=0x83``: the command, and the CDB fields that
        chose its response's shape."""
        if cls.response is None:
            return cls.__name__
        when = shapes.when_text(shapes.chosen_by(cls.response, cls._choosing(values)))
        return f"{cls.__name__} with {when}" if when else cls.__name__

    # -- handlers (the seed library's API) -----------------------------------

    @property
    def verify_handler(self) -> Callable[..., Any] | None:
        return self.options.verify_handler

    @property
    def handlers(self) -> list[Callable[..., Any]]:
        return self.options.handlers

    def add_handler(self, handler: Callable[..., Any]) -> Command:
        """Call ``handler(io)`` when this command completes, after verification."""
        self.options.handlers.append(handler)
        return self

    # -- presentation ----------------------------------------------------------

    def describe(self) -> str:
        """``Read10(lba=0x1000)``: the name and the fields that identify the I/O."""
        shown = []
        for name, value in self.values.items():
            short = "lba" if name == "logical_block_address" else name
            sym = self.layout.by_name[name].field.name_of(value)
            shown.append(f"{short}={sym}" if sym else f"{short}={_num(value)}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __repr__(self) -> str:
        return self.describe()


def _num(value: int) -> str:
    return str(value) if value < 10 else hex(value)


class Template:
    """One command with some fields fixed and others changing per command (a step's stream).

    The fixed fields are checked and encoded once; each ``make`` range-checks only
    the changing values and ORs them into the encoded base, which is what a
    ``Command`` built from all the fields would encode, at a fraction of the cost.
    """

    __slots__ = ("_acc", "_base", "_changing", "cls", "options", "size_changes")

    def __init__(
        self, cls: type[Command], fixed: Mapping[str, Any], changing: Iterable[str], **options: Any
    ) -> None:
        layout = cls.layout
        written = list(changing)
        names = [layout.canonical(key) for key in written]
        proto = cls(**fixed, **dict.fromkeys(names, 0), **options)
        self.cls = cls
        self.options = proto.options
        self._base = {k: v for k, v in proto.values.items() if k not in names}
        self._acc = int.from_bytes(layout.encode(proto.values), "big")
        self._changing = tuple(
            (key, name, layout.by_name[name].shift)
            for key, name in zip(written, names, strict=True)
        )
        transfer = cls.transfer
        #: Whether the data-phase size follows a changing field (then check it per command).
        self.size_changes = (
            isinstance(transfer, Computed) or getattr(transfer, "field", None) in names
        )

    def make(self, changing: Mapping[str, Any]) -> Command:
        """The command with these values for the changing fields (keyed as the template was
        given them; each range-checked)."""
        cls = self.cls
        layout = cls.layout
        acc = self._acc
        values = dict(self._base)
        for key, name, shift in self._changing:
            value = layout.coerce(name, changing[key])
            values[name] = value
            acc |= value << shift
        command = cls.__new__(cls)
        command.options = self.options
        command.values = values
        command._cdb = acc.to_bytes(layout.length, "big")
        command._given = None
        command._bound = 0
        return command


def fixed_service_action(cls: type[Command]) -> int | None:
    """The service action a command class is pinned to (one command of an operation code
    several share: 9Eh/10h READ CAPACITY(16)), or None."""
    slot = cls.layout.by_name.get("service_action")
    return slot.field.default if slot is not None and slot.field.fixed else None

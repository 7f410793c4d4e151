"""The planner: a scenario, its device bindings, a seed and a ``-k`` selection → commands.

``Plan`` decides *what* runs; ``sgscript.run`` decides *when*.  The plan names
every step by its path, picks the seed, applies ``-k``, works out each device's
target string, and turns one step into a lazy stream of ``Command`` objects —
never a list, so a ``repeat: 1000000`` costs the memory of one command.

| step path | what it names |
|---|---|
| ``3`` | the third entry of ``steps:`` (1-based, as people count) |
| ``5.2.1`` | step 5 is ``parallel:``; its second branch; that branch's first step |
| ``finally.1`` | the first entry of ``finally:`` |

Randomness: each step draws from ``random.Random(f"{seed}:{path}")``, so a step's
values depend only on the seed and where the step is — a run replays exactly
with ``--seed``, and ``sgscript plan`` shows the very first command that will be
sent.  A step whose values draw nothing builds its ``Command`` once and yields
that same object ``repeat`` times (a command is immutable once built).

``-k EXPR`` works as in pytest: words are case-insensitive substrings of a
step's names (the scenario's, its enclosing ``parallel:`` steps', its own),
joined with ``and``/``or``/``not`` and parentheses; quote a name that has
spaces (``-k "'logical unit' and not release"``).  A parallel group runs when
any of its steps is selected (with those steps only); ``finally:`` steps run
whenever anything runs, because they undo what the selected steps did (and
all of them run when ``-k`` names one).
"""

from __future__ import annotations

import itertools
import os
import random
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from ..limits import (
    MAX_QUEUE_DEPTH,
    MAX_REPEAT,
    MAX_SELECT_DEPTH,
    MAX_SELECT_LENGTH,
    MAX_TRANSFER,
    MAX_VARS_TEXT,
)
from ..scsi.cdb import Command, Direction, identify, lookup
from ..scsi.errors import UsageError
from .model import DataSource, Device, Mark, Scenario, Step

if TYPE_CHECKING:
    from .load import Problem

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "Env",
    "Plan",
    "PlannedStep",
    "PreviewRow",
    "RawCommand",
    "compile_selection",
    "device_target",
    "has_random",
]

DEFAULT_BLOCK_SIZE = 512


# ----------------------------------------------------------------- steps


@dataclass(frozen=True)
class PlannedStep:
    """One step of the plan: the model step and where it is (``path``, ``depth``)."""

    path: str
    step: Step
    depth: int = 0  # nesting under parallel: groups
    final: bool = False  # a finally: step
    keywords: tuple[str, ...] = ()  # the names -k matches against

    @property
    def name(self) -> str:
        return self.step.name

    @property
    def kind(self) -> str:
        return self.step.kind


@dataclass
class Env:
    """What a step's values are evaluated against: variables and the device's block size."""

    vars: dict[str, Any] = field(default_factory=dict)
    block_size: int = DEFAULT_BLOCK_SIZE


@dataclass(frozen=True)
class PreviewRow:
    """One row of ``sgscript plan``: a step and the first command it sends."""

    path: str
    name: str
    kind: str
    depth: int
    device: str | None = None
    target: str | None = None
    command: str | None = None  # Read10(lba=0x10, transfer_length=1), reset lun, sleep 0.1s
    cdb_hex: str | None = None  # "?" when it depends on a value saved at run time
    data_out: int = 0
    data_in: int = 0
    repeat: int | str = 1
    queue_depth: int | str = 1
    final: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# ----------------------------------------------------------------- raw CDBs


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
        from ..scsi.cdb import decode_cdb

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


# ----------------------------------------------------------------- -k


_TOKEN = re.compile(r"\s*(?:(\()|(\))|'([^']*)'|\"([^\"]*)\"|([^\s()]+))")


def compile_selection(expr: str) -> Callable[[Iterable[str]], bool]:
    """``-k`` as pytest reads it; the result tells whether a set of names is selected.

    A word matches when it is a case-insensitive substring of any of the names.
    A malformed expression is a ``UsageError`` naming the column; so is one
    longer than ``MAX_SELECT_LENGTH`` or nested (parentheses, ``not``) deeper
    than ``MAX_SELECT_DEPTH``.
    """
    if len(expr) > MAX_SELECT_LENGTH:
        raise UsageError(f"-k: expression longer than {MAX_SELECT_LENGTH} characters")
    tokens: list[tuple[str, str, int]] = []  # (kind, text, column)
    pos = 0
    text = expr.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        col = m.start() + len(m.group(0)) - len(m.group(0).lstrip()) + 1
        if m.group(1):
            tokens.append(("(", "(", col))
        elif m.group(2):
            tokens.append((")", ")", col))
        else:
            word = next(g for g in m.group(3, 4, 5) if g is not None)
            quoted = m.group(5) is None
            kind = word if not quoted and word in ("and", "or", "not") else "word"
            tokens.append((kind, word.lower(), col))
        pos = m.end()
    if pos < len(text) and text[pos:].strip():
        raise UsageError(f"-k {expr!r}: unterminated quote at column {pos + 1}")
    if not tokens:
        return lambda names: True
    i = 0
    depth = 0

    def fail(what: str) -> UsageError:
        where = f"column {tokens[i][2]}" if i < len(tokens) else "the end"
        return UsageError(f"-k {expr!r}: expected {what} at {where}")

    def parse_or() -> Callable[[list[str]], bool]:
        nonlocal i
        left = parse_and()
        while i < len(tokens) and tokens[i][0] == "or":
            i += 1
            right = parse_and()
            left = (lambda a, b: lambda n: a(n) or b(n))(left, right)
        return left

    def parse_and() -> Callable[[list[str]], bool]:
        nonlocal i
        left = parse_not()
        while i < len(tokens) and tokens[i][0] == "and":
            i += 1
            right = parse_not()
            left = (lambda a, b: lambda n: a(n) and b(n))(left, right)
        return left

    def parse_not() -> Callable[[list[str]], bool]:
        nonlocal i, depth
        if i >= len(tokens):
            raise fail("a name, 'not' or '('")
        kind, word, col = tokens[i]
        if kind in ("not", "(") and depth >= MAX_SELECT_DEPTH:
            raise UsageError(
                f"-k: nested more than {MAX_SELECT_DEPTH} deep (parentheses and 'not') at column {col}"
            )
        if kind == "not":
            i += 1
            depth += 1
            inner = parse_not()
            depth -= 1
            return lambda n: not inner(n)
        if kind == "(":
            i += 1
            depth += 1
            inner = parse_or()
            depth -= 1
            if i >= len(tokens) or tokens[i][0] != ")":
                raise fail("')'")
            i += 1
            return inner
        if kind == "word":
            i += 1
            return lambda n: any(word in name for name in n)
        raise fail("a name, 'not' or '('")

    matcher = parse_or()
    if i < len(tokens):
        raise fail("'and', 'or' or the end")
    return lambda names: matcher([n.lower() for n in names])


# ----------------------------------------------------------------- devices


_FILE_KEYS = ("file", "backing_file")


def confine_sim_file(
    target: str, base_dir: str, device: Device, *, skip: Iterable[str] = ()
) -> str:
    """``sim:…?file=disk.img`` with the file made absolute under the spec's directory.

    An absolute path, or one that leaves the directory (``..``, a symbolic
    link out of it), is a ``UsageError`` naming the device's ``FILE:LINE:COL``:
    a spec must not make sgscript create or write files elsewhere on the host.
    Keys in ``skip`` (given on the command line) are left as they are.
    """
    base, _, query = target.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(k in _FILE_KEYS and k not in skip for k, _ in pairs):
        return target
    where = f"{device.mark}: " if device.mark is not None else ""
    root = os.path.realpath(base_dir)
    out = []
    for key, value in pairs:
        if key in _FILE_KEYS and key not in skip:
            if not value or os.path.isabs(value) or value.startswith("~"):
                raise UsageError(
                    f"{where}devices.{device.name}: sim file {value!r} must be a path relative"
                    " to the spec's directory (bind the device with --device to use a path of"
                    " your own)"
                )
            path = os.path.realpath(os.path.join(root, value))
            if os.path.commonpath([path, root]) != root:
                raise UsageError(
                    f"{where}devices.{device.name}: sim file {value!r} leaves the spec's"
                    f" directory {base_dir}"
                )
            value = path
        out.append((key, value))
    return f"{base}?{urlencode(out, safe=':,/')}"


def device_target(device: Device, bound: str | None = None) -> tuple[str, dict[str, Any]]:
    """The target string to open for ``device`` and the options that could not go in it.

    ``sim:`` targets take the device's ``options`` in their query string (text,
    numbers and booleans, lists as repeated keys; what the target string already
    says wins); structured values (mappings, lists of ranges, seconds as floats)
    come back to be applied to the simulated unit's faults after opening.  Other
    target kinds get every option back (a plugin opening them may use them).
    """
    target = bound or device.target
    options = dict(device.options)
    if not target.startswith("sim:") or not options:
        return target, options
    base, _, query = target.partition("?")
    given = {k for k, _ in parse_qsl(query, keep_blank_values=True)}
    text: list[tuple[str, str]] = []
    rest: dict[str, Any] = {}
    for key, value in options.items():
        if key in given:
            continue
        if isinstance(value, bool):
            text.append((key, "true" if value else "false"))
        elif isinstance(value, int | str):
            text.append((key, str(value)))
        elif isinstance(value, list | tuple) and all(
            isinstance(v, int | str) and not isinstance(v, bool) for v in value
        ):
            text.extend((key, str(v)) for v in value)
        else:
            rest[key] = value
    if text:
        query = "&".join(filter(None, [query, urlencode(text, safe=":,/")]))
    return (f"{base}?{query}" if query else base), rest


# ----------------------------------------------------------------- values


def has_random(value: Any) -> bool:
    """True when ``value`` draws from the RNG (a ``{random: [lo, hi]}`` anywhere in it)."""
    if isinstance(value, Mapping):
        return "random" in value or any(has_random(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_random(v) for v in value)
    return False


_INDEX = re.compile(r"\$\{[^}]*\bindex\b")


def uses_index(value: Any) -> bool:
    """True when ``value`` mentions the built-in ``index`` (it then differs per command)."""
    if isinstance(value, str):
        return bool(_INDEX.search(value))
    if isinstance(value, Mapping):
        return any(uses_index(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(uses_index(v) for v in value)
    return False


def _step_uses_index(step: Step) -> bool:
    data = step.data
    values = [*step.fields.values(), step.cdb, step.data_in]
    if data is not None:
        values += [getattr(data, key) for key in _DATA_KEYS]
    return any(uses_index(v) for v in values)


def _resolve(value: Any, vars: Mapping[str, Any], rng: random.Random) -> Any:
    from .expr import resolve  # the loader's evaluator: one for validation and running

    return resolve(value, vars, rng)


class _VarsTooBig(UsageError):
    """The ``vars:`` together hold more text than ``MAX_VARS_TEXT``."""


def _vars_text(total: int, value: Any) -> int:
    """``total`` plus the text ``value`` holds; past ``MAX_VARS_TEXT`` a UsageError (each
    value is bounded, but thousands of 64k values filled gigabytes)."""
    if isinstance(value, str):
        total += len(value)
        if total > MAX_VARS_TEXT:
            raise _VarsTooBig(f"the vars hold more than {MAX_VARS_TEXT} characters of text")
    return total


def _as_int(what: str, value: Any, minimum: int = 0, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{what} must be a whole number, got {_show(value)}")
    if value < minimum:
        raise UsageError(f"{what} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise UsageError(f"{what} is at most {maximum}, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _transfer(what: str, size: int, limit: int) -> int:
    """``size`` when one command may move it (``--max-transfer``); checked before allocating."""
    if size > limit:
        raise UsageError(
            f"{what} of {size} bytes is more than the largest transfer, {limit} bytes"
            " (--max-transfer SIZE raises it)"
        )
    return size


def _names(value: Any) -> set[str]:
    """The variables a model value reads (through its ``${...}``)."""
    from .expr import ExprError, is_expression, template

    if isinstance(value, str):
        if "$" not in value:
            return set()
        try:
            return set(template(value.strip() if is_expression(value) else value).names)
        except ExprError:
            return set()
    if isinstance(value, Mapping):
        return {n for v in value.values() for n in _names(v)}
    if isinstance(value, list | tuple):
        return {n for v in value for n in _names(v)}
    return set()


_DATA_KEYS = ("pattern", "seed", "value", "file", "hex", "length")


# ----------------------------------------------------------------- the plan


class Plan:
    """A scenario ready to run: paths, seed, selection, device targets, command streams."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        bindings: Mapping[str, str] | None = None,
        seed: int | None = None,
        select: str | None = None,
        max_transfer: int = MAX_TRANSFER,
    ) -> None:
        self.scenario = scenario
        #: The most one command may move (``--max-transfer``); checked before data is built.
        self.max_transfer = max_transfer
        #: ``--device NAME=TARGET`` for names this scenario declares (others are ignored:
        #: one command line binds the devices of many specs).
        self.bindings = {k: v for k, v in (bindings or {}).items() if k in scenario.devices}
        self.seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**32)
        self.select = select or None
        self.base_dir = os.path.dirname(os.path.abspath(scenario.file)) if scenario.file else "."
        self._matcher = compile_selection(select) if select else None
        self._all: list[PlannedStep] = []
        self._selected: dict[str, bool] = {}
        self._walk(scenario.steps, "", 0, False, (scenario.name,))
        self._walk(scenario.finally_steps, "finally.", 0, True, (scenario.name,))
        self._by_path = {ps.path: ps for ps in self._all}
        self._by_id: dict[int, PlannedStep] = {}
        for ps in self._all:
            self._by_id.setdefault(id(ps.step), ps)
        self._mark_selection()

    # -- structure -------------------------------------------------------------

    def _walk(
        self, steps: Iterable[Step], prefix: str, depth: int, final: bool, names: tuple[str, ...]
    ) -> None:
        for n, step in enumerate(steps, 1):
            path = f"{prefix}{n}"
            keywords = (*names, step.name)
            self._all.append(PlannedStep(path, step, depth, final, keywords))
            for b, branch in enumerate(step.branches, 1):
                self._walk(branch, f"{path}.{b}.", depth + 1, final, keywords)

    def _mark_selection(self) -> None:
        match = self._matcher
        for ps in self._all:
            self._selected[ps.path] = match is None or match(ps.keywords)
        # a group runs when any of its steps does; finally: runs when anything runs
        for ps in reversed(self._all):
            if ps.step.kind == "parallel" and not self._selected[ps.path]:
                self._selected[ps.path] = any(
                    self._selected[c.path] for c in self._all if c.path.startswith(ps.path + ".")
                )
        anything = any(self._selected.values())  # -k naming a finally: step runs it too
        for ps in self._all:
            if ps.final:
                self._selected[ps.path] = anything

    def all_steps(self) -> list[PlannedStep]:
        """Every step with its path, selected or not, parallel groups before their steps."""
        return list(self._all)

    def steps(self) -> list[PlannedStep]:
        """The selected steps, in file order (a parallel group before its branches' steps)."""
        return [ps for ps in self._all if self._selected[ps.path]]

    def is_selected(self, path: str) -> bool:
        return self._selected.get(path, False)

    @property
    def selected(self) -> bool:
        """Whether ``-k`` leaves anything of this scenario to run."""
        return any(self._selected.values())

    def children(self, planned: PlannedStep) -> list[list[PlannedStep]]:
        """A parallel group's branches as planned steps (the selected ones, top level of each)."""
        out = []
        for b in range(1, len(planned.step.branches) + 1):
            prefix = f"{planned.path}.{b}."
            out.append(
                [
                    ps
                    for ps in self._all
                    if ps.path.startswith(prefix)
                    and "." not in ps.path[len(prefix) :]
                    and self._selected[ps.path]
                ]
            )
        return out

    def top(self, final: bool = False) -> list[PlannedStep]:
        """The selected steps of ``steps:`` (or ``finally:``) at the top level."""
        return [
            ps
            for ps in self._all
            if ps.final == final and ps.depth == 0 and self._selected[ps.path]
        ]

    def find(self, step: Step | PlannedStep | str) -> PlannedStep:
        """The planned step for a path, a model step (by identity) or a planned step."""
        if isinstance(step, PlannedStep):
            return step
        found = self._by_path.get(step) if isinstance(step, str) else self._by_id.get(id(step))
        if found is None:
            raise KeyError(f"no step {step!r} in {self.scenario.name}")
        return found

    # -- devices ---------------------------------------------------------------

    def device_target(self, name: str) -> tuple[str, dict[str, Any]]:
        """The target string to open for device ``name`` and the options left over.

        A ``sim:`` backing file (``file=``) the spec names is confined to the
        spec's directory (``confine_sim_file``); one given with ``--device`` is
        the user's own path.
        """
        device = self.scenario.devices[name]
        bound = self.bindings.get(name)
        target, rest = device_target(device, bound)
        if target.startswith("sim:"):
            own = set()
            if bound is not None:
                own = {k for k, _ in parse_qsl(bound.partition("?")[2], keep_blank_values=True)}
            target = confine_sim_file(target, self.base_dir, device, skip=own)
        return target, rest

    def device_queue_depth(self, name: str) -> int:
        """The device's declared queue depth, or enough for every step's (at least 16)."""
        device = self.scenario.devices[name]
        if device.queue_depth:
            return int(device.queue_depth)
        depth = 16
        for ps in self._all:
            q = ps.step.queue_depth
            if ps.step.device == name and isinstance(q, int) and not isinstance(q, bool):
                depth = max(depth, q)
        return depth

    def block_size_hint(self, name: str | None) -> int:
        """The block size ``sgscript plan`` assumes: the device option, else 512."""
        device = self.scenario.devices.get(name or "")
        if device is None or name in self.bindings:
            return DEFAULT_BLOCK_SIZE
        value = device.options.get("block_size", device.options.get("bs"))
        try:
            return int(str(value), 0) if value is not None else DEFAULT_BLOCK_SIZE
        except ValueError:
            return DEFAULT_BLOCK_SIZE

    # -- values ----------------------------------------------------------------

    def initial_vars(self) -> dict[str, Any]:
        """``vars:`` evaluated in order (a value may use the ones before it, or draw)."""
        rng = random.Random(f"{self.seed}:vars")
        out: dict[str, Any] = {}
        total = 0
        for name, value in self.scenario.vars.items():
            got = _resolve(value, out, rng)
            total = _vars_text(total, got)
            out[name] = got
        return out

    def rng(self, step: PlannedStep | Step | str) -> random.Random:
        """The step's own random stream: the same seed and path draw the same values."""
        return random.Random(f"{self.seed}:{self.find(step).path}")

    def counts(
        self, step: PlannedStep | Step | str, env: Env | Mapping[str, Any]
    ) -> tuple[int, int]:
        """(repeat, queue_depth) of a step, evaluated against ``env``."""
        ps = self.find(step)
        env = _env(env)
        rng = self.rng(ps)
        repeat = _as_int("repeat", _resolve(ps.step.repeat, env.vars, rng), 0, MAX_REPEAT)
        depth = _as_int(
            "queue_depth", _resolve(ps.step.queue_depth, env.vars, rng), 1, MAX_QUEUE_DEPTH
        )
        return repeat, depth

    # -- checks before anything is sent -----------------------------------------

    def check(self) -> list[Problem]:
        """Every value that depends only on ``vars:`` (and ``--var``), evaluated and range-checked.

        What a selected step would send is built now (the first and last index,
        the bounds of a random range) so a field out of range, a repeat past its
        bound or a transfer past ``max_transfer`` is found before the run
        opens a device; values that read a variable ``save:``d at run time can
        only be checked then (a step failure).  Each problem is at the step's
        (or the variable's) ``FILE:LINE:COL``.
        """
        from .load import Problem

        scenario = self.scenario
        top = scenario.mark or Mark(scenario.file, 1, 1)
        problems: list[Problem] = []
        rng = random.Random(f"{self.seed}:vars")
        vars_: dict[str, Any] = {}
        unknown: set[str] = set()
        total = 0
        for name, value in scenario.vars.items():
            if _names(value) & unknown:
                unknown.add(name)
                continue
            try:
                got = _resolve(value, vars_, rng)
                total = _vars_text(total, got)
                vars_[name] = got
            except _CHECKED as exc:
                mark = scenario.var_marks.get(name, top)
                problems.append(Problem(mark, f"vars.{name}: {_message(exc)}"))
                unknown.add(name)
                if isinstance(exc, _VarsTooBig):  # once, not once per var after it
                    unknown.update(scenario.vars)
                    break
        for ps in self.steps():
            step = ps.step
            if step.kind == "command":
                for message in self._check_command(ps, vars_, unknown):
                    marked = _MARKED.match(message)  # a data pattern's own place is more precise
                    if marked is not None:
                        file, line, column, text = marked.groups()
                        where = Mark(file, int(line), int(column))
                        problems.append(Problem(where, f"step {ps.path}: {text}"))
                    else:
                        problems.append(Problem(step.mark or top, f"step {ps.path}: {message}"))
            unknown.update(step.save)
        return problems

    def _check_command(
        self, ps: PlannedStep, vars_: Mapping[str, Any], unknown: set[str]
    ) -> Iterator[str]:
        step = ps.step
        rng = self.rng(ps)
        repeat: int | None = None
        if not _names(step.repeat) & unknown:
            try:
                repeat = _as_int("repeat", _resolve(step.repeat, vars_, rng), 0, MAX_REPEAT)
            except _CHECKED as exc:
                yield _message(exc)
        if not _names(step.queue_depth) & unknown:
            try:
                _as_int("queue_depth", _resolve(step.queue_depth, vars_, rng), 1, MAX_QUEUE_DEPTH)
            except _CHECKED as exc:
                yield _message(exc)
        yield from self._check_durations(step, vars_, unknown, rng)
        values: list[Any] = [*step.fields.values(), step.cdb, step.data_in]
        if step.data is not None:
            values += [getattr(step.data, key) for key in _DATA_KEYS]
        if any(_names(v) & unknown for v in values):
            return  # it reads what an earlier step saves: checked when it runs
        indices = [0]
        if _step_uses_index(step) and repeat:
            indices.append(repeat - 1)
        block_size = self.block_size_hint(step.device)
        try:
            for index in indices:
                env = Env({**vars_, "index": index}, block_size)
                maker = _Maker(
                    step, env, rng, self.seed, self.base_dir, self.max_transfer, checking=True
                )
                for _ in maker.extremes():
                    pass
        except _CHECKED as exc:
            yield _message(exc)

    @staticmethod
    def _check_durations(
        step: Step, vars_: Mapping[str, Any], unknown: set[str], rng: random.Random
    ) -> Iterator[str]:
        """``expect: {duration: {min, max}}`` bounds that read only ``vars:``: durations now."""
        from .load import parse_duration

        for e in step.expect:
            if e.kind != "duration" or not isinstance(e.value, Mapping):
                continue
            for key in ("min", "max"):
                bound = e.value.get(key)
                if bound is None or _names(bound) & unknown:
                    continue
                try:
                    parse_duration(_resolve(bound, vars_, rng))
                except _CHECKED as exc:
                    yield f"expect.duration.{key}: {_message(exc)}"

    def command_stream(
        self,
        step: PlannedStep | Step | str,
        env: Env | Mapping[str, Any] | None = None,
        *,
        repeat: int | None = None,
        rng: random.Random | None = None,
    ) -> Iterator[Command]:
        """The commands of one command step, lazily: ``repeat`` times the evaluated fields.

        Values are evaluated when the stream starts (expressions see the variables
        saved before the step), random ones per command.  A bad value raises
        ``UsageError`` (from the generator, when it is reached).
        """
        ps = self.find(step)
        env = _env(env)
        rng = rng if rng is not None else self.rng(ps)
        if repeat is None:
            repeat = _as_int("repeat", _resolve(ps.step.repeat, env.vars, rng), 0, MAX_REPEAT)
        return self._stream(ps.step, env, rng, repeat)

    def _stream(self, step: Step, env: Env, rng: random.Random, repeat: int) -> Iterator[Command]:
        if step.kind != "command":
            raise UsageError(f"step {step.name!r} is a {step.kind} step: it sends no commands")
        if _step_uses_index(step):  # every command differs: evaluate each one afresh
            base = {**env.vars}
            for index in range(repeat):
                base["index"] = index
                yield _Maker(
                    step,
                    Env(base, env.block_size),
                    rng,
                    self.seed,
                    self.base_dir,
                    self.max_transfer,
                )()
            return
        make = self._maker(step, env, rng)
        if make is None:
            return
        if not make.varies:
            command = make()
            yield from itertools.repeat(command, repeat)
            return
        for _ in range(repeat):
            yield make()

    def _maker(self, step: Step, env: Env, rng: random.Random) -> _Maker | None:
        return _Maker(step, env, rng, self.seed, self.base_dir, self.max_transfer)

    # -- sgscript plan ---------------------------------------------------------

    def preview(self, *, per_step: int = 1) -> Iterator[PreviewRow]:
        """The compiled stream for ``sgscript plan`` / ``--list``, without opening a device.

        One row per selected step with its first ``per_step`` commands (more rows
        for a repeat when asked).  Values ``save:``d by earlier steps are unknown
        until the run: what depends on them shows as ``?``.
        """
        vars_ = self.initial_vars()
        unknown: set[str] = set()
        for ps in self.steps():
            step = ps.step
            device = step.device
            target = self.device_target(device)[0] if device in self.scenario.devices else None
            base = {
                "path": ps.path,
                "name": step.name,
                "kind": step.kind,
                "depth": ps.depth,
                "device": device,
                "target": target,
                "final": ps.final,
            }
            if step.kind == "reset":
                yield PreviewRow(**base, command=f"reset {step.reset}")
            elif step.kind == "sleep":
                yield PreviewRow(**base, command=f"sleep {step.sleep:g}s")
            elif step.kind == "parallel":
                yield PreviewRow(**base, command=f"parallel ({len(step.branches)} branches)")
            else:
                yield from self._preview_command(ps, base, vars_, unknown, per_step)
            for name in step.save:
                unknown.add(name)
                vars_.pop(name, None)

    def _preview_command(
        self,
        ps: PlannedStep,
        base: dict[str, Any],
        vars_: dict[str, Any],
        unknown: set[str],
        per_step: int,
    ) -> Iterator[PreviewRow]:
        env = Env(vars_, self.block_size_hint(ps.step.device))
        rng = self.rng(ps)
        label = ps.step.command or "cdb"
        try:
            repeat, depth = self.counts(ps, env)
        except Exception as exc:
            yield PreviewRow(
                **base, command=label, cdb_hex="?", repeat="?", note=_why(exc, unknown)
            )
            return
        try:
            stream = self.command_stream(ps, env, repeat=repeat, rng=rng)
            first = list(itertools.islice(stream, max(1, per_step)))
        except Exception as exc:
            yield PreviewRow(
                **base,
                command=label,
                cdb_hex="?",
                repeat=repeat,
                queue_depth=depth,
                note=_why(exc, unknown),
            )
            return
        for n, cmd in enumerate(first):
            bs = env.block_size
            out = cmd.data_length(bs) if cmd.direction is Direction.OUT else 0
            din = cmd.data_length(bs) if cmd.direction is Direction.IN else 0
            row = PreviewRow(
                **base,
                command=cmd.describe(),
                cdb_hex=cmd.bind(bs).hex(" "),
                data_out=out,
                data_in=din,
                repeat=repeat,
                queue_depth=depth,
                note="" if n == 0 else f"command {n + 1} of {repeat}",
            )
            yield row


#: What a value that cannot be built raises (ExprError and FieldValueError are ValueErrors).
_CHECKED = (ValueError, TypeError, ArithmeticError, KeyError)
#: A message that starts with its own FILE:LINE:COL.
_MARKED = re.compile(r"^(.+?):(\d+):(\d+): (.*)$", re.S)


def _message(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _why(exc: Exception, unknown: set[str]) -> str:
    text = str(exc)
    hits = sorted(name for name in unknown if re.search(rf"\b{re.escape(name)}\b", text))
    if hits:
        return f"depends on {', '.join(hits)}, saved at run time"
    return text


def _env(env: Env | Mapping[str, Any] | None) -> Env:
    if env is None:
        return Env()
    if isinstance(env, Env):
        return env
    return Env(dict(env))


def _bounds(value: Any, vars_: Mapping[str, Any], rng: random.Random) -> tuple[int, int] | None:
    """``{random: [lo, hi]}`` with bounds that draw nothing: (lo, hi), evaluated once per step.

    None for anything else (or bounds that are not a valid range: the per-command
    ``resolve`` then reports the problem in its own words).
    """
    if not (isinstance(value, Mapping) and len(value) == 1 and "random" in value):
        return None
    bounds = value["random"]
    if not isinstance(bounds, list | tuple) or len(bounds) != 2 or has_random(bounds):
        return None
    lo, hi = (_resolve(b, vars_, rng) for b in bounds)
    ok = all(isinstance(b, int) and not isinstance(b, bool) for b in (lo, hi))
    return (lo, hi) if ok and lo <= hi else None


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
        checking: bool = False,
    ) -> None:
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
        if step.data is not None:
            for key in _DATA_KEYS:
                value = getattr(step.data, key)
                if value is not None and key not in ("file", "hex"):
                    value = _resolve(value, vars_, rng)
                self.data_values[key] = value
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
            self.cls = lookup(step.command)
            for key, value in step.fields.items():
                if has_random(value):
                    self.varying.append((key, value, _bounds(value, vars_, rng)))
                else:
                    self.fixed[key] = _resolve(value, vars_, rng)
            if step.data_in is not None:
                self.options["data_in"] = self._data_in(_resolve(step.data_in, vars_, rng))
        self.varies = bool(self.varying)

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
        kwargs = dict(self.fixed)
        rng = self.rng
        for key, value, bounds in self.varying:
            if bounds is not None:  # the same draw resolve() makes, without re-evaluating
                kwargs[key] = rng.randint(*bounds)
            else:
                kwargs[key] = _resolve(value, self.env.vars, rng)
        return self._build(kwargs)

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
        """The size of a literal (``hex``) or ``file`` data source; None for a pattern."""
        if self.data_values.get("hex") is not None:
            from .patterns import parse_hex

            return len(parse_hex(self.data_values["hex"], ""))
        if self.data_values.get("file") is not None:
            return _file_size(self.base_dir, self.data_values["file"])
        return None

    def _raw(self) -> Command:
        assert self.raw is not None
        if self.data is None:
            return RawCommand.build(self.raw, **self.options)
        length = self.data_values.get("length")
        if length is None:  # the literal's own size; a pattern has none
            length = self._natural_length()
            if length is None:
                raise UsageError("a raw cdb with a data pattern needs data length: N")
        data = self._make_data(0, _as_int("data length", length))
        return RawCommand.build(self.raw, data=data, **self.options)

    def _make_data(self, lba: int, length: int) -> bytes:
        from .patterns import make_data  # the verify engineer's patterns: one definition

        _transfer("data", length, self.max_transfer)
        if self.checking:  # the size is checked; one block is enough to check the pattern's values
            length = min(length, self.block_size)

        spec = DataSource(**self.data_values, mark=self.data.mark if self.data else None)
        return make_data(
            spec,
            lba=lba,
            length=length,
            block_size=self.block_size,
            seed=self.seed,  # the spec's own seed wins inside make_data
            base_dir=self.base_dir,
        )


def _file_size(base_dir: str, name: str) -> int:
    try:
        return os.path.getsize(os.path.join(base_dir, os.path.expanduser(name)))
    except OSError as exc:
        raise UsageError(f"data file {name!r}: {exc.strerror or exc}") from None

"""Simulated targets by name: every ``sim:NAME`` opened in one process reaches the same one.

``sim:lu0?blocks=262144&block_size=512&initiator=host-a`` names target ``lu0``
with options.  The first opening creates the target; later openings share it
(geometry options must then agree, faults and transport options may differ).
Each opening is its own I_T nexus, named by ``initiator``.

Three kinds of option share the query string: the logical unit's (``LuConfig``
fields, ``luns``; aliases ``bs``, ``file``, ``wp``), the opening's
(``initiator``, ``queue_depth``, ``lun``) and the faults' (see
:mod:`sgscript.sim.faults`).  A key that is none of them is refused with the
known ones; a key given twice is refused unless it takes a list (``medium_error``,
``every_nth``, ``sense_on``, ``hang``: the values are joined).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from .. import grammar
from ..scsi.catalog import Catalog
from ..scsi.errors import UsageError
from .faults import LIST_OPTIONS, OPTIONS, parse_options, unknown_option
from .lu import Handler, LogicalUnit, LuConfig, check_config

__all__ = [
    "Target",
    "check_target",
    "check_target_files",
    "forget_targets",
    "get_target",
    "known_options",
    "option_int",
    "parse_target",
    "target_options",
    "targets",
]

_LU_FIELDS = {f.name: f for f in dataclasses.fields(LuConfig) if f.name != "extra"}
_ALIASES = {"file": "backing_file", "bs": "block_size", "wp": "write_protect"}
#: Options that belong to one opening (nexus, queue), not to the target.
TRANSPORT_OPTIONS = frozenset({"initiator", "queue_depth", "lun"})


def option_int(name: str, text: str) -> int:
    """An integer option: ``4096``, ``0x1000``, ``4k``, ``1MiB``; else a UsageError naming it."""
    try:
        return grammar.parse_size(text)
    except ValueError as exc:
        raise UsageError(f"sim option {name}={_show(text)}: {exc}") from None


def _bool(name: str, text: str) -> bool:
    try:
        return grammar.parse_bool(text)
    except ValueError as exc:
        raise UsageError(f"sim option {name}={_show(text)}: {exc}") from None


def _show(text: str) -> str:
    return text if len(text) <= 40 else text[:20] + "..."


def known_options() -> list[str]:
    """Every option a ``sim:`` target string may carry."""
    return sorted(
        {*_LU_FIELDS, *_ALIASES, "luns", *TRANSPORT_OPTIONS, *OPTIONS, "latency.<Command>"}
    )


def parse_target(target: str) -> tuple[str, dict[str, str]]:
    """``lu0?blocks=8&thin=0`` → (``lu0``, {blocks: 8, thin: 0}) (values still text)."""
    name, _, query = target.partition("?")
    if not name or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise UsageError(f"sim target name {name!r} must be letters, digits, '_', '.', '-'")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise UsageError(f"sim:{target}: options are key=value joined by '&' ({exc})") from None
    options: dict[str, str] = {}
    for key, value in pairs:
        key = _ALIASES.get(key, key)
        if key in options:
            if key not in LIST_OPTIONS:
                raise UsageError(f"sim:{target}: option {key!r} is given twice")
            value = f"{options[key]},{value}"
        options[key] = value
    return name, options


def target_options(
    target: str, options: Mapping[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """The name of ``sim:TARGET`` and every option it opens with: its query string's, then a
    device's ``options:`` (text, numbers, lists, mappings) for keys the string does not give."""
    name, merged = parse_target(target)
    given: dict[str, Any] = dict(merged)
    for key, value in (options or {}).items():
        given.setdefault(_ALIASES.get(key, key), value)
    return name, given


def _fault_keys(rest: Mapping[str, Any]) -> dict[str, Any]:
    """The fault options among ``rest``; a key that is no option at all is refused."""
    faults = {k: v for k, v in rest.items() if k not in TRANSPORT_OPTIONS}
    for key in faults:
        if key != "faults" and key.partition(".")[0] not in OPTIONS:
            raise unknown_option(key, known_options())
    return faults


def lu_config(options: dict[str, Any]) -> tuple[LuConfig, dict[str, Any]]:
    """Split options into an LU configuration and the rest (faults, transport)."""
    values: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, value in options.items():
        fld = _LU_FIELDS.get(key)
        if fld is None:
            rest[key] = value
        elif not isinstance(value, str):
            values[key] = value
        elif fld.type in ("int", int):
            values[key] = option_int(key, value)
        elif fld.type in ("bool", bool):
            values[key] = _bool(key, value)
        else:
            values[key] = value
    return LuConfig(**values), rest


class Target:
    """A simulated SCSI target: one or more logical units behind one name."""

    def __init__(
        self,
        name: str,
        config: LuConfig,
        luns: int = 1,
        *,
        catalog: Catalog | None = None,
        handlers: Mapping[str, Handler] | None = None,
    ) -> None:
        if not 1 <= luns <= 256:
            raise UsageError(f"sim:{name}: luns={luns} must be 1..256")
        self.name = name
        self.config = config
        self.luns: dict[int, LogicalUnit] = {}
        try:
            for lun in range(luns):
                lu = LogicalUnit(
                    _lun_config(config, lun), name=name, lun=lun, catalog=catalog, handlers=handlers
                )
                lu.target = self
                self.luns[lun] = lu
        except BaseException:
            self.close()  # backing files already opened for the LUNs before
            raise
        self._nexus_ids = 0

    def lu(self, lun: int = 0) -> LogicalUnit:
        try:
            return self.luns[lun]
        except KeyError:
            raise UsageError(
                f"sim:{self.name} has no LUN {lun} (it has {', '.join(map(str, self.luns))})"
            ) from None

    def new_nexus(self, initiator: str | None) -> str:
        """The I_T nexus of one opening: the initiator's name, or a fresh one."""
        self._nexus_ids += 1
        return initiator or f"{self.name}-initiator-{self._nexus_ids}"

    def close(self) -> None:
        for lu in self.luns.values():
            lu.close()


def _lun_config(config: LuConfig, lun: int) -> LuConfig:
    """LUN 0 uses ``file=`` itself; LUN n uses ``FILE.lunN``."""
    if config.backing_file and lun:
        return dataclasses.replace(config, backing_file=f"{config.backing_file}.lun{lun}")
    return config


def check_target_files(target: str, device_options: Mapping[str, Any] | None = None) -> None:
    """``sgscript validate``: the backing files a ``sim:`` target would use, checked, none made."""
    from .storage import check_backing_file

    _, options = target_options(target, device_options)
    luns = option_int("luns", str(options.pop("luns", "1")))
    config, _ = lu_config({k: v for k, v in options.items() if k in _LU_FIELDS})
    if not config.backing_file:
        return
    for lun in range(max(1, min(luns, 256))):
        cfg = _lun_config(config, lun)
        assert cfg.backing_file is not None
        check_backing_file(cfg.backing_file, cfg.blocks, cfg.block_size)


def check_target(
    target: str,
    device_options: Mapping[str, Any] | None = None,
    catalog: Catalog | None = None,
) -> None:
    """Refuse (``UsageError``) what opening ``sim:TARGET`` with a device's ``options:``
    would refuse, opening nothing.

    ``sgscript validate`` and the checks ``run`` makes before its first command use
    it, so a bad option in the second target of a command line is found before the
    first target sends anything.
    """
    name, options = target_options(target, device_options)
    options.pop("initiator", None)
    depth = options.pop("queue_depth", None)
    if depth is not None and not 1 <= option_int("queue_depth", str(depth)) <= 65536:
        raise UsageError(f"sim:{name}: queue_depth={depth} must be 1..65536")
    lun = option_int("lun", str(options.pop("lun", "0")))
    luns = option_int("luns", str(options.pop("luns", "1")))
    if not 1 <= luns <= 256:
        raise UsageError(f"sim:{name}: luns={luns} must be 1..256")
    if not 0 <= lun < luns:
        raise UsageError(f"sim:{name} has no LUN {lun} (it has {', '.join(map(str, range(luns)))})")
    config, rest = lu_config(options)
    try:
        check_config(config)
    except ValueError as exc:
        raise UsageError(f"sim:{name}: {exc}") from None
    parse_options(_fault_keys(rest), catalog)
    check_target_files(target, device_options)


_TARGETS: dict[str, Target] = {}
_LOCK = threading.Lock()


def get_target(
    name: str,
    options: dict[str, Any] | None = None,
    *,
    catalog: Catalog | None = None,
    handlers: Mapping[str, Handler] | None = None,
) -> tuple[Target, dict[str, Any]]:
    """The target ``name``, created on first use (its units know ``catalog`` and answer
    with ``handlers``); returns it with the options it did not take.

    Opening a target already alive with a ``catalog`` or ``handlers`` makes its units
    use them from then on: a unit made beforehand (to set its state, say) answers as
    the plugin manager of the run that opens it says.
    """
    options = dict(options or {})
    luns = option_int("luns", str(options.pop("luns", "1")))
    config, rest = lu_config(options)
    # a bad fault value is refused before the target exists
    parse_options(_fault_keys(rest), catalog)
    given = {k for k in options if k in _LU_FIELDS}
    with _LOCK:
        target = _TARGETS.get(name)
        if target is None:
            try:
                target = Target(name, config, luns, catalog=catalog, handlers=handlers)
            except UsageError:
                raise
            except ValueError as exc:
                raise UsageError(f"sim:{name}: {exc}") from None
            _TARGETS[name] = target
        else:
            for lu in target.luns.values():
                lu.answer_with(catalog, handlers)
            for key in sorted(given):
                if getattr(config, key) != getattr(target.config, key):
                    raise UsageError(
                        f"sim:{name} already exists with {key}={getattr(target.config, key)!r};"
                        f" it cannot be reopened with {key}={getattr(config, key)!r}"
                    )
    return target, rest


def targets() -> dict[str, Target]:
    """The simulated targets alive in this process."""
    return dict(_TARGETS)


def forget_targets() -> None:
    """Drop every simulated target (tests, and the runner between independent scenarios)."""
    with _LOCK:
        for target in _TARGETS.values():
            target.close()
        _TARGETS.clear()

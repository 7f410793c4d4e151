"""Transports: how a command reaches one device. ``open_transport`` picks one by target string.

Targets are ``/dev/sgN`` or ``sg:/dev/sgN`` for the Linux sg driver and
``sim:NAME`` for the simulated disk (``builtin_schemes``, which the built-in plugin
contributes through ``sgscript_target_kinds``); plugins add kinds through that same
hook. ``open_transport`` is the facade the Python API (``Channel.open``) uses: it
knows the built-in kinds and those a plugin manager installed (``register_scheme``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..scsi.errors import TransportError, UsageError
from .base import Io, ResetKind, Transport

__all__ = [
    "Io",
    "ResetKind",
    "Transport",
    "builtin_schemes",
    "open_transport",
    "register_scheme",
    "schemes",
    "target_path",
    "target_scheme",
]

Factory = Callable[..., Transport]


def schemes() -> list[str]:
    return sorted(_SCHEMES)


def _open_sg(path: str, *, initiator: str | None = None, **options: Any) -> Transport:
    # A Linux host is one initiator to its disks: the name only matters to sim: targets.
    from .linux.sg import SgTransport

    try:
        return SgTransport(path, **options)
    except OSError as exc:
        raise TransportError(None, f"cannot open {path}: {exc.strerror or exc}") from exc


def _open_sim(spec: str, **options: Any) -> Transport:
    from .sim import SimTransport

    return SimTransport(spec, **options)


def builtin_schemes() -> dict[str, Factory]:
    """The target kinds sgscript is built with: ``sg`` and ``sim``."""
    return {"sg": _open_sg, "sim": _open_sim}


_SCHEMES: dict[str, Factory] = builtin_schemes()


def register_scheme(scheme: str, factory: Factory) -> None:
    """Make ``scheme:REST`` targets open through ``factory(REST, **options)``.

    The plugin manager calls it with what ``sgscript_target_kinds`` contributed.
    """
    _SCHEMES[scheme] = factory


def _split(target: str) -> tuple[str, str]:
    scheme, sep, rest = target.partition(":")
    if not sep or scheme.startswith("/"):
        return "sg", target
    return scheme, rest


def target_scheme(target: str) -> str:
    """``sg`` for ``/dev/sg3`` and ``sg:/dev/sg3``, ``sim`` for ``sim:lu0``, else the prefix."""
    return _split(target)[0]


def target_path(target: str) -> str:
    """What follows the scheme: the node path of an sg target."""
    return _split(target)[1]


def open_transport(target: str, **options: Any) -> Transport:
    """Open ``target``; a bare path means the sg driver."""
    scheme, rest = _split(target)
    factory = _SCHEMES.get(scheme)
    if factory is None:
        known = ", ".join(f"{s}:" for s in schemes())
        raise UsageError(f"unknown target kind {scheme + ':'!r} in {target!r} (known: {known})")
    if not rest:
        raise UsageError(f"target {target!r} names no device")
    return factory(rest, **options)

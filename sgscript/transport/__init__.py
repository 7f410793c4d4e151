"""Transports: how a command reaches one device. ``open_transport`` picks one by target string.

Targets are ``/dev/sgN`` or ``sg:/dev/sgN`` for the Linux sg driver; other
kinds (``sim:NAME``, plugin targets) register a factory under their scheme.
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
    "open_transport",
    "register_scheme",
    "schemes",
    "target_path",
    "target_scheme",
]

Factory = Callable[..., Transport]
_SCHEMES: dict[str, Factory] = {}


def register_scheme(scheme: str, factory: Factory) -> None:
    """Make ``scheme:REST`` targets open through ``factory(REST, **options)``."""
    _SCHEMES[scheme] = factory


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


register_scheme("sg", _open_sg)
register_scheme("sim", _open_sim)


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

"""Transports: how a command reaches one device. ``open_transport`` picks one by target string.

Targets are ``/dev/sgN`` or ``sg:/dev/sgN`` for the Linux sg driver and
``sim:NAME`` for the simulated disk (``builtin_schemes``, which the built-in plugin
contributes through ``sgscript_target_kinds``); plugins add kinds through that same
hook, and a plugin manager's table of kinds is what ``open_transport`` is given
(``kinds``; by default the built-in ones).

A factory is called ``factory(REST, queue_depth=N, initiator=NAME, options={...})``:
``options`` are the device's ``options:`` from the spec.  It uses what it
understands and lists the rest in the transport's ``unused_options`` (the runner
notes them), so a spec written against ``sim:`` runs unchanged on ``/dev/sg3``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..scsi.errors import TransportError, UsageError
from .base import Io, ResetKind, Transport

__all__ = [
    "Io",
    "ResetKind",
    "Transport",
    "builtin_schemes",
    "open_transport",
    "target_path",
    "target_scheme",
]

Factory = Callable[..., Transport]


def _open_sg(
    path: str,
    *,
    queue_depth: int = 16,
    initiator: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> Transport:
    # A Linux host is one initiator to its disks: the name only matters to sim: targets.
    from .linux.sg import SgTransport

    try:
        transport = SgTransport(path, queue_depth=queue_depth)
    except OSError as exc:
        raise TransportError(None, f"cannot open {path}: {exc.strerror or exc}") from exc
    transport.unused_options = tuple(sorted(options or ()))
    return transport


def _open_sim(spec: str, **kwargs: Any) -> Transport:
    from .sim import SimTransport

    return SimTransport(spec, **kwargs)


def builtin_schemes() -> dict[str, Factory]:
    """The target kinds sgscript is built with: ``sg`` and ``sim``."""
    return {"sg": _open_sg, "sim": _open_sim}


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


def open_transport(
    target: str, *, kinds: Mapping[str, Factory] | None = None, **kwargs: Any
) -> Transport:
    """Open ``target`` through its kind's factory (``kinds``: a plugin manager's table;
    default the built-in ones); a bare path means the sg driver."""
    kinds = kinds if kinds is not None else builtin_schemes()
    scheme, rest = _split(target)
    factory = kinds.get(scheme)
    if factory is None:
        known = ", ".join(f"{s}:" for s in sorted(kinds))
        raise UsageError(f"unknown target kind {scheme + ':'!r} in {target!r} (known: {known})")
    if not rest:
        raise UsageError(f"target {target!r} names no device")
    return factory(rest, **kwargs)

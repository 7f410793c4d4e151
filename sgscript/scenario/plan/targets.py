"""A device's target string: ``--device`` bindings, sim options, a sim file confined."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ...scsi.errors import UsageError
from ..model import Device

__all__ = ["confine_sim_file", "device_target"]


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

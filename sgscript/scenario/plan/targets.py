"""What opening a device is given: its target string (or ``--device`` binding) and its
``options:`` as the spec wrote them, with paths the spec names confined to its folder.

The planner does not know what a target kind makes of its options: the kind's
factory gets them whole (``transport.open_transport``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ... import grammar
from ...scsi.errors import UsageError
from ..model import Device

__all__ = ["block_size_option", "confine_path", "confine_sim_file", "device_target"]


#: Option keys that name a file (a ``sim:`` backing file); the spec's must stay in its folder.
_FILE_KEYS = ("file", "backing_file")
#: Option keys that give a ``sim:`` disk's logical block size (``bs`` is the short one).
_BLOCK_SIZE_KEYS = ("block_size", "bs")


def block_size_option(target: str, options: Mapping[str, Any]) -> int | None:
    """The logical block size a device is opened with, as far as its words say: a ``sim:``
    target string's (``sim:lu0?block_size=4096``, ``bs=4k``), else ``options:``'s.

    What ``sgscript plan`` shows data sizes with (the run learns the real size from the
    device); the string wins as it does when the target opens. None: not given, or no size.
    """
    base, _, query = target.partition("?")
    given = dict(parse_qsl(query, keep_blank_values=True)) if base.startswith("sim:") else {}
    for source in (given, options):
        key = next((k for k in _BLOCK_SIZE_KEYS if k in source), None)
        if key is not None:
            try:
                size = grammar.parse_size(source[key])
            except (grammar.GrammarError, TypeError):
                return None
            return size if size > 0 else None
    return None


def confine_path(value: Any, base_dir: str, device: Device) -> str:
    """``value``, a path relative to the spec's directory, made absolute under it.

    An absolute path, or one that leaves the directory (``..``, a symbolic link
    out of it), is a ``UsageError`` naming the device's ``FILE:LINE:COL``: a spec
    must not make sgscript create or write files elsewhere on the host.
    """
    where = f"{device.mark}: " if device.mark is not None else ""
    text = str(value) if value is not None else ""
    if not text or os.path.isabs(text) or text.startswith("~"):
        raise UsageError(
            f"{where}devices.{device.name}: sim file {text!r} must be a path relative"
            " to the spec's directory (bind the device with --device to use a path of"
            " your own)"
        )
    root = os.path.realpath(base_dir)
    path = os.path.realpath(os.path.join(root, text))
    if os.path.commonpath([path, root]) != root:
        raise UsageError(
            f"{where}devices.{device.name}: sim file {text!r} leaves the spec's"
            f" directory {base_dir}"
        )
    return path


def confine_sim_file(target: str, base_dir: str, device: Device) -> str:
    """``sim:…?file=disk.img`` (a target string the spec wrote) with the file confined."""
    base, _, query = target.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(k in _FILE_KEYS for k, _ in pairs):
        return target
    out = [(k, confine_path(v, base_dir, device) if k in _FILE_KEYS else v) for k, v in pairs]
    return f"{base}?{urlencode(out, safe=':,/')}"


def device_target(
    device: Device, bound: str | None = None, base_dir: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The target to open for ``device`` (``bound``: its ``--device`` binding) and its options.

    With ``base_dir``, file paths the spec gives (in its target string or options) are
    confined to that directory; a binding is the user's own and left as it is.
    """
    options = dict(device.options)
    if base_dir is None:
        return bound or device.target, options
    for key in _FILE_KEYS:
        if key in options:
            options[key] = confine_path(options[key], base_dir, device)
    if bound is not None:
        return bound, options
    target = device.target
    if target.startswith("sim:"):
        target = confine_sim_file(target, base_dir, device)
    return target, options

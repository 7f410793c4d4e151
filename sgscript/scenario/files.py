"""Reading the files a spec names: confined to known directories, regular files only, bounded.

A spec is not trusted with the host: ``include:`` and ``data: {file: ...}``
resolve under the spec's own directory or a directory the user named with
``--data-dir``; an absolute path, a ``..`` or a symlink that leads elsewhere
is refused before anything is opened, and the refusal names the path, never
the content.  Only regular files are read: a FIFO, device or directory is
refused after an ``O_NONBLOCK`` open and ``fstat`` (so a FIFO cannot block),
and nothing past a size limit is read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from ..grammar import size_text

__all__ = ["FileRefused", "confine", "read_regular"]


class FileRefused(ValueError):
    """A file sgscript will not read; the message says why (never what is in it)."""


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def confine(name: str, base_dir: str, roots: Sequence[str]) -> str:
    """The real path ``name`` (relative to ``base_dir``) names, when it lies under one of ``roots``.

    A relative name not found next to ``base_dir`` is looked up in each root in
    turn (the ``--data-dir`` directories).  Symlinks are resolved before the
    check, so a link pointing out of the roots is refused like a ``..``.
    """
    real_roots = [os.path.realpath(r) for r in roots]
    expanded = os.path.expanduser(name)
    primary = os.path.realpath(os.path.join(base_dir, expanded))
    inside = any(_inside(primary, r) for r in real_roots)
    if inside and os.path.lexists(primary):
        return primary
    if not os.path.isabs(expanded):
        for root in real_roots:
            alt = os.path.realpath(os.path.join(root, expanded))
            if any(_inside(alt, r) for r in real_roots) and os.path.lexists(alt):
                return alt
    if inside:
        return primary  # not there: opening it says so
    allowed = ", ".join(real_roots) or "none"
    raise FileRefused(f"{name!r} is outside the spec's directory and --data-dir ({allowed})")


def read_regular(path: str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; ``FileRefused`` or ``OSError``.

    Opened with ``O_NONBLOCK`` and checked with ``fstat`` before reading: a
    FIFO, socket, device or directory is refused without waiting on it.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused(f"not a regular file ({_kind(st.st_mode)})")
        if st.st_size > limit:
            raise FileRefused(f"larger than {size_text(limit)} ({st.st_size} bytes)")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while we read
                raise FileRefused(f"larger than {size_text(limit)}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"

"""Sparse block storage: a 2 TiB simulated disk costs only the blocks written to it.

Memory storage keeps written blocks in a dict; file storage keeps them in a
(sparse) backing file and remembers which blocks are mapped, so thin
provisioning reads the same either way.  Unmapped blocks read as zeros
(LBPRZ=1).

A backing file is never a host file that happens to be there: sgscript
creates it only where nothing exists (``O_CREAT | O_EXCL``), starting with a
header it recognises (``MAGIC``, format version, block size, block count), and
reopens only a file with that header and the same geometry.  Anything else —
a file without the header, another geometry, a size that changed, a FIFO,
device or directory — is refused (``BackingFileError``) without being
truncated, written, or (for what is not a regular file) even opened.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import struct
from abc import ABC, abstractmethod
from collections.abc import Collection
from itertools import repeat

from ..scsi.errors import UsageError

__all__ = [
    "HEADER_SIZE",
    "MAGIC",
    "BackingFileError",
    "FileStorage",
    "MemoryStorage",
    "Storage",
    "check_backing_file",
]

#: The first bytes of every sim backing file sgscript makes.
MAGIC = b"SGSCRIPT-SIMDISK"
_VERSION = 1
_HEADER = struct.Struct("<16sIIQI")  # magic, version, block size, blocks, data offset
#: Where the blocks start: one 4 KiB header page.
HEADER_SIZE = 4096


class Storage(ABC):
    """``blocks`` logical blocks of ``block_size`` bytes, sparse."""

    def __init__(self, blocks: int, block_size: int) -> None:
        self.blocks = blocks
        self.block_size = block_size
        self._zero = bytes(block_size)

    @abstractmethod
    def read(self, lba: int, count: int) -> bytes:
        """``count`` blocks from ``lba``; unmapped ones read as zeros."""

    @abstractmethod
    def write(self, lba: int, data: bytes) -> None:
        """Whole blocks from ``lba``; they become mapped."""

    @abstractmethod
    def unmap(self, lba: int, count: int) -> None:
        """Deallocate: the blocks read as zeros and stop costing space."""

    @abstractmethod
    def is_mapped(self, lba: int) -> bool:
        """Whether ``lba`` holds written data."""

    @abstractmethod
    def mapped_count(self) -> int:
        """How many blocks are mapped (what the disk costs)."""

    @abstractmethod
    def mapped_lbas(self) -> Collection[int]:
        """The mapped LBAs (a live view: do not change the storage while holding it)."""

    def run(self, lba: int, limit: int) -> tuple[bool, int]:
        """The provisioning state at ``lba`` and how many blocks (up to ``limit``) share it.

        Walks mapped blocks only, so a deallocated run on a huge sparse disk costs
        one pass over what is written, not one step per block.
        """
        mapped = self.mapped_lbas()
        if lba in mapped:
            n = 1
            while n < limit and lba + n in mapped:
                n += 1
            return True, n
        nxt = min((k for k in mapped if k > lba), default=None)
        return False, limit if nxt is None else min(limit, nxt - lba)

    def close(self) -> None:  # noqa: B027 - memory storage holds nothing open
        """Release what the storage holds open."""


class MemoryStorage(Storage):
    def __init__(self, blocks: int, block_size: int) -> None:
        super().__init__(blocks, block_size)
        self._blocks: dict[int, bytes] = {}

    def read(self, lba: int, count: int) -> bytes:
        blocks, zero = self._blocks, self._zero
        if count == 1:
            return blocks.get(lba, zero)
        if not blocks:  # nothing written yet: all zeros
            return bytes(count * self.block_size)
        return b"".join(map(blocks.get, range(lba, lba + count), repeat(zero, count)))

    def write(self, lba: int, data: bytes) -> None:
        bs = self.block_size
        zero = self._zero
        for i in range(len(data) // bs):
            chunk = data[i * bs : (i + 1) * bs]
            # A written block of zeros stays mapped (a thin disk maps what is written).
            self._blocks[lba + i] = zero if chunk == zero else bytes(chunk)

    def unmap(self, lba: int, count: int) -> None:
        blocks = self._blocks
        if count > len(blocks):
            for key in [k for k in blocks if lba <= k < lba + count]:
                del blocks[key]
        else:
            for i in range(lba, lba + count):
                blocks.pop(i, None)

    def is_mapped(self, lba: int) -> bool:
        return lba in self._blocks

    def mapped_count(self) -> int:
        return len(self._blocks)

    def mapped_lbas(self) -> Collection[int]:
        return self._blocks.keys()


class BackingFileError(UsageError):
    """A ``file=`` that is not (and cannot become) an sgscript sim disk: nothing was touched."""


def _header(blocks: int, block_size: int) -> bytes:
    head = _HEADER.pack(MAGIC, _VERSION, block_size, blocks, HEADER_SIZE)
    return head + bytes(HEADER_SIZE - len(head))


def _judge(path: str, st: os.stat_result, head: bytes, blocks: int, block_size: int) -> None:
    """Raise unless ``head`` (the file's first bytes) is our header with this geometry."""
    if len(head) < _HEADER.size or not head.startswith(MAGIC):
        raise BackingFileError(
            f"sim file {path} exists and is not an sgscript sim disk (no sgscript header);"
            " it is left untouched: remove it or name another file="
        )
    _, version, got_bs, got_blocks, offset = _HEADER.unpack_from(head)
    if version != _VERSION or offset != HEADER_SIZE:
        raise BackingFileError(
            f"sim file {path} is an sgscript sim disk of format version {version};"
            f" this sgscript reads version {_VERSION}"
        )
    if (got_blocks, got_bs) != (blocks, block_size):
        raise BackingFileError(
            f"sim file {path} holds a disk of blocks={got_blocks} block_size={got_bs};"
            f" this target asks for blocks={blocks} block_size={block_size}"
        )
    want = HEADER_SIZE + blocks * block_size
    if st.st_size != want:
        raise BackingFileError(
            f"sim file {path} is {st.st_size} bytes, not the {want} its header implies"
            " (truncated or extended outside sgscript)"
        )


def _regular(path: str) -> os.stat_result | None:
    """The file's status when it exists; refuse what is not a regular file, before opening it."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BackingFileError(f"sim file {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise BackingFileError(f"sim file {path} exists and is not a regular file; refused")
    return st


def check_backing_file(path: str, blocks: int, block_size: int) -> None:
    """What opening would decide, without creating or changing anything (``sgscript validate``)."""
    st = _regular(path)
    if st is None:
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise BackingFileError(f"sim file {path}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK):
            raise BackingFileError(f"sim file {path}: directory {parent} is not writable")
        return
    try:
        with open(path, "rb") as f:
            head = f.read(HEADER_SIZE)
    except OSError as exc:
        raise BackingFileError(f"sim file {path}: {exc.strerror or exc}") from None
    _judge(path, st, head, blocks, block_size)


class FileStorage(Storage):
    """Blocks in an sgscript backing file (header + sparse blocks); the mapped set lives in memory.

    Blocks written by an earlier run read back as they were, but count as
    unmapped (the mapped set is not kept in the file).
    """

    def __init__(self, path: str, blocks: int, block_size: int) -> None:
        super().__init__(blocks, block_size)
        self.path = path
        self._fd = -1
        self._mapped: set[int] = set()
        st = _regular(path)
        self._fd = self._reopen(st, blocks, block_size) if st else self._create(blocks, block_size)

    def _create(self, blocks: int, block_size: int) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o644)
        except FileExistsError:  # appeared meanwhile, or a dangling symlink: never follow it
            raise BackingFileError(
                f"sim file {self.path} appeared while being created, or is a dangling"
                " symbolic link; refused"
            ) from None
        except OSError as exc:
            raise BackingFileError(f"sim file {self.path}: {exc.strerror or exc}") from None
        try:
            os.pwrite(fd, _header(blocks, block_size), 0)
            os.ftruncate(fd, HEADER_SIZE + blocks * block_size)  # our own new file: sparse
        except OSError as exc:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            raise BackingFileError(f"sim file {self.path}: {exc.strerror or exc}") from None
        return fd

    def _reopen(self, st: os.stat_result, blocks: int, block_size: int) -> int:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise BackingFileError(f"sim file {self.path}: {exc.strerror or exc}") from None
        try:
            st = os.fstat(fd)  # what was opened, not what was looked at before
            if not stat.S_ISREG(st.st_mode):
                raise BackingFileError(f"sim file {self.path} is not a regular file; refused")
            _judge(self.path, st, os.pread(fd, HEADER_SIZE, 0), blocks, block_size)
        except BaseException as exc:
            os.close(fd)
            if isinstance(exc, OSError) and exc.errno != errno.EINTR:
                raise BackingFileError(f"sim file {self.path}: {exc.strerror or exc}") from None
            raise
        return fd

    def read(self, lba: int, count: int) -> bytes:
        return os.pread(self._fd, count * self.block_size, HEADER_SIZE + lba * self.block_size)

    def write(self, lba: int, data: bytes) -> None:
        os.pwrite(self._fd, data, HEADER_SIZE + lba * self.block_size)
        self._mapped.update(range(lba, lba + len(data) // self.block_size))

    def unmap(self, lba: int, count: int) -> None:
        bs = self.block_size
        for start in range(lba, lba + count, 1024):
            n = min(1024, lba + count - start)
            os.pwrite(self._fd, bytes(n * bs), HEADER_SIZE + start * bs)
        self._mapped.difference_update(range(lba, lba + count))

    def is_mapped(self, lba: int) -> bool:
        return lba in self._mapped

    def mapped_count(self) -> int:
        return len(self._mapped)

    def mapped_lbas(self) -> Collection[int]:
        return self._mapped

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

"""Sparse block storage: a 2 TiB simulated disk costs only the blocks written to it.

Memory storage keeps written blocks in a dict; file storage keeps them in a
(sparse) backing file and remembers which blocks are mapped, so thin
provisioning reads the same either way.  Unmapped blocks read as zeros
(LBPRZ=1).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Collection

__all__ = ["FileStorage", "MemoryStorage", "Storage"]


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
        get, zero = self._blocks.get, self._zero
        if count == 1:
            return get(lba, zero)
        return b"".join(get(i, zero) for i in range(lba, lba + count))

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


class FileStorage(Storage):
    """Blocks in a backing file, created sparse; the mapped set lives in memory."""

    def __init__(self, path: str, blocks: int, block_size: int) -> None:
        super().__init__(blocks, block_size)
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        os.ftruncate(self._fd, blocks * block_size)
        self._mapped: set[int] = set()

    def read(self, lba: int, count: int) -> bytes:
        return os.pread(self._fd, count * self.block_size, lba * self.block_size)

    def write(self, lba: int, data: bytes) -> None:
        os.pwrite(self._fd, data, lba * self.block_size)
        self._mapped.update(range(lba, lba + len(data) // self.block_size))

    def unmap(self, lba: int, count: int) -> None:
        bs = self.block_size
        for start in range(lba, lba + count, 1024):
            n = min(1024, lba + count - start)
            os.pwrite(self._fd, bytes(n * bs), start * bs)
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

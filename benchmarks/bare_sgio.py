"""The Python floor on real sg: TEST UNIT READY and READ(10) loops through a bare SG_IO ioctl.

Nothing of sgscript is imported: one ``sg_io_hdr`` (ctypes), one CDB, sense
and data buffer made once, then ``fcntl.ioctl(fd, SG_IO, hdr)`` in a loop
that patches only the LBA and checks only the status words.  No Python tool
can send a command for less, so ``sgbench.py`` compares sgscript with this
loop (the goal: at least 0.9 of it) as well as with fio and sg3_utils.

    python benchmarks/bare_sgio.py /dev/sg1 tur 20000
    python benchmarks/bare_sgio.py /dev/sg1 read 20000 --blocks 8
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import json
import os
import random
import struct
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

SG_IO = 0x2285
SG_DXFER_NONE = -1
SG_DXFER_FROM_DEV = -3
SENSE_LEN = 32
TIMEOUT_MS = 30_000


class SgIoHdr(ctypes.Structure):
    """``struct sg_io_hdr`` of <scsi/sg.h> (the v3 interface), native layout."""

    _fields_ = [
        ("interface_id", ctypes.c_int),
        ("dxfer_direction", ctypes.c_int),
        ("cmd_len", ctypes.c_ubyte),
        ("mx_sb_len", ctypes.c_ubyte),
        ("iovec_count", ctypes.c_ushort),
        ("dxfer_len", ctypes.c_uint),
        ("dxferp", ctypes.c_void_p),
        ("cmdp", ctypes.c_void_p),
        ("sbp", ctypes.c_void_p),
        ("timeout", ctypes.c_uint),
        ("flags", ctypes.c_uint),
        ("pack_id", ctypes.c_int),
        ("usr_ptr", ctypes.c_void_p),
        ("status", ctypes.c_ubyte),
        ("masked_status", ctypes.c_ubyte),
        ("msg_status", ctypes.c_ubyte),
        ("sb_len_wr", ctypes.c_ubyte),
        ("host_status", ctypes.c_ushort),
        ("driver_status", ctypes.c_ushort),
        ("resid", ctypes.c_int),
        ("duration", ctypes.c_uint),
        ("info", ctypes.c_uint),
    ]


@dataclass
class LoopResult:
    """What one loop did: commands, wall and CPU seconds (this process, user + system)."""

    commands: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.commands / self.wall

    @property
    def cpu_per_command(self) -> float:
        return self.cpu / self.commands


class SgIo:
    """One sg node and one reusable SG_IO header (kept alive with its buffers)."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR)
        self.cdb = ctypes.create_string_buffer(16)
        self.sense = ctypes.create_string_buffer(SENSE_LEN)
        self.data = ctypes.create_string_buffer(0)
        self.hdr = SgIoHdr()
        self.hdr.interface_id = ord("S")
        self.hdr.cmdp = ctypes.addressof(self.cdb)
        self.hdr.sbp = ctypes.addressof(self.sense)
        self.hdr.mx_sb_len = SENSE_LEN
        self.hdr.timeout = TIMEOUT_MS

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> SgIo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def prepare(self, cdb: bytes, data_in: int) -> None:
        """Set the CDB and a data-in buffer of ``data_in`` bytes (none when 0)."""
        ctypes.memmove(self.cdb, cdb, len(cdb))
        self.hdr.cmd_len = len(cdb)
        if data_in:
            if len(self.data) < data_in:
                self.data = ctypes.create_string_buffer(data_in)
            self.hdr.dxferp = ctypes.addressof(self.data)
            self.hdr.dxfer_direction = SG_DXFER_FROM_DEV
        else:
            self.hdr.dxferp = None
            self.hdr.dxfer_direction = SG_DXFER_NONE
        self.hdr.dxfer_len = data_in

    def run(self) -> None:
        """One command; raises unless it completed GOOD with no host or driver error."""
        fcntl.ioctl(self.fd, SG_IO, self.hdr)
        hdr = self.hdr
        if hdr.status or hdr.host_status or hdr.driver_status:
            raise OSError(
                f"command {self.cdb.raw[: hdr.cmd_len].hex()} failed: status 0x{hdr.status:02x},"
                f" host 0x{hdr.host_status:x}, driver 0x{hdr.driver_status:x}"
            )

    def read_capacity(self) -> tuple[int, int]:
        """(blocks, block length) from READ CAPACITY(10)."""
        self.prepare(bytes([0x25] + [0] * 9), 8)
        self.run()
        last, length = struct.unpack(">II", self.data.raw[:8])
        return last + 1, length


def _measure(body: Callable[[], None], n: int) -> LoopResult:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    body()
    return LoopResult(n, time.perf_counter() - wall0, time.process_time() - cpu0)


def tur_loop(path: str, n: int) -> LoopResult:
    """``n`` TEST UNIT READY, one at a time."""
    with SgIo(path) as sg:
        sg.prepare(bytes(6), 0)
        run = sg.run

        def body() -> None:
            for _ in range(n):
                run()

        return _measure(body, n)


def read_loop(path: str, n: int, blocks: int = 8, seed: int = 1) -> LoopResult:
    """``n`` READ(10) of ``blocks`` blocks each at random LBAs (any start), one at a time."""
    with SgIo(path) as sg:
        capacity, length = sg.read_capacity()
        sg.prepare(bytes([0x28, 0, 0, 0, 0, 0, 0, blocks >> 8, blocks & 0xFF, 0]), blocks * length)
        cdb, run = sg.cdb, sg.run
        pack_into = struct.Struct(">I").pack_into
        randint = random.Random(seed).randint
        last = capacity - blocks

        def body() -> None:
            for _ in range(n):
                pack_into(cdb, 2, randint(0, last))
                run()

        return _measure(body, n)


def capacity(path: str) -> tuple[int, int]:
    """(blocks, block length) of the node."""
    with SgIo(path) as sg:
        return sg.read_capacity()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("node", help="sg node, e.g. /dev/sg1")
    parser.add_argument("loop", choices=["tur", "read"])
    parser.add_argument("n", type=int, help="commands")
    parser.add_argument("--blocks", type=int, default=8, help="blocks per READ(10) (default 8)")
    args = parser.parse_args(argv)
    if args.loop == "tur":
        result = tur_loop(args.node, args.n)
    else:
        result = read_loop(args.node, args.n, args.blocks)
    print(
        json.dumps(
            {**asdict(result), "rate": result.rate, "cpu_per_command": result.cpu_per_command}
        )
    )


if __name__ == "__main__":
    main()

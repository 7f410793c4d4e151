"""The sg transport's submit path against a fake descriptor: what the driver refuses, and why.

``os.write`` is replaced (in the sg module only) by a script, so the errnos the
Linux driver returns (EDOM, EAGAIN, ENOMEM, ENODEV) can be played without a device.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import sgscript.transport.linux.sg as sg
from sgscript import Channel
from sgscript.scsi.commands import Read10, Read16, TestUnitReady
from sgscript.scsi.errors import TransportError
from sgscript.transport.base import Io


class _Os:
    """``os`` with a scripted ``write``: each call pops the next outcome (an errno or OK)."""

    def __init__(self, script: list[int | None]) -> None:
        self.script = script
        self.writes = 0

    def write(self, fd: int, data: bytes) -> int:
        self.writes += 1
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise OSError(outcome, os.strerror(outcome))
        return memoryview(data).nbytes

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


@pytest.fixture
def make(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[list[int | None]], sg.SgTransport]]:
    monkeypatch.setattr(sg, "sg_version", lambda fd: 30536)
    made: list[sg.SgTransport] = []

    def factory(script: list[int | None]) -> sg.SgTransport:
        monkeypatch.setattr(sg, "os", _Os(script))
        transport = sg.SgTransport("/dev/sg-fake", fd=os.eventfd(0, os.EFD_NONBLOCK))
        made.append(transport)
        return transport

    yield factory
    for transport in made:
        transport.close()


def big_read() -> Io:
    return Io(Read16(logical_block_address=0, transfer_length=65536), block_size=512)  # 32 MiB


def test_enomem_with_nothing_in_flight_is_a_clear_error(make: Any) -> None:
    transport = make([errno.ENOMEM])
    io = big_read()
    with pytest.raises(TransportError) as err:
        transport.submit([io])
    text = "the sg driver refused a 32 MiB transfer (ENOMEM)"
    assert text in str(err.value)
    assert io.os_error is not None and io.os_error.errno == errno.ENOMEM
    assert text in io.os_error.strerror


def test_enomem_through_the_reactor_fails_the_command_instead_of_waiting(make: Any) -> None:
    transport = make([errno.ENOMEM] * 100)
    ch = Channel(transport, block_size=512, timeout=1.0)
    io = ch.execute(Read16(logical_block_address=0, transfer_length=65536), wait=False)
    io.wait(timeout=5, check=False)  # before: "queue full" for ever, the timeout never armed
    assert io.failure is not None
    assert "refused a 32 MiB transfer (ENOMEM)" in io.failure.detail
    ch.close()


@pytest.mark.parametrize("code", [errno.ENOMEM, errno.EDOM, errno.EAGAIN])
def test_no_room_while_commands_are_in_flight_is_backlog(make: Any, code: int) -> None:
    transport = make([code])
    fd = transport.fds()[0]
    transport._pending[fd][99] = object()  # a command of this descriptor the driver holds
    io = Io(TestUnitReady())
    assert transport.submit([io]) == 0 and io.os_error is None
    transport._pending[fd].clear()  # it completed: the same refusal is now final
    sg.os.script = [code]  # type: ignore[attr-defined]
    with pytest.raises(TransportError) as err:
        transport.submit([io])
    assert f"({errno.errorcode[code]})" in str(err.value)


def test_a_failure_after_some_were_sent_keeps_the_count(make: Any) -> None:
    transport = make([None, errno.ENODEV])
    ios = [Io(TestUnitReady()) for _ in range(3)]
    assert transport.submit(ios) == 1  # before: raised, and the reactor failed the wrong Io
    assert ios[0].tag and ios[1].os_error is None
    sg.os.script = [errno.ENODEV]  # type: ignore[attr-defined]
    with pytest.raises(TransportError) as err:
        transport.submit(ios[1:])
    assert "(ENODEV)" in str(err.value) and "gone" in str(err.value)
    assert ios[1].os_error is not None and ios[1].os_error.errno == errno.ENODEV


def test_sg_io_refusal_is_worded_the_same(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    transport = make([])

    def ioctl(fd: int, request: int, arg: Any) -> None:
        raise OSError(errno.ENOMEM, os.strerror(errno.ENOMEM))

    monkeypatch.setattr(sg.fcntl, "ioctl", ioctl)
    assert not transport.execute_sync(big_read())  # too big for SG_IO: write() refuses at once
    io = Io(Read10(lba=0, transfer_length=2048))  # 1 MiB: the largest SG_IO takes
    assert transport.execute_sync(io)
    assert io.failure is not None and "refused a 1 MiB transfer (ENOMEM)" in io.failure.detail


def test_a_command_slot_is_reused_and_points_at_each_commands_own_buffers() -> None:
    """The header, CDB and sense buffers are made once per slot; each command's CDB is
    copied in and its data buffer used in place (data-in written by the driver, data-out
    read from the command's own bytes)."""
    import ctypes

    slot = sg._Pending()
    read = Io(Read10(lba=5, transfer_length=2), block_size=512)
    slot.load(read, 7, 1000, 0)
    hdr = slot.hdr
    assert (hdr.pack_id, hdr.cmd_len, hdr.dxfer_len) == (7, 10, 1024)
    assert slot.cdb.raw[:10] == read.cdb and hdr.dxfer_direction == sg.SG_DXFER_FROM_DEV
    ctypes.memmove(hdr.dxferp, b"\xab" * 4, 4)  # as the driver writes data-in
    assert read.buffer is not None and bytes(read.buffer[:4]) == b"\xab" * 4
    slot.release()
    out = Io(command_with_data(b"\x5a" * 512))
    slot.load(out, 8, 1000, 0)
    assert slot.cdb.raw[:10] == out.cdb and hdr.dxfer_direction == sg.SG_DXFER_TO_DEV
    assert ctypes.string_at(hdr.dxferp, 512) == b"\x5a" * 512
    slot.release()
    tur = Io(TestUnitReady())
    slot.load(tur, 9, 1000, 0)
    assert (hdr.cmd_len, hdr.dxfer_len, hdr.dxferp) == (6, 0, None)
    assert hdr.dxfer_direction == sg.SG_DXFER_NONE
    slot.release()
    slot.load(tur, 10, 1000, 0)  # the same command again: only its pack id changes
    assert (hdr.pack_id, hdr.cmd_len, slot.cdb.raw[:6]) == (10, 6, tur.cdb)
    fresh = sg._Pending()
    fresh.load(Io(TestUnitReady()), 11, 1000, 0)
    assert (fresh.hdr.dxfer_direction, fresh.hdr.cmd_len) == (sg.SG_DXFER_NONE, 6)


def command_with_data(data: bytes) -> Any:
    from sgscript.scsi.commands import Write10

    return Write10(lba=1, data=data)


def test_completions_are_read_into_one_reused_header(make: Any) -> None:
    """reap() reads each sg_io_hdr into the transport's own header (no allocation per
    completion) and fills the Io it belongs to, status and sense included."""
    transport = make([])
    fd = transport.fds()[0]
    ios = [Io(TestUnitReady()), Io(TestUnitReady())]
    assert transport.submit(ios) == 2
    r, w = os.pipe()
    os.set_blocking(r, False)
    transport._pending[r] = transport._pending.pop(fd)  # completions arrive on the pipe
    for io, status in zip(ios, (0, 2), strict=True):
        reply = sg.SgIoHdr()
        reply.pack_id, reply.status = io.tag, status
        os.write(w, bytes(reply))
    done = transport.reap(r)
    assert done == ios and [io.status for io in done] == [0, 2]
    assert transport.in_flight == 0 and len(transport._free) == 2
    os.close(r)
    os.close(w)

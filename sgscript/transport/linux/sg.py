"""Linux SCSI generic (sg) v3: synchronous SG_IO and the asynchronous write/read interface.

No compiled extension: ``sg_io_hdr`` is a ctypes structure, commands go in
with ``write()`` and come back with ``read()`` on a non-blocking descriptor
that ``poll`` reports readable when a completion waits.

The driver holds at most 16 commands per open descriptor (more gives EDOM),
so a deeper queue opens more descriptors on the same node and spreads the
commands over them; anything beyond the total stays with the reactor.

Access: the node is opened ``O_RDWR | O_NONBLOCK``, never ``O_EXCL``.  That is
the least the asynchronous interface works with: commands go in with
``write()``, which the kernel refuses on a descriptor opened ``O_RDONLY``
(EBADF), and the driver itself only lets ``O_RDONLY`` openers send a short list
of read-only commands through ``SG_IO``.  So the open mode cannot keep a plan
from changing a device; what is sent is gated before anything is opened
(``sgscript.runner.safety``: destructive steps need ``--allow-destructive``, and a disk
in use is refused), and for a plan that changes the device the runner holds
the disk's block device ``O_RDONLY | O_EXCL`` for the run
(``transport.linux.holders.claim``) so nobody mounts it meanwhile.  ``O_EXCL`` on the
sg node itself would shut out other initiators' tools and other sgscript
devices bound to the same node (a second nexus), so it is not used.

Task management: the driver offers user space only ``SG_SCSI_RESET`` (a reset of
the logical unit, target, bus or host, done by the host's driver: on SAS, FC and
iSCSI a LOGICAL UNIT RESET or a target reset sent for us).  ABORT TASK, ABORT TASK
SET, CLEAR TASK SET and I_T NEXUS RESET cannot be asked for from user space (the
kernel's error handler sends aborts itself, for commands that time out), so
``task_functions`` lists the two resets and a plan asking for more is refused.

Opening checks what the path is first: a block device (``/dev/sda``) is
refused with the name of its sg node, any other character device or file is
refused as not sg; every descriptor opened is closed again when opening fails.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import time
from collections.abc import Sequence
from typing import Any

from ...grammar import size_text
from ...scsi.cdb import Direction
from ...scsi.errors import TaskFailed, TransportError, UsageError
from ..base import Io, Outcome, ResetKind, TaskFunction, Transport
from .codes import set_host_status
from .holders import SG_MAJOR, HostPaths, block_name_of_node, sg_of_block

__all__ = ["SG_MAX_QUEUE", "SG_TASKS", "SgTransport", "sg_refusal", "sg_version"]

# <scsi/sg.h>
SG_DXFER_NONE = -1
SG_DXFER_TO_DEV = -2
SG_DXFER_FROM_DEV = -3
SG_FLAG_Q_AT_TAIL = 0x10
SG_INFO_OK_MASK = 0x1
SG_GET_VERSION_NUM = 0x2282
SG_SCSI_RESET = 0x2284
SG_IO = 0x2285
SG_GET_NUM_WAITING = 0x227D
SG_SET_TIMEOUT = 0x2201
SG_SCSI_RESET_NO_ESCALATE = 0x100
#: Commands the sg driver queues per open file descriptor (sg.c SG_MAX_QUEUE).
SG_MAX_QUEUE = 16
_CDB_MAX = 260  # a variable-length CDB's most (SPC-5 4.2.3)
_SENSE_MAX = 252  # SPC-5 upper bound on sense data; the driver caps at SCSI_SENSE_BUFFERSIZE (96)
_TIMEOUT_MAX_MS = 0x7FFFFFFF
#: The largest transfer sent with SG_IO. A bigger one goes through write()/read(): there
#: the driver refuses at once what it cannot map (ENOMEM), where SG_IO was seen to block
#: for minutes building a 32 MiB buffer in a small guest.
_SYNC_MAX_BYTES = 1 << 20
#: write() errnos that mean "no room now" while this descriptor has commands in flight.
_FULL = frozenset({errno.EDOM, errno.EAGAIN, errno.ENOMEM})
#: The task management functions SG_SCSI_RESET reaches, and the reset it asks for.
SG_TASKS = {
    TaskFunction.LOGICAL_UNIT_RESET: ResetKind.DEVICE,
    TaskFunction.TARGET_RESET: ResetKind.TARGET,
}
#: How a command the kernel reports timed out (DID_TIME_OUT, DRIVER_TIMEOUT) was ended.
_KERNEL_ENDED = (
    "the kernel's SCSI error handler ended it at its timeout (an abort by the host's driver,"
    " escalating to resets when that fails)"
)


class SgIoHdr(ctypes.Structure):
    """``struct sg_io_hdr`` (include/scsi/sg.h), native layout."""

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


_HDR_SIZE = ctypes.sizeof(SgIoHdr)
_DIRECTION = {
    Direction.NONE: SG_DXFER_NONE,
    Direction.IN: SG_DXFER_FROM_DEV,
    Direction.OUT: SG_DXFER_TO_DEV,
}


class _Pending:
    """One command slot: the header, CDB and sense buffers the driver reads and writes,
    made once and reused for command after command (a transport keeps a free list)."""

    __slots__ = ("_last", "cdb", "data", "hdr", "io", "sense")

    def __init__(self) -> None:
        self.cdb = ctypes.create_string_buffer(_CDB_MAX)
        self.sense = ctypes.create_string_buffer(_SENSE_MAX)
        hdr = self.hdr = SgIoHdr()
        hdr.interface_id = ord("S")
        hdr.mx_sb_len = _SENSE_MAX
        hdr.dxfer_direction = SG_DXFER_NONE
        hdr.cmdp = ctypes.addressof(self.cdb)
        hdr.sbp = ctypes.addressof(self.sense)
        self.io: Io | None = None
        self.data: Any = None
        #: (CDB bytes object, timeout, flags) the header holds: a repeated command (the same
        #: CDB object, held here so its identity is its own) needs only its new pack id.
        self._last: tuple[bytes, int, int] | None = None

    def load(self, io: Io, pack_id: int, timeout_ms: int, flags: int) -> None:
        """Point the slot at ``io``: its CDB copied in, its data buffer used in place."""
        cdb = io.cdb
        self.io = io
        hdr = self.hdr
        last = self._last
        if last is None or last[0] is not cdb or last[1] != timeout_ms or last[2] != flags:
            if len(cdb) > len(self.cdb):  # longer than any CDB: the driver says what it thinks
                self.cdb = ctypes.create_string_buffer(len(cdb))
                hdr.cmdp = ctypes.addressof(self.cdb)
            ctypes.memmove(self.cdb, cdb, len(cdb))
            hdr.cmd_len = len(cdb)
            hdr.timeout = timeout_ms
            hdr.flags = flags
            self._last = (cdb, timeout_ms, flags)
        hdr.pack_id = pack_id
        hdr.usr_ptr = pack_id
        # status, host/driver status, sense length, resid, duration: the driver writes
        # them all back with every completion (read() into the reply, SG_IO in place)
        n = io.dxfer_len
        if not n and not hdr.dxfer_len:
            return  # no data phase, and none was set up before
        if n:
            if io.data_out is not None:  # the kernel only reads it: the bytes object's own memory
                self.data = ctypes.c_char_p(io.data_out)
                hdr.dxferp = ctypes.cast(self.data, ctypes.c_void_p).value
            else:
                assert io.buffer is not None
                self.data = ctypes.c_char.from_buffer(io.buffer)
                hdr.dxferp = ctypes.addressof(self.data)
            hdr.dxfer_direction = _DIRECTION[io.command.direction]
        else:
            self.data = None
            hdr.dxferp = None
            hdr.dxfer_direction = SG_DXFER_NONE
        hdr.dxfer_len = n

    def release(self) -> None:
        """Let go of the command's buffers (the slot goes back to the free list)."""
        self.io = None
        self.data = None

    def fill(self, hdr: SgIoHdr) -> Io:
        """Copy what the driver returned into the Io."""
        io = self.io
        assert io is not None
        io.status = hdr.status
        if hdr.host_status or hdr.driver_status:
            set_host_status(io, hdr.host_status, hdr.driver_status)
            told = io.transport_outcome
            if told is not None and told.outcome is Outcome.TIMEOUT:
                io.ended = _KERNEL_ENDED
        io.resid = hdr.resid
        io.info = hdr.info
        io.device_duration = hdr.duration / 1000.0
        if hdr.sb_len_wr:
            io.sense_raw = self.sense.raw[: hdr.sb_len_wr]
        return io


def sg_version(fd: int) -> int:
    """The sg driver version as an int (30536 is 3.5.36)."""
    buf = ctypes.c_int(0)
    fcntl.ioctl(fd, SG_GET_VERSION_NUM, buf)
    return buf.value


def _check_node(path: str, paths: HostPaths | None = None) -> None:
    """Refuse, before opening, what is not an sg node, saying what it is and what to use."""
    import stat

    try:
        st = os.stat(path)
    except OSError:
        return  # the open reports it (ENOENT, EACCES) in the kernel's words
    paths = paths or HostPaths()
    if stat.S_ISBLK(st.st_mode):
        raise UsageError(_block_hint(path, paths))
    if stat.S_ISCHR(st.st_mode):
        if os.major(st.st_rdev) != SG_MAJOR:
            raise UsageError(
                f"{path} is a character device ({os.major(st.st_rdev)}:{os.minor(st.st_rdev)})"
                " but not a SCSI generic (sg) node; `sgscript devices` lists the sg nodes"
            )
        return
    kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a device node"
    raise UsageError(f"{path} is {kind}, not a SCSI generic (sg) node like /dev/sg0")


def _block_hint(path: str, paths: HostPaths) -> str:
    """``/dev/sda is a block device; use its sg node /dev/sg1`` (found in sysfs)."""
    name = block_name_of_node(path, paths) or os.path.basename(path)
    sg = sg_of_block(name, paths)
    use = (
        f"use its SCSI generic node /dev/{sg} instead"
        if sg
        else ("it has no SCSI generic (sg) node (is the sg driver loaded? `modprobe sg`)")
    )
    return f"{path} is a block device ({name}); sgscript sends commands through sg: {use}"


class SgTransport(Transport):
    """One sg node, through one or more non-blocking descriptors of 16 slots each."""

    timeout_grace = 15.0

    def __init__(
        self,
        path: str,
        *,
        queue_depth: int = SG_MAX_QUEUE,
        at_head: bool = False,
        fd: int | None = None,
    ) -> None:
        self.target = path
        self.path = path
        self.at_head = at_head
        self._fds: list[int] = []
        self._pending: dict[int, dict[int, _Pending]] = {}
        self._zombies: set[int] = set()
        self._free: list[_Pending] = []  # command slots to reuse
        self._reply = SgIoHdr()  # what read() fills
        self._next_id = 1
        self._in_flight = 0
        try:
            count = max(1, -(-queue_depth // SG_MAX_QUEUE))
            if fd is not None:
                self._adopt(fd)
                count -= 1
            else:
                _check_node(path)
            for _ in range(count):
                own = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
                try:
                    self._adopt(own)
                except BaseException:
                    os.close(own)
                    raise
            self.version = sg_version(self._fds[0])
        except BaseException:
            if fd is not None and fd in self._fds:
                self._fds.remove(fd)  # the caller's descriptor stays the caller's
            self.close()
            raise
        self.capacity = SG_MAX_QUEUE * len(self._fds)

    def _adopt(self, fd: int) -> None:
        """Take ``fd`` into the transport once it proves to be sg v3 (the caller closes it if not)."""
        try:
            version = sg_version(fd)
        except OSError as exc:
            if exc.errno in (errno.ENOTTY, errno.EINVAL):
                raise UsageError(f"{self.path} is not a SCSI generic (sg) device") from None
            raise
        if version < 30000:
            raise UsageError(f"{self.path}: sg driver {version} is older than version 3")
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self._fds.append(fd)
        self._pending[fd] = {}

    # -- Transport ---------------------------------------------------------------

    def fds(self) -> Sequence[int]:
        return self._fds

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _flags(self) -> int:
        return 0 if self.at_head else SG_FLAG_Q_AT_TAIL

    def _new_pending(self, io: Io) -> tuple[int, _Pending]:
        pack_id = self._next_id
        self._next_id = pack_id + 1 if pack_id < 0x7FFFFFFF else 1
        timeout_ms = min(_TIMEOUT_MAX_MS, max(1, int(io.timeout * 1000)))
        pending = self._free.pop() if self._free else _Pending()
        pending.load(io, pack_id, timeout_ms, self._flags())
        return pack_id, pending

    def _recycle(self, pending: _Pending) -> None:
        pending.release()
        if len(self._free) < 4 * SG_MAX_QUEUE:
            self._free.append(pending)

    def submit(self, ios: Sequence[Io]) -> int:
        started = 0
        for io in ios:
            fd = self._least_busy()
            if fd is None:
                break
            pack_id, pending = self._new_pending(io)
            io.submitted_at = time.perf_counter()
            try:
                os.write(fd, pending.hdr)  # EINTR is retried by Python (PEP 475)
            except OSError as exc:
                self._recycle(pending)
                io.submitted_at = 0.0
                if exc.errno in _FULL and self._pending[fd]:
                    # Commands (ours, or abandoned ones the driver still holds) occupy this
                    # descriptor: their completions make room; the reactor keeps the rest.
                    return started
                if started:
                    return started  # the next call reports it, for the Io at the head
                # Nothing in flight here to wait for: waiting would be for ever.
                message = self._refused(io, exc)
                io.os_error = OSError(exc.errno, message)
                raise TransportError(io, message) from exc
            self._pending[fd][pack_id] = pending
            self._in_flight += 1
            io.tag = pack_id
            started += 1
        return started

    def _refused(self, io: Io, exc: OSError) -> str:
        """One line on why the driver would not take ``io`` (what, the errno, what to do)."""
        code = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        what = f"a {size_text(io.dxfer_len)} transfer" if io.dxfer_len else "the command"
        text = f"the sg driver refused {what} ({code}): {exc.strerror or exc}"
        if exc.errno == errno.ENOMEM and io.dxfer_len:
            text += (
                "; the most it takes is scatter_elem_sz (/sys/module/sg/parameters/)"
                " times the host's sg_tablesize: send smaller transfers"
            )
        elif exc.errno in _FULL:
            text += " with nothing of this descriptor in flight"
        elif exc.errno in (errno.ENODEV, errno.ENXIO):
            text += f"; {self.path} is gone"
        return text

    def _least_busy(self) -> int | None:
        best, best_n = None, SG_MAX_QUEUE
        for fd in self._fds:
            n = len(self._pending[fd])
            if n < best_n:
                best, best_n = fd, n
        return best

    def reap(self, fd: int) -> list[Io]:
        done: list[Io] = []
        table = self._pending[fd]
        hdr = self._reply
        while table:
            try:
                n = os.readv(fd, (hdr,))
            except BlockingIOError:
                break
            except OSError as exc:
                raise TransportError(
                    None, f"{self.path}: read() from the sg driver failed: {exc}"
                ) from exc
            now = time.perf_counter()
            if n != _HDR_SIZE:
                raise TransportError(None, f"{self.path}: short read of sg_io_hdr ({n} bytes)")
            pending = table.pop(hdr.pack_id, None)
            if pending is None:
                continue  # not ours (another opener of a shared fd); nothing to fill
            self._in_flight -= 1
            if hdr.pack_id in self._zombies:
                self._zombies.discard(hdr.pack_id)
                self._recycle(pending)
                continue
            io = pending.fill(hdr)
            self._recycle(pending)
            io.completed_at = now
            done.append(io)
        return done

    def execute_sync(self, io: Io) -> bool:
        """SG_IO on the least busy descriptor: one system call, no reactor round trip."""
        if io.dxfer_len > _SYNC_MAX_BYTES:
            return False
        fd = self._least_busy()
        if fd is None:
            return False
        _, pending = self._new_pending(io)
        io.submitted_at = time.perf_counter()
        try:
            # Never retried on EINTR: the driver may already have sent the command.
            fcntl.ioctl(fd, SG_IO, pending.hdr)
        except InterruptedError:
            io.os_error = InterruptedError(
                errno.EINTR, "interrupted by a signal while the command was at the device"
            )
        except OSError as exc:
            io.os_error = OSError(exc.errno, self._refused(io, exc))
        now = time.perf_counter()
        if io.os_error is None:
            pending.fill(pending.hdr)
        self._recycle(pending)
        io.complete(now)
        return True

    def abandon(self, io: Io) -> str | None:
        # The driver will still complete it; its read() is then discarded.
        if io.tag and any(io.tag in table for table in self._pending.values()):
            self._zombies.add(io.tag)
            return (
                f"the kernel had not returned it {self.timeout_grace:g} s past its timeout;"
                " sgscript stopped waiting (the sg driver still holds it and its answer is dropped)"
            )
        return None

    def reset(self, kind: ResetKind) -> None:
        value = ctypes.c_int(int(kind) | (SG_SCSI_RESET_NO_ESCALATE if kind else 0))
        try:
            fcntl.ioctl(self._fds[0], SG_SCSI_RESET, value)
        except OSError as exc:
            raise TaskFailed(None, f"{self.path}: {kind.name.lower()} reset failed: {exc}") from exc

    task_functions = frozenset(SG_TASKS)

    def task_management(self, function: TaskFunction, select: Any = None) -> str:
        """LOGICAL UNIT RESET and TARGET RESET through SG_SCSI_RESET (``SG_TASKS``); the
        rest cannot be asked for from user space."""
        kind = SG_TASKS.get(function)
        if kind is None:
            raise TaskFailed(None, sg_refusal(function))
        self.reset(kind)
        return f"{function.title}: SG_SCSI_RESET_{kind.name} (performed by the host's driver)"

    def waiting(self) -> int:
        """Completions the driver holds ready for read() on all descriptors."""
        total = 0
        for fd in self._fds:
            buf = ctypes.c_int(0)
            fcntl.ioctl(fd, SG_GET_NUM_WAITING, buf)
            total += buf.value
        return total

    def close(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
        self._pending = {}


def sg_refusal(function: TaskFunction) -> str:
    """Why the sg driver cannot send ``function``, in one line."""
    offered = " or ".join(f.value for f in SG_TASKS)
    return (
        f"{function.title} cannot be sent through the Linux sg driver: user space gets only"
        f" SG_SCSI_RESET (logical unit, target, bus or host reset); use task: {offered},"
        " or a sim: target"
    )

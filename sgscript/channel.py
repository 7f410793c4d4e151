"""``Channel``: one device, commands in and Ios out — the seed library's API in Python 3 form.

A channel binds a transport to a reactor.  ``channel.cmd.Read10(lba=0,
transfer_length=1)`` builds the command and runs it; ``wait=False`` returns the
Io in flight.  Blocking calls with nothing else queued go through the
transport's synchronous path (SG_IO on sg); everything else through the reactor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .reactor import Reactor
from .scsi.catalog import Catalog, standard_catalog
from .scsi.cdb import Command, Direction
from .scsi.errors import TaskFailed
from .transport import open_transport
from .transport.base import Io, ResetKind, TaskFunction, Transport

__all__ = ["Channel"]

DEFAULT_TIMEOUT = 60.0


class _Shortcuts:
    """``channel.cmd.Name(**fields, wait=..., timeout=...)``."""

    __slots__ = ("_channel",)

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    def __getattr__(self, name: str) -> Callable[..., Io]:
        cls = self._channel.catalog.lookup(name)

        def run(*, wait: bool = True, ordered: bool = False, **fields: Any) -> Io:
            return self._channel.execute(cls(**fields), wait=wait, ordered=ordered)

        run.__name__ = cls.__name__
        run.__doc__ = cls.__doc__
        return run

    def __dir__(self) -> list[str]:
        return sorted(self._channel.catalog)


class Channel:
    """One device: a transport and the reactor that drives it (and owns its queue)."""

    def __init__(
        self,
        transport: Transport,
        *,
        reactor: Reactor | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        block_size: int | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.transport = transport
        #: What ``channel.cmd.Name`` finds (a plugin manager's ``pm.catalog``; default standard).
        self.catalog = catalog if catalog is not None else standard_catalog()
        self.target = transport.target
        self.timeout = timeout
        self._block_size = block_size
        self.closed = False
        self.reactor = reactor if reactor is not None else Reactor()
        self._own_reactor = reactor is None
        #: This device's queue: the reactor writes it, the channel only asks it.
        self.queue = self.reactor.add(transport, on_close=self.close)
        self.cmd = _Shortcuts(self)

    # -- opening ------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        target: str,
        *,
        queue_depth: int = 16,
        initiator: str | None = None,
        options: Mapping[str, Any] | None = None,
        plugins: Any = None,
        **kwargs: Any,
    ) -> Channel:
        """Open ``/dev/sg3``, ``sg:/dev/sg3``, ``sim:…`` or a target kind of ``plugins``.

        ``initiator`` names the I_T nexus on targets that have several (``sim:``);
        ``options`` are a spec device's ``options:``; ``plugins`` a plugin manager
        (``get_plugin_manager()``) whose target kinds and catalog the channel uses.
        """
        kinds = plugins.target_kinds if plugins is not None else None
        if plugins is not None:
            kwargs.setdefault("catalog", plugins.catalog)
        transport = open_transport(
            target, kinds=kinds, queue_depth=queue_depth, initiator=initiator, options=options
        )
        return cls(transport, **kwargs)

    @classmethod
    def from_path(cls, path: str, **kwargs: Any) -> Channel:
        """The seed library's spelling of :meth:`open`."""
        return cls.open(path, **kwargs)

    @classmethod
    def from_fd(cls, fd: int, target: str | None = None, **kwargs: Any) -> Channel:
        """Wrap an sg file descriptor the caller opened (the channel closes it)."""
        from .transport.linux.sg import SgTransport

        path = target or f"fd:{fd}"
        return cls(SgTransport(path, fd=fd, queue_depth=16), **kwargs)

    # -- running commands ---------------------------------------------------------

    @property
    def block_size(self) -> int:
        """The logical block size, read once from the device when first needed."""
        if self._block_size is None:
            from .scsi.commands import ReadCapacity10

            io = self.execute(ReadCapacity10(), wait=True, check=False)
            fields = io.command.decode_response(io.data) if io.error is None else {}
            size = fields.get("logical_block_length_in_bytes")
            if not size:
                return 512  # not ready or no medium: assume, and ask again next time
            self._block_size = int(size)
        return self._block_size

    @block_size.setter
    def block_size(self, value: int) -> None:
        self._block_size = value

    def _needs_block_size(self, command: Command) -> bool:
        opts = command.options
        if opts.block_size is not None or not command.transfer.uses_block_size:
            return False
        if command.direction is Direction.IN:
            return opts.data_in is None
        if command.direction is Direction.OUT:
            return opts.data is None or command.infers_length
        return False

    def make_io(self, command: Command, *, ordered: bool = False) -> Io:
        if self.closed:
            raise TaskFailed(None, f"{self.target}: channel is closed")
        bs = self.block_size if self._needs_block_size(command) else (self._block_size or 512)
        return Io(command, self, timeout=self.timeout, block_size=bs, ordered=ordered)

    @property
    def pending(self) -> int:
        """Commands submitted on this channel and not yet completed."""
        return self.queue.pending

    def submit(self, io: Io) -> Io:
        """Hand an Io to the reactor; returns at once."""
        io.channel = self
        self.queue.submit((io,))
        return io

    def execute(
        self, command: Command, *, wait: bool = True, ordered: bool = False, check: bool = True
    ) -> Io:
        """Run one command; with ``wait`` block and raise its failure (unless ``check=False``)."""
        io = self.make_io(command, ordered=ordered)
        idle = wait and not self.pending and not self.reactor.threaded
        if idle and self.transport.execute_sync(io):
            return io.wait(check=check)
        self.submit(io)
        if wait:
            io.wait(check=check)
        return io

    def execute_many(
        self, commands: Iterable[Command], *, wait: bool = True, ordered: bool = False
    ) -> list[Io]:
        """Submit all, in order; with ``wait`` block for all and raise the first failure."""
        ios = [self.make_io(c, ordered=ordered) for c in commands]
        self.queue.submit(ios)
        if wait:
            for io in ios:
                io.wait(check=False)
            for io in ios:
                if io.error is not None:
                    raise io.error
        return ios

    def poll(self) -> bool:
        """Process completions that are ready; True when nothing is pending on this channel."""
        self.reactor.poll()
        return self.pending == 0

    def wait(self, timeout: float | None = None) -> None:
        """Block until every command submitted on this channel has completed.

        Failures are not raised here: each Io holds its own (``io.error``).
        """
        queue = self.queue
        self.reactor.wait_until(lambda: queue.pending == 0, timeout)

    # -- device control -------------------------------------------------------------

    def reset(self, kind: str | int | ResetKind = ResetKind.DEVICE) -> None:
        """LUN (device), target, bus or host reset through the driver."""
        self.transport.reset(ResetKind.parse(kind))

    def task(self, function: str | TaskFunction, select: Callable[[Io], bool] | None = None) -> str:
        """A SAM-5 task management function (``abort_task``, ``clear_task_set``,
        ``lun_reset``...) on this I_T nexus; returns what it did, in words.

        ``select`` picks the commands in flight that ABORT TASK aims at.  Call it from
        the thread that turns the reactor (or with the reactor in a thread of its own).
        """
        return self.transport.task_management(TaskFunction(function), select)

    def close(self) -> None:
        """Close the device after reaping what is in flight (each within its timeout)."""
        if self.closed:
            return
        try:
            queue = self.queue
            if queue.pending:
                self.reactor.wait_until(lambda: queue.pending == 0)
        finally:
            self.closed = True
            self.reactor.remove(self.queue)
            self.transport.close()
            if self._own_reactor:
                self.reactor.close()

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Channel({self.target!r})"

"""Opening a run's devices: the destructive-step guard, plugin targets, the preparation.

A part of the runner (``runner._Runner`` inherits it): before a step is
sent, every device a selected step uses is checked, claimed, opened and
prepared as its ``unit_attention`` says (``scenario.plan.prepare``), or the run
ends with ``UsageError`` (exit 2) or ``DeviceOpenError`` (exit 3).  Each
preparation is a record of its own (path ``open.NAME``, kind ``open``): what was
sent, what it cleared, the block size and where it came from.
"""

from __future__ import annotations

import time
from typing import Any

from ..channel import Channel
from ..reactor import Reactor
from ..scenario.model import Scenario
from ..scenario.plan import Plan
from ..scenario.plan.prepare import UA_ATTEMPTS, used_devices
from ..scsi.commands import ReadCapacity10, TestUnitReady
from ..scsi.errors import TransportError, UnitAttention, UsageError
from ..transport import open_transport
from ..transport.base import Io
from .results import StepResult
from .step import _broken

__all__ = ["UA_ATTEMPTS", "DeviceOpenError"]

#: Commands whose GOOD answer gives a device its block size (``unit_attention: keep``).
_CAPACITY = frozenset({"ReadCapacity10", "ReadCapacity16"})


class DeviceOpenError(TransportError):
    """A device of the scenario could not be opened (the CLI's exit 3)."""

    def __init__(self, device: str, target: str, reason: str) -> None:
        self.device, self.target, self.reason = device, target, reason
        super().__init__(None, f"device {device} ({target}): {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (DeviceOpenError, (self.device, self.target, self.reason))


class _Devices:
    """The device half of ``_Runner`` (the attributes it uses are the runner's)."""

    plan: Plan
    scenario: Scenario
    pm: Any
    reactor: Reactor | None
    channels: dict[str, Channel]
    block_sizes: dict[str, int]
    targets: dict[str, str]
    notes: list[str]
    allow_destructive: bool
    destructive: list[Any]
    claims: list[Any]
    device_facts: dict[str, Any]
    #: device -> (opcode, service action) it answered as not supported in this run
    refused_commands: dict[str, set[tuple[int, int | None]]]
    preparation: list[StepResult]
    assumed: set[str]  # devices whose block size is assumed until a READ CAPACITY answers

    def _used_devices(self) -> list[str]:
        return used_devices(self.plan)

    def _guard(self) -> None:
        """Before anything is opened: destructive steps need permission on real devices,
        a disk in use is refused even with it, and a disk that will change is claimed."""
        from ..transport.linux import holders
        from .safety import DestructiveRefused, check_plan, disk_of, target_simulated

        targets = {}
        for name in self._used_devices():
            if name in self.scenario.devices:
                targets[name] = self.plan.device_target(name)[0]
        self.destructive = check_plan(self.plan, self.allow_destructive, devices=targets)
        if not self.allow_destructive:
            return
        for name in sorted({d.device for d in self.destructive}):
            target = targets.get(name, "")
            if target_simulated(target) is not False:
                continue
            block = disk_of(target)
            if block is None:
                continue
            try:
                claim, why = holders.claim(block)
            except holders.DiskInUse as exc:
                raise DestructiveRefused(
                    f"{self.scenario.file}: refusing to change a disk in use"
                    " (even with --allow-destructive); nothing was sent:",
                    [f"device {name} ({target}): {exc}"],
                ) from None
            if claim is not None:
                self.claims.append(claim)
            else:
                self.notes.append(
                    f"device {name}: /dev/{block} not claimed exclusively ({why});"
                    " sysfs shows no holder"
                )

    def facts(self, name: str) -> Any:
        """The device's facts (``device.lbpme``...), probed the first time a condition asks."""
        from .facts import probe

        if name not in self.device_facts:
            channel = self.channels.get(name)
            if channel is None:
                raise UsageError(f"device {name!r} is not opened by this run (no step uses it)")
            self.device_facts[name] = probe(
                name,
                self.targets[name],
                channel,
                self.plan.catalog,
                self.notes,
                self.refused_commands.setdefault(name, set()),
            )
        return self.device_facts[name]

    def _open_devices(self) -> None:
        for name in self._used_devices():
            device = self.scenario.devices.get(name)
            if device is None:
                raise UsageError(
                    f"{self.scenario.file}: a step uses device {name!r}, which is not declared"
                )
            target, options = self.plan.device_target(name)
            self.targets[name] = target
            channel = self._open(name, target, options)
            self.channels[name] = channel
        self._refuse_real_plugins()
        for name, channel in self.channels.items():
            self.preparation.append(self._ready(name, channel))

    def _refuse_real_plugins(self) -> None:
        """A plugin's transport is real unless its class says ``simulated``: judged once open."""
        from .safety import refusal, target_simulated

        if self.allow_destructive:
            return
        real = [
            d
            for d in self.destructive
            if d.device in self.channels
            and target_simulated(self.targets[d.device]) is None
            and not getattr(self.channels[d.device].transport, "simulated", False)
        ]
        if real:
            raise refusal(self.plan, real, self.targets)

    def _open(self, name: str, target: str, options: dict[str, Any]) -> Channel:
        device = self.scenario.devices[name]
        depth = self.plan.device_queue_depth(name)
        kwargs: dict[str, Any] = {"reactor": self.reactor, "catalog": self.plan.catalog}
        if device.timeout is not None:
            kwargs["timeout"] = device.timeout
        where = f"{device.mark}: " if device.mark is not None else ""
        try:
            transport = None
            if self.pm is not None:
                transport = self.pm.hook.sgscript_open_target(
                    target=self.plan.bindings.get(name, device.target),
                    options=device.open_options(),
                )
            if transport is None:
                transport = open_transport(
                    target,
                    kinds=getattr(self.pm, "target_kinds", None),
                    queue_depth=depth,
                    initiator=device.initiator,
                    options=options,
                )
            channel = Channel(transport, **kwargs)
        except UsageError as exc:  # a bad target string or sim option: the spec's (exit 2)
            raise UsageError(f"{where}device {name} ({target}): {exc}") from None
        except DeviceOpenError:
            raise
        except (TransportError, OSError) as exc:
            reason = exc.detail if isinstance(exc, TransportError) else str(exc)
            raise DeviceOpenError(name, target, reason) from None
        unused = channel.transport.unused_options
        if unused:
            self.notes.append(
                f"device {name} ({target}): options {', '.join(unused)} ignored"
                " (this target kind does not use them: they describe a sim: target)"
            )
        return channel

    def _ready(self, name: str, channel: Channel) -> StepResult:
        """Prepare the device as its ``unit_attention`` says; the record of what was sent.

        ``clear``: TEST UNIT READY until GOOD (a host's scan clears the power-on UNIT
        ATTENTION so), then READ CAPACITY(10) for the block size, once (a guess stays
        put: no READ CAPACITY mid-run).  ``keep``: nothing; the block size the target
        states, until the scenario's own READ CAPACITY answers (``learn_block_size``).
        """
        device = self.scenario.devices[name]
        started = time.perf_counter()
        said: list[str] = []
        sent: list[str] = []
        if device.unit_attention == "keep":
            size = self.plan.block_size_hint(name)
            self.assumed.add(name)
            said.append(
                "nothing sent (unit_attention: keep): a pending UNIT ATTENTION is the first"
                f" command's; block size {size} assumed until the scenario reads the capacity"
            )
        else:
            for _ in range(UA_ATTEMPTS):
                io = self._prepare(name, channel, TestUnitReady(), sent)
                failure = io.failure
                if failure is None:
                    said.append("TEST UNIT READY: GOOD")
                    break
                sense = io.sense
                words = sense.summary() if sense is not None else failure.detail
                if not isinstance(failure, UnitAttention):
                    said.append(f"TEST UNIT READY: {words}")
                    break
                said.append(f"TEST UNIT READY: cleared UNIT ATTENTION ({words})")
            io = self._prepare(name, channel, ReadCapacity10(), sent)
            size = _block_length(io) or 512
            if io.failure is None and _block_length(io):
                said.append(f"READ CAPACITY(10): {size}-byte blocks")
            else:
                got = io.failure.detail if io.failure is not None else "no block length"
                said.append(f"READ CAPACITY(10): {got}; block size {size} assumed")
        channel.block_size = size  # no READ CAPACITY behind the scenario's back
        self.block_sizes[name] = size
        return StepResult(
            name=f"open {name}",
            path=f"open.{name}",
            device=name,
            command=", ".join(dict.fromkeys(sent)) or None,
            status="passed",
            count=len(sent),
            kind="open",
            message="; ".join(said),
            duration=time.perf_counter() - started,
            repeat=len(sent),
            mark=device.mark,
        )

    def _prepare(self, name: str, channel: Channel, command: Any, sent: list[str]) -> Io:
        """One command of a device's preparation; a broken path is ``DeviceOpenError``."""
        target = self.targets[name]
        try:
            io = channel.execute(command, wait=True, check=False)
        except TransportError as exc:
            raise DeviceOpenError(name, target, exc.detail) from None
        sent.append(type(command).__name__)
        if io.failure is not None and _broken(io):
            raise DeviceOpenError(name, target, io.failure.detail)
        return io

    def learn_block_size(self, name: str, io: Io | None, path: str) -> None:
        """A ``keep`` device's block size from the scenario's first GOOD READ CAPACITY."""
        if name not in self.assumed or io is None or io.failure is not None:
            return
        if type(io.command).__name__ not in _CAPACITY:
            return
        size = _block_length(io)
        if size:
            self.assumed.discard(name)
            self.channels[name].block_size = self.block_sizes[name] = size
            self.notes.append(f"device {name}: block size {size}, from step {path}'s answer")


def _block_length(io: Io) -> int:
    """The LOGICAL BLOCK LENGTH IN BYTES a READ CAPACITY answered, or 0 (also when it
    failed: a refused command's buffer holds nothing the device said)."""
    if io.failure is not None:
        return 0
    try:
        fields = io.command.decode_response(io.data)
    except Exception:
        return 0
    size = fields.get("logical_block_length_in_bytes") if isinstance(fields, dict) else None
    return int(size) if isinstance(size, int) and size > 0 else 0

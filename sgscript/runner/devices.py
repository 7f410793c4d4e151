"""Opening a run's devices: the destructive-step guard, plugin targets, TEST UNIT READY.

A part of the runner (``runner._Runner`` inherits it): before a step is
sent, every device a selected step uses is checked, claimed, opened and
readied, or the run ends with ``UsageError`` (exit 2) or ``DeviceOpenError`` (exit 3).
"""

from __future__ import annotations

from typing import Any

from ..channel import Channel
from ..reactor import Reactor
from ..scenario.model import Scenario
from ..scenario.plan import Plan
from ..scsi.commands import TestUnitReady
from ..scsi.errors import TransportError, UnitAttention, UsageError
from ..transport import open_transport
from .step import _broken

__all__ = ["UA_ATTEMPTS", "DeviceOpenError"]

#: TEST UNIT READY attempts when a device is opened (UNIT ATTENTIONs queue up: power on, reset, ...).
UA_ATTEMPTS = 4


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

    def _used_devices(self) -> list[str]:
        names: list[str] = []
        for ps in self.plan.steps():
            name = ps.step.device
            if ps.step.kind in ("command", "reset", "task") and name and name not in names:
                names.append(name)
        return names

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
                name, self.targets[name], channel, self.plan.catalog, self.notes
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
            self._ready(name, channel)

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

    def _ready(self, name: str, channel: Channel) -> None:
        """Clear the power-on UNIT ATTENTION (as a host's scan does) and learn the block size."""
        target = self.targets[name]
        for _ in range(UA_ATTEMPTS):
            try:
                io = channel.execute(TestUnitReady(), wait=True, check=False)
            except TransportError as exc:
                raise DeviceOpenError(name, target, exc.detail) from None
            failure = io.failure
            if failure is None:
                break
            if _broken(io):
                raise DeviceOpenError(name, target, failure.detail)
            sense = io.sense
            words = sense.summary() if sense is not None else failure.detail
            if isinstance(failure, UnitAttention):
                self.notes.append(f"device {name}: cleared UNIT ATTENTION ({words})")
                continue
            self.notes.append(f"device {name}: TEST UNIT READY: {words}")
            break
        size = channel.block_size  # READ CAPACITY(10), once
        channel.block_size = size  # even a guess stays put: no READ CAPACITY mid-run
        self.block_sizes[name] = size

"""What opening a device sends before the first step: shown by ``plan``, reported by the run.

A device's ``unit_attention`` decides it:

| ``unit_attention`` | sent when the device is opened | its block size |
|---|---|---|
| ``clear`` (default) | TEST UNIT READY until it answers GOOD, at most ``UA_ATTEMPTS`` times (each pending UNIT ATTENTION takes one: power on, a reset, ...), then READ CAPACITY(10) | READ CAPACITY(10)'s |
| ``keep`` | nothing: a pending UNIT ATTENTION waits for the scenario's first command | the ``block_size`` the target states (a ``sim:`` target, ``options:``) or 512, until the scenario's own READ CAPACITY answers GOOD |

A preparation is not a step of the spec: it counts in no step total, ``-k`` cannot
deselect it, and every report shows it apart (path ``open.NAME``, kind ``open``).
"""

from __future__ import annotations

from typing import Any

from .steps import PreviewRow

__all__ = ["UA_ATTEMPTS", "open_rows", "preparation", "used_devices"]

#: TEST UNIT READY attempts when a device is opened with ``unit_attention: clear``
#: (UNIT ATTENTIONs queue up: power on, reset, ...).
UA_ATTEMPTS = 4

#: Step kinds that send something to their device: the devices a run opens.
_ON_DEVICE = frozenset({"command", "reset", "task"})


def used_devices(plan: Any) -> list[str]:
    """The devices a run of ``plan`` opens: those its selected steps send to, in plan order."""
    names: list[str] = []
    for ps in plan.steps():
        name = ps.step.device
        if ps.step.kind in _ON_DEVICE and name and name not in names:
            names.append(name)
    return names


def preparation(device: Any) -> str:
    """What opening ``device`` sends, in words."""
    if device.unit_attention == "keep":
        return "nothing sent (unit_attention: keep)"
    return f"TEST UNIT READY until GOOD (at most {UA_ATTEMPTS}), READ CAPACITY(10)"


def open_rows(plan: Any) -> list[PreviewRow]:
    """``sgscript plan``'s rows for the devices the run opens, before the steps'."""
    rows = []
    for name in used_devices(plan):
        device = plan.scenario.devices.get(name)
        if device is None:
            continue
        keep = device.unit_attention == "keep"
        rows.append(
            PreviewRow(
                path=f"open.{name}",
                name=f"open {name}",
                kind="open",
                depth=0,
                device=name,
                target=plan.device_target(name)[0],
                command=preparation(device),
                note=f"block size {plan.block_size_hint(name)} assumed" if keep else "",
            )
        )
    return rows

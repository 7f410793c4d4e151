"""The reporter protocol and the fan-out the runner calls it through."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..scenario.model import Step
from ..transport.base import Io
from .results import FailureDetail, ScenarioResult, StepResult

if TYPE_CHECKING:
    from ..scenario.model import Scenario
    from ..scenario.plan import Plan

__all__ = ["Reporter"]


class Reporter:
    """The reporter protocol; every method is optional (the runner calls those present).

    ``command_done`` is called for every command, ``failure`` None when it passed:
    keep what you need, never the Io itself for long (memory stays flat).
    """

    def scenario_started(self, scenario: Scenario, plan: Plan) -> None:
        """The devices are open; steps are about to run."""

    def device_opened(self, result: StepResult) -> None:
        """What opening a device sent and cleared (path ``open.NAME``, kind ``open``), once per
        device after ``scenario_started``: a preparation, not a step (no step count has it)."""

    def step_started(self, step: Step, path: str) -> None:
        """A step (or a parallel group) starts."""

    def command_done(self, step_path: str, io: Io, failure: FailureDetail | None) -> None:
        """One command completed and was judged."""

    def step_finished(self, result: StepResult) -> None:
        """A step ended (its result is final)."""

    def scenario_finished(self, result: ScenarioResult) -> None:
        """The scenario ended, devices closed (called after an interrupt too)."""


_METHODS = (
    "scenario_started",
    "device_opened",
    "step_started",
    "command_done",
    "step_finished",
    "scenario_finished",
)


class _Fanout:
    """Calls each reporter that has the method; a reporter's error is noted, not fatal."""

    def __init__(self, reporters: Sequence[Any], notes: list[str]) -> None:
        self.notes = notes
        self.calls: dict[str, list[Callable[..., Any]]] = {
            name: [
                m
                for r in reporters
                if callable(m := getattr(r, name, None))
                and getattr(type(r), name, None) is not getattr(Reporter, name)  # not a no-op
            ]
            for name in _METHODS
        }

    def has(self, name: str) -> bool:
        return bool(self.calls[name])

    def __call__(self, name: str, *args: Any) -> None:
        for method in self.calls[name]:
            try:
                method(*args)
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                text = f"reporter {method!r} failed: {type(exc).__name__}: {exc}"
                if text not in self.notes:
                    self.notes.append(text)

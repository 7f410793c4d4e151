"""What the planner hands the runner: a planned step, the values a step is built in, a preview row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model import Step

__all__ = ["DEFAULT_BLOCK_SIZE", "Env", "PlannedStep", "PreviewRow"]

DEFAULT_BLOCK_SIZE = 512


# ----------------------------------------------------------------- steps


@dataclass(frozen=True)
class PlannedStep:
    """One step of the plan: the model step and where it is (``path``, ``depth``)."""

    path: str
    step: Step
    depth: int = 0  # nesting under parallel: groups
    final: bool = False  # a finally: step
    keywords: tuple[str, ...] = ()  # the names -k matches against

    @property
    def name(self) -> str:
        return self.step.name

    @property
    def kind(self) -> str:
        return self.step.kind


@dataclass
class Env:
    """What a step's values are evaluated against: variables and the device's block size."""

    vars: dict[str, Any] = field(default_factory=dict)
    block_size: int = DEFAULT_BLOCK_SIZE


@dataclass(frozen=True)
class PreviewRow:
    """One row of ``sgscript plan``: a step and the first command it sends."""

    path: str
    name: str
    kind: str
    depth: int
    device: str | None = None
    target: str | None = None
    command: str | None = None  # Read10(lba=0x10, transfer_length=1), reset lun, sleep 0.1s
    cdb_hex: str | None = None  # "?" when it depends on a value saved at run time
    data_out: int = 0
    data_in: int = 0
    repeat: int | str = 1
    queue_depth: int | str = 1
    final: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

"""The SAM-5 task management functions, by the names a ``task:`` step gives them.

What each does at a logical unit is the device's business (``sim/tasks.py`` for the
simulated one); which of them a transport can ask for is the transport's
(``Transport.task_functions``).
"""

from __future__ import annotations

import enum

__all__ = ["TaskFunction"]


class TaskFunction(enum.Enum):
    """The SAM-5 task management functions a ``task:`` step asks for (value: its YAML name).

    ``title`` is the standard's name.  TARGET RESET is obsolete since SAM-4 but is
    what the Linux reset ioctl still offers.
    """

    ABORT_TASK = "abort_task"
    ABORT_TASK_SET = "abort_task_set"
    CLEAR_TASK_SET = "clear_task_set"
    LOGICAL_UNIT_RESET = "lun_reset"
    I_T_NEXUS_RESET = "it_nexus_reset"
    TARGET_RESET = "target_reset"

    @property
    def title(self) -> str:
        return _TASK_TITLES[self]


_TASK_TITLES = {
    TaskFunction.ABORT_TASK: "ABORT TASK",
    TaskFunction.ABORT_TASK_SET: "ABORT TASK SET",
    TaskFunction.CLEAR_TASK_SET: "CLEAR TASK SET",
    TaskFunction.LOGICAL_UNIT_RESET: "LOGICAL UNIT RESET",
    TaskFunction.I_T_NEXUS_RESET: "I_T NEXUS RESET",
    TaskFunction.TARGET_RESET: "TARGET RESET",
}

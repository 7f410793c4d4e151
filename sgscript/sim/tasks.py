"""Task management at the simulated logical unit: what each SAM-5 function aborts and leaves.

The unit has one task set per logical unit (the Control mode page's TST is 000b), so
CLEAR TASK SET reaches every I_T nexus's commands.  A function is a row of ``RULES``:

| function | aborts | unit attention it establishes | also |
|---|---|---|---|
| ABORT TASK | the commands it names, of the nexus that asks, on this LU | none | |
| ABORT TASK SET | every command of the nexus that asks, on this LU | none | |
| CLEAR TASK SET | every command on this LU, every nexus's | COMMANDS CLEARED BY ANOTHER INITIATOR (2Fh/00h) for each other nexus that had commands aborted, when TAS is 0 | |
| LOGICAL UNIT RESET | every command on this LU | BUS DEVICE RESET FUNCTION OCCURRED (29h/03h) for every nexus, the one that asked too | the LU reset (SAM-5 6.3.3): the SPC-2 reservation released, mode pages back to their saved values |
| I_T NEXUS RESET | every command of the nexus that asks, on every LU of the target | I_T NEXUS LOSS OCCURRED (29h/07h) for that nexus on every LU | the SPC-2 reservations it holds released, its medium removal prevention ended |
| TARGET RESET | every command on every LU of the target | 29h/03h for every nexus on every LU | every LU reset |

How an aborted command ends (SAM-5 5.6): the nexus that asked gets no status for it
(the function's answer tells it); another nexus's gets TASK ABORTED status when the
Control mode page's TAS bit is one, and nothing when it is zero (then the unit
attention above tells it).  Moving commands is the transport's (``transport/sim.py``
holds them); this module keeps the rules and changes the unit's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..scsi.tmf import TaskFunction as F
from .core import C, Condition
from .lu import LogicalUnit

__all__ = ["RULES", "Rule", "after"]


@dataclass(frozen=True)
class Rule:
    """What one task management function does at the unit."""

    lus: Literal["this", "target"]  # the logical units it reaches
    nexuses: Literal["own", "all"]  # whose commands it aborts
    named: bool = False  # only the commands the function names (ABORT TASK)
    ua: Condition | None = None
    ua_to: Literal["all", "own", "others_aborted"] | None = None
    lu_reset: bool = False  # a logical unit reset (SAM-5 6.3.3)
    release_own: bool = False  # the SPC-2 reservation the asking nexus holds is released


RULES: dict[F, Rule] = {
    F.ABORT_TASK: Rule("this", "own", named=True),
    F.ABORT_TASK_SET: Rule("this", "own"),
    F.CLEAR_TASK_SET: Rule(
        "this", "all", ua=C.COMMANDS_CLEARED_BY_ANOTHER_INITIATOR, ua_to="others_aborted"
    ),
    F.LOGICAL_UNIT_RESET: Rule("this", "all", lu_reset=True),
    F.I_T_NEXUS_RESET: Rule(
        "target", "own", ua=C.I_T_NEXUS_LOSS_OCCURRED, ua_to="own", release_own=True
    ),
    F.TARGET_RESET: Rule("target", "all", lu_reset=True),
}


def after(lu: LogicalUnit, rule: Rule, nexus: str, aborted_others: set[str]) -> None:
    """What ``rule`` leaves on ``lu`` once its commands are aborted: the unit
    attentions and resets of the table above.  ``aborted_others``: the other nexuses
    that had commands aborted on this unit (they hear of it only when TAS is 0)."""
    if rule.lu_reset:
        lu.reset(C.BUS_DEVICE_RESET)  # a unit attention for every nexus
    if rule.release_own and lu.reservations.spc2_holder == nexus:
        lu.reservations.reset()
    if rule.release_own:  # its PREVENT ALLOW MEDIUM REMOVAL ends with it (SBC-4 5.15)
        holders: set[str] = lu.state.get("prevent", set())
        holders.discard(nexus)
        lu.prevent_removal = lu.prevent_removal and bool(holders)
    if rule.ua is None:
        return
    if rule.ua_to == "own":
        lu.unit_attention(rule.ua, only=nexus)
    elif rule.ua_to == "others_aborted" and not lu.tas:
        for other in sorted(aborted_others):
            lu.unit_attention(rule.ua, only=other)

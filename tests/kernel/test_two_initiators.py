"""Reservations over two I_T nexuses: the simulated disk against tgtd behind two iSCSI sessions.

The lane's rig (guest.sh) logs the kernel's iSCSI initiator in to one tgtd
logical unit twice, as host-a and host-b; ``sequences.PR_STEPS`` runs there
and on two ``sim:`` channels with the same initiator names. The statuses (and
unit attentions, where the standard fixes when they appear) must agree except
where ``DIFFERENCES`` says what tgtd answers and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path

import pytest
from sequences import (
    PR_RESET,
    PR_STEPS,
    SIM_PR,
    Answer,
    Difference,
    Step,
    blocks,
    clear_unit_attentions,
    compare,
    pattern,
    run_steps,
    table,
)

from sgscript import Channel
from sgscript.command import Inquiry, Read10, Write10
from sgscript.sim.target import forget_targets

pytestmark = pytest.mark.kernel

_NO_RESERVE10 = (
    "tgtd 1.0.85 has no RESERVE(10)/RELEASE(10): usr/sbc.c maps 56h/57h to spc_illegal_op"
)
_UA_TO_SELF = (
    "tgtd sets RESERVATIONS RELEASED on releasing a write exclusive or exclusive access "
    "reservation, and for every I_T nexus but the registrants: spc_pr_release (usr/spc.c) calls "
    "ua_sense_add_other_it_nexus with each registrant's id, so the releaser gets it; SPC-4 "
    "5.7.11.2 d) sets no unit attention for these types"
)
_NO_UA_ON_RELEASE = (
    "tgtd sets no unit attention when a registrants-only or all-registrants reservation is "
    "released (usr/spc.c spc_pr_release returns first); SPC-4 5.7.11.2 c) requires RESERVATIONS "
    "RELEASED for the other registrants"
)
_NO_PREEMPT_AND_ABORT = (
    "tgtd 1.0.85 has no PREEMPT AND ABORT: it is commented out of "
    "persistent_reserve_out_actions (usr/spc.c), so the service action is an invalid field"
)
_UA = "CHECK_CONDITION UNIT_ATTENTION 2Ah/04h"

#: Where tgtd 1.0.85 answers otherwise than sim:, what it answers, and why (tgtd departs
#: from the standard in each; sim: keeps the standard's answer).
DIFFERENCES: tuple[Difference, ...] = (
    Difference("tgtd", "a Reserve10", "CHECK_CONDITION ILLEGAL_REQUEST 20h/00h", _NO_RESERVE10),
    Difference(
        "tgtd",
        "b Write10 while a reserves(10)",
        "GOOD",
        "follows from the RESERVE(10) above, which tgtd refused: nothing is reserved",
    ),
    Difference("tgtd", "a Release10", "CHECK_CONDITION ILLEGAL_REQUEST 20h/00h", _NO_RESERVE10),
    Difference("tgtd", "a TestUnitReady after its WE release", _UA, _UA_TO_SELF),
    Difference("tgtd", "a TestUnitReady after its EA release", _UA, _UA_TO_SELF),
    Difference("tgtd", "b TestUnitReady after WE_RO released", "GOOD", _NO_UA_ON_RELEASE),
    Difference("tgtd", "b TestUnitReady after EA_RO released", "GOOD", _NO_UA_ON_RELEASE),
    Difference("tgtd", "a TestUnitReady after EA_AR released", "GOOD", _NO_UA_ON_RELEASE),
    Difference(
        "tgtd",
        "a TestUnitReady after preempted",
        "CHECK_CONDITION UNIT_ATTENTION 2Ah/03h",
        "tgtd tells a preempted registrant RESERVATIONS PREEMPTED (usr/spc.c spc_pr_preempt); "
        "SPC-4 5.7.11.4.3 requires REGISTRATIONS PREEMPTED for an I_T nexus that lost its "
        "registration",
    ),
    Difference(
        "tgtd",
        "b PreemptAndAbort a",
        "CHECK_CONDITION ILLEGAL_REQUEST 24h/00h",
        _NO_PREEMPT_AND_ABORT,
    ),
    Difference(
        "tgtd",
        "a TestUnitReady after preempt-and-abort",
        "GOOD",
        "follows from the refused PREEMPT AND ABORT: a keeps its registration",
    ),
    Difference(
        "tgtd",
        "b ReadKeys after preempt-and-abort",
        "GOOD data=('0xa1a10000000000a1', '0xb2b20000000000b2')",
        "follows from the refused PREEMPT AND ABORT: a keeps its registration",
    ),
)


def run_pair(
    a: Channel, b: Channel, steps: Iterable[Step], durations: dict[str, float] | None = None
) -> dict[str, Answer]:
    """``steps`` on a fresh pair: no unit attention pending, no reservation left after."""
    channels = {"a": a, "b": b}
    for ch in (a, b):
        clear_unit_attentions(ch)
    run_steps(PR_RESET, channels)
    for ch in (a, b):
        clear_unit_attentions(ch)
    try:
        return run_steps(steps, channels, durations)
    finally:
        run_steps(PR_RESET, channels)


def test_rig_is_two_nexuses_to_one_logical_unit(iscsi_pair: tuple[str, str]) -> None:
    path_a, path_b = iscsi_pair
    assert path_a != path_b
    with Channel.open(path_a, timeout=20) as a, Channel.open(path_b, timeout=20) as b:
        for ch in (a, b):
            clear_unit_attentions(ch)
        # the same logical unit: one device identification, and B reads what A wrote
        ids = [
            ch.execute(Inquiry(evpd=1, page_code=0x83, allocation_length=252)).data for ch in (a, b)
        ]
        assert ids[0] == ids[1] and len(ids[0]) > 4
        data = pattern(7, 2, b"two-nexus")
        a.execute(Write10(lba=7, data=data))
        assert blocks(b.execute(Read10(lba=7, transfer_length=2)).data) == blocks(data)


def test_reservations_answer_like_tgtd(iscsi_pair: tuple[str, str], kernel_out: Path) -> None:
    forget_targets()
    try:
        with ExitStack() as stack:
            a = stack.enter_context(Channel.open(SIM_PR, initiator="host-a"))
            b = stack.enter_context(Channel.open(SIM_PR, initiator="host-b"))
            sim = run_pair(a, b, PR_STEPS)
    finally:
        forget_targets()
    path_a, path_b = iscsi_pair
    with Channel.open(path_a, timeout=20) as a, Channel.open(path_b, timeout=20) as b:
        durations: dict[str, float] = {}
        real = run_pair(a, b, PR_STEPS, durations)
    (kernel_out / "two-initiators-tgtd.txt").write_text(table(PR_STEPS, sim, real, durations))
    problems = compare(sim, real, "tgtd", DIFFERENCES, PR_STEPS)
    assert not problems, "sim: and tgtd disagree:\n" + "\n".join(problems)

"""The kernel lane's scripted sequences against ``sim:`` alone: the standard's answers, no kernel.

``tests/kernel/sequences.py`` holds the sequences the kernel lane runs against
scsi_debug, QEMU's scsi-hd and tgtd; each step carries the status, sense and
data SPC-5 / SBC-4 require. Here they run on the simulated disk in the normal
test run, so a regression shows without booting a kernel.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from kernel.sequences import (
    DIFF_CLEANUP,
    DIFF_STEPS,
    PR_RESET,
    PR_STEPS,
    SIM_DIFF,
    SIM_PR,
    Answer,
    Difference,
    clear_unit_attentions,
    compare,
    run_steps,
    unmet,
)

from sgscript import Channel
from sgscript.sim.target import forget_targets


@pytest.fixture(autouse=True)
def fresh_targets() -> Iterator[None]:
    forget_targets()
    yield
    forget_targets()


def test_differential_sequence_gets_the_standard_answers() -> None:
    with Channel.open(SIM_DIFF, initiator="host-a") as ch:
        # a new nexus first sees the power-on unit attention, as a real disk's does
        first = clear_unit_attentions(ch)
        assert [a.sense for a in first] == [("UNIT_ATTENTION", 0x29, 0x00)]
        answers = run_steps(DIFF_STEPS, {"a": ch})
        run_steps(DIFF_CLEANUP, {"a": ch})
    problems = list(unmet(DIFF_STEPS, answers))
    assert not problems, "\n".join(problems)


def test_two_initiator_sequence_gets_the_standard_answers() -> None:
    with ExitStack() as stack:
        channels = {
            name: stack.enter_context(Channel.open(SIM_PR, initiator=f"host-{name}"))
            for name in ("a", "b")
        }
        for ch in channels.values():
            clear_unit_attentions(ch)
        answers = run_steps(PR_STEPS, channels)
        run_steps(PR_RESET, channels)
        assert clear_unit_attentions(channels["a"]) == []  # a's own CLEAR: nothing for a
    problems = list(unmet(PR_STEPS, answers))
    assert not problems, "\n".join(problems)


def test_compare_reports_unlisted_stale_and_misstated_differences() -> None:
    # The comparison itself decides whether the kernel lane passes: it must fail both ways.
    good, stale = Answer("GOOD"), Answer("CHECK_CONDITION", ("NOT_READY", 4, 2))
    sim = {"tur": stale, "read": good, "write": good}
    real = {"tur": good, "read": good, "write": stale}
    listed = [
        Difference("qemu", "tur", "GOOD", "ignores STOP"),
        Difference("qemu", "read", "GOOD", "no longer differs"),
        Difference("qemu", "write", "GOOD", "misstated answer"),
        Difference("other", "write", str(stale), "another target's entry"),
    ]
    problems = compare(sim, real, "qemu", listed)
    assert len(problems) == 2
    assert problems[0].startswith("read: listed as a difference (no longer differs)")
    assert problems[1].startswith("write: qemu answered CHECK_CONDITION NOT_READY 04h/02h")
    assert compare(sim, real, "other", listed) == ["tur: sim answered " + f"{stale}, other GOOD"]

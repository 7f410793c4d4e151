"""Task management functions at the transports: SAM-5 on ``sim:``, what the sg driver offers,
and what a command's record says about how it was ended (aborted, timed out)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from test_sim_commands import BS, disk, fails, good, run
from test_sim_modes import select

import sgscript.transport.linux.sg as sg
from sgscript import Channel
from sgscript.report import command_status, io_record
from sgscript.scsi import commands as K
from sgscript.scsi.errors import CommandTimeout, TaskAborted, TaskFailed
from sgscript.scsi.status import ScsiStatus
from sgscript.scsi.tmf import TaskFunction
from sgscript.transport.base import Io, Outcome
from sgscript.transport.linux.codes import HostStatus

pytestmark = pytest.mark.usefixtures("fresh_sim")


def two(options: str = "&latency.Read10=5s", *, timeout: float = 10.0) -> tuple[Channel, Channel]:
    """Two I_T nexuses (hosts a and b) to one LU whose READ(10)s are held 5 s."""
    a, b = disk(options, initiator="a"), disk(options, initiator="b")
    a.timeout = b.timeout = timeout
    return a, b


def held(ch: Channel, lba: int = 0) -> Io:
    io = ch.execute(K.Read10(lba=lba, transfer_length=1), wait=False)
    ch.poll()
    return io


def picks(*ios: Io) -> Callable[[Io], bool]:
    return lambda io: any(io is x for x in ios)


def ua(ch: Channel) -> tuple[int, int] | None:
    """The unit attention the next command gets, as (ASC, ASCQ), or None."""
    io = run(ch, K.TestUnitReady())
    return None if io.sense is None else (io.sense.asc, io.sense.ascq)


def test_abort_task_ends_the_named_command_with_no_status_and_spares_the_rest() -> None:
    a, _ = two()
    target, other = held(a), held(a, 1)
    words = a.task("abort_task", picks(target))
    assert words == "ABORT TASK: 1 command of this nexus aborted"
    target.wait(check=False)
    assert isinstance(target.error, TaskAborted)
    assert (target.status, target.completion.outcome, target.data) == (0, Outcome.ABORTED, b"")
    assert "aborted by ABORT TASK from this nexus: no status" in str(target.error)
    assert command_status(target) == "aborted"
    assert io_record(target)["ended"].startswith("aborted by ABORT TASK")
    assert not other.done  # still held: the function named one command
    assert ua(a) is None  # ABORT TASK leaves no unit attention
    assert a.task("abort_task_set") == "ABORT TASK SET: 1 command of this nexus aborted"
    other.wait(check=False)
    assert isinstance(other.error, TaskAborted)


def test_clear_task_set_reaches_every_nexus_and_tells_the_others() -> None:
    a, b = two(timeout=0.2)
    mine, theirs = held(a), held(b)
    words = a.task("clear_task_set")
    assert words == (
        "CLEAR TASK SET: 1 command of this nexus aborted, 1 command of other nexuses"
        " (no status, TAS=0)"
    )
    mine.wait(check=False)
    assert isinstance(mine.error, TaskAborted)
    theirs.wait(check=False)  # TAS=0: no status ever comes; the reactor gives up on it
    assert isinstance(theirs.error, CommandTimeout)
    assert str(theirs.error).endswith(
        "timed out after 0.2 s; the simulated unit had aborted it (CLEAR TASK SET from nexus a)"
        " without a status, as SAM-5 has it with TAS=0"
    )
    assert ua(b) == (0x2F, 0x00)  # COMMANDS CLEARED BY ANOTHER INITIATOR
    assert ua(a) is None  # the nexus that asked knows


def test_with_tas_the_other_nexus_gets_task_aborted_and_no_unit_attention() -> None:
    a, b = two()
    assert select(a, 0x0A, tas=1).status == 0  # Control mode page, TAS=1
    assert ua(b) == (0x2A, 0x01)  # MODE PARAMETERS CHANGED, before anything else
    theirs = held(b)
    assert "TASK ABORTED status, TAS=1" in a.task("clear_task_set")
    theirs.wait(check=False)
    assert theirs.status == ScsiStatus.TASK_ABORTED and isinstance(theirs.error, TaskAborted)
    assert command_status(theirs) == "TASK_ABORTED"
    assert ua(b) is None


def test_logical_unit_reset_aborts_everything_and_warns_every_nexus() -> None:
    a, b = two(timeout=0.2)
    good(b, K.Reserve6())
    mine, theirs = held(a), held(b)
    a.task(TaskFunction.LOGICAL_UNIT_RESET)
    mine.wait(check=False)
    theirs.wait(check=False)
    assert isinstance(mine.error, TaskAborted) and isinstance(theirs.error, CommandTimeout)
    assert ua(a) == ua(b) == (0x29, 0x03)  # BUS DEVICE RESET FUNCTION OCCURRED, for both
    good(a, K.Write10(lba=0, data=bytes(BS)))  # the SPC-2 reservation went with the reset


def test_it_nexus_reset_reaches_only_its_own_nexus_on_every_lun() -> None:
    a = disk("&luns=2&latency.Read10=5s", initiator="a")
    b = disk("&luns=2&latency.Read10=5s", initiator="b")
    a1 = Channel.open("sim:t?lun=1", initiator="a", block_size=BS)
    assert ua(a1) == (0x29, 0x00)  # its own power-on first
    good(a, K.Reserve6())
    mine, theirs = held(a), held(b)
    assert a.task("it_nexus_reset") == "I_T NEXUS RESET: 1 command of this nexus aborted"
    mine.wait(check=False)
    assert isinstance(mine.error, TaskAborted) and not theirs.done
    assert ua(a) == ua(a1) == (0x29, 0x07)  # I_T NEXUS LOSS OCCURRED on every LU
    assert ua(b) is None
    good(b, K.Write10(lba=0, data=bytes(BS)))  # a's SPC-2 reservation was released
    b.task("abort_task_set")  # b's command is still held
    theirs.wait(check=False)


def test_it_nexus_reset_ends_that_nexus_medium_removal_prevention_only() -> None:
    a, b = disk("&removable=1", initiator="a"), disk("&removable=1", initiator="b")
    good(a, K.PreventAllowMediumRemoval(prevent=1))
    good(b, K.PreventAllowMediumRemoval(prevent=1))
    a.task("it_nexus_reset")
    assert ua(a) == (0x29, 0x07)
    fails(run(a, K.StartStopUnit(start=0, loej=1)), "ILLEGAL_REQUEST", 0x53, 0x02)  # b's holds
    b.task("it_nexus_reset")
    assert ua(b) == (0x29, 0x07)
    good(a, K.StartStopUnit(start=0, loej=1))  # nobody prevents removal now
    fails(run(a, K.TestUnitReady()), "NOT_READY", 0x3A, 0x00)


def test_a_timed_out_command_says_the_simulator_aborted_it() -> None:
    a, _ = two(timeout=0.05)
    io = run(a, K.Read10(lba=0, transfer_length=1))
    assert isinstance(io.error, CommandTimeout)
    assert io.ended == "the simulator aborted it: its latency (5 s) outlasted its timeout"
    assert io_record(io)["ended"] == io.ended and io_record(io)["status"] == "timeout"
    hung = disk("&hang=Read10", name="h")
    hung.timeout = 0.05
    io = run(hung, K.Read10(lba=0, transfer_length=1))
    assert str(io.error).endswith(
        "timed out after 0.05 s; the simulator aborted it: the unit holds it for ever (hang)"
    )


def test_the_existing_reset_keeps_did_reset_for_its_own_nexus() -> None:
    a, b = two(timeout=0.2)
    mine, theirs = held(a), held(b)
    a.reset("lun")
    mine.wait(check=False)
    theirs.wait(check=False)
    assert mine.host_status == HostStatus.DID_RESET  # what the kernel reports for its ioctl
    assert "device reset from nexus a" in str(theirs.error)
    fails(run(b, K.TestUnitReady()), "UNIT_ATTENTION", 0x29, 0x03)


# ------------------------------------------------------------------ the sg driver


@pytest.fixture
def sg_transport(monkeypatch: pytest.MonkeyPatch) -> sg.SgTransport:
    monkeypatch.setattr(sg, "sg_version", lambda fd: 30536)
    return sg.SgTransport("/dev/sg-fake", fd=os.eventfd(0, os.EFD_NONBLOCK))


def test_sg_offers_only_the_resets_of_sg_scsi_reset(sg_transport: sg.SgTransport) -> None:
    assert sg_transport.task_functions == {
        TaskFunction.LOGICAL_UNIT_RESET,
        TaskFunction.TARGET_RESET,
    }
    with pytest.raises(TaskFailed, match="ABORT TASK cannot be sent through the Linux sg"):
        sg_transport.task_management(TaskFunction.ABORT_TASK)
    sg_transport.close()


def test_a_kernel_timeout_says_the_error_handler_ended_it(sg_transport: sg.SgTransport) -> None:
    io = Io(K.TestUnitReady(), timeout=5)
    slot = sg._Pending()
    slot.load(io, 1, 5000, 0)
    slot.hdr.host_status = HostStatus.DID_TIME_OUT
    slot.fill(slot.hdr).complete()
    assert isinstance(io.error, CommandTimeout)
    assert str(io.error).endswith(
        "timed out after 5 s (host timed out for other reason); the kernel's SCSI error"
        " handler ended it at its timeout (an abort by the host's driver, escalating to"
        " resets when that fails)"
    )
    sg_transport.close()

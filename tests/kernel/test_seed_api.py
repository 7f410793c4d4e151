"""The seed library's README, walked through in Python 3 form against scsi_debug.

People who used sgpy must find their way: every example of its README keeps
working, with ``wait=False`` where it said ``async=True``.
"""

from __future__ import annotations

import pytest

from sgscript import Channel, TaskFailed, command, handler
from sgscript.scsi.errors import UnitAttention

pytestmark = pytest.mark.kernel


def test_seed_readme_examples(sg_debug: str) -> None:
    # Initialization
    channel = Channel.from_path(sg_debug)
    assert repr(channel) == f"Channel({sg_debug!r})"
    channel.execute(command.TestUnitReady(verify_handler=handler.might_fail(UnitAttention)))

    # Basic usage: a single command; Write6 takes its data and sizes itself
    io = channel.cmd.TestUnitReady()
    assert io.returned and io.ok
    io = channel.cmd.Write6(lba=0, data="a" * 512)
    assert io.command.transfer_length == 1

    # A single command asynchronously
    io = channel.cmd.Read10(lba=0, transfer_length=1, wait=False)
    io.wait()
    assert io.poll() is True
    assert io.data == b"a" * 512

    # A batch, then a batch asynchronously
    cmd = command.Reserve6()
    ios = channel.execute_many([cmd, cmd])
    assert len(ios) == 2 and all(i.returned for i in ios)
    cmd = command.Release6()
    ios = channel.execute_many([cmd, cmd], wait=False)
    channel.wait()
    assert channel.poll() is True
    assert ios[0].poll() is True

    # Response handlers
    cmd = command.Read10(lba=0, transfer_length=1)
    durations: list[float] = []
    cmd.add_handler(lambda io: durations.append(io.duration))
    channel.execute(cmd)
    assert len(durations) == 1 and durations[0] > 0

    # Expecting failures: reading a non-existing LBA
    with pytest.raises(TaskFailed):
        channel.execute(command.Read16(lba=0xFFFFFFFF, transfer_length=1))
    io = channel.execute(
        command.Read16(lba=0xFFFFFFFF, transfer_length=1, verify_handler=handler.must_fail)
    )
    assert io.ok and io.failure is not None
    channel.close()

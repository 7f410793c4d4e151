"""sgscript's sg transport against the real Linux sg driver: scsi_debug and a QEMU SCSI disk.

Runs inside the kernel lane's guest (tests/kernel/run.sh); sg3_utils there is
the independent reference for what the device answered.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sgscript import Channel, Reactor, handler
from sgscript.command import Inquiry, Read10, Read16, ReadCapacity10, TestUnitReady, Write10
from sgscript.scsi.errors import CommandTimeout, IllegalRequest, UnitAttention
from sgscript.transport.linux.sg import SG_MAX_QUEUE, SgTransport

pytestmark = pytest.mark.kernel


def sg3(*args: str) -> bytes:
    return subprocess.run(args, check=True, capture_output=True, timeout=60).stdout


@pytest.fixture
def sg_path(sg_node: tuple[str, str]) -> str:
    return sg_node[1]


@pytest.fixture
def channel(sg_path: str) -> Channel:
    with Channel.open(sg_path, timeout=20) as ch:
        # The first command after boot may see the power-on unit attention.
        ch.execute(TestUnitReady(verify_handler=handler.might_fail(UnitAttention)))
        yield ch


def test_inquiry_bytes_equal_sg_inq(channel: Channel, sg_path: str) -> None:
    ours = channel.cmd.Inquiry(allocation_length=96).data
    theirs = sg3("sg_inq", "--raw", "--len=96", sg_path)
    assert ours == theirs
    fields = Inquiry(allocation_length=96).decode_response(ours)
    assert fields["peripheral_device_type"] == 0


def test_read_capacity_equals_sg_readcap(channel: Channel, sg_path: str) -> None:
    io = channel.execute(ReadCapacity10())
    assert io.data == sg3("sg_readcap", "--raw", sg_path)
    fields = io.command.decode_response(io.data)
    brief = sg3("sg_readcap", "--brief", sg_path).split()
    assert fields["returned_logical_block_address"] == int(brief[0], 16) - 1
    assert fields["logical_block_length_in_bytes"] == int(brief[1], 16)


def test_write_read_round_trip_with_a_pattern(channel: Channel) -> None:
    bs = channel.block_size
    pattern = b"".join(
        (lba.to_bytes(8, "big") + b"sgscript" * ((bs - 8) // 8))[:bs] for lba in range(100, 108)
    )
    channel.execute(Write10(lba=100, data=pattern))
    assert channel.execute(Read10(lba=100, transfer_length=8)).data == pattern
    # sg_dd/sg3 independent read of the same blocks agrees
    out = sg3(
        "sg_raw",
        "-r",
        str(8 * bs),
        "-b",
        channel.target,
        "28",
        "00",
        "00",
        "00",
        "00",
        "64",
        "00",
        "00",
        "08",
        "00",
    )
    assert out == pattern


def test_read_past_the_last_lba_raises_illegal_request(channel: Channel) -> None:
    cap = channel.execute(ReadCapacity10())
    last = cap.command.decode_response(cap.data)["returned_logical_block_address"]
    with pytest.raises(IllegalRequest) as info:
        channel.execute(Read16(lba=last + 1, transfer_length=1))
    assert info.value.sense.asc == 0x21 and info.value.sense.ascq == 0x00
    assert "Logical block address out of range" in str(info.value)
    channel.execute(Read16(lba=last + 1, transfer_length=1, verify_handler=handler.must_fail))


def test_64_in_flight_through_the_reactor(sg_path: str) -> None:
    with Channel.open(sg_path, queue_depth=64, timeout=30) as ch:
        assert isinstance(ch.transport, SgTransport) and len(ch.transport.fds()) == 4
        ios = ch.execute_many([Read10(lba=i, transfer_length=1) for i in range(64)], wait=False)
        assert ch.transport.in_flight > SG_MAX_QUEUE  # more than one fd's worth at once
        ch.wait()
        assert all(io.ok and len(io.data) == ch.block_size for io in ios)


def test_no_edom_when_one_descriptor_is_oversubscribed(sg_path: str) -> None:
    with Channel.open(sg_path, queue_depth=16, timeout=30) as ch:
        ios = ch.execute_many([Read10(lba=i % 32, transfer_length=1) for i in range(200)])
        assert len(ios) == 200 and all(io.ok for io in ios)
        assert ch.transport.in_flight == 0


def test_two_devices_at_once(sg_debug: str, sg_qemu: str) -> None:
    with Reactor() as reactor:
        a = Channel.open(sg_debug, reactor=reactor, queue_depth=32, timeout=30)
        b = Channel.open(sg_qemu, reactor=reactor, queue_depth=32, timeout=30)
        for ch in (a, b):
            ch.execute(TestUnitReady(verify_handler=handler.might_fail(UnitAttention)))
        ios = [
            ch.execute(Read10(lba=i, transfer_length=1), wait=False)
            for i in range(32)
            for ch in (a, b)
        ]
        assert a.transport.in_flight and b.transport.in_flight
        reactor.run(ios)
        assert all(io.ok for io in ios)


def test_reactor_in_its_own_thread(sg_path: str) -> None:
    with Reactor().start() as reactor:
        ch = Channel.open(sg_path, reactor=reactor, timeout=30)
        ios = ch.execute_many([Read10(lba=i, transfer_length=1) for i in range(32)])
        assert all(io.ok for io in ios)


def test_timeout_is_reported_and_the_channel_stays_usable(sg_debug: str, scsi_debug_param) -> None:
    with Channel.open(sg_debug, timeout=1.0) as ch:
        ch.execute(TestUnitReady(verify_handler=handler.might_fail(UnitAttention)))
        scsi_debug_param("delay", 2500)  # jiffies: well past the 1 s timeout at any HZ
        with pytest.raises(CommandTimeout):
            ch.execute(TestUnitReady(), wait=False).wait()
        scsi_debug_param("delay", 0)
        ch.timeout = 20
        # After the abort, the device may report a reset; then it answers normally.
        ch.execute(TestUnitReady(verify_handler=handler.might_fail(UnitAttention)))
        ch.execute(TestUnitReady())


def test_synchronous_sg_io_and_residual(channel: Channel, sg_node: tuple[str, str]) -> None:
    io = channel.execute(Inquiry(allocation_length=255))  # idle channel: the SG_IO path
    assert io.duration > 0 and io.device_duration is not None
    if sg_node[0] == "scsi_debug":  # sends exactly its 96 bytes: the residual says so
        assert len(io.data) == io.data[4] + 5 == 96 and io.resid == 255 - 96
    else:  # QEMU pads the reply to the allocation length
        assert io.resid == 0 and len(io.data) == 255


def test_device_reset(channel: Channel) -> None:
    channel.reset("device")
    channel.execute(TestUnitReady(verify_handler=handler.might_fail(UnitAttention)))
    channel.execute(TestUnitReady())


def test_from_fd_and_at_head_option(sg_path: str) -> None:
    fd = os.open(sg_path, os.O_RDWR)
    with Channel.from_fd(fd, target=sg_path) as ch:
        ch.execute(TestUnitReady(verify_handler=handler.might_fail(UnitAttention)))
        assert ch.cmd.Inquiry(allocation_length=36).data[8:16].strip()


def test_a_queue_depth_written_as_an_expression_gets_past_16_on_the_real_driver(
    sg_debug: str, tmp_path: Path
) -> None:
    """``queue_depth: "${qd}"`` (qd 64) opened the node for 16 (one descriptor): never more
    than 16 in flight. Now the node opens for 64 and the driver holds more than 16."""
    from sgscript import load_scenario, run_scenario

    spec = tmp_path / "deep.yaml"
    spec.write_text(
        "sgscript: 1\nvars: {qd: 64}\n"
        f"devices:\n  a: {sg_debug}\n"
        "steps:\n  - {name: reads, device: a, queue_depth: '${qd}', repeat: 2000,"
        " command: {Read10: {lba: {random: [0, 1000]}, transfer_length: 8}}}\n"
    )
    peaks: list[int] = []

    class Peak:
        def step_finished(self, result: object) -> None:
            pass

        def command_done(self, path: str, io: object, failure: object) -> None:
            peaks.append(io.channel.queue.peak)  # type: ignore[attr-defined]

    result = run_scenario(load_scenario(spec), seed=1, reporter=Peak())
    step = result.steps[0]
    assert (step.status, step.count, step.queue_depth) == ("passed", 2000, 64), step.message
    assert max(peaks) > 16

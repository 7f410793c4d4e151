"""A transport-neutral completion on every Io, and structured options through the transport."""

from __future__ import annotations

import pytest

from fake_transport import FakeTransport
from sgscript import Channel, HostError
from sgscript.scsi.commands import Read10, TestUnitReady
from sgscript.scsi.errors import CommandTimeout, DriverError, UnitAttention, UsageError
from sgscript.transport.base import Io, Outcome, TransportOutcome, UnsupportedOptions
from sgscript.transport.linux.codes import DriverStatus, HostStatus, host_outcome, set_host_status

pytestmark = pytest.mark.usefixtures("fresh_sim")


def judged(host: int = 0, driver: int = 0, *, status: int = 0) -> Io:
    io = Io(TestUnitReady())
    io.status = status
    set_host_status(io, host, driver)
    io.complete()
    return io


def test_linux_bytes_read_as_neutral_outcomes() -> None:
    assert host_outcome(0, DriverStatus.DRIVER_SENSE) is None
    assert host_outcome(HostStatus.DID_NO_CONNECT) == TransportOutcome(
        Outcome.HOST_ERROR, "could not connect before timeout period", "DID_NO_CONNECT", gone=True
    )
    assert host_outcome(HostStatus.DID_TIME_OUT).outcome is Outcome.TIMEOUT
    assert host_outcome(0, 0x20 | DriverStatus.DRIVER_TIMEOUT).outcome is Outcome.TIMEOUT
    assert host_outcome(0, DriverStatus.DRIVER_ERROR).outcome is Outcome.DRIVER_ERROR
    assert host_outcome(HostStatus.DID_RESET).gone is False


def test_the_verdicts_and_their_words_are_the_linux_ones() -> None:
    gone = judged(HostStatus.DID_NO_CONNECT, status=2)
    assert isinstance(gone.failure, HostError) and gone.gone
    assert gone.failure.detail == (
        "host error could not connect before timeout period (DID_NO_CONNECT)"
    )
    assert gone.failure.host_status == HostStatus.DID_NO_CONNECT
    late = judged(HostStatus.DID_TIME_OUT)
    assert isinstance(late.failure, CommandTimeout)
    assert late.failure.detail == "timed out after 60 s (host timed out for other reason)"
    assert judged(0, DriverStatus.DRIVER_TIMEOUT).failure.detail == "timed out after 60 s"
    driver = judged(0, DriverStatus.DRIVER_ERROR)
    assert isinstance(driver.failure, DriverError) and driver.failure.detail == "driver error error"
    assert judged(0, DriverStatus.DRIVER_ERROR, status=0x18).failure.detail == (
        "RESERVATION CONFLICT"
    )  # the device's status outranks a driver error
    assert judged(0, DriverStatus.DRIVER_SENSE).failure is None


def test_completion_says_what_came_back_without_linux_bytes() -> None:
    ch = Channel.open("sim:neutral", block_size=512)
    with pytest.raises(UnitAttention):
        ch.execute(TestUnitReady())
    io = ch.execute(Read10(lba=0, transfer_length=1))
    done = io.completion
    assert (done.status, done.outcome, done.residual, done.gone) == (0, Outcome.OK, 0, False)
    assert done.data == bytes(512) and done.sense is None
    past = ch.execute(Read10(lba=2**31, transfer_length=1), check=False).completion
    assert past.status == 2 and past.outcome is Outcome.OK and past.sense is not None


def test_a_reset_reads_as_a_host_error_and_a_lost_device_as_gone() -> None:
    ch = Channel.open("sim:held?hang=Read10", block_size=512)
    with pytest.raises(UnitAttention):
        ch.execute(TestUnitReady())
    io = ch.execute(Read10(lba=0, transfer_length=1), wait=False)
    ch.reset("lun")
    ch.wait(timeout=5)
    done = io.completion
    assert (done.outcome, done.detail, done.gone) == (
        Outcome.HOST_ERROR,
        "reset by somebody",
        False,
    )
    assert io.outcome is Outcome.HOST_ERROR


def test_the_sim_takes_structured_options_and_other_transports_refuse_them() -> None:
    ch = Channel.open("sim:opts", block_size=512)
    ch.transport.configure({"medium_error": [[10, 19]]})
    with pytest.raises(UnitAttention):
        ch.execute(TestUnitReady())
    assert ch.execute(Read10(lba=12, transfer_length=1), check=False).failure is not None
    with pytest.raises(UsageError):
        ch.transport.configure({"no_such_option": 1})
    fake = FakeTransport()
    with pytest.raises(UnsupportedOptions, match="takes no options"):
        fake.configure({"latency": "1ms"})
    fake.close()

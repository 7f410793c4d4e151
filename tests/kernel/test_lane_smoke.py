"""The kernel lane itself works: both sg nodes answer sg3_utils.

Independent of sgscript's own code: everything goes through the sg3_utils
command-line tools, which later tests use as the reference.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time

# What tests/kernel/guest.sh and run.sh attach: name -> (vendor, product id),
# both 64 MiB of 512-byte blocks.
NODES = {"scsi_debug": ("Linux", "scsi_debug"), "qemu": ("QEMU", "QEMU HARDDISK")}
DISK_BYTES = 64 * 2**20
BLOCK_LENGTH = 512


def run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(cmd, capture_output=True, timeout=60, check=check)


def test_nodes_are_distinct_sg_char_devices(sg_nodes):
    paths = [path for _, path in sg_nodes]
    assert len(set(paths)) == 2
    for path in paths:
        st = os.stat(path)
        assert stat.S_ISCHR(st.st_mode)
        assert os.major(st.st_rdev) == 21  # SCSI_GENERIC_MAJOR


def test_inquiry_names_the_device(sg_node):
    name, path = sg_node
    vendor, product = NODES[name]
    raw = run("sg_inq", "--raw", path).stdout
    assert raw[0] & 0x1F == 0  # direct-access block device
    assert raw[8:16].decode("ascii").rstrip() == vendor
    assert raw[16:32].decode("ascii").rstrip() == product
    text = run("sg_inq", path).stdout.decode()
    assert f"Product identification: {product}" in text


def test_read_capacity(sg_node):
    _, path = sg_node
    blocks, block_length = (int(v, 16) for v in run("sg_readcap", "--brief", path).stdout.split())
    assert block_length == BLOCK_LENGTH
    assert blocks * block_length == DISK_BYTES
    long = run("sg_readcap", "--long", "--brief", path).stdout.split()
    assert [int(v, 16) for v in long[:2]] == [blocks, block_length]


def test_scsi_debug_delay_is_settable_at_run_time(sg_debug, scsi_debug_params):
    assert scsi_debug_params["delay"] == "1"  # the module's default
    jiffies = scsi_debug_params.set_delay(0.5)
    assert scsi_debug_params["delay"] == str(jiffies)
    start = time.monotonic()
    run("sg_turs", sg_debug)
    assert time.monotonic() - start >= 0.45


def test_timed_out_command_reports_did_time_out(sg_debug, scsi_debug_params):
    scsi_debug_params.set_delay(3)
    result = run("sg_raw", "-t", "1", sg_debug, "00", "00", "00", "00", "00", "00", check=False)
    assert result.returncode != 0
    assert b"DID_TIME_OUT" in result.stdout + result.stderr


def test_device_answers_after_a_timeout(sg_debug, scsi_debug_params):
    # its own timeout (not the test above's), then the delay back: the LU is still usable
    scsi_debug_params.set_delay(3)
    run("sg_raw", "-t", "1", sg_debug, "00", "00", "00", "00", "00", "00", check=False)
    scsi_debug_params.restore()  # retries while the timed-out command is still queued
    run("sg_turs", sg_debug)

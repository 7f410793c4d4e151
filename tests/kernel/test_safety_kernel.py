"""Never the wrong disk, on the real sg driver (issue 8, finding 1): scsi_debug's disk.

- a spec writing the first blocks, without ``--allow-destructive``: exit 2, nothing sent,
  the blocks unchanged;
- with the flag: it runs and the blocks hold what it wrote;
- with an ext4 file system on the disk mounted: refused even with the flag, naming the
  mount, and ``e2fsck -fn`` finds the file system clean afterwards.

The disk is zeroed again at the end (other tests compare it with a fresh simulated disk).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sgscript import Channel
from sgscript.cli import main
from sgscript.command import Read10, TestUnitReady
from sgscript.transport.linux import holders

pytestmark = pytest.mark.kernel

BLOCKS = 8  # the first 4 KiB: ext4's boot block and superblock live there
WRITER = f"""\
sgscript: 1
name: scribble
devices:
  a: {{target: "sim:placeholder"}}
steps:
  - name: write the first blocks
    device: a
    command: {{Write10: {{lba: 0, transfer_length: {BLOCKS}}}}}
    data: {{pattern: byte, value: 0xa5}}
"""


def first_blocks(sg: str) -> bytes:
    with Channel.open(sg, timeout=20) as ch:
        ch.execute(TestUnitReady(), check=False)  # a UNIT ATTENTION left by another test
        return ch.execute(Read10(lba=0, transfer_length=BLOCKS)).data


@pytest.fixture
def disk(sg_debug: str) -> Iterator[str]:
    """scsi_debug's block device node (made if devtmpfs did not), zeroed again afterwards."""
    sg = holders.sg_name_of_node(sg_debug)
    block = holders.block_of_sg(sg) if sg else None
    if block is None:
        pytest.fail(f"sysfs names no block device for {sg_debug}")
    path = f"/dev/{block}"
    if not os.path.exists(path):
        major, minor = Path(f"/sys/block/{block}/dev").read_text().strip().split(":")
        os.mknod(path, 0o600 | stat.S_IFBLK, os.makedev(int(major), int(minor)))
    try:
        yield path
    finally:
        subprocess.run(["umount", path], capture_output=True, timeout=30, check=False)
        with open(path, "r+b", buffering=0) as f:  # 64 MiB of zeros, 1 MiB at a time
            zeros = bytes(2**20)
            for _ in range(64):
                f.write(zeros)
            os.fsync(f.fileno())


def spec(tmp_path: Path) -> str:
    path = tmp_path / "scribble.yaml"
    path.write_text(WRITER)
    return str(path)


def test_without_the_flag_nothing_is_written(
    sg_debug: str, disk: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = first_blocks(sg_debug)
    assert main(["run", spec(tmp_path), "--device", f"a={sg_debug}"]) == 2
    err = capsys.readouterr().err
    assert "--allow-destructive" in err and "write the first blocks" in err
    assert first_blocks(sg_debug) == before


def test_with_the_flag_the_writes_run(
    sg_debug: str, disk: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", spec(tmp_path), "--device", f"a={sg_debug}", "--allow-destructive"])
    assert code == 0, capsys.readouterr()
    assert first_blocks(sg_debug) == b"\xa5" * (BLOCKS * 512)


def test_a_mounted_file_system_is_refused_even_with_the_flag(
    sg_debug: str, disk: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for tool in ("mkfs.ext4", "e2fsck", "mount", "umount"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed in the guest (e2fsprogs, util-linux)")
    subprocess.run(["mkfs.ext4", "-q", "-F", disk], check=True, capture_output=True, timeout=120)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "ext4", disk, str(mnt)], check=True, timeout=60)
    try:
        (mnt / "kept.txt").write_text("the file system must survive\n")
        before = first_blocks(sg_debug)
        code = main(["run", spec(tmp_path), "--device", f"a={sg_debug}", "--allow-destructive"])
        err = capsys.readouterr().err
        assert code == 2, err
        assert f"{disk} is mounted on {mnt}" in err
        assert first_blocks(sg_debug) == before
    finally:
        subprocess.run(["umount", str(mnt)], check=True, timeout=60)
    fsck = subprocess.run(["e2fsck", "-fn", disk], capture_output=True, timeout=120)
    assert fsck.returncode == 0, fsck.stdout.decode() + fsck.stderr.decode()

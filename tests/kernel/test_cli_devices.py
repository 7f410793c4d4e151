"""`sgscript devices` on a host with real sg nodes: the lane guest's two disks."""

from __future__ import annotations

import json

import pytest

from sgscript.cli import main

pytestmark = pytest.mark.kernel


def test_devices_lists_both_disks(
    sg_debug: str, sg_qemu: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["devices", "--json"]) == 0
    nodes = {n["path"]: n for n in json.loads(capsys.readouterr().out)}
    assert nodes[sg_debug]["model"] == "scsi_debug" and nodes[sg_debug]["vendor"] == "Linux"
    assert nodes[sg_qemu]["model"] == "QEMU HARDDISK"
    for path in (sg_debug, sg_qemu):
        assert nodes[path]["type_name"] == "disk"
        assert nodes[path]["block"] and nodes[path]["block"].startswith("/dev/sd")
    assert nodes[sg_debug]["wwn"]  # scsi_debug reports an NAA designator

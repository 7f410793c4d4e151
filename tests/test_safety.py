"""Never the wrong disk (issue 8, findings 1 and 10): destructive steps need permission on real
devices, a disk in use is refused even with it, the sg open path says what a wrong node is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from fake_transport import FakeTransport
from sgscript import Channel, sim
from sgscript.cli import main
from sgscript.runner import run_scenario
from sgscript.runner.safety import DestructiveRefused, check_plan, destructive_reason
from sgscript.scenario.load import load_scenario
from sgscript.scenario.model import DataSource, Step
from sgscript.scenario.plan import Plan
from sgscript.scsi.errors import UsageError
from sgscript.transport.linux import holders
from sgscript.transport.linux import sg as sgmod
from sgscript.verify import get_plugin_manager, hookimpl


@pytest.fixture(autouse=True)
def _fresh_sim() -> None:
    sim.forget_targets()


WRITER = """\
sgscript: 1
name: writer
devices:
  a: {target: "TARGET"}
steps:
  - name: the unit is ready
    device: a
    command: TestUnitReady
  - name: write the first block
    device: a
    command: {Write10: {lba: 0, transfer_length: 1}}
    data: {pattern: lba}
"""

READER = """\
sgscript: 1
name: reader
devices:
  a: {target: "TARGET"}
steps:
  - {name: inquiry, device: a, command: {Inquiry: {allocation_length: 36}}}
"""


def spec(tmp_path: Path, text: str, target: str, name: str = "s.yaml") -> str:
    path = tmp_path / name
    path.write_text(text.replace("TARGET", target))
    return str(path)


# ------------------------------------------------------------ what is destructive


def cmd(**kw: Any) -> Step:
    return Step(kind="command", name="s", device="a", **kw)


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (cmd(command="Write10"), "changes medium contents"),
        (cmd(command="ModeSelect6"), "changes device state"),
        (cmd(command="Reserve6"), "changes device state"),
        (cmd(command="Read10"), None),
        (cmd(command="Inquiry"), None),
        (cmd(cdb="2a 00 00 00 00 00 00 00 01 00"), "is a raw Write10, which changes medium"),
        (cmd(cdb="12 00 00 00 24 00", data_in=36), None),
        (cmd(cdb="c5 00 00 00 00 00"), "opcode C5h, unknown to the catalog"),
        (cmd(cdb="12 00 00 00 24 00", data=DataSource(hex="00")), "takes none (unknown meaning)"),
        (cmd(cdb="${op} 00 00 00 00 00"), "known only at run time"),
        (Step(kind="reset", name="r", device="a", reset="lun"), "resets the device"),
        (Step(kind="sleep", name="z", sleep=0.1), None),
    ],
)
def test_which_steps_are_destructive(step: Step, expected: str | None) -> None:
    reason = destructive_reason(step, {})
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason


# ------------------------------------------------------------ the gate, through the runner


class RealLab:
    """Opens ``lab:`` targets with a transport that is not simulated and records what it got."""

    def __init__(self) -> None:
        self.transports: list[FakeTransport] = []

    @hookimpl
    def sgscript_open_target(self, target: str, options: dict[str, Any]) -> Any:
        if not target.startswith("lab:"):
            return None
        fake = FakeTransport(target)
        self.transports.append(fake)
        return fake


def lab_pm() -> tuple[Any, RealLab]:
    pm = get_plugin_manager()
    lab = RealLab()
    pm.register(lab)
    return pm, lab


def test_a_real_plugin_device_refuses_destructive_steps_before_sending(tmp_path: Path) -> None:
    pm, lab = lab_pm()
    scenario = load_scenario(spec(tmp_path, WRITER, "lab:rack1"))
    with pytest.raises(DestructiveRefused) as info:
        run_scenario(scenario, seed=1, plugins=pm)
    text = str(info.value)
    assert "--allow-destructive" in text
    assert f"{scenario.file}:9:5: step 2 (write the first block): Write10" in text
    assert "device a (lab:rack1)" in text
    assert [t.submitted for t in lab.transports] == [[]]  # opened to learn its kind; nothing sent
    assert all(t.closed for t in lab.transports)


def test_with_permission_a_real_plugin_device_runs_the_writes(tmp_path: Path) -> None:
    pm, lab = lab_pm()
    scenario = load_scenario(spec(tmp_path, WRITER, "lab:rack1"))
    result = run_scenario(scenario, seed=1, plugins=pm, allow_destructive=True)
    assert result.status == "passed", result.message
    sent = [io.command.__class__.__name__ for io in lab.transports[0].submitted]
    assert "Write10" in sent


def test_a_simulated_plugin_transport_needs_no_permission(tmp_path: Path) -> None:
    class SimLab(RealLab):
        @hookimpl
        def sgscript_open_target(self, target: str, options: dict[str, Any]) -> Any:
            fake = super().sgscript_open_target(target, options)
            if fake is not None:
                fake.simulated = True
            return fake

    pm = get_plugin_manager()
    pm.register(SimLab())
    result = run_scenario(load_scenario(spec(tmp_path, WRITER, "lab:x")), seed=1, plugins=pm)
    assert result.status == "passed"


def test_sim_needs_no_permission(tmp_path: Path) -> None:
    result = run_scenario(load_scenario(spec(tmp_path, WRITER, "sim:gate")), seed=1)
    assert result.status == "passed"


def test_an_sg_device_is_refused_before_it_is_even_opened(tmp_path: Path) -> None:
    scenario = load_scenario(spec(tmp_path, WRITER, "/nonexistent/sg7"))
    with pytest.raises(DestructiveRefused):  # not DeviceOpenError: no open was tried
        run_scenario(scenario, seed=1)


def test_reading_a_real_device_needs_no_permission(tmp_path: Path) -> None:
    pm, lab = lab_pm()
    result = run_scenario(load_scenario(spec(tmp_path, READER, "lab:r")), seed=1, plugins=pm)
    assert result.status == "passed"
    assert "Inquiry" in [type(io.command).__name__ for io in lab.transports[0].submitted]


# ------------------------------------------------------------ the command line


def test_cli_refuses_without_the_flag_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = spec(tmp_path, READER, "sim:first", "first.yaml")
    writer = spec(tmp_path, WRITER, "/nonexistent/sg7", "writer.yaml")
    junit = tmp_path / "out.xml"
    code = main(["run", first, writer, "--junit", str(junit)])
    _, err = capsys.readouterr()
    assert code == 2
    assert "--allow-destructive" in err
    assert f"{writer}:9:5: step 2 (write the first block): Write10 changes medium" in err
    assert "device a (/nonexistent/sg7)" in err
    assert not junit.exists()  # refused before the reports, before the first spec ran
    assert not sim.targets()


def test_cli_with_the_flag_goes_on_to_open_the_device(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = spec(tmp_path, WRITER, "/nonexistent/sg7")
    assert main(["run", writer, "--allow-destructive"]) == 3  # the gate let it through
    assert "/nonexistent/sg7" in capsys.readouterr().err


def test_plan_marks_and_validate_counts_destructive_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = spec(tmp_path, WRITER, "sim:plan")
    assert main(["plan", writer, "--seed", "1"]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.lstrip().startswith("2 "))
    assert "DESTRUCTIVE: changes medium contents" in line
    assert "1 destructive step(s)" in out
    assert main(["validate", writer]) == 0
    assert capsys.readouterr().out == f"{writer}: ok (2 steps, 1 destructive)\n"


def test_the_pytest_plugin_has_the_flag(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", writer=WRITER.replace("TARGET", "/nonexistent/sg7"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*--sgscript-allow-destructive was not given*"])
    result = pytester.runpytest("--sgscript-allow-destructive")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*DeviceOpenError*nonexistent/sg7*"])


# ------------------------------------------------------------ holders (fake sysfs trees)


def fake_host(tmp_path: Path, mounts: str = "", swaps: str = "") -> holders.HostPaths:
    """sg1 -> sdb (8:16) with partitions sdb1 (8:17), sdb2 (8:18); sda (8:0) is another disk."""
    sysfs = tmp_path / "sys"
    (sysfs / "class/scsi_generic/sg1/device/block/sdb").mkdir(parents=True)
    (sysfs / "class/block").mkdir(parents=True)
    for disk, num in (("sda", 0), ("sdb", 16)):
        d = sysfs / "block" / disk
        (d / "holders").mkdir(parents=True)
        (d / "dev").write_text(f"8:{num}\n")
        (d / "device/scsi_generic" / ("sg0" if disk == "sda" else "sg1")).mkdir(parents=True)
        (sysfs / "class/block" / disk).symlink_to(d)
        for part in (1, 2):
            p = d / f"{disk}{part}"
            (p / "holders").mkdir(parents=True)
            (p / "partition").write_text(f"{part}\n")
            (p / "dev").write_text(f"8:{num + part}\n")
            (sysfs / "class/block" / f"{disk}{part}").symlink_to(p)
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "30 22 0:25 / /proc rw - proc proc rw\n" + mounts
    )
    swapfile = tmp_path / "swaps"
    swapfile.write_text("Filename\tType\tSize\tUsed\tPriority\n" + swaps)
    return holders.HostPaths(
        sysfs=str(sysfs), mountinfo=str(mountinfo), swaps=str(swapfile), dev=str(tmp_path)
    )


def test_a_free_disk_has_no_holders(tmp_path: Path) -> None:
    host = fake_host(tmp_path)
    assert holders.block_of_sg("sg1", host) == "sdb"
    assert holders.find_holders("sdb", host) == []


def test_a_mounted_partition_is_named_with_its_mount_point(tmp_path: Path) -> None:
    host = fake_host(tmp_path, mounts="40 22 8:17 / /mnt/my\\040data rw - ext4 /dev/sdb1 rw\n")
    assert holders.find_holders("sdb", host) == ["/dev/sdb1 is mounted on /mnt/my data"]


def test_a_mount_with_an_anonymous_device_number_is_found_by_its_source(tmp_path: Path) -> None:
    host = fake_host(tmp_path, mounts="41 22 0:44 / /srv rw - btrfs /dev/sdb2 rw\n")
    assert holders.find_holders("sdb1", host) == ["/dev/sdb2 is mounted on /srv"]


def test_the_root_file_system_is_named(tmp_path: Path) -> None:
    host = fake_host(tmp_path)
    assert holders.find_holders("sda", host) == ["/dev/sda1 holds the root file system"]


def test_dm_and_md_holders_and_swap_are_named(tmp_path: Path) -> None:
    host = fake_host(tmp_path, swaps="/dev/sdb2\tpartition\t1048572\t0\t-2\n")
    sysfs = Path(host.sysfs)
    (sysfs / "block/sdb/sdb1/holders/dm-0").mkdir()
    (sysfs / "block/dm-0/dm").mkdir(parents=True)
    (sysfs / "block/dm-0/dm/name").write_text("vg-lv\n")
    (sysfs / "block/sdb/holders/md127").mkdir()
    (sysfs / "block/md127/md").mkdir(parents=True)
    (sysfs / "block/md127/md/level").write_text("raid1\n")
    assert holders.find_holders("sdb", host) == [
        "/dev/sdb is held by md127 (MD raid1)",
        "/dev/sdb1 is held by dm-0 (vg-lv)",
        "/dev/sdb2 is active swap",
    ]


def test_a_block_device_finds_its_sg_node(tmp_path: Path) -> None:
    host = fake_host(tmp_path)
    assert holders.sg_of_block("sdb2", host) == "sg1"
    assert holders.sg_of_block("sda", host) == "sg0"


def test_even_with_permission_a_disk_in_use_is_refused(tmp_path: Path) -> None:
    host = fake_host(tmp_path, mounts="40 22 8:17 / /mnt/data rw - ext4 /dev/sdb1 rw\n")
    plan = Plan(load_scenario(spec(tmp_path, WRITER, "/nonexistent/sg1")), seed=1)
    with pytest.raises(DestructiveRefused) as info:
        check_plan(plan, True, host=host)
    assert "is disk /dev/sdb: /dev/sdb1 is mounted on /mnt/data" in str(info.value)
    free = fake_host(tmp_path / "free")
    assert [d.path for d in check_plan(plan, True, host=free)] == ["2"]


def test_the_cli_refuses_a_mounted_disk_even_with_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = fake_host(tmp_path, mounts="40 22 8:16 / /data rw - xfs /dev/sdb rw\n")
    monkeypatch.setattr(holders, "HOST", host)
    writer = spec(tmp_path, WRITER, "/nonexistent/sg1")
    assert main(["run", writer, "--allow-destructive"]) == 2
    err = capsys.readouterr().err
    assert "device a (/nonexistent/sg1) is disk /dev/sdb: /dev/sdb is mounted on /data" in err
    reader = spec(tmp_path, READER, "/nonexistent/sg1", "reader.yaml")
    assert main(["run", reader]) == 3  # reading the same disk is not gated: the open fails


def test_a_claim_is_not_taken_on_what_is_not_a_block_device(tmp_path: Path) -> None:
    host = fake_host(tmp_path)
    (tmp_path / "sdb").write_text("not a device")
    claim, why = holders.claim("sdb", host)
    assert claim is None and "not a block device" in why


# ------------------------------------------------------------ the sg open path (finding 10)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_character_device_that_is_not_sg_says_so_and_leaks_nothing() -> None:
    before = open_fds()
    for _ in range(100):
        with pytest.raises(UsageError, match=r"character device .* not a SCSI generic"):
            Channel.open("/dev/null")
    assert open_fds() == before


def test_a_failed_adopt_closes_the_descriptor_it_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sgmod, "_check_node", lambda path: None)  # reach the ioctl
    before = open_fds()
    for _ in range(100):
        with pytest.raises(UsageError, match="not a SCSI generic"):
            Channel.open("/dev/null", queue_depth=64)  # four descriptors each time
    assert open_fds() == before


def test_a_regular_file_is_not_a_device(tmp_path: Path) -> None:
    path = tmp_path / "sg3"
    path.write_text("")
    with pytest.raises(UsageError, match="not a device node"):
        Channel.open(str(path))


def test_a_block_device_names_its_sg_node(tmp_path: Path) -> None:
    host = fake_host(tmp_path)
    text = sgmod._block_hint("/dev/sdb1", host)
    assert text.startswith("/dev/sdb1 is a block device (sdb1)")
    assert "use its SCSI generic node /dev/sg1 instead" in text
    assert "Operation not permitted" not in text

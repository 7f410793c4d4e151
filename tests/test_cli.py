"""The command line through ``main([...])``: output people read, JSON scripts read, exit codes CI reads."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sgscript.cli import SUBCOMMANDS, Subcommand, main, parse_hex
from sgscript.scsi import commands as standard
from sgscript.scsi.catalog import catalog
from sgscript.scsi.errors import UsageError
from sgscript.transport.linux.sysfs import SgNode, list_sg_nodes

SG_DECODE_SENSE = shutil.which("sg_decode_sense")
needs_sg3 = pytest.mark.skipif(SG_DECODE_SENSE is None, reason="sg3-utils not installed")

FIXED_INVALID_FIELD = "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 00 00 00"
DESCRIPTOR_LBA_OUT_OF_RANGE = "72 05 21 00 00 00 00 0c 00 0a 80 00 00 00 00 00 00 00 12 34"
DESCRIPTOR_FIELD_POINTER = "72 05 24 00 00 00 00 08 02 06 00 00 cf 00 04 00"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_usage_error(code: int, out: str, err: str, *words: str) -> None:
    """Exit 2, nothing on stdout, exactly one ``sgscript: error:`` line naming the problem."""
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sgscript: error: ")
    for word in words:
        assert word in lines[0]


def sg3(*args: str) -> str:
    assert SG_DECODE_SENSE is not None
    done = subprocess.run(
        [SG_DECODE_SENSE, *args], capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout


def words(text: str) -> str:
    """Lower-case letters and digits only: titles compare across spelling conventions."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


# ---------------------------------------------------------------- commands


def test_commands_lists_the_whole_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "commands")
    assert code == 0 and err == ""
    names = set(catalog())
    assert len(names) >= 45
    listed = {line.split()[0] for line in out.splitlines()[1:] if line and line[0].isupper()}
    assert names <= listed
    row = next(line for line in out.splitlines() if line.startswith("Read10 "))
    assert "28h" in row and " in " in f"{row} " and "10" in row


@pytest.mark.usefixtures("no_installed_plugins")
def test_commands_json_has_stable_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "commands", "--json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == len(catalog()) >= 45
    keys = {
        "name",
        "opcode",
        "service_action",
        "cdb_length",
        "direction",
        "title",
        "standard",
        "changes_media",
        "changes_state",
    }
    assert all(set(r) == keys for r in rows)
    by_name = {r["name"]: r for r in rows}
    assert by_name["Read10"]["opcode"] == 0x28 and by_name["Read10"]["cdb_length"] == 10
    assert by_name["Read10"]["direction"] == "in"
    assert by_name["Write10"]["changes_media"] is True
    assert by_name["PersistentReserveOut"]["changes_state"] is True
    assert by_name["ReadCapacity16"]["service_action"] == 0x10
    assert by_name["Read10"]["service_action"] is None


def test_commands_name_shows_fields_and_transfer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "commands", "read10")  # names match case-insensitively
    assert code == 0
    assert out.startswith("Read10")
    assert "opcode 28h, 10-byte CDB, data in" in out
    row = next(
        line.split() for line in out.splitlines() if line.startswith("logical_block_address")
    )
    assert row[1:4] == ["2", "7", "32"]  # byte, bit, width
    assert re.search(r"^transfer: .*TRANSFER LENGTH.*block size", out, re.M)


def test_commands_name_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "commands", "PersistentReserveOut", "--json")
    assert code == 0
    d = json.loads(out)
    fields = {f["name"]: f for f in d["fields"]}
    assert fields["operation_code"]["fixed"] is True and fields["operation_code"]["default"] == 0x5F
    assert fields["service_action"]["values"]["register"] == 0
    assert d["transfer"]["kind"] == "bytes"
    assert d["transfer"]["field"] == "parameter_list_length"
    _, out, _ = run(capsys, "commands", "TestUnitReady", "--json")
    assert json.loads(out)["transfer"].keys() == d["transfer"].keys()


def test_commands_unknown_name_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(*run(capsys, "commands", "Read11"), "Read11", "did you mean", "Read10")


def field_rows(out: str) -> dict[str, str]:
    """``FIELD  TYPE...`` rows of the response and parameter tables: path -> the rest."""
    rows = {}
    for line in out.splitlines():
        if line.startswith("  ") and not line.lstrip().startswith("FIELD"):
            path, _, rest = line.strip().partition("  ")
            rows.setdefault(path, rest.strip())
    return rows


def test_commands_name_lists_the_response_fields_of_every_page(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "commands", "Inquiry")
    assert code == 0
    assert "\nwith evpd=0: standard INQUIRY data\n" in out
    assert "\nwith evpd=1, page_code=0x83: device_identification VPD page (83h)\n" in out
    rows = field_rows(out)
    assert rows["peripheral_device_type"].startswith("integer, 5 bits")
    assert "direct_access_block=0" in rows["peripheral_device_type"]
    assert rows["vendor_identification"] == "text, 8 bytes"
    assert rows["version_descriptors"] == "list, at most 8"
    assert rows["designation_descriptors.N.designator"] == "bytes as hex"
    assert rows["maximum_write_same_length"] == "integer, 64 bits"  # block limits, B0h


def test_commands_field_values_choose_one_response(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "commands", "Inquiry", "evpd=1", "page_code=0x83")
    assert code == 0
    rows = field_rows(out)
    assert "designation_descriptors.N.association" in rows
    assert "vendor_identification" not in rows and "maximum_write_same_length" not in rows
    _, out, _ = run(capsys, "commands", "ModeSense6", "page_code=0x08")
    rows = field_rows(out)
    assert "mode_pages.N.wce" in rows and "mode_pages.N.d_sense" not in rows
    assert_usage_error(*run(capsys, "commands", "Inquiry", "evpd=2"), "evpd=2", "1-bit")


def test_commands_all_mode_pages_say_which_page_has_a_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = run(capsys, "commands", "ModeSense10")
    rows = field_rows(out)
    assert re.fullmatch(r"flag \(0/1\) +caching \(08h\)", rows["mode_pages.N.wce"])
    assert rows["mode_pages.N.page_code"] == "integer, 6 bits"  # every page has it


def test_commands_name_lists_the_parameter_list_fields(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "commands", "PersistentReserveOut")
    assert "parameter list fields" in out
    rows = field_rows(out)
    assert rows["reservation_key"] == "integer, 64 bits"
    assert rows["transport_ids.N"] == "bytes as hex"
    _, out, _ = run(capsys, "commands", "Unmap")
    assert field_rows(out)["unmap_block_descriptors.N.number_of_logical_blocks"] == (
        "integer, 32 bits"
    )
    _, out, _ = run(capsys, "commands", "Read10")
    assert "response: not decoded into fields" in out


def test_commands_json_has_the_response_and_parameter_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = run(capsys, "commands", "Inquiry", "evpd=1", "page_code=0xb0", "--json")
    d = json.loads(out)
    (page,) = d["response"]
    assert page["when"] == {"evpd": 1, "page_code": 0xB0}
    assert page["title"] == "block_limits VPD page (B0h)"
    fields = {f["name"]: f for f in page["fields"]}
    assert fields["wsnz"]["type"] == "integer" and fields["wsnz"]["bits"] == 1
    assert d["parameters"] is None
    _, out, _ = run(capsys, "commands", "ModeSelect10", "--json")
    d = json.loads(out)
    (params,) = d["parameters"]
    fields = {f["name"]: f for f in params["fields"]}
    assert fields["mode_pages.N.wce"]["in"] == "caching (08h)"
    assert "mode_data_length" not in fields  # the encoder computes it
    _, out, _ = run(capsys, "commands", "Read10", "--json")
    assert json.loads(out)["response"] is None


# --------------------------------------------------------------------- cdb


def test_cdb_encodes_hex(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "cdb", "Read10", "lba=0x1000", "transfer_length=8")
    assert (code, err) == (0, "")
    assert out == "28 00 00 00 10 00 00 00 08 00\n"


def test_cdb_accepts_decimal_hex_and_symbolic_values(capsys: pytest.CaptureFixture[str]) -> None:
    _, by_name, _ = run(
        capsys, "cdb", "PersistentReserveOut", "service_action=register", "parameter_list_length=24"
    )
    _, by_number, _ = run(
        capsys, "cdb", "PersistentReserveOut", "service_action=0", "parameter_list_length=0x18"
    )
    _, t10_style, _ = run(capsys, "cdb", "PersistentReserveOut", "parameter_list_length=18h")
    assert by_name == by_number == t10_style == "5f 00 00 00 00 00 00 00 18 00\n"
    _, full, _ = run(capsys, "cdb", "Read10", "logical_block_address=4096")
    _, alias, _ = run(capsys, "cdb", "Read10", "lba=4096")
    assert full == alias


def test_cdb_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cdb", "Read16", "lba=0x123456789a", "transfer_length=7", "--json")
    assert code == 0
    encoded = json.loads(out)
    assert encoded["fields"]["logical_block_address"] == 0x123456789A
    code, out, _ = run(capsys, "cdb", "--decode", encoded["cdb"], "--json")
    assert code == 0
    decoded = json.loads(out)
    assert decoded["name"] == "Read16"
    assert decoded["fields"] == encoded["fields"]
    assert decoded["cdb"] == encoded["cdb"]


def test_cdb_decode_prints_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    for hex_args in (
        ["28 00 00 00 10 00 00 00 08 00"],
        ["28", "00", "00", "00", "10", "00", "00", "00", "08", "00"],
        ["28:00:00:00:10:00:00:00:08:00"],
        ["2800000010", "0000000800"],
    ):
        code, out, _ = run(capsys, "cdb", "--decode", *hex_args)
        assert code == 0, hex_args
        assert out.splitlines()[0].startswith("Read10")
        fields = dict(line.split(None, 1) for line in out.splitlines()[3:] if line.startswith("  "))
        assert fields["logical_block_address"] == "4096 (0x1000)"
        assert fields["transfer_length"] == "8"
        assert set(fields) == {f.name for f in catalog()["Read10"].layout.fields}


def test_cdb_decode_names_symbolic_values(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cdb", "--decode", "5f 01 00 00 00 00 00 00 18 00")
    assert code == 0
    assert re.search(r"^\s+service_action\s+reserve \(1\)$", out, re.M)


@needs_sg3
@pytest.mark.parametrize(
    "argv",
    [
        ["Read10", "lba=1", "transfer_length=1"],
        ["Inquiry", "allocation_length=36"],
        ["TestUnitReady"],
        ["ModeSense10", "page_code=0x3f"],
        ["PersistentReserveOut", "service_action=register"],
        ["PersistentReserveIn", "service_action=read_keys"],
        ["ReadCapacity16"],
    ],
)
def test_cdb_agrees_with_sg_decode_sense(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, _ = run(capsys, "cdb", *argv)
    assert code == 0
    sg3_name = words(sg3("--cdb", *out.split()))
    title = words(catalog()[argv[0]].title)
    assert title and (sg3_name.startswith(title) or title.startswith(sg3_name)), (sg3_name, title)
    if "service_action=register" in argv:
        assert sg3_name.endswith("register")


@needs_sg3
def test_whole_catalog_agrees_with_sg_decode_sense(capsys: pytest.CaptureFixture[str]) -> None:
    """Every default CDB we encode, sg3_utils names as the same command.

    The standard tables only: an installed plugin's vendor commands sg3_utils cannot know.
    """
    for cls in standard.STANDARD:
        name = cls.__name__
        code, out, _ = run(capsys, "cdb", name)
        assert code == 0, name
        sg3_name, title = words(sg3("--cdb", *out.split())), words(cls.title)
        assert sg3_name.startswith(title) or title.startswith(sg3_name), (name, sg3_name)


def test_cdb_value_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(*run(capsys, "cdb", "Read10", "transfer_length=70000"), "70000", "65535")
    assert_usage_error(*run(capsys, "cdb", "Read10", "lba=-1"))


def test_cdb_bad_field_or_value(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(*run(capsys, "cdb", "Read10", "lab=1"), "did you mean", "lba")
    assert_usage_error(*run(capsys, "cdb", "Read10", "transfer_length=lots"), "lots")
    assert_usage_error(*run(capsys, "cdb", "Read10", "transfer_length"), "FIELD=VALUE")
    assert_usage_error(*run(capsys, "cdb", "Read10", "lba=1", "logical_block_address=2"), "twice")
    assert_usage_error(*run(capsys, "cdb", "Read10", "operation_code=1"), "fixed")
    assert_usage_error(*run(capsys, "cdb", "PersistentReserveOut", "service_action=bogus"), "bogus")


def test_cdb_unknown_command_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(*run(capsys, "cdb", "Raed10", "lba=0"), "did you mean", "Read10")


@pytest.mark.parametrize(
    "hex_args",
    [["zz"], ["28", "0g"], ["2800000"], ["0x"], [""], [":"]],
)
def test_cdb_decode_garbage(capsys: pytest.CaptureFixture[str], hex_args: list[str]) -> None:
    assert_usage_error(*run(capsys, "cdb", "--decode", *hex_args))


def test_cdb_decode_short_or_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(*run(capsys, "cdb", "--decode", "28 00"), "Read10")
    assert_usage_error(*run(capsys, "cdb", "--decode", "ff 00 00 00 00 00"))


# ------------------------------------------------------------------- sense


def test_sense_fixed_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "sense", *FIXED_INVALID_FIELD.split())
    assert (code, err) == (0, "")
    assert "Fixed format, current; Sense key: Illegal Request" in out
    assert "Additional sense: Invalid field in cdb" in out


def test_sense_descriptor_format_names_each_descriptor(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sense", DESCRIPTOR_LBA_OUT_OF_RANGE.replace(" ", ""))
    assert code == 0
    assert "Descriptor format, current; Sense key: Illegal Request" in out
    assert "Logical block address out of range" in out
    assert "Information: 0x0000000000001234" in out


@needs_sg3
@pytest.mark.parametrize(
    "sense", [FIXED_INVALID_FIELD, DESCRIPTOR_LBA_OUT_OF_RANGE, DESCRIPTOR_FIELD_POINTER]
)
def test_sense_agrees_with_sg_decode_sense(capsys: pytest.CaptureFixture[str], sense: str) -> None:
    code, out, _ = run(capsys, "sense", sense)
    assert code == 0
    ours = [line.strip() for line in out.splitlines()]
    for line in sg3(*sense.split()).splitlines():
        if line.strip():
            assert line.strip() in ours


def test_sense_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sense", FIXED_INVALID_FIELD, "--json", "--status", "2")
    assert code == 0
    d = json.loads(out)
    assert d["status"] == {"code": 2, "name": "CHECK_CONDITION", "title": "CHECK CONDITION"}
    flat = json.dumps(d).lower()
    assert "illegal" in flat and "invalid field in cdb" in flat
    assert int(str(d["asc"]), 0) == 0x24 and d["sense_key"] == 5


def test_sense_status_alone(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sense", "--status", "18")  # hex, as sg_decode_sense takes it
    assert code == 0
    assert out == "SCSI status: RESERVATION CONFLICT\n"
    code, out, _ = run(capsys, "sense", "-s", "busy")
    assert out == "SCSI status: BUSY\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["sense"],
        ["sense", "zz"],
        ["sense", "7"],
        ["sense", "7000f"],
        ["sense", "--status", "nonsense", "70 00 05 00"],
        ["sense", "--status", "100", "70 00 05 00"],
    ],
)
def test_sense_garbage(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert_usage_error(*run(capsys, *argv))


def test_sense_rejects_nonsense_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    # Not a response code sense data can have: the decoder's UsageError, one line.
    assert_usage_error(*run(capsys, "sense", "00 11 22 33"))


# ----------------------------------------------------------------- devices


def _sysfs_node(
    root: Path,
    sg: str,
    hctl: str,
    *,
    pdt: int,
    vendor: str,
    model: str,
    rev: str,
    serial: str | None = None,
    wwid: str | None = None,
    block: str | None = None,
) -> None:
    """One sg node laid out as the kernel does: class link -> scsi_generic dir -> device link."""
    host = hctl.split(":")[0]
    lu = root / f"devices/pci0000:00/0000:00:04.0/host{host}/target{hctl.rsplit(':', 1)[0]}/{hctl}"
    lu.mkdir(parents=True)
    (lu / "type").write_text(f"{pdt}\n")
    (lu / "vendor").write_text(f"{vendor:<8}\n")
    (lu / "model").write_text(f"{model:<16}\n")
    (lu / "rev").write_text(f"{rev:<4}\n")
    if serial is not None:
        (lu / "vpd_pg80").write_bytes(bytes([pdt, 0x80, 0, len(serial)]) + serial.encode())
    if wwid is not None:
        (lu / "wwid").write_text(wwid + "\n")
    if block is not None:
        (lu / "block" / block).mkdir(parents=True)
    node = lu / "scsi_generic" / sg
    node.mkdir(parents=True)
    (node / "device").symlink_to(Path("../..") / ".." / hctl)
    (node / "uevent").write_text(f"MAJOR=21\nMINOR={sg[2:]}\nDEVNAME={sg}\n")
    links = root / "class" / "scsi_generic"
    links.mkdir(parents=True, exist_ok=True)
    (links / sg).symlink_to(node)


@pytest.fixture
def sysfs(tmp_path: Path) -> Path:
    root = tmp_path / "sys"
    _sysfs_node(
        root,
        "sg10",
        "1:0:0:0",
        pdt=5,
        vendor="QEMU",
        model="QEMU DVD-ROM",
        rev="2.5+",
        block="sr0",
    )
    _sysfs_node(
        root,
        "sg2",
        "0:0:0:0",
        pdt=0,
        vendor="Linux",
        model="scsi_debug",
        rev="0191",
        serial="2000",
        wwid="naa.3333333000000000",
        block="sda",
    )
    return root


def test_sysfs_nodes(sysfs: Path) -> None:
    disk, dvd = list_sg_nodes(sysfs)  # by sg number, not by name: sg2 before sg10
    assert disk == SgNode(
        name="sg2",
        path="/dev/sg2",
        hctl="0:0:0:0",
        device_type=0,
        type_name="disk",
        vendor="Linux",
        model="scsi_debug",
        rev="0191",
        serial="2000",
        wwn="naa.3333333000000000",
        block="/dev/sda",
    )
    assert (dvd.name, dvd.hctl, dvd.device_type, dvd.type_name) == ("sg10", "1:0:0:0", 5, "cd/dvd")
    assert (dvd.model, dvd.serial, dvd.wwn, dvd.block) == ("QEMU DVD-ROM", None, None, "/dev/sr0")


def test_sysfs_wwn_from_vpd_page_83(sysfs: Path) -> None:
    lu = (sysfs / "class/scsi_generic/sg10/device").resolve()
    t10 = bytes([0x02, 0x01, 0x00, 0x04]) + b"QEMU"  # T10 vendor id: skipped
    naa = bytes([0x01, 0x03, 0x00, 0x08]) + bytes.fromhex("5000c50012345678")
    (lu / "vpd_pg83").write_bytes(bytes([5, 0x83, 0, len(t10 + naa)]) + t10 + naa)
    assert list_sg_nodes(sysfs)[1].wwn == "naa.5000c50012345678"


def test_sysfs_without_sg_driver(tmp_path: Path) -> None:
    assert list_sg_nodes(tmp_path) == []


def test_devices_table(capsys: pytest.CaptureFixture[str], sysfs: Path) -> None:
    code, out, err = run(capsys, "devices", "--sysfs-root", str(sysfs))
    assert (code, err) == (0, "")
    header, disk, dvd = out.splitlines()
    assert header.split()[:3] == ["DEVICE", "H:C:T:L", "TYPE"]
    assert disk.split() == [
        "/dev/sg2",
        "0:0:0:0",
        "disk",
        "Linux",
        "scsi_debug",
        "0191",
        "2000",
        "naa.3333333000000000",
        "/dev/sda",
    ]
    assert dvd.startswith("/dev/sg10") and "cd/dvd" in dvd and "QEMU DVD-ROM" in dvd


def test_devices_json(capsys: pytest.CaptureFixture[str], sysfs: Path) -> None:
    code, out, _ = run(capsys, "devices", "--json", "--sysfs-root", str(sysfs))
    assert code == 0
    rows = json.loads(out)
    assert [r["path"] for r in rows] == ["/dev/sg2", "/dev/sg10"]
    assert rows[0]["serial"] == "2000" and rows[0]["wwn"] == "naa.3333333000000000"
    assert rows[1]["device_type"] == 5 and rows[1]["serial"] is None
    assert rows == [n.to_dict() for n in list_sg_nodes(sysfs)]


def test_devices_none(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "devices", "--sysfs-root", str(tmp_path))
    assert (code, out) == (0, "")
    assert "no SCSI generic devices" in err
    code, out, _ = run(capsys, "devices", "--json", "--sysfs-root", str(tmp_path))
    assert (code, json.loads(out)) == (0, [])


# ------------------------------------------------------------------- misc


def test_parse_hex_forms() -> None:
    assert (
        parse_hex(["28 00 ff"]) == parse_hex(["2800ff"]) == parse_hex(["28:00:FF"]) == b"\x28\0\xff"
    )
    assert parse_hex(["0x28", "0", "ff"]) == b"\x28\0\xff"  # short tokens are one byte each
    with pytest.raises(UsageError):
        parse_hex(["280"])


def test_argparse_errors_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["--help"]) == 0
    assert "commands" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("exc", "code"), [(KeyboardInterrupt(), 130), (OSError(19, "No such device"), 3)]
)
def test_interrupt_and_os_errors_map_to_contract_codes(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    exc: BaseException,
    code: int,
) -> None:
    def boom(_args: object) -> int:
        raise exc

    monkeypatch.setitem(SUBCOMMANDS, "devices", Subcommand("test", lambda p: None, boom))
    assert main(["devices"]) == code
    err = capsys.readouterr().err
    assert err == "" if code == 130 else err == "sgscript: error: [Errno 19] No such device\n"


def test_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sgscript", "commands"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"^Read10\s+28h", done.stdout, re.M)
    assert re.search(r"^(\d+) commands", done.stdout, re.M)

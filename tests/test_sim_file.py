"""``sim:`` backing files (issue 8, finding 2): made only where nothing exists, with a header
sgscript recognises; anything else is refused untouched, and specs cannot leave their directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sgscript import Channel, sim
from sgscript.cli import main
from sgscript.scsi.commands import TestUnitReady
from sgscript.sim.storage import HEADER_SIZE, MAGIC, BackingFileError, FileStorage


@pytest.fixture(autouse=True)
def _fresh_sim() -> None:
    sim.forget_targets()


def test_a_host_file_is_never_truncated_or_written(tmp_path: Path) -> None:
    victim = tmp_path / "notes.txt"
    victim.write_bytes(b"precious " * 11_000)  # about 100 KB
    before = victim.read_bytes()
    with pytest.raises(BackingFileError, match="not an sgscript sim disk"):
        Channel.open(f"sim:v?file={victim}&blocks=1")
    assert victim.read_bytes() == before


def test_a_new_file_gets_the_header_and_reopens_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "disk.img"
    with Channel.open(f"sim:d?file={path}&blocks=64") as ch:
        ch.execute(TestUnitReady(), check=False)  # the power-on UNIT ATTENTION
        ch.cmd.Write10(lba=3, transfer_length=1, data=b"\xa5" * 512)
    sim.forget_targets()
    raw = path.read_bytes()
    assert raw.startswith(MAGIC) and len(raw) == HEADER_SIZE + 64 * 512
    with Channel.open(f"sim:d?file={path}&blocks=64") as ch:
        ch.execute(TestUnitReady(), check=False)
        assert ch.cmd.Read10(lba=3, transfer_length=1).data == b"\xa5" * 512


def test_a_geometry_mismatch_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    path = tmp_path / "disk.img"
    FileStorage(str(path), 64, 512).close()
    before = path.read_bytes()
    with pytest.raises(BackingFileError, match=r"blocks=64 block_size=512.*asks for blocks=128"):
        FileStorage(str(path), 128, 512)
    assert path.read_bytes() == before


def test_what_is_not_a_regular_file_is_refused_without_opening(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(BackingFileError, match="not a regular file"):
        FileStorage(str(fifo), 8, 512)  # would block forever if it were opened for reading
    with pytest.raises(BackingFileError, match="not a regular file"):
        FileStorage("/dev/null", 8, 512)


def test_a_dangling_symlink_is_not_followed_to_create_a_file(tmp_path: Path) -> None:
    link = tmp_path / "disk.img"
    link.symlink_to(tmp_path / "elsewhere.img")
    with pytest.raises(BackingFileError, match="dangling"):
        FileStorage(str(link), 8, 512)
    assert not (tmp_path / "elsewhere.img").exists()


SPEC = """\
sgscript: 1
devices:
  a: {target: "sim:f?blocks=8", options: {file: FILE}}
steps:
  - {device: a, command: TestUnitReady}
"""


@pytest.mark.parametrize(
    ("name", "message"),
    [("/tmp/abs.img", "must be a path relative"), ("../up.img", "leaves the spec's directory")],
)
def test_a_spec_cannot_name_a_file_outside_its_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.replace("FILE", name))
    for command in ("validate", "run"):
        assert main([command, str(spec)]) == 2
        out, err = capsys.readouterr()
        assert f"{spec}:3:6: devices.a: sim file {name!r} {message}" in out + err
    assert not (tmp_path.parent / "up.img").exists() and not Path("/tmp/abs.img").exists()


def test_a_spec_file_resolves_under_the_spec_and_validate_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "s.yaml"
    spec.write_text(SPEC.replace("FILE", "disk.img"))
    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(spec)]) == 0
    assert not (tmp_path / "specs" / "disk.img").exists()
    assert main(["run", str(spec)]) == 0
    capsys.readouterr()
    assert (tmp_path / "specs" / "disk.img").read_bytes().startswith(MAGIC)
    assert not (tmp_path / "disk.img").exists()


def test_validate_refuses_an_existing_foreign_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "disk.img").write_bytes(b"x" * 1000)
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.replace("FILE", "disk.img"))
    assert main(["validate", str(spec)]) == 2
    assert "not an sgscript sim disk" in capsys.readouterr().out
    assert (tmp_path / "disk.img").read_bytes() == b"x" * 1000


def test_a_device_option_path_is_the_users_own_relative_to_the_cwd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "s.yaml"
    spec.write_text(SPEC.replace(", options: {file: FILE}", ""))
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(spec), "--device", "a=sim:g?file=mine.img&blocks=8"]) == 0
    assert (tmp_path / "mine.img").read_bytes().startswith(MAGIC)

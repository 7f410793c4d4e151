"""Data patterns: what a write sends reads back as a match, and any damage is pinned down."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sgscript.scenario.model import DataSource, Mark
from sgscript.scenario.patterns import (
    HEADER,
    PatternError,
    check_data,
    compare_data,
    make_data,
)

BS = 512


def make(
    spec: dict | DataSource, *, lba: int = 0x10, blocks: int = 4, seed: int = 7, **kw
) -> bytes:
    return make_data(spec, lba=lba, length=blocks * BS, block_size=BS, seed=seed, **kw)


def check(
    spec: dict | DataSource, data: bytes, *, lba: int = 0x10, seed: int = 7, **kw
) -> str | None:
    return check_data(spec, data, lba=lba, block_size=BS, seed=seed, **kw)


@pytest.mark.parametrize(
    "spec",
    [
        {"pattern": "lba"},
        {"pattern": "lba", "seed": 99},
        {"pattern": "zeros"},
        {"pattern": "byte", "value": 0xA5},
        {"pattern": "incrementing"},
        {"pattern": "random"},
        {"hex": "de ad be ef"},
        DataSource(pattern="random", seed=3),
    ],
    ids=str,
)
def test_every_pattern_reads_back_as_a_match(spec: dict | DataSource) -> None:
    data = make(spec)
    assert len(data) == 4 * BS
    assert check(spec, data) is None


def test_simple_patterns_are_the_bytes_their_names_say() -> None:
    assert make({"pattern": "zeros"}, blocks=1) == bytes(BS)
    assert make({"pattern": "byte", "value": 0xA5}, blocks=1) == b"\xa5" * BS
    inc = make({"pattern": "incrementing"}, blocks=2)
    assert inc[:3] == b"\x00\x01\x02" and inc[255:258] == b"\xff\x00\x01" and inc[600] == 600 % 256
    assert make({"hex": "0xdead"}, blocks=1)[:6] == bytes.fromhex("dead dead dead")


def test_lba_blocks_carry_their_header() -> None:
    data = make({"pattern": "lba"}, lba=0x1234, seed=0x1_0000_0007)
    block2 = data[2 * BS : 3 * BS]
    assert int.from_bytes(block2[:8], "big") == 0x1236
    assert int.from_bytes(block2[8:12], "big") == 7  # the seed's low 32 bits
    assert int.from_bytes(block2[12:16], "big") == 2  # block index within the command
    assert block2[HEADER:] != data[3 * BS + HEADER : 4 * BS]  # the fill differs per LBA


def test_random_and_lba_are_reproducible_and_seeded() -> None:
    for pattern in ("random", "lba"):
        assert make({"pattern": pattern}) == make({"pattern": pattern})
        assert make({"pattern": pattern}, seed=1) != make({"pattern": pattern}, seed=2)
    # the spec's own seed wins over the run's
    assert make({"pattern": "random", "seed": 5}, seed=1) == make({"pattern": "random"}, seed=5)


def test_a_range_written_in_one_chunk_reads_back_block_by_block() -> None:
    for pattern in ("lba", "random"):
        written = make({"pattern": pattern}, lba=100, blocks=8)
        for k in range(8):
            block = written[k * BS : (k + 1) * BS]
            assert check({"pattern": pattern}, block, lba=100 + k) is None


def test_a_block_from_the_wrong_lba_is_named() -> None:
    got = bytearray(make({"pattern": "lba"}, lba=0x10))
    got[BS : 2 * BS] = make({"pattern": "lba"}, lba=0x35, blocks=1)
    msg = check({"pattern": "lba"}, bytes(got), lba=0x10)
    assert msg is not None
    assert "expected data pattern lba (seed 7) from LBA 0x10" in msg
    assert "offset 519 (0x207)" in msg  # the LBA's last byte: 0x11 vs 0x35
    assert "block 1 (LBA 0x11) holds the data of LBA 0x35" in msg
    assert "@0x000200 expected 00 00 00 00 00 00 00 11 00 00 00 07" in msg
    assert "@0x000200 got      00 00 00 00 00 00 00 35 00 00 00 07" in msg


def test_a_block_from_another_run_is_named_by_its_seed() -> None:
    got = bytearray(make({"pattern": "lba"}, seed=7))
    got[2 * BS : 3 * BS] = make({"pattern": "lba"}, lba=0x12, blocks=1, seed=8)
    msg = check({"pattern": "lba"}, bytes(got), seed=7)
    assert msg is not None
    assert "offset 1035 (0x40b)" in msg  # block 2, seed byte 11
    assert "block 2 (LBA 0x12) carries seed 8, not 7" in msg


def test_a_never_written_block_reads_as_zeros() -> None:
    got = bytearray(make({"pattern": "lba"}))
    got[3 * BS :] = bytes(BS)
    msg = check({"pattern": "lba"}, bytes(got))
    assert msg is not None and "block 3 (LBA 0x13) reads as zeros" in msg


@pytest.mark.parametrize("offset", [0, 17, 700, 4 * BS - 1])
@pytest.mark.parametrize("pattern", ["lba", "random", "incrementing", "zeros"])
def test_one_flipped_byte_is_found_at_its_exact_offset(pattern: str, offset: int) -> None:
    spec = {"pattern": pattern}
    data = bytearray(make(spec))
    data[offset] ^= 0x40
    found = compare_data(spec, bytes(data), lba=0x10, block_size=BS, seed=7)
    assert found is not None and found.offset == offset
    rows = found.diff.splitlines()
    assert rows[0].split("expected ")[1] != rows[1].split("got ")[1].strip()
    assert rows[2].count("^^") == 1


def test_the_hex_diff_shows_the_bytes_around_the_mismatch() -> None:
    data = bytearray(make({"pattern": "incrementing"}))
    data[0x105] = 0xEE
    msg = check({"pattern": "incrementing"}, bytes(data))
    assert msg is not None
    lines = msg.splitlines()
    assert "offset 261 (0x105): block 0, byte 261" in lines[0]
    assert lines[1].endswith("expected 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f")
    assert lines[2].endswith("got      00 01 02 03 04 ee 06 07 08 09 0a 0b 0c 0d 0e 0f")
    assert lines[1].startswith("  @0x000100")
    assert lines[3].index("^^") == lines[2].index("ee")


def test_lba_header_block_index_is_not_checked() -> None:
    # A range written as one 4-block command reads back in other chunks: index differs.
    written = make({"pattern": "lba"}, lba=0x10)
    assert check({"pattern": "lba"}, written[2 * BS : 4 * BS], lba=0x12) is None


def test_short_transfer_and_length() -> None:
    data = make({"pattern": "zeros"}, blocks=1)
    assert "got 512 bytes, not 1024" in (check({"pattern": "zeros"}, data, length=1024) or "")
    assert check({"pattern": "zeros", "length": 100}, data + b"\x01") is None


def test_hex_checks_only_those_bytes_at_the_offset() -> None:
    data = bytes.fromhex("00 00 05 02") + bytes(32)
    assert check({"hex": "05 02", "offset": 2}, data) is None
    assert check({"hex": "00 00 05"}, data) is None  # offset 0, the rest not compared
    msg = check({"hex": "05 12", "offset": 2}, data)
    assert msg is not None and "expected data hex 05 12 at offset 2" in msg and "offset 3" in msg
    short = check({"hex": "ff", "offset": 40}, data)
    assert short is not None and "36 bytes, too few to hold 41 bytes" in short


def test_sha256() -> None:
    data = make({"pattern": "random"}, blocks=2)
    assert check({"sha256": hashlib.sha256(data).hexdigest().upper()}, data) is None
    msg = check({"sha256": "0" * 64}, data)
    assert msg is not None and hashlib.sha256(data).hexdigest() in msg
    with pytest.raises(PatternError, match="only checks data"):
        make({"sha256": "0" * 64})


def test_file_is_relative_to_the_spec_and_repeated(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"ABC")
    data = make({"file": "blob.bin"}, blocks=1, base_dir=str(tmp_path))
    assert data[:7] == b"ABCABCA" and len(data) == BS
    assert check({"file": "blob.bin"}, data, base_dir=str(tmp_path)) is None
    with pytest.raises(PatternError, match=r"spec.yaml:4:9: data file 'nope.bin'"):
        make(DataSource(file="nope.bin", mark=Mark("spec.yaml", 4, 9)), base_dir=str(tmp_path))


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"pattern": "stripes"}, "unknown data pattern 'stripes'"),
        ({"pattern": "byte"}, "pattern byte needs a value 0..255"),
        ({"pattern": "byte", "value": 256}, "pattern byte needs a value 0..255"),
        ({"pattern": "zeros", "hex": "00"}, "exactly one of pattern, file, hex, sha256"),
        ({"seed": 1}, "exactly one of"),
        ({"hex": "abc"}, "data hex 'abc': odd number of hex digits (3)"),
        ({"hex": "zz"}, "data hex 'zz': 'zz' is not hexadecimal"),
        ({"pattern": "lba", "seed": "${s}"}, "seed must be an integer"),
        ({"pattern": "lba", "colour": 1}, "data has no key 'colour'"),
    ],
)
def test_bad_descriptions_are_one_line_usage_errors(spec: dict, words: str) -> None:
    with pytest.raises(PatternError, match=words.replace("(", r"\(").replace(")", r"\)")):
        make(spec)

"""One value grammar: every layer reads durations, sizes, hex and booleans alike, and says so alike."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sgscript import grammar
from sgscript.cli import main, parse_hex
from sgscript.scenario import load_scenario_text, patterns
from sgscript.scenario.plan import Plan
from sgscript.scenario.schema import builtin_kind_schemas, load_schema
from sgscript.scsi.errors import UsageError
from sgscript.sim.faults import Fixed, parse_options
from sgscript.sim.target import check_target
from sgscript.verify import builtin

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILES = [
    ROOT / "schemas" / "sgscript.schema.json",
    ROOT / "sgscript/scenario/sgscript.schema.json",
]


def spec(step: str, devices: str = "{a: 'sim:lu0'}", vars_: str = "{}") -> str:
    return f"sgscript: 1\ndevices: {devices}\nvars: {vars_}\nsteps:\n  - {step}\n"


# ------------------------------------------------------------------ the module


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("50ms", 0.05),
        ("1.5s", 1.5),
        ("100us", 1e-4),
        ("100µs", 1e-4),
        ("20ns", 2e-8),
        ("2m", 120.0),
        ("2min", 120.0),
        ("1h", 3600.0),
        (" 50 ms ", 0.05),
        (".5s", 0.5),
        ("1e-3s", 1e-3),
        ("3", 3.0),
        (3, 3.0),
        (0.25, 0.25),
    ],
)
def test_durations(text: Any, seconds: float) -> None:
    assert grammar.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("5 parsecs", "'5 parsecs' is not a duration (like 50ms, 1.5s, 100us)"),
        (True, "True is not a duration"),
        (-1, "a duration cannot be negative: -1"),
        (float("nan"), "a duration must be a number"),
        (float("inf"), "a duration is at most 7 days, got inf"),
        ("8d", "'8d' is not a duration"),
        ("169h", "a duration is at most 7 days, got 169h"),
        ("1e999s", "a duration is at most 7 days"),
    ],
)
def test_bad_durations(value: Any, words: str) -> None:
    with pytest.raises(grammar.GrammarError, match=re.escape(words)):
        grammar.parse_duration(value)


def test_a_unit_may_be_required_of_text() -> None:
    assert grammar.parse_duration("0", unit_required=True) == 0.0
    assert grammar.parse_duration(5, unit_required=True) == 5.0
    with pytest.raises(grammar.GrammarError, match=re.escape("'5' needs a unit (5ms, 5us, 5s)")):
        grammar.parse_duration("5", unit_required=True)


@pytest.mark.parametrize(
    ("text", "n"),
    [("512", 512), ("4k", 4096), ("4KiB", 4096), ("4kb", 4096), ("64 MiB", 64 << 20),
     ("1G", 1 << 30), ("2T", 2 << 40), ("512B", 512), ("0x1000", 4096), (8, 8)],
)  # fmt: skip
def test_sizes(text: Any, n: int) -> None:
    assert grammar.parse_size(text) == n


@pytest.mark.parametrize(
    ("text", "n"),
    [("16", 16), ("010", 10), ("0x1f", 31), ("0o17", 15), ("0b101", 5), ("1_000", 1000),
     ("1Fh", 31), ("-5", -5)],
)  # fmt: skip
def test_integers(text: str, n: int) -> None:
    assert grammar.parse_int(text) == n


def test_numbers_refused_in_one_set_of_words() -> None:
    with pytest.raises(grammar.GrammarError, match="'soon' is not a number"):
        grammar.parse_int("soon")
    with pytest.raises(grammar.GrammarError, match=re.escape("'4 parsecs' is not a size")):
        grammar.parse_size("4 parsecs")
    with pytest.raises(grammar.GrammarError, match="number too large"):
        grammar.parse_size("9" * 100)


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("12 00 00 00 24 00", bytes.fromhex("120000002400")),
        ("120000002400", bytes.fromhex("120000002400")),
        ("de:ad:be:ef", bytes.fromhex("deadbeef")),
        ("0xde 0xad", bytes.fromhex("dead")),
        ("0xdead,0xbeef", bytes.fromhex("deadbeef")),
        ("12 0 0 0 24 0", bytes.fromhex("120000002400")),  # one digit is one byte
        ("", b""),
    ],
)
def test_hex(text: str, raw: bytes) -> None:
    assert grammar.parse_hex(text) == raw


def test_hex_bytes_and_booleans() -> None:
    assert [grammar.parse_hex_byte(v) for v in ("47", "0x47", "47h", 0x47)] == [0x47] * 4
    with pytest.raises(
        grammar.GrammarError, match=re.escape("'zz' is not a hex byte (47, 0x47, 47h)")
    ):
        grammar.parse_hex_byte("zz")
    with pytest.raises(grammar.GrammarError, match="'1ff' does not fit a byte"):
        grammar.parse_hex_byte("1ff")
    for word in ("1", "true", "Yes", "ON"):
        assert grammar.parse_bool(word) is True
    for word in ("0", "false", "No", "off"):
        assert grammar.parse_bool(word) is False
    with pytest.raises(
        grammar.GrammarError, match=re.escape("'maybe' is not a boolean (true/false)")
    ):
        grammar.parse_bool("maybe")


_SAMPLES = {
    grammar.DURATION_PATTERN: (
        "50ms",
        "1.5 s",
        "2m",
        "2min",
        "1e-3s",
        ".5",
        "5 parsecs",
        "ms",
        "1.2.3s",
        "-1s",
    ),
    grammar.SIZE_PATTERN: ("512", "4k", "4KiB", "64 MiB", "4kk", "k", "4 parsecs"),
    grammar.HEX_PATTERN: ("12 00 24", "de:ad", "0xde,0xad", "zz", "12 zz", "0x"),
    grammar.HEX_BYTE_PATTERN: ("47", "0x47", "47h", "zz", "0x"),
    grammar.INTEGER_PATTERN: ("16", "0x1f", "1Fh", "010", "1_000", "soon", "0x"),
    grammar.BOOLEAN_PATTERN: ("true", "TRUE", "Off", "1", "maybe", "2"),
}
_PARSERS = {
    grammar.DURATION_PATTERN: grammar.parse_duration,
    grammar.SIZE_PATTERN: grammar.parse_size,
    grammar.HEX_PATTERN: grammar.parse_hex,
    grammar.HEX_BYTE_PATTERN: grammar.parse_hex_byte,
    grammar.INTEGER_PATTERN: grammar.parse_int,
    grammar.BOOLEAN_PATTERN: grammar.parse_bool,
}


@pytest.mark.parametrize("pattern", list(_SAMPLES))
def test_each_pattern_says_what_its_parser_reads(pattern: str) -> None:
    """The schema's regular expression and the parser agree on the text they take (the
    size pattern is the unit form: a plain integer like ``0x1000`` is INTEGER_PATTERN's;
    empty hex is no bytes to the parser, and its callers refuse it)."""
    for text in _SAMPLES[pattern]:
        try:
            _PARSERS[pattern](text)
            parses = True
        except grammar.GrammarError:
            parses = False
        assert bool(re.search(pattern, text)) == parses, text


# ------------------------------------------------------------------ one grammar everywhere


def test_the_layers_share_the_parser() -> None:
    from sgscript import scenario, verify
    from sgscript.scenario import load

    assert scenario.parse_duration is load.parse_duration is grammar.parse_duration
    assert verify.parse_duration is builtin.parse_duration is grammar.parse_duration


@pytest.mark.parametrize("text", ["2m", "1.5s", "1e-3s", "250us"])
def test_a_duration_reads_alike_in_the_loader_the_sim_and_the_verifiers(
    text: str, fresh_sim: None
) -> None:
    seconds = grammar.parse_duration(text)
    scenario = load_scenario_text(spec(f"{{device: a, command: TestUnitReady, timeout: {text}}}"))
    assert scenario.steps[0].timeout == pytest.approx(seconds)
    assert parse_options({"latency": text}) == {"latency": {None: Fixed(seconds)}}
    assert parse_options(f"latency.Read10={text}")["latency.Read10"] == Fixed(seconds)
    check_target(f"lu0?latency={text}")
    check_target("lu0", {"latency": text})
    step = f"{{device: a, command: TestUnitReady, expect: {{duration: {{max: {text}}}}}}}"
    assert Plan(load_scenario_text(spec(step)), seed=0).check() == []


def test_a_size_a_boolean_and_hex_read_alike_everywhere(fresh_sim: None) -> None:
    check_target("lu0?block_size=4KiB&thin=off&write_protect=yes")
    check_target("lu0", {"medium_repair": "off"})
    assert main(["validate", "--max-transfer", "4KiB", "/nonexistent.yaml"]) == 2  # parsed
    raw = bytes.fromhex("120000002400")
    for text in ("12 00 00 00 24 00", "0x12:00:00:00:24:00", "12,0,0,0,24,0"):
        assert parse_hex([text]) == raw
        assert patterns.parse_hex(text) == raw
        step = f"{{device: a, cdb: '{text}', data_in: 36}}"
        assert load_scenario_text(spec(step)).steps[0].cdb == raw.hex(" ")


def test_a_bad_value_is_worded_alike_everywhere(fresh_sim: None) -> None:
    words = "'5 parsecs' is not a duration (like 50ms, 1.5s, 100us)"
    with pytest.raises(UsageError, match=re.escape(words)):
        parse_options({"latency": "5 parsecs"})
    with pytest.raises(ValueError, match=re.escape(words)):
        builtin.parse_duration("5 parsecs")
    step = "{device: a, command: TestUnitReady, expect: {duration: {max: '${d}'}}}"
    (problem,) = Plan(load_scenario_text(spec(step, vars_="{d: 5 parsecs}")), seed=0).check()
    assert words in str(problem)

    words = "'zz' is not hexadecimal"
    with pytest.raises(UsageError, match=words):
        parse_hex(["12 zz"], "CDB")
    with pytest.raises(patterns.PatternError, match=words):
        patterns.parse_hex("12 zz")
    with pytest.raises(Exception, match=words):
        load_scenario_text(spec("{device: a, cdb: '12 zz 00 00 24 00'}"))

    words = "'maybe' is not a boolean (true/false)"
    for target, options in (("lu0?thin=maybe", None), ("lu0", {"medium_repair": "maybe"})):
        with pytest.raises(UsageError, match=re.escape(words)):
            check_target(target, options)

    words = "'lots' is not a size (like 4096, 4k, 64MiB)"
    with pytest.raises(UsageError, match=re.escape(words)):
        check_target("lu0?blocks=lots")


# ------------------------------------------------------------------ schemas derived


def _patterns(node: Any, path: str = "") -> dict[str, str]:
    found: dict[str, str] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                found[path] = value
            else:
                found.update(_patterns(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.update(_patterns(value, f"{path}/{i}"))
    return found


@pytest.mark.parametrize("file", SCHEMA_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_schema_patterns_are_the_grammars(file: Path) -> None:
    patterns = _patterns(json.loads(file.read_text("utf-8")))
    assert patterns["/$defs/duration/anyOf/1"] == grammar.DURATION_PATTERN
    # every pattern for a value kind the grammar owns is the grammar's
    owned = {grammar.DURATION_PATTERN, grammar.SIZE_PATTERN, grammar.HEX_PATTERN,
             grammar.HEX_BYTE_PATTERN, grammar.INTEGER_PATTERN, grammar.BOOLEAN_PATTERN}  # fmt: skip
    for where, pattern in patterns.items():
        if re.search(r"ms|KiB|0-9a-fA-F\]\+|true", pattern) and "{64}" not in pattern:
            assert pattern in owned, where


def test_the_builtin_kinds_take_the_files_schemas() -> None:
    file_kinds = load_schema()["$defs"]["expect_kinds"]["properties"]
    schemas = builtin_kind_schemas()
    assert {k.name for k in builtin.KINDS} == set(file_kinds) == set(schemas)
    for kind in builtin.KINDS:
        assert kind.schema == schemas[kind.name]
        assert "$ref" not in json.dumps(kind.schema)  # self-contained: a plugin table may embed it


@pytest.mark.parametrize(
    "status", ["0x18", "RESERVATION_CONFLICT", "reservation conflict", 0x18, "24"]
)
def test_a_status_by_code_is_accepted_by_the_schema_the_kind_and_the_loader(status: Any) -> None:
    (kind,) = [k for k in builtin.KINDS if k.name == "status"]
    jsonschema.Draft202012Validator(kind.schema).validate(status)
    text = json.dumps(status)
    scenario = load_scenario_text(
        spec(f"{{device: a, command: Reserve6, expect: {{status: {text}}}}}")
    )
    assert scenario.steps[0].expect[0].value == status


# ------------------------------------------------------------------ validate


@pytest.mark.parametrize(
    ("device", "line", "words"),
    [
        ('"sim:lu0?block_size=999"', 3, "block_size=999 is not a logical block size disks use"),
        ('"sim:lu0?bs=4q"', 3, "'4q' is not a size"),
        ('"sim:lu0?latency=1parsec"', 3, "'1parsec' is not a duration"),
        ('"sim:lu0?thin=perhaps"', 3, "'perhaps' is not a boolean"),
        ('"sim:lu0?luns=0"', 3, "luns=0 must be 1..256"),
        ('"sim:lu0?queue_depth=many"', 3, "'many' is not a size"),
        ('"sim:lu0?latency=5"', 3, "'5' needs a unit"),
        (
            "\n    target: sim:lu0\n    options: {latency: 5 parsecs}",
            4,
            "'5 parsecs' is not a duration",
        ),
        (
            "\n    target: sim:lu0\n    options: {latency: 0.5, hang: [Read10], seed: x}",
            4,
            "'x' is not a number",
        ),
        ("\n    target: sim:lu0\n    options: {block_size: 999}", 4, "block_size=999"),
        (
            "\n    target: sim:lu0\n    options: {every_nth: '3:ILLEGAL_REQUEST/zz/00'}",
            4,
            "'zz' is not a hex byte",
        ),
    ],
)
def test_validate_rejects_bad_target_options_where_they_are(
    device: str, line: int, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        f"sgscript: 1\ndevices:\n  a: {device}\nsteps:\n  - {{device: a, command: TestUnitReady}}\n"
    )
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out.strip()
    assert re.match(rf"{re.escape(str(path))}:{line}:\d+: devices\.a: ", out), out
    assert words in out
    assert len(out.splitlines()) == 1


def test_validate_takes_good_target_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(
        "sgscript: 1\ndevices:\n"
        "  a: 'sim:lu0?bs=4KiB&blocks=1k&thin=off&latency=2m&queue_depth=0x20'\n"
        "  b: {target: 'sim:lu1', options: {latency: 1m, medium_repair: no, block_size: 4096}}\n"
        "steps:\n  - {device: a, command: TestUnitReady}\n  - {device: b, command: TestUnitReady}\n"
    )
    assert main(["validate", str(path)]) == 0, capsys.readouterr().out
    assert "ok (2 steps)" in capsys.readouterr().out

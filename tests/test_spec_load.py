"""Loading specs: the model a good file gives, and every mistake at its exact FILE:LINE:COL."""

from __future__ import annotations

import json
import pickle
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sgscript.cli import main
from sgscript.scenario import Expectation, SpecError, load_scenario, load_scenario_text
from sgscript.scenario.load import parse_duration
from sgscript.scenario.schema import load_schema, schema_text

ROOT = Path(__file__).resolve().parent.parent
DURATION = jsonschema.Draft202012Validator(
    {"$defs": load_schema()["$defs"], "$ref": "#/$defs/duration"}
)

DESIGN_EXAMPLE = """\
# yaml-language-server: $schema=../schemas/sgscript.schema.json
sgscript: 1
name: reserve_release
description: RESERVE(6) by one initiator keeps another off the medium until RELEASE(6).
devices:
  a: {target: "sim:lu0", initiator: host-a}
  b: {target: "sim:lu0", initiator: host-b}
vars: {lba: 0}
steps:
  - name: a reserves the logical unit
    device: a
    command: Reserve6
  - name: b is refused
    device: b
    command: {Read10: {lba: "${lba}", transfer_length: 1}}
    expect: {status: RESERVATION_CONFLICT}
  - name: a reads its capacity
    device: a
    command: ReadCapacity10
    save: {last_lba: returned_logical_block_address}
  - name: past the end
    device: a
    command: {Read16: {lba: "${last_lba + 1}", transfer_length: 1}}
    expect: {sense: {key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0x00}}
  - name: a releases
    device: a
    command: Release6
  - parallel:
      - {device: a, command: TestUnitReady, repeat: 100}
      - {device: b, command: {Read10: {lba: {random: [0, "${last_lba}"]}, transfer_length: 1}},
         repeat: 1000, queue_depth: 16}
  - name: raw escape hatch
    device: a
    cdb: "12 00 00 00 24 00"
    data_in: 36
"""


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in a fresh directory, so messages name files as ``spec.yaml``."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(base: Path, name: str, text: str) -> str:
    path = base / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return name


def problems(name: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_scenario(name)
    lines = str(info.value).splitlines()
    assert len(lines) == len(info.value.problems)
    return lines


def loc(text: str, needle: str, nth: int = 1, file: str = "spec.yaml", start: int = 0) -> str:
    """``FILE:LINE:COL`` of the ``nth`` occurrence of ``needle`` in (dedented) ``text``."""
    text = textwrap.dedent(text)
    at = start - 1
    for _ in range(nth):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    return f"{file}:{line}:{col}"


# ------------------------------------------------------------------ good specs


def test_the_design_example_loads_into_the_model(here: Path) -> None:
    write(here, "specs/reserve_release.yaml", DESIGN_EXAMPLE)
    s = load_scenario("specs/reserve_release.yaml")
    assert (s.name, s.version, s.on_failure) == ("reserve_release", 1, "stop")
    assert s.description.startswith("RESERVE(6)")
    assert s.devices["b"].target == "sim:lu0" and s.devices["b"].initiator == "host-b"
    assert s.vars == {"lba": 0}
    reserve, refused, capacity, past, _release, group, raw = s.steps
    assert (reserve.kind, reserve.command, reserve.device, reserve.expect) == (
        "command",
        "Reserve6",
        "a",
        (),
    )
    assert refused.fields == {"logical_block_address": "${lba}", "transfer_length": 1}
    assert [(e.kind, e.value) for e in refused.expect] == [("status", "RESERVATION_CONFLICT")]
    assert capacity.save == {"last_lba": "returned_logical_block_address"}
    assert past.expect[0].value == {"key": "ILLEGAL_REQUEST", "asc": 0x21, "ascq": 0}
    assert group.kind == "parallel" and len(group.branches) == 2
    (tur,), (reads,) = group.branches
    assert (tur.repeat, reads.repeat, reads.queue_depth) == (100, 1000, 16)
    assert reads.fields["logical_block_address"] == {"random": [0, "${last_lba}"]}
    assert (raw.cdb, raw.data_in, raw.command) == ("12 00 00 00 24 00", 36, None)
    assert [st.path for st in s.all_steps()] == [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "6.1.1",
        "6.2.1",
        "7",
    ]
    assert str(refused.mark) == "specs/reserve_release.yaml:13:5"
    assert pickle.loads(pickle.dumps(s)) == s  # ships to another process whole


def test_defaults_names_and_normalised_values(here: Path) -> None:
    write(
        here,
        "spec.yaml",
        """\
        sgscript: 1
        devices: {a: "sim:lu0", b: "sim:lu1"}
        defaults: {device: a, timeout: 250ms, on_failure: continue, expect: any}
        on_failure: continue
        steps:
          - command: {read10: {LBA: 8, transfer_length: 1}}
          - {device: b, command: TestUnitReady, timeout: 2, expect: good, on_failure: stop}
          - {reset: target}
          - {sleep: 1.5s}
          - {device: b, cdb: "0x12,0x00,0x00,0x00,0x24,0x00", data_in: 36}
          - {command: Inquiry, expect: {good: true, duration: {max: 50ms}}}
        finally:
          - {command: Release6, expect: fail}
        """,
    )
    with pytest.raises(SpecError, match="has no field 'LBA'"):
        load_scenario("spec.yaml")  # field names are the tables' (lower case)
    text = (here / "spec.yaml").read_text().replace("LBA", "lba")
    s = load_scenario_text(text, "spec.yaml")
    read, tur, reset, sleep, raw, inq = s.steps
    assert (read.name, read.command, read.device) == ("Read10 on a", "Read10", "a")
    assert read.fields == {"logical_block_address": 8, "transfer_length": 1}
    assert (read.timeout, read.on_failure, [e.kind for e in read.expect]) == (
        0.25,
        "continue",
        ["any"],
    )
    assert (tur.name, tur.timeout, tur.on_failure, [e.kind for e in tur.expect]) == (
        "TestUnitReady on b",
        2.0,
        "stop",
        ["good"],
    )
    assert (reset.name, reset.reset, reset.device) == ("reset target on a", "target", "a")
    assert (sleep.name, sleep.sleep) == ("sleep 1.5s", 1.5)
    assert raw.cdb == "12 00 00 00 24 00" and raw.name == "cdb 12 00 00 00 24 00 on b"
    assert inq.expect == (
        Expectation("good", None, inq.expect[0].mark),
        Expectation("duration", {"max": "50ms"}, inq.expect[1].mark),
    )
    (release,) = s.finally_steps
    assert (release.path, release.expect[0].kind, release.expect[0].value) == (
        "finally.1",
        "fail",
        None,
    )


def test_the_only_device_needs_no_naming_and_x_keys_hold_anchors(here: Path) -> None:
    write(
        here,
        "spec.yaml",
        """\
        sgscript: 1
        devices: {a: "sim:lu0"}
        x-quick: &quick {timeout: 100ms, repeat: 3}
        steps:
          - {<<: *quick, command: TestUnitReady, repeat: 5}
        """,
    )
    (step,) = load_scenario("spec.yaml").steps
    assert (step.device, step.timeout, step.repeat) == ("a", 0.1, 5)  # explicit keys win


def test_data_files_resolve_against_the_spec(here: Path) -> None:
    (here / "sub").mkdir()
    (here / "sub" / "block.bin").write_bytes(bytes(512))
    write(
        here,
        "sub/spec.yaml",
        """\
        sgscript: 1
        devices: {a: "sim:lu0"}
        steps:
          - {command: Write10, data: {file: block.bin}}
          - {command: {Read10: {transfer_length: 1}}, expect: {data: {file: block.bin}}}
        """,
    )
    write_step, read_step = load_scenario("sub/spec.yaml").steps
    assert write_step.data is not None and write_step.data.file == str(here / "sub" / "block.bin")
    assert read_step.expect[0].value == {"file": str(here / "sub" / "block.bin")}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("50ms", 0.05),
        ("1.5s", 1.5),
        ("100us", 1e-4),
        ("2m", 120.0),
        ("1h", 3600.0),
        (3, 3.0),
        ("7", 7.0),
        (".5s", 0.5),
        ("250 ns", 2.5e-7),
        ("3min", 180.0),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)
    assert DURATION.is_valid(text)  # the schema (what editors check) agrees


@pytest.mark.parametrize("text", ["5 parsecs", "-1s", "1.5.2s", "ms", "", "1 s s", True])
def test_not_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
    assert not DURATION.is_valid(text)


def test_expect_bounds_and_sense_information_may_be_expressions(here: Path) -> None:
    """``duration`` bounds and ``sense: {information}`` take ``${...}``; timeouts do not."""
    text = """\
        sgscript: 1
        devices: {a: "sim:lu0"}
        vars: {limit: 50ms, offset: 7}
        steps:
          - command: Inquiry
            device: a
            expect: {duration: {max: "${limit}", min: "${limit / 100}"}}
          - command: {CompareAndWrite: {lba: 0, number_of_logical_blocks: 1}}
            device: a
            data: {pattern: zeros}
            expect: {sense: {key: MISCOMPARE, information: "${offset}"}}
          - {device: a, command: TestUnitReady, timeout: "${limit}"}
        """
    write(here, "spec.yaml", text)
    (line,) = problems("spec.yaml")
    where = loc(text, '"${limit}"', 2)  # a timeout is fixed when loading: no expressions
    assert line.startswith(f"{where}: steps[2].timeout: expected a duration")
    s = load_scenario_text(textwrap.dedent(text).rsplit("  - {device", 1)[0], "spec.yaml")
    inq, caw = s.steps
    assert inq.expect[0].value == {"max": "${limit}", "min": "${limit / 100}"}
    assert caw.expect[0].value == {"key": "MISCOMPARE", "information": "${offset}"}


# ---------------------------------------------------------- one mistake each

BASE = """\
sgscript: 1
devices: {a: "sim:lu0", b: {target: "sim:lu1"}}
vars: {lba: 0}
steps:
"""

# (steps text, the needle the problem points at (nth occurrence), what the message says)
MISTAKES: list[tuple[str, str, int, str]] = [
    (
        '  - {device: a, command: Inquiry, expect: {duration: {max: "${lbaa}"}}}\n',
        "lbaa",
        1,
        "steps[0].expect.duration.max: undefined variable 'lbaa' (did you mean 'lba'?)",
    ),
    (
        "  - {device: a, command: Read10, expect: {sense: {information: -1}}}\n",
        "-1",
        1,
        "steps[0].expect.sense.information: expected at least 0, got -1",
    ),
    (
        "  - {device: a, command: TestUnitReady, repaet: 3}\n",
        "repaet",
        1,
        "steps[0].repaet: unknown key 'repaet' in step (did you mean 'repeat'?)",
    ),
    (
        "  - {device: a, sleep: 1s}\n",
        "device",
        1,
        "steps[0].device: 'device' does not apply to a sleep step (its keys: name, sleep, when, requires, id, refs)",
    ),
    (
        "  - {device: a, command: TestUnitReady, repeat: lots}\n",
        "lots",
        1,
        "steps[0].repeat: expected a positive integer or an expression like '${n}', got 'lots'",
    ),
    (
        "  - {device: a, command: TestUnitReady, timeout: 5 parsecs}\n",
        "5 parsecs",
        1,
        "steps[0].timeout: expected a duration like '50ms', '1.5s', '100us' (or a number of seconds), got '5 parsecs'",
    ),
    (
        "  - {device: a, command: TestUnitReady, on_failure: halt}\n",
        "halt",
        1,
        "steps[0].on_failure: expected one of stop, continue, got 'halt'",
    ),
    (
        "  - {device: a, command: Raed10}\n",
        "Raed10",
        1,
        "steps[0].command: unknown command 'Raed10' (did you mean Read10",
    ),
    (
        "  - {device: a, command: {Raed10: {lba: 0}}}\n",
        "Raed10",
        1,
        "steps[0].command.Raed10: unknown command 'Raed10' (did you mean Read10",
    ),
    (
        "  - {device: a, command: {Read10: {lbaa: 0}}}\n",
        "lbaa",
        1,
        "steps[0].command.Read10.lbaa: Read10 has no field 'lbaa' (did you mean lba?)",
    ),
    (
        "  - {device: a, command: {Read10: {operation_code: 0x88}}}\n",
        "operation_code",
        1,
        "steps[0].command.Read10.operation_code: operation_code is fixed by Read10",
    ),
    (
        "  - {device: a, command: {Read10: {transfer_length: 70000}}}\n",
        "70000",
        1,
        "steps[0].command.Read10.transfer_length: transfer_length=70000 does not fit Read10's 16-bit TRANSFER LENGTH (0..65535)",
    ),
    (
        '  - {device: a, command: {Read10: {transfer_length: "${2 ** 16}"}}}\n',
        '"${2',
        1,
        "transfer_length=65536 does not fit Read10's 16-bit TRANSFER LENGTH",
    ),
    (
        "  - {device: a, command: {Read10: {lba: {random: [0, 0x100000000]}}}}\n",
        "0x1000",
        1,
        "steps[0].command.Read10.lba.random[1]: logical_block_address=4294967296 does not fit",
    ),
    (
        "  - {device: a, command: {Read10: {lba: {random: [9, 2]}}}}\n",
        "[9",
        1,
        "steps[0].command.Read10.lba.random: empty range: 9 > 2",
    ),
    (
        "  - {device: a, command: {PersistentReserveOut: {service_action: registr}}}\n",
        "registr",
        1,
        "service_action='registr' is not one of PersistentReserveOut's SERVICE ACTION values: register,",
    ),
    (
        '  - {device: a, command: {Read10: {lba: "${lba +* 1}"}}}\n',
        "* 1",
        1,
        "steps[0].command.Read10.lba: bad expression: unexpected '*'",
    ),
    (
        '  - {device: a, command: {Read10: {lba: "${1 + lbb}"}}}\n',
        "lbb",
        1,
        "steps[0].command.Read10.lba: undefined variable 'lbb' (did you mean 'lba'?)",
    ),
    (
        "  - {device: c, command: TestUnitReady}\n",
        "c,",
        1,
        "steps[0].device: device 'c' is not declared (declared: a, b)",
    ),
    (
        "  - {command: TestUnitReady}\n",
        "{command",
        1,
        "steps[0]: which device? add device: (one of a, b) or defaults: {device: ...}",
    ),
    (
        '  - {device: a, cdb: "12 zz 00 00 24 00"}\n',
        '"12',
        1,
        "steps[0].cdb: cdb: 'zz' is not hexadecimal",
    ),
    (
        '  - {device: a, cdb: "12 00"}\n',
        '"12',
        1,
        "steps[0].cdb: cdb: a CDB has 6 to 260 bytes, got 2",
    ),
    (
        "  - {device: a, command: Write10, data: {pattern: lbaa}}\n",
        "lbaa",
        1,
        "steps[0].data.pattern: expected one of lba, zeros, byte, incrementing, random, got 'lbaa' (did you mean 'lba'?)",
    ),
    (
        "  - {device: a, command: Write10, data: {pattern: byte}}\n",
        "{pattern",
        1,
        "steps[0].data: pattern byte needs value: (the byte to repeat)",
    ),
    (
        "  - {device: a, command: Write10, data: {pattern: zeros, hex: '00'}}\n",
        "{pattern",
        1,
        "steps[0].data: pattern and hex cannot be used together",
    ),
    (
        "  - {device: a, command: Write10, data: {file: nowhere.bin}}\n",
        "nowhere",
        1,
        "steps[0].data.file: data file 'nowhere.bin' not found",
    ),
    (
        "  - {device: a, command: {Read10: {transfer_length: 1}}, data: {pattern: zeros}}\n",
        "data",
        1,
        "steps[0].data: Read10 sends no data: data: is data-out",
    ),
    (
        "  - {device: a, command: TestUnitReady, expect: {data: {pattern: zeros}}}\n",
        "data",
        1,
        "steps[0].expect.data: TestUnitReady reads no data: nothing to check",
    ),
    (
        "  - {device: a, command: TestUnitReady, save: {x: y}}\n",
        "save",
        1,
        "steps[0].save: TestUnitReady returns no data: nothing to save",
    ),
    (
        "  - {device: a, command: Inquiry, save: {my-x: version}}\n",
        "my-x",
        1,
        "steps[0].save.my-x: 'my-x' is not a valid name",
    ),
    (
        "  - {device: a, command: TestUnitReady, expect: {status: BUSSY}}\n",
        "BUSSY",
        1,
        "steps[0].expect.status: unknown status 'BUSSY' (did you mean BUSY?)",
    ),
    (
        "  - {device: a, command: TestUnitReady, expect: {sense: {key: ILEGAL_REQUEST}}}\n",
        "ILEGAL",
        1,
        "steps[0].expect.sense.key: unknown sense key 'ILEGAL_REQUEST' (did you mean ILLEGAL_REQUEST?)",
    ),
    (
        "  - {device: a, command: TestUnitReady, expect: {fail: {sense: NOT_REDY}}}\n",
        "NOT_REDY",
        1,
        "steps[0].expect.fail.sense: unknown sense key 'NOT_REDY' (did you mean NOT_READY?)",
    ),
    (
        "  - {device: a, command: TestUnitReady, expect: {statuss: BUSY}}\n",
        "statuss",
        1,
        "steps[0].expect.statuss: unknown key 'statuss' in expect (did you mean 'status'?)",
    ),
    (
        "  - {device: a, command: TestUnitReady, expect: goood}\n",
        "goood",
        1,
        "steps[0].expect: expected one of good, fail, any, got 'goood' (did you mean 'good'?)",
    ),
    (
        "  - {device: a, command: Inquiry, expect: {data: {offset: 2, pattern: zeros}}}\n",
        "offset",
        1,
        "steps[0].expect.data.offset: offset needs hex",
    ),
    (
        "  - {device: a, command: Inquiry, expect: {duration: {max: soon}}}\n",
        "soon",
        1,
        "steps[0].expect.duration.max: expected a duration like '50ms'",
    ),
    (
        "  - {name: nothing}\n",
        "{name",
        1,
        "steps[0]: a step needs one of command, cdb, reset, task, sleep, include, parallel, group or check",
    ),
    (
        '  - {device: a, command: Inquiry, cdb: "12 00 00 00 24 00"}\n',
        "{device",
        1,
        "steps[0]: command and cdb cannot be used together",
    ),
    (
        "  - {device: a, command: {Read10: {}, Write10: {}}}\n",
        "{Read10",
        1,
        "steps[0].command: name exactly one command, like {Read10: {lba: 0, transfer_length: 1}}",
    ),
    (
        "  - TestUnitReady\n",
        "TestUnitReady",
        1,
        "steps[0]: expected a step (a mapping like {command: TestUnitReady}), got 'TestUnitReady'",
    ),
    (
        "  - {device: a, reset: lunn}\n",
        "lunn",
        1,
        "steps[0].reset: expected one of lun, target, bus, host, got 'lunn' (did you mean 'lun'?)",
    ),
    (
        "  - parallel: []\n",
        "[]",
        1,
        "steps[0].parallel: expected at least 1 item, got 0",
    ),
    (
        "  - {device: a, command: TestUnitReady}\n  - {device: a, command: TestUnitReady}\nfinaly: []\n",
        "finaly",
        1,
        "finaly: unknown key 'finaly' in scenario (did you mean 'finally'?)",
    ),
]


# ----------------------------------------------------------- response field names

# (steps text, the needle the problem points at, what the message says)
FIELD_NAME_MISTAKES: list[tuple[str, str, str]] = [
    (
        "  - {device: a, command: Inquiry, expect: {fields: {peripheral_devic_type: 0}}}\n",
        "peripheral_devic_type",
        "steps[0].expect.fields: Inquiry with evpd=0 has no response field"
        " 'peripheral_devic_type' (did you mean 'peripheral_device_type'?)",
    ),
    (
        "  - {device: a, command: ReadCapacity10, save: {last: last_lba}}\n",
        "last_lba",
        "steps[0].save.last: ReadCapacity10 has no response field 'last_lba'; it has:"
        " returned_logical_block_address, logical_block_length_in_bytes",
    ),
    (
        "  - device: a\n"
        "    command: {Inquiry: {evpd: 1, page_code: 0x83}}\n"
        "    save: {id: designation_descriptors.0.designatr}\n",
        "designation_descriptors.0.designatr",
        "steps[0].save.id: Inquiry with evpd=1, page_code=0x83 has no response field"
        " 'designation_descriptors.0.designatr'"
        " (did you mean 'designation_descriptors.0.designator'?)",
    ),
    (
        "  - {device: a, command: Inquiry, expect: {fields: {version_descriptors.8.code: 0}}}\n",
        "version_descriptors.8.code",
        "version_descriptors has at most 8 entries (0..7)",
    ),
    (  # the page is right for another page code: say which
        "  - {device: a, command: Inquiry, save: {n: maximum_write_same_length}}\n",
        "maximum_write_same_length",
        "'maximum_write_same_length': evpd=1, page_code=0xb0 returns it",
    ),
    (  # a symbolic value and an expression without variables choose as well as numbers
        "  - device: a\n"
        "    command: {ModeSense6: {page_code: '${0x08}', pc: current}}\n"
        "    expect: {fields: {mode_pages.0.d_sense: 0}}\n",
        "mode_pages.0.d_sense",
        "ModeSense6 has no response field 'mode_pages.0.d_sense'",
    ),
    (
        "  - {device: a, command: TestUnitReady, expect: {fields: {x: 1}}}\n",
        "x: 1",
        "TestUnitReady has no response field 'x' (its response has no decoded fields)",
    ),
]


@pytest.mark.parametrize(("steps", "needle", "message"), FIELD_NAME_MISTAKES)
def test_a_response_field_no_answer_holds_is_refused_at_its_place(
    here: Path, steps: str, needle: str, message: str
) -> None:
    text = BASE + steps
    write(here, "spec.yaml", text)
    (line,) = problems("spec.yaml")
    assert line.startswith(f"{loc(text, needle, start=len(BASE))}: "), line
    assert message in line


@pytest.mark.parametrize(
    "steps",
    [
        # names of the page asked for, lists indexed past what a device may return
        "  - device: a\n"
        "    command: {Inquiry: {evpd: 1, page_code: 0x83}}\n"
        "    expect: {fields: {designation_descriptors.4.designator_type: 3}}\n"
        "    save: {naa: designation_descriptors.0.naa}\n",
        "  - {device: a, command: ModeSense6, expect: {fields: {mode_pages.2.d_sense: 0}}}\n",
        # the page known only at run time, or a vendor's: nothing to check against
        '  - {device: a, command: {Inquiry: {evpd: 1, page_code: "${lba}"}}, save: {x: anything}}\n',
        "  - {device: a, command: {Inquiry: {evpd: 1, page_code: 0xC0}}, save: {x: vendor_bit}}\n",
        "  - {device: a, command: {ModeSense6: {page_code: {random: [0, 63]}}},"
        " save: {x: mode_pages.0.anything}}\n",
        # a raw CDB has no table
        '  - {device: a, cdb: "12 00 00 00 24 00", data_in: 36, save: {x: anything}}\n',
    ],
)
def test_a_response_field_an_answer_may_hold_passes(here: Path, steps: str) -> None:
    """Only names no answer can hold are refused: beside a misspelt one, these pass."""
    bad = "  - {device: a, command: ReadCapacity10, save: {n: returned_lba}}\n"
    write(here, "spec.yaml", BASE + steps + bad)
    (line,) = problems("spec.yaml")
    assert "has no response field 'returned_lba'" in line


def test_validate_names_a_misspelt_field_before_anything_runs(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = BASE + "  - {device: a, command: ReadCapacity16, expect: {fields: {lbpm: 1}}}\n"
    write(here, "spec.yaml", text)
    assert main(["validate", "spec.yaml"]) == 2
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{loc(text, 'lbpm', start=len(BASE))}: steps[0].expect.fields: ")
    assert line.endswith("ReadCapacity16 has no response field 'lbpm' (did you mean 'lbpme'?)")


@pytest.mark.parametrize(("steps", "needle", "nth", "message"), MISTAKES)
def test_each_mistake_at_its_place(
    here: Path, steps: str, needle: str, nth: int, message: str
) -> None:
    text = BASE + steps
    write(here, "spec.yaml", text)
    (line,) = problems("spec.yaml")
    where = loc(text, needle, nth, start=len(BASE))
    assert line.startswith(f"{where}: "), line
    assert message in line


@pytest.mark.parametrize(
    ("text", "needle", "message"),
    [
        (
            "sgscript: 1\nsteps: [sleep: 1ms]\nsteps: [ ]\n",
            "steps: [ ]",
            "duplicate key 'steps' (first at line 2, column 1)",
        ),
        ("sgscript: 1\nsteps:\n  - {command: Inquiry\n", None, "invalid YAML: expected ',' or '}'"),
        (
            "sgscript: 1\nsteps:\n\t- x\n",
            "\t",
            "invalid YAML: found character '\\t' that cannot start any token",
        ),
        (
            "sgscript: 1\ndevices: {a: !!python/object/apply:os.system [ls]}\nsteps: [sleep: 1ms]\n",
            "!!",
            "unsupported YAML tag !!python/object/apply:os.system",
        ),
        ("sgscript: 2\nsteps: [sleep: 1ms]\n", "2", "sgscript: expected format version 1, got 2"),
        ("steps: [sleep: 1ms]\n", "steps", "scenario needs 'sgscript: 1' (the format version)"),
        ("sgscript: 1\n", "sgscript", "scenario needs 'steps:' (a list of steps)"),
        ("- a\n", "- a", "expected a mapping, got a list"),
        ("", None, "the file is empty"),
        (
            "sgscript: 1\ndevices: {a: {initiator: x}}\nsteps: [sleep: 1ms]\n",
            "{init",
            "devices.a: device needs 'target'",
        ),
        (
            "sgscript: 1\ndevices: {a: {targt: x}}\nsteps: [sleep: 1ms]\n",
            "targt",
            "unknown key 'targt' in device (did you mean 'target'?)",
        ),
        (
            "sgscript: 1\ndevices: {a: {target: x, initiater: h}}\nsteps: [sleep: 1ms]\n",
            "initiater",
            "unknown key 'initiater' in device (did you mean 'initiator'?)",
        ),
        (
            "sgscript: 1\ndevices: {my dev: x}\nsteps: [sleep: 1ms]\n",
            "my dev",
            "'my dev' is not a valid name",
        ),
        (
            'sgscript: 1\nvars: {a: "${b}", b: 1}\nsteps: [sleep: 1ms]\n',
            "b}",
            "vars.a: undefined variable 'b'",
        ),
        (
            "sgscript: 1\ndefaults: {device: z}\ndevices: {a: x}\nsteps: [sleep: 1ms]\n",
            "z}",
            "defaults.device: device 'z' is not declared (declared: a)",
        ),
    ],
)
def test_file_level_mistakes(here: Path, text: str, needle: str | None, message: str) -> None:
    (here / "spec.yaml").write_text(text)
    (line,) = problems("spec.yaml")
    if needle is not None:
        assert line.startswith(loc(text, needle) + ": "), line
    assert message in line


def test_all_problems_of_a_file_at_once_in_file_order(here: Path) -> None:
    text = """\
    sgscript: 1
    devices: {a: {target: "sim:lu0", initiater: x}}
    vars: {end: "${lba + }"}
    steps:
      - {device: a, command: Read10, repaet: 2}
      - {device: c, command: {Raed10: {lba: 1}}}
      - {device: a, command: {Read10: {lbaa: 1, transfer_length: 70000}}}
      - {device: a, command: TestUnitReady, timeout: soon}
    """
    write(here, "spec.yaml", text)
    lines = problems("spec.yaml")
    expected = [
        (loc(text, "initiater"), "unknown key 'initiater'"),
        (loc(text, " }"), "bad expression: incomplete expression"),
        (loc(text, "repaet"), "unknown key 'repaet'"),
        (loc(text, "c,"), "device 'c' is not declared"),
        (loc(text, "Raed10"), "unknown command 'Raed10'"),
        (loc(text, "lbaa"), "has no field 'lbaa'"),
        (loc(text, "70000"), "does not fit"),
        (loc(text, "soon"), "expected a duration"),
    ]
    assert len(lines) == len(expected), lines
    for line, (where, words) in zip(lines, expected, strict=True):
        assert line.startswith(where + ": ") and words in line, (line, where)


def test_bad_yaml_is_bounded_and_never_a_traceback(here: Path) -> None:
    laughs = "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
        for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    (here / "spec.yaml").write_text(laughs)
    (line,) = problems("spec.yaml")
    assert "document too large" in line
    (here / "deep.yaml").write_text("a: " + "[" * 200 + "]" * 200 + "\n")
    (line,) = problems("deep.yaml")
    assert "nested" in line
    (line,) = problems("missing.yaml")
    assert line == "missing.yaml:1:1: cannot read: No such file or directory"
    (here / "bin.yaml").write_bytes(b"sgscript: 1\n\xff\xfe")
    (line,) = problems("bin.yaml")
    assert "not UTF-8" in line


# ------------------------------------------------------------------ includes


def test_includes_merge_fragments_and_splice_step_lists(here: Path) -> None:
    write(
        here,
        "common/lab.yaml",
        """\
        sgscript: 1
        include: timeouts.yaml
        devices: {a: "sim:lu0", b: "sim:lu1"}
        vars: {lba: 8, n: 2}
        defaults: {device: a}
        """,
    )
    write(here, "common/timeouts.yaml", "defaults: {timeout: 3s}\nvars: {n: 1, base: 100}\n")
    write(
        here,
        "common/setup.yaml",
        """\
        - {name: ready, command: TestUnitReady}
        - {command: ReadCapacity10, save: {last: returned_logical_block_address}}
        """,
    )
    write(
        here,
        "common/more.yaml",
        """\
        sgscript: 1
        description: a mapping with steps
        steps:
          - include: setup.yaml
        """,
    )
    write(
        here,
        "spec.yaml",
        """\
        sgscript: 1
        include: [common/lab.yaml]
        devices: {b: "sim:lu9"}
        vars: {n: 4}
        steps:
          - include: common/setup.yaml
          - {command: {Read10: {lba: "${last + base}", transfer_length: "${n}"}}}
          - parallel:
              - include: common/more.yaml
              - {device: b, command: TestUnitReady}
        """,
    )
    s = load_scenario("spec.yaml")
    assert {n: d.target for n, d in s.devices.items()} == {"a": "sim:lu0", "b": "sim:lu9"}
    assert s.vars == {"n": 4, "base": 100, "lba": 8}  # the including file wins, in merge order
    assert [st.path for st in s.all_steps()] == ["1", "2", "3", "4", "4.1.1", "4.1.2", "4.2.1"]
    ready = s.steps[0]
    assert (ready.name, ready.device, ready.timeout) == ("ready", "a", 3.0)
    assert str(ready.mark) == "common/setup.yaml:1:3"  # marks point into the fragment
    assert str(s.steps[3].branches[0][0].mark) == "common/setup.yaml:1:3"
    assert set(s.includes) == {
        "common/lab.yaml",
        "common/timeouts.yaml",
        "common/setup.yaml",
        "common/more.yaml",
    }


def test_problems_inside_included_files_name_those_files(here: Path) -> None:
    steps = '- {command: TestUnitReady, repaet: 2}\n- {command: {Read10: {lba: "${nope}"}}}\n'
    write(here, "frag/steps.yaml", steps)
    write(here, "frag/devs.yaml", "devices: {a: {target: x, qd: 4}}\n")
    write(
        here,
        "spec.yaml",
        """\
        sgscript: 1
        include: frag/devs.yaml
        steps:
          - include: frag/steps.yaml
          - include: frag/nothing.yaml
        """,
    )
    lines = problems("spec.yaml")
    assert lines == [
        "spec.yaml:5:14: steps[1].include: cannot read included file 'frag/nothing.yaml': No such file or directory",
        f"{loc('devices: {a: {target: x, qd: 4}}', 'qd', file='frag/devs.yaml')}: devices.a.qd: unknown key 'qd' in device (expected one of: target, initiator, queue_depth, timeout, unit_attention, options)",
        f"{loc(steps, 'repaet', file='frag/steps.yaml')}: [0].repaet: unknown key 'repaet' in step (did you mean 'repeat'?)",
        f"{loc(steps, 'nope', file='frag/steps.yaml')}: [1].command.Read10.lba: undefined variable 'nope'",
    ]


def test_include_cycles_are_refused(here: Path) -> None:
    write(here, "one.yaml", "- include: two.yaml\n")
    write(here, "two.yaml", "steps:\n  - {include: one.yaml}\n")
    write(here, "self.yaml", "include: self.yaml\n")
    write(
        here,
        "spec.yaml",
        """\
        sgscript: 1
        include: self.yaml
        devices: {a: x}
        steps:
          - include: one.yaml
        """,
    )
    lines = problems("spec.yaml")
    assert lines == [
        "self.yaml:1:10: include: include cycle: spec.yaml -> self.yaml -> self.yaml",
        "two.yaml:2:15: steps[0].include: include cycle: spec.yaml -> one.yaml -> two.yaml -> one.yaml",
    ]


def test_a_fragment_is_checked_against_its_own_form(here: Path) -> None:
    write(here, "frag.yaml", "devices: {a: x}\nsteps: []\n")
    write(here, "spec.yaml", "sgscript: 1\ninclude: frag.yaml\nsteps:\n  - include: frag.yaml\n")
    lines = problems("spec.yaml")
    assert lines == [
        "frag.yaml:1:1: devices: unknown key 'devices' in step fragment (expected one of: sgscript, description, steps)",
        "frag.yaml:2:1: steps: unknown key 'steps' in included file (expected one of: sgscript, description, include, devices, vars, defaults)",
    ]


# ---------------------------------------------------------------- variables


def test_save_scope_follows_the_order_and_the_parallel_branches(here: Path) -> None:
    text = """\
    sgscript: 1
    devices: {a: x}
    steps:
      - {command: {Read10: {lba: "${early}"}}}
      - parallel:
          - [ {command: ReadCapacity10, save: {early: returned_logical_block_address}},
              {command: {Read10: {lba: "${early}"}}} ]
          - {command: {Read10: {lba: "${early}"}}}
      - {command: {Read10: {lba: "${early}"}}}
    finally:
      - {command: {Read10: {lba: "${early}"}}}
    """
    write(here, "spec.yaml", text)
    assert problems("spec.yaml") == [
        f"{loc(text, 'early')}: steps[0].command.Read10.lba: undefined variable 'early'",
        f"{loc(text, 'early', 4)}: steps[1].parallel[1].command.Read10.lba: undefined variable 'early' (another parallel branch saves it: visible after the group)",
    ]


# ------------------------------------------------------------------ plugins


VENDOR_LOG = {
    "type": "object",
    "properties": {"page": {"type": "integer", "minimum": 0, "maximum": 255}},
    "required": ["page"],
    "additionalProperties": False,
}


def test_plugin_expectation_kinds_are_validated_like_the_core(here: Path) -> None:
    text = """\
    sgscript: 1
    devices: {a: x}
    steps:
      - {command: TestUnitReady, expect: {vendor_log: {page: 0x30}, status: GOOD}}
      - {command: TestUnitReady, expect: {vendor_log: {page: 300}}}
      - {command: TestUnitReady, expect: {vendr_log: {page: 3}}}
    """
    with pytest.raises(SpecError) as info:
        load_scenario_text(
            textwrap.dedent(text), "spec.yaml", expect_kinds={"vendor_log": VENDOR_LOG}
        )
    assert str(info.value).splitlines() == [
        f"{loc(text, '300')}: steps[1].expect.vendor_log.page: expected at most 255, got 300",
        f"{loc(text, 'vendr_log')}: steps[2].expect.vendr_log: unknown key 'vendr_log' in expect (did you mean 'vendor_log'?)",
    ]
    with pytest.raises(SpecError, match="unknown key 'vendor_log' in expect"):
        load_scenario_text(textwrap.dedent(text), "spec.yaml")  # not registered: a typo


def test_kinds_registered_through_the_plugin_manager(here: Path) -> None:
    verify = pytest.importorskip("sgscript.verify")
    from sgscript.verify.plugins import get_plugin_manager

    class Vendor:
        @verify.hookimpl
        def sgscript_expectation_kinds(self) -> list[Any]:
            return [verify.ExpectationKind("vendor_log", VENDOR_LOG, lambda ctx, value: None)]

    pm = get_plugin_manager()
    pm.register(Vendor(), name="vendor-test")
    text = "sgscript: 1\ndevices: {a: x}\nsteps:\n  - {command: Inquiry, expect: {vendor_log: {page: 1}}}\n"
    (step,) = load_scenario_text(text, "spec.yaml", plugins=pm).steps
    assert [(e.kind, e.value) for e in step.expect] == [("vendor_log", {"page": 1})]
    with pytest.raises(SpecError, match="unknown key 'vendor_log'"):
        load_scenario_text(text, "spec.yaml", plugins=get_plugin_manager())


# -------------------------------------------------------------------- schema


def test_the_packaged_schema_is_the_repository_file() -> None:
    repo = (ROOT / "schemas" / "sgscript.schema.json").read_text()
    assert schema_text() == repo, (
        "sgscript/scenario/sgscript.schema.json differs from schemas/sgscript.schema.json: "
        "cp schemas/sgscript.schema.json sgscript/scenario/"
    )


def test_the_schema_is_valid_and_closed_against_typos() -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    open_objects = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                open_objects.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema, "#")
    assert open_objects == []


def test_the_design_example_validates_against_the_bare_schema() -> None:
    """What an editor sees with only the file: the contract example is valid."""
    import yaml

    validator = jsonschema.Draft202012Validator(json.loads(schema_text()))
    assert list(validator.iter_errors(yaml.safe_load(DESIGN_EXAMPLE))) == []


# ----------------------------------------------------------------------- CLI


def test_validate_reports_each_file(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(here, "good.yaml", DESIGN_EXAMPLE)
    write(here, "bad.yaml", "sgscript: 1\ndevices: {a: x}\nsteps:\n  - {command: Raed10}\n")
    assert main(["validate", "good.yaml"]) == 0
    # the parallel group is not a step: its two branch steps are
    assert capsys.readouterr().out == "good.yaml: ok (8 steps, 2 destructive)\n"
    assert main(["validate", "good.yaml", "bad.yaml", "gone.yaml"]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "good.yaml: ok (8 steps, 2 destructive)"
    assert out[1].startswith("bad.yaml:4:15: steps[0].command: unknown command 'Raed10'")
    assert out[2] == "gone.yaml:1:1: cannot read: No such file or directory"


def test_schema_prints_the_file(
    here: Path, capsys: pytest.CaptureFixture[str], no_installed_plugins: None
) -> None:
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == schema_text()
    assert main(["schema", "--output", "out.json"]) == 0
    assert json.loads((here / "out.json").read_text()) == load_schema()
    assert main(["schema", "--output", "no/such/dir/out.json"]) == 2
    assert "cannot write" in capsys.readouterr().err

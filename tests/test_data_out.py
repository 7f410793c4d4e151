"""Data-out a spec computes: parameter lists by field, read-modify-write, ``${}`` in hex,
bytes read and sent back, a file sent in chunks."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgscript import load_scenario, run_scenario
from sgscript.runner import ScenarioResult
from sgscript.scenario.load import SpecError

pytestmark = pytest.mark.usefixtures("fresh_sim")


def run(tmp_path: Path, body: str) -> ScenarioResult:
    path = tmp_path / "s.yaml"
    path.write_text("sgscript: 1\n" + body)
    return run_scenario(load_scenario(str(path)), seed=5)


def explain(result: ScenarioResult) -> str:
    return "\n".join(
        f"{s.path} {s.status}: {s.message} {[f.message for f in s.failures]}" for s in result.steps
    )


def test_persistent_reservations_by_field_with_expressions(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """\
devices: {a: "sim:lu_pr", b: {target: "sim:lu_pr", initiator: host-b}}
vars: {key_a: 0xAAAA, key_b: 0xBBBB}
steps:
  - {device: a, command: {PersistentReserveOut: {service_action: register}},
     data: {PersistentReserveOut: {service_action_reservation_key: "${key_a}"}}}
  - {device: b, command: {PersistentReserveOut: {service_action: register}},
     data: {hex: "0000000000000000 ${'%016x' % key_b} 00000000 00000000"}}
  - {device: a, command: {PersistentReserveOut: {service_action: reserve, type: write_exclusive}},
     data: {PersistentReserveOut: {reservation_key: "${key_a}"}}}
  - device: b
    command: {PersistentReserveIn: {service_action: read_keys, allocation_length: 64}}
    expect: {fields: {reservation_keys: ["${key_a}", "${key_b}"]}}
  - device: b
    command: {Write10: {lba: 0, transfer_length: 1}}
    data: {pattern: zeros}
    expect: {status: RESERVATION_CONFLICT}
finally:
  - {device: a, command: {PersistentReserveOut: {service_action: clear}},
     data: {PersistentReserveOut: {reservation_key: "${key_a}"}}}
""",
    )
    assert result.status == "passed", explain(result)


def test_a_mode_page_read_modified_and_written_back(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """\
devices: {a: "sim:lu_mode"}
steps:
  - {command: {ModeSense10: {page_code: 0x08, allocation_length: 255}},
     save: {caching: mode_pages.0}, expect: {fields: {mode_pages.0.wce: 1}}}
  - {command: ModeSelect10, data: {ModeSelect10: {mode_pages: [{from: "${caching}", wce: 0}]}}}
  - {command: {ModeSense10: {page_code: 0x08, allocation_length: 255}},
     expect: {fields: {mode_pages.0.wce: 0, mode_pages.0.rcd: "${caching['rcd']}"}}}
  - {command: ModeSelect10, data: {ModeSelect10: {mode_pages: [{page_name: caching, wce: 1}]}}}
  - {command: {ModeSense10: {page_code: 0x08, allocation_length: 255}},
     expect: {fields: {mode_pages.0.wce: 1}}}
""",
    )
    assert result.status == "passed", explain(result)


def test_unmap_descriptors_by_field_and_bytes_sent_back(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """\
devices: {a: "sim:lu_unmap"}
steps:
  - {command: {Write10: {lba: 0, transfer_length: 16}}, data: {pattern: byte, value: 0x5A}}
  - {command: Unmap, data: {Unmap: {unmap_block_descriptors: [[0, 4], {lba: 8, number_of_logical_blocks: 4}]}}}
  - {command: {Read10: {lba: 0, transfer_length: 4}}, expect: {data: {pattern: zeros}}}
  - {command: {Read10: {lba: 4, transfer_length: 4}}, expect: {data: {pattern: byte, value: 0x5A}}}
  - {command: {Read10: {lba: 8, transfer_length: 4}}, expect: {data: {pattern: zeros}}}
  - {command: {Read10: {lba: 4, transfer_length: 1}}, save: {block: data_in}}
  - {command: {Write10: {lba: 100, transfer_length: 1}}, data: {hex: "${block}"}}
  - {command: {Read10: {lba: 100, transfer_length: 1}}, expect: {data: {pattern: byte, value: 0x5A}}}
""",
    )
    assert result.status == "passed", explain(result)
    assert result.steps[5].saved["block"] == b"\x5a" * 512


def test_a_file_sent_in_chunks(tmp_path: Path) -> None:
    (tmp_path / "fw.bin").write_bytes(bytes(range(32)))
    result = run(
        tmp_path,
        """\
devices: {a: "sim:lu_fw"}
steps:
  - command: {WriteBuffer10: {mode: data, buffer_offset: "${index * 8}", parameter_list_length: 8}}
    data: {file: fw.bin, offset: "${index * 8}", length: 8}
    repeat: 4
  - command: {ReadBuffer10: {mode: 2, allocation_length: 32}}
    expect: {data: {file: fw.bin}}
  - command: {WriteBuffer10: {mode: data, parameter_list_length: 8}}
    data: {file: fw.bin, offset: 32, length: 8}
""",
    )
    chunks, back, past = result.steps
    assert (chunks.status, chunks.count, back.status) == ("passed", 4, "passed"), explain(result)
    assert past.status == "failed" and "offset 32 is past its end (32 bytes)" in past.message


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            "{command: {PersistentReserveOut: {service_action: register}},"
            " data: {PersistentReserveOut: {reservaton_key: 1}}}",
            "(did you mean 'reservation_key'?)",
        ),
        (
            "{command: {PersistentReserveOut: {service_action: register}},"
            " data: {Unmap: {unmap_block_descriptors: []}}}",
            "names another command's parameter list; this step sends PersistentReserveOut",
        ),
        (
            "{command: {Write10: {lba: 0, transfer_length: 1}}, data: {Write10: {x: 1}}}",
            "Write10 has no parameter list to build by field: use pattern, file or hex",
        ),
        (
            "{command: {Write10: {lba: 0, transfer_length: 1}}, data: {hex: '00', offset: 2}}",
            "offset applies to file data",
        ),
        (
            "{command: {Write10: {lba: 0, transfer_length: 1}}, data: {patern: lba}}",
            "unknown key 'patern' in data (did you mean 'pattern'?)",
        ),
        (
            "{command: {Write10: {lba: 0, transfer_length: 1}}, data: {hex: '${nope}'}}",
            "undefined variable 'nope'",
        ),
    ],
)
def test_parameter_list_mistakes_are_found_when_loading(
    tmp_path: Path, step: str, message: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f'sgscript: 1\ndevices: {{a: "sim:lu_bad"}}\nsteps:\n  - {step}\n')
    with pytest.raises(SpecError) as info:
        load_scenario(str(path))
    assert message in str(info.value)


def test_a_raw_cdb_with_expressions_and_saved_bytes_indexed(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """\
devices: {a: "sim:lu_rawx"}
vars: {page: 0x80}
steps:
  - {cdb: "12 01 ${'%02x' % page} 00 ff 00", data_in: 255, save: {raw: data_in}}
  - {name: the page answered, check: "raw[1] == page and raw[3] == len(raw) - 4"}
""",
    )
    assert result.status == "passed", explain(result)
    assert result.steps[0].command == "cdb"

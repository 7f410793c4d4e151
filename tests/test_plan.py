"""The planner: step paths, -k, seeds, lazy command streams, data-out, targets, the preview."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from sgscript.scenario.model import DataSource, Device, Scenario, Step
from sgscript.scenario.plan import (
    Env,
    Plan,
    RawCommand,
    compile_selection,
    device_target,
)
from sgscript.scsi.cdb import Direction
from sgscript.scsi.errors import UsageError


def cmd(name: str, command: str = "TestUnitReady", device: str = "a", **kw: Any) -> Step:
    fields = kw.pop("fields", {})
    return Step("command", name, device=device, command=command, fields=fields, **kw)


def scenario(*steps: Step, finally_: tuple[Step, ...] = (), **kw: Any) -> Scenario:
    devices = kw.pop("devices", {"a": Device("a", "sim:lu0", options={"block_size": 4096})})
    return Scenario(
        name="reserve_release",
        file="/specs/rr.yaml",
        devices=devices,
        steps=steps,
        finally_steps=finally_,
        **kw,
    )


NESTED = scenario(
    cmd("a reserves"),
    Step(
        "parallel",
        "both at once",
        branches=(
            (cmd("a reads"), cmd("a writes")),
            (cmd("b is refused", device="a"),),
        ),
    ),
    cmd("past the end"),
    finally_=(cmd("a releases"),),
)


# ----------------------------------------------------------------- paths and -k


def test_paths_name_every_step_with_its_place() -> None:
    plan = Plan(NESTED, seed=1)
    assert [(p.path, p.name, p.depth, p.final) for p in plan.steps()] == [
        ("1", "a reserves", 0, False),
        ("2", "both at once", 0, False),
        ("2.1.1", "a reads", 1, False),
        ("2.1.2", "a writes", 1, False),
        ("2.2.1", "b is refused", 1, False),
        ("3", "past the end", 0, False),
        ("finally.1", "a releases", 0, True),
    ]
    group = plan.find("2")
    assert [[p.path for p in b] for b in plan.children(group)] == [["2.1.1", "2.1.2"], ["2.2.1"]]


@pytest.mark.parametrize(
    ("expr", "paths"),
    [
        ("reads", ["2", "2.1.1"]),
        ("READS or refused", ["2", "2.1.1", "2.2.1"]),
        ("both and not writes", ["2", "2.1.1", "2.2.1"]),
        ("'past the' or (reserves and not reads)", ["1", "3"]),
        ("reserve_rel", ["1", "2", "2.1.1", "2.1.2", "2.2.1", "3"]),  # the scenario's name
        ("not reserve_release", []),
    ],
)
def test_k_selects_like_pytest(expr: str, paths: list[str]) -> None:
    plan = Plan(NESTED, seed=1, select=expr)
    selected = [p.path for p in plan.steps() if not p.final]
    assert selected == paths
    # finally: runs whenever anything runs
    assert plan.is_selected("finally.1") == bool(paths)
    assert plan.selected == bool(paths)


@pytest.mark.parametrize(
    ("expr", "where"),
    [("a and", "the end"), ("(a or b", "the end"), ("(a) b", "column 5"), ("and a", "column 1")],
)
def test_k_syntax_errors_say_where(expr: str, where: str) -> None:
    with pytest.raises(UsageError, match=re.escape(f"-k {expr!r}: expected ") + f".* at {where}"):
        compile_selection(expr)


def test_k_naming_a_finally_step_runs_just_finally() -> None:
    plan = Plan(NESTED, seed=1, select="releases")
    assert plan.selected and [p.path for p in plan.steps()] == ["finally.1"]


def test_k_matches_substrings_case_insensitively() -> None:
    match = compile_selection("Unit and not BUSY")
    assert match(["scenario", "clears the unit attention"])
    assert not match(["busy unit"])


# ----------------------------------------------------------------- seeds and streams


def test_seed_is_kept_or_chosen() -> None:
    assert Plan(NESTED, seed=42).seed == 42
    chosen = {Plan(NESTED).seed for _ in range(5)}
    assert len(chosen) > 1 and all(isinstance(s, int) and s > 0 for s in chosen)


RANDOM_READ = cmd(
    "random reads",
    "Read10",
    fields={"lba": {"random": [0, "${last}"]}, "transfer_length": 1},
    repeat=1_000_000_000,
)


def first_lbas(seed: int, n: int = 5) -> list[int]:
    plan = Plan(scenario(RANDOM_READ), seed=seed)
    stream = plan.command_stream("1", {"last": 10**6})
    return [c.values["logical_block_address"] for c in itertools.islice(stream, n)]


def test_streams_are_lazy_and_random_values_replay_per_seed() -> None:
    assert first_lbas(1) == first_lbas(1)  # a billion commands, never materialised
    assert first_lbas(1) != first_lbas(2)
    assert len(set(first_lbas(1, 50))) > 40


def test_random_draws_depend_on_the_step_path_not_on_other_steps() -> None:
    alone = Plan(scenario(RANDOM_READ), seed=9)
    other = Plan(scenario(RANDOM_READ, cmd("x", fields={})), seed=9)
    a = [c.cdb for c in itertools.islice(alone.command_stream("1", {"last": 99}), 10)]
    b = [c.cdb for c in itertools.islice(other.command_stream("1", {"last": 99}), 10)]
    assert a == b


def test_a_step_that_draws_nothing_builds_its_command_once() -> None:
    step = cmd("reads", "Read10", fields={"lba": "${base + 8}", "transfer_length": 2}, repeat=3)
    commands = list(Plan(scenario(step), seed=1).command_stream("1", {"base": 8}))
    assert len(commands) == 3 and commands[0] is commands[1] is commands[2]
    assert commands[0].values == {"logical_block_address": 16, "transfer_length": 2}


def test_counts_evaluate_repeat_and_queue_depth() -> None:
    step = cmd("reads", repeat="${n * 2}", queue_depth="${n}")
    plan = Plan(scenario(step), seed=1)
    assert plan.counts("1", {"n": 8}) == (16, 8)
    with pytest.raises(UsageError, match="queue_depth must be at least 1"):
        plan.counts("1", {"n": 0})


def test_bad_values_are_usage_errors_with_the_reason() -> None:
    plan = Plan(scenario(cmd("too big", "Read6", fields={"lba": "${2**21}"})), seed=1)
    with pytest.raises(UsageError, match="does not fit"):
        next(plan.command_stream("1"))
    plan = Plan(scenario(cmd("undefined", "Read10", fields={"lba": "${nope}"})), seed=1)
    with pytest.raises(UsageError, match="undefined variable 'nope'"):
        next(plan.command_stream("1"))


# ----------------------------------------------------------------- data-out


def test_data_out_follows_the_command_and_stamps_lbas() -> None:
    step = cmd(
        "write",
        "Write10",
        fields={"lba": 100, "transfer_length": 4},
        data=DataSource(pattern="lba", seed=7),
    )
    (command,) = Plan(scenario(step), seed=1).command_stream("1", Env({}, 512))
    data = command.data
    assert data is not None and len(data) == 4 * 512
    assert [int.from_bytes(data[i * 512 : i * 512 + 8], "big") for i in range(4)] == [
        100,
        101,
        102,
        103,
    ]
    assert data[8:12] == (7).to_bytes(4, "big")


def test_data_length_sets_the_transfer_length_when_not_given() -> None:
    step = cmd("write", "Write10", fields={"lba": 0}, data=DataSource(pattern="zeros", length=2048))
    (command,) = Plan(scenario(step), seed=1).command_stream("1", Env({}, 512))
    assert command.bind(512)[7:9] == (4).to_bytes(2, "big")
    assert command.data == bytes(2048)


def test_data_on_a_command_without_data_out_is_refused() -> None:
    step = cmd(
        "read", "Read10", fields={"lba": 0, "transfer_length": 1}, data=DataSource(pattern="zeros")
    )
    with pytest.raises(UsageError, match="sends no data"):
        next(Plan(scenario(step), seed=1).command_stream("1"))


# ----------------------------------------------------------------- raw CDBs


def test_raw_cdbs_take_their_direction_from_the_step() -> None:
    steps = (
        Step("command", "inquiry", device="a", cdb="12 00 00 00 24 00", data_in=36),
        Step("command", "tur", device="a", cdb="00 00 00 00 00 00"),
        Step(
            "command",
            "write",
            device="a",
            cdb="2a 00 00 00 00 00 00 00 01 00",
            data=DataSource(hex="de ad"),
        ),
    )
    plan = Plan(scenario(*steps), seed=1)
    inquiry, tur, write = (next(plan.command_stream(p)) for p in ("1", "2", "3"))
    assert isinstance(inquiry, RawCommand)
    assert (inquiry.direction, inquiry.data_length(), inquiry.bind(512)) == (
        Direction.IN,
        36,
        bytes.fromhex("120000002400"),
    )
    assert (tur.direction, tur.data_length()) == (Direction.NONE, 0)
    assert (write.direction, write.data) == (Direction.OUT, b"\xde\xad")
    # the response decodes through the catalog command the bytes identify
    response = bytes([0, 0, 5, 2, 31, 0, 0, 0]) + b"VENDOR  " + b"PRODUCT".ljust(16) + b"0001"
    assert inquiry.decode_response(response)["vendor_identification"] == "VENDOR"


# ----------------------------------------------------------------- devices


def test_device_options_reach_the_target_kind_whole_and_the_target_string_wins(
    tmp_path: Path,
) -> None:
    """The planner passes options through untouched (no sim query strings); the sim
    target kind merges them under its own string's, and a spec's file stays in its folder."""
    from sgscript.sim.target import target_options

    device = Device(
        "a",
        "sim:lu0?blocks=8",
        options={
            "blocks": 99,  # the target string wins
            "medium_error": ["10-19", "30"],
            "thin": True,
            "latency": {"default": 0.001, "Read10": "2ms"},
        },
    )
    target, options = device_target(device)
    assert (target, options) == ("sim:lu0?blocks=8", dict(device.options))
    assert device_target(device, "/dev/sg3") == ("/dev/sg3", dict(device.options))
    name, merged = target_options(target[4:], options)
    assert name == "lu0" and merged["blocks"] == "8" and merged["thin"] is True
    assert merged["medium_error"] == ["10-19", "30"]
    filed = Device("b", "sim:f?file=x.img", options={"file": "y.img"})
    target, options = device_target(filed, None, str(tmp_path))
    assert target == f"sim:f?file={tmp_path.resolve()}/x.img"
    assert options == {"file": f"{tmp_path.resolve()}/y.img"}
    with pytest.raises(UsageError, match="leaves the spec's directory"):
        device_target(Device("c", "sim:g", options={"file": "../z.img"}), None, str(tmp_path))
    # a --device binding is the user's own path, but the spec's options stay confined
    assert device_target(filed, "sim:h?file=/tmp/own.img", str(tmp_path))[0] == (
        "sim:h?file=/tmp/own.img"
    )


def test_bindings_and_queue_depths() -> None:
    spec = scenario(
        cmd("deep", repeat=100, queue_depth=64),
        devices={"a": Device("a", "sim:lu0"), "b": Device("b", "sim:lu1", queue_depth=4)},
    )
    plan = Plan(spec, bindings={"a": "/dev/sg3", "zz": "/dev/sg9"}, seed=1)
    assert plan.bindings == {"a": "/dev/sg3"}  # names this spec does not declare are ignored
    assert plan.device_target("a") == ("/dev/sg3", {})
    assert (plan.device_queue_depth("a"), plan.device_queue_depth("b")) == (64, 4)


# ----------------------------------------------------------------- preview


def test_preview_shows_cdbs_sizes_and_what_is_unknown_until_run_time() -> None:
    spec = scenario(
        cmd("capacity", "ReadCapacity16", save={"last": "returned_logical_block_address"}),
        cmd(
            "reads", "Read10", fields={"lba": 8, "transfer_length": 2}, repeat=1000, queue_depth=16
        ),
        cmd("past the end", "Read16", fields={"lba": "${last + 1}", "transfer_length": 1}),
        Step("reset", "reset", device="a", reset="lun"),
        Step("parallel", "group", branches=((Step("sleep", "nap", sleep=0.25),),)),
        cmd(
            "write",
            "Write10",
            fields={"lba": {"random": [0, 99]}, "transfer_length": 1},
            data=DataSource(pattern="zeros"),
            repeat=3,
        ),
    )
    plan = Plan(spec, seed=5)
    rows = {r.path: r for r in plan.preview()}
    assert rows["1"].data_in == 32
    reads = rows["2"]
    assert reads.cdb_hex == "28 00 00 00 00 08 00 00 02 00"
    assert (reads.data_in, reads.repeat, reads.queue_depth) == (
        2 * 4096,
        1000,
        16,
    )  # block_size option
    assert rows["3"].cdb_hex == "?" and "last" in rows["3"].note
    assert rows["4"].command == "reset lun"
    assert rows["5.1.1"].command == "sleep 0.25s" and rows["5.1.1"].depth == 1
    # the very first command the run will send with this seed
    first = next(Plan(spec, seed=5).command_stream("6", Env({}, 4096)))
    assert rows["6"].cdb_hex == first.cdb.hex(" ") and rows["6"].data_out == 4096
    many = [r for r in plan.preview(per_step=3) if r.path == "6"]
    assert len(many) == 3 and many[2].note == "command 3 of 3"


def test_literal_data_sizes_a_parameter_list_length_left_out() -> None:
    """MODE SELECT/UNMAP with ``hex:`` data and no length field send the whole literal."""
    body = "00 16 00 10 00 00 00 00 " + "00 00 00 00 00 00 00 00 00 00 00 08 00 00 00 00"
    step = Step("command", "unmap", device="a", command="Unmap", data=DataSource(hex=body))
    plan = Plan(Scenario("s", "s.yaml", devices={"a": Device("a", "sim:x")}, steps=(step,)), seed=1)
    (command,) = list(plan.command_stream("1"))
    assert command.parameter_list_length == 24 and len(command.data) == 24
    assert command.data == bytes.fromhex(body.replace(" ", ""))

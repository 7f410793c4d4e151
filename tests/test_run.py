"""The runner on ``sim:`` targets: order, concurrency, policies, failures, interrupts, memory."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import pickle
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

import sgscript.sim as sim
from sgscript.runner import (
    DeviceOpenError,
    Latency,
    ScenarioResult,
    run_scenario,
)
from sgscript.scenario.load import override_vars
from sgscript.scenario.model import DataSource, Device, Expectation, Scenario, Step
from sgscript.scsi.errors import TransportError, UsageError
from sgscript.transport.sim import SimTransport
from sgscript.verify import get_plugin_manager, hookimpl


@pytest.fixture(autouse=True)
def fresh_targets() -> Iterator[None]:
    sim.forget_targets()
    yield
    sim.forget_targets()


def cmd(name: str, command: str, device: str = "a", **kw: Any) -> Step:
    fields = kw.pop("fields", {})
    return Step("command", name, device=device, command=command, fields=fields, **kw)


def expect(kind: str, value: Any = None) -> tuple[Expectation, ...]:
    return (Expectation(kind, value),)


def scenario(
    *steps: Step,
    finally_: tuple[Step, ...] = (),
    devices: dict[str, Device] | None = None,
    target: str = "sim:lu0",
    options: dict[str, Any] | None = None,
    **kw: Any,
) -> Scenario:
    devices = devices or {"a": Device("a", target, options=options or {})}
    return Scenario(
        name="spec",
        file="/tmp/spec.yaml",
        devices=devices,
        steps=steps,
        finally_steps=finally_,
        **kw,
    )


class Recorder:
    """A reporter that keeps every callback (and what the Ios looked like)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.cdbs: list[tuple[str, bytes]] = []
        self.transports: set[Any] = set()
        self.finished: ScenarioResult | None = None

    def scenario_started(self, scenario: Scenario, plan: Any) -> None:
        self.events.append(("scenario_started", scenario.name))

    def step_started(self, step: Step, path: str) -> None:
        self.events.append(("step_started", path))

    def command_done(self, path: str, io: Any, failure: Any) -> None:
        self.cdbs.append((path, io.cdb))
        self.transports.add(io.channel.transport)

    def step_finished(self, result: Any) -> None:
        self.events.append(("step_finished", result.path))

    def scenario_finished(self, result: ScenarioResult) -> None:
        self.events.append(("scenario_finished", result.status))
        self.finished = result


def by_path(result: ScenarioResult) -> dict[str, Any]:
    return {s.path: s for s in result.steps}


# ----------------------------------------------------------------- sequence


def test_sequential_steps_pass_and_report_in_order() -> None:
    rec = Recorder()
    result = run_scenario(
        scenario(
            cmd("ready", "TestUnitReady"),
            cmd("inquiry", "Inquiry", fields={"allocation_length": 36}),
            Step("sleep", "pause", sleep=0.01),
        ),
        seed=1,
        reporter=rec,
    )
    assert result.status == "passed" and not result.interrupted
    assert [(s.path, s.status, s.count) for s in result.steps] == [
        ("1", "passed", 1),
        ("2", "passed", 1),
        ("3", "passed", 0),
    ]
    assert result.devices == {"a": "sim:lu0"}
    # the power-on unit attention was cleared at open, and the open record says so
    (opened,) = result.preparation
    assert (opened.path, opened.kind) == ("open.a", "open")
    assert opened.command == "TestUnitReady, ReadCapacity10"
    assert "cleared UNIT ATTENTION" in opened.message and "Power on" in opened.message
    assert rec.events == [
        ("scenario_started", "spec"),
        ("step_started", "1"),
        ("step_finished", "1"),
        ("step_started", "2"),
        ("step_finished", "2"),
        ("step_started", "3"),
        ("step_finished", "3"),
        ("scenario_finished", "passed"),
    ]
    assert [p for p, _ in rec.cdbs] == ["1", "2"]


def test_save_feeds_later_expressions() -> None:
    result = run_scenario(
        scenario(
            cmd("capacity", "ReadCapacity10", save={"last_lba": "returned_logical_block_address"}),
            cmd(
                "past the end",
                "Read16",
                fields={"lba": "${last_lba + 1}", "transfer_length": 1},
                expect=expect("sense", {"key": "ILLEGAL_REQUEST", "asc": 0x21, "ascq": 0}),
            ),
            cmd("last block", "Read16", fields={"lba": "${last_lba}", "transfer_length": 1}),
            options={"blocks": 1000},
        ),
        seed=1,
    )
    assert result.status == "passed", result.steps
    assert by_path(result)["1"].saved == {"last_lba": 999}


def test_save_of_an_unknown_field_fails_the_step_and_lists_the_fields() -> None:
    result = run_scenario(
        scenario(
            cmd("capacity", "ReadCapacity10", save={"x": "last_lba"}), cmd("next", "TestUnitReady")
        ),
        seed=1,
    )
    first = by_path(result)["1"]
    assert first.status == "failed"
    assert "no field 'last_lba'" in first.message
    assert "returned_logical_block_address" in first.message
    assert by_path(result)["2"].status == "skipped"  # stop is the default policy


def test_save_takes_a_dotted_path_as_fields_does() -> None:
    caching = {"dbd": 1, "page_code": 0x08}
    result = run_scenario(
        scenario(
            cmd("caching page", "ModeSense6", fields=caching, save={"wce": "mode_pages.0.wce"}),
            cmd(
                "page chosen by the saved bit",
                "ModeSense6",
                fields={"dbd": 1, "page_code": "${wce * 8}"},
                expect=expect("fields", {"mode_pages.0.page_code": 0x08}),
            ),
            cmd("bad path", "ModeSense6", fields=caching, save={"x": "mode_pages.0.nope"}),
            target="sim:mode",
        ),
        seed=1,
    )
    steps = by_path(result)
    assert steps["1"].saved == {"wce": 1}
    assert steps["2"].status == "passed", steps["2"].failures
    assert steps["3"].status == "failed"
    assert "no field 'mode_pages.0.nope': mode_pages.0 has no field 'nope'; it has: " in (
        steps["3"].message
    )
    assert "wce" in steps["3"].message  # the names of the page that came back


# ----------------------------------------------------------------- concurrency


@pytest.mark.parametrize("given", ["var", "--var", "saved"])
def test_a_queue_depth_written_as_an_expression_reaches_its_value(given: str) -> None:
    """``queue_depth: "${qd}"`` opened the device for 16: 64 never got past 16 in flight
    while the record said 64. Now the device opens for the value (a run-time value
    that cannot be known before opening gets 256) and the record says what ran."""
    depth = "${blk // 8}" if given == "saved" else "${qd}"
    reads = cmd("reads", "Read10", fields={"lba": 0, "transfer_length": 1}, repeat=640)
    steps = [dataclasses.replace(reads, queue_depth=depth)]
    variables: dict[str, Any] = {"qd": 64 if given == "var" else 16}
    if given == "saved":  # 512 // 8 from a response: known only at run time
        steps.insert(
            0, cmd("size", "ReadCapacity10", save={"blk": "logical_block_length_in_bytes"})
        )
    spec = scenario(*steps, options={"latency": "1ms"}, vars=variables)
    if given == "--var":
        (spec,) = override_vars([spec], {"qd": 64})
    rec = Recorder()
    result = run_scenario(spec, seed=1, reporter=rec)
    step = result.steps[-1]
    assert (step.status, step.count, step.queue_depth) == ("passed", 640, 64), step.message
    (transport,) = rec.transports
    assert transport.peak == 64


def test_repeat_keeps_at_most_queue_depth_in_flight() -> None:
    rec = Recorder()
    result = run_scenario(
        scenario(
            cmd(
                "reads",
                "Read10",
                fields={"lba": 0, "transfer_length": 1},
                repeat=300,
                queue_depth=8,
            ),
            options={"latency": "200us"},
        ),
        seed=1,
        reporter=rec,
    )
    step = result.steps[0]
    assert (step.status, step.count, step.queue_depth) == ("passed", 300, 8)
    (transport,) = rec.transports
    assert transport.peak == 8  # the declared depth was reached and never exceeded
    lat = step.latency
    assert lat is not None and 150e-6 <= lat.min <= lat.p50 <= lat.p99 <= lat.max


def test_parallel_branches_run_at_the_same_time() -> None:
    branch = (cmd("tur", "TestUnitReady", repeat=20, queue_depth=1),)
    other = (cmd("tur", "TestUnitReady", device="b", repeat=20, queue_depth=1),)
    devices = {
        "a": Device("a", "sim:par", initiator="host-a", options={"latency": "10ms"}),
        "b": Device("b", "sim:par", initiator="host-b"),
    }
    spans: dict[str, list[float]] = {}

    class Spans:
        def command_done(self, path: str, io: Any, failure: Any) -> None:
            span = spans.setdefault(path, [io.submitted_at, io.completed_at])
            span[0], span[1] = min(span[0], io.submitted_at), max(span[1], io.completed_at)

    result = run_scenario(
        scenario(Step("parallel", "both", branches=(branch, other)), devices=devices),
        seed=1,
        reporter=Spans(),
    )
    steps = by_path(result)
    assert result.status == "passed"
    assert steps["1.1.1"].count == steps["1.2.1"].count == 20
    assert steps["1"].count == 40
    # 20 x 10 ms each: at least 200 ms; that the branches ran side by side, not one after
    # the other, is the overlap of their spans below (a wall-clock ceiling fails under load)
    assert 0.19 <= steps["1"].duration < 4.0, steps["1"].duration
    (a0, a1), (b0, b1) = spans["1.1.1"], spans["1.2.1"]
    assert min(a1, b1) - max(a0, b0) > 0.8 * min(a1 - a0, b1 - b0)  # the spans overlap


def test_parallel_sequences_keep_their_order() -> None:
    rec = Recorder()
    result = run_scenario(
        scenario(
            Step(
                "parallel",
                "group",
                branches=(
                    (cmd("one", "TestUnitReady"), cmd("two", "TestUnitReady")),
                    (cmd("three", "TestUnitReady", repeat=5, queue_depth=2),),
                ),
            )
        ),
        seed=1,
        reporter=rec,
    )
    assert result.status == "passed"
    started = [p for e, p in rec.events if e == "step_started"]
    assert started.index("1.1.1") < started.index("1.1.2")
    assert [s.path for s in result.steps] == ["1", "1.1.1", "1.1.2", "1.2.1"]


# ----------------------------------------------------------------- policies


def failing(name: str = "must be busy", **kw: Any) -> Step:
    return cmd(name, "TestUnitReady", expect=expect("status", "BUSY"), **kw)


def test_stop_skips_the_rest_and_finally_still_runs() -> None:
    result = run_scenario(
        scenario(
            failing(),
            cmd("not reached", "TestUnitReady"),
            finally_=(cmd("release", "Release6", expect=expect("any")),),
        ),
        seed=1,
    )
    steps = by_path(result)
    assert result.status == "failed"
    assert steps["1"].status == "failed"
    assert steps["2"].status == "skipped" and steps["2"].message.startswith("not run")
    assert steps["finally.1"].status == "passed" and steps["finally.1"].count == 1


def test_a_stop_in_one_branch_cuts_the_others_short() -> None:
    slow = (cmd("slow", "TestUnitReady", repeat=1000, queue_depth=1),)
    fails = (Step("sleep", "wait a bit", sleep=0.02), failing())
    result = run_scenario(
        scenario(
            Step("parallel", "group", branches=(slow, fails)),
            cmd("after", "TestUnitReady"),
            options={"latency": "1ms"},
        ),
        seed=1,
    )
    steps = by_path(result)
    assert steps["1.2.2"].status == "failed"
    assert steps["1.1.1"].status == "skipped" and steps["1.1.1"].count < 500
    assert "stopped after sending" in steps["1.1.1"].message
    assert steps["1"].status == "failed" and steps["2"].status == "skipped"


def test_continue_carries_on() -> None:
    result = run_scenario(
        scenario(failing(on_failure="continue"), cmd("reached", "TestUnitReady")), seed=1
    )
    steps = by_path(result)
    assert result.status == "failed"
    assert (steps["1"].status, steps["2"].status, steps["2"].count) == ("failed", "passed", 1)


def test_scenario_policy_continue_and_a_failing_repeat_keeps_counting() -> None:
    result = run_scenario(
        scenario(
            failing(repeat=50, queue_depth=4),
            cmd("reached", "TestUnitReady"),
            on_failure="continue",
        ),
        seed=1,
    )
    first = by_path(result)["1"]
    assert (first.count, first.failed, len(first.failures)) == (50, 50, 10)
    assert by_path(result)["2"].status == "passed"


def test_stop_ends_a_failing_repeat_early() -> None:
    result = run_scenario(scenario(failing(repeat=10_000, queue_depth=4)), seed=1)
    first = result.steps[0]
    assert first.status == "failed" and first.count < 100
    assert "stopped after sending" in first.message


def test_optional_step_the_device_does_not_implement_is_skipped() -> None:
    result = run_scenario(
        scenario(
            Step("command", "vendor thing", device="a", cdb="c0 00 00 00 00 00", optional=True),
            Step("command", "vendor again", device="a", cdb="c0 00 00 00 00 00"),
            on_failure="continue",
        ),
        seed=1,
    )
    steps = by_path(result)
    assert steps["1"].status == "skipped" and "not supported" in steps["1"].message
    assert steps["2"].status == "failed"  # the same command, not optional


def test_optional_skips_an_unsupported_service_action_but_not_other_invalid_fields() -> None:
    result = run_scenario(
        scenario(
            cmd(
                "unknown PR IN action",
                "PersistentReserveIn",
                fields={"service_action": 0x1F},
                optional=True,
            ),
            cmd(
                "a bad page code is a real error",
                "Inquiry",
                fields={"page_code": 0x80},
                optional=True,
            ),
            on_failure="continue",
        ),
        seed=1,
    )
    steps = by_path(result)
    assert steps["1"].status == "skipped" and "not supported" in steps["1"].message
    assert steps["2"].status == "failed"  # 24h/00h, but at PAGE CODE: not "unsupported"


def test_reset_then_unit_attention() -> None:
    result = run_scenario(
        scenario(
            cmd("ready", "TestUnitReady"),
            Step("reset", "reset the LU", device="a", reset="lun"),
            cmd("sees it", "TestUnitReady", expect=expect("sense", "UNIT_ATTENTION")),
            cmd("then ready", "TestUnitReady"),
        ),
        seed=1,
    )
    assert [s.status for s in result.steps] == ["passed"] * 4, result.steps
    assert result.steps[1].command == "reset lun"


# ----------------------------------------------------------------- values


def lbas(seed: int) -> list[bytes]:
    rec = Recorder()
    run_scenario(
        scenario(
            cmd(
                "random reads",
                "Read10",
                fields={"lba": {"random": [0, 100_000]}, "transfer_length": 1},
                repeat=20,
                queue_depth=4,
            ),
            options={"blocks": 200_000},
        ),
        seed=seed,
        reporter=rec,
    )
    sim.forget_targets()
    return sorted(cdb for _, cdb in rec.cdbs)


def test_random_values_replay_with_the_seed() -> None:
    first, again, other = lbas(7), lbas(7), lbas(8)
    assert first == again
    assert first != other
    assert len(set(first)) > 15  # they are drawn per command


def test_written_pattern_reads_back_and_a_mismatch_shows_the_diff() -> None:
    write = cmd(
        "write",
        "Write10",
        fields={"lba": "${8 * 4}", "transfer_length": 8},
        data=DataSource(pattern="lba"),
    )
    good = cmd(
        "read",
        "Read10",
        fields={"lba": 32, "transfer_length": 8},
        expect=expect("data", {"pattern": "lba"}),
    )
    unwritten = cmd(
        "read past what was written",
        "Read10",
        fields={"lba": 40, "transfer_length": 1},
        expect=expect("data", {"pattern": "lba"}),
    )
    result = run_scenario(scenario(write, good, unwritten), seed=3)
    steps = by_path(result)
    assert (steps["1"].status, steps["2"].status, steps["3"].status) == (
        "passed",
        "passed",
        "failed",
    )
    (detail,) = steps["3"].failures
    assert "never written" in detail.got
    assert detail.data_diff and "expected" in detail.data_diff and "^^" in detail.data_diff


# ----------------------------------------------------------------- failures


def test_failure_details_say_what_came_back() -> None:
    result = run_scenario(
        scenario(
            cmd("past the end", "Read10", fields={"lba": 5000, "transfer_length": 1}),
            options={"blocks": 1000},
        ),
        seed=1,
    )
    step = result.steps[0]
    assert (step.status, step.failed) == ("failed", 1)
    (detail,) = step.failures
    assert detail.index == 0
    assert detail.cdb_hex == "28 00 00 00 13 88 00 00 01 00"
    assert detail.expected == "GOOD"
    assert "CHECK CONDITION" in detail.got and "out of range" in detail.got.lower()
    assert detail.sense is not None
    assert detail.sense["sense_key_name"] == "ILLEGAL_REQUEST"
    assert "Logical block address out of range" in detail.sense["summary"]
    assert "28 00 00 00 13 88" in detail.message
    assert result.to_dict()["steps"][0]["failures"][0]["cdb_hex"] == detail.cdb_hex


def test_a_bad_field_value_fails_the_step_not_the_run() -> None:
    result = run_scenario(
        scenario(
            cmd("too big", "Read6", fields={"lba": "${2 ** 30}", "transfer_length": 1}),
            finally_=(cmd("cleanup", "TestUnitReady"),),
        ),
        seed=1,
    )
    steps = by_path(result)
    assert steps["1"].status == "failed" and "does not fit" in steps["1"].message
    assert steps["finally.1"].status == "passed"


def test_device_that_breaks_mid_run_is_an_error_and_finally_is_attempted() -> None:
    result = run_scenario(
        scenario(
            cmd("until it is gone", "TestUnitReady", repeat=100, queue_depth=4),
            finally_=(cmd("cleanup", "TestUnitReady"),),
            options={"gone_after": 20},
        ),
        seed=1,
    )
    steps = by_path(result)
    assert result.status == "error" and "device error" in result.message
    assert steps["1"].status == "error" and steps["1"].count < 100
    # the device is gone: its finally: step cannot run, and says why
    assert steps["finally.1"].count == 0 and steps["finally.1"].status == "failed"
    assert "not run: device a lost" in steps["finally.1"].message


@pytest.mark.parametrize("how", ["any", "fail", "optional"])
def test_a_vanished_device_is_never_a_pass_whatever_the_step_expects(how: str) -> None:
    kw: dict[str, Any] = {"optional": True} if how == "optional" else {"expect": expect(how)}
    result = run_scenario(
        scenario(
            cmd("soak", "TestUnitReady", repeat=1000, queue_depth=4, **kw),
            cmd("after", "TestUnitReady", **kw),
            finally_=(cmd("cleanup", "TestUnitReady", **kw),),
            options={"gone_after": 50},
            on_failure="continue",  # expect: fail fails on every GOOD; go on to the break
        ),
        seed=1,
    )
    steps = by_path(result)
    assert result.status == "error" and "device a lost" in result.message
    assert steps["1"].status == "error" and steps["1"].count < 100
    assert "device error" in steps["1"].failures[-1].message
    for path in ("2", "finally.1"):  # never sent, never a pass
        assert steps[path].status == "failed" and steps[path].count == 0
        assert "not run: device a lost" in steps[path].message


def test_a_lost_device_does_not_stop_the_others() -> None:
    devices = {
        "a": Device("a", "sim:lu0", options={"gone_after": 30}),
        "b": Device("b", "sim:lu1"),
    }
    result = run_scenario(
        scenario(
            Step(
                "parallel",
                "both",
                branches=(
                    (cmd("a soaks", "TestUnitReady", repeat=1000, expect=expect("any")),),
                    (cmd("b soaks", "TestUnitReady", device="b", repeat=200, queue_depth=4),),
                ),
            ),
            cmd("a again", "TestUnitReady"),
            cmd("b again", "TestUnitReady", device="b", repeat=10),
            finally_=(
                cmd("a cleanup", "TestUnitReady"),
                cmd("b cleanup", "TestUnitReady", device="b"),
            ),
            devices=devices,
        ),
        seed=1,
    )
    names = {s.name: s for s in result.steps}
    assert result.status == "error"
    assert names["both"].status == "error"
    assert names["a soaks"].status == "error"
    assert (names["b soaks"].status, names["b soaks"].count) == ("passed", 200)
    assert (names["b again"].status, names["b again"].count) == ("passed", 10)
    assert names["b cleanup"].status == "passed"
    for name in ("a again", "a cleanup"):
        assert names[name].status == "failed" and "device a lost" in names[name].message


def test_a_device_lost_during_finally_only_is_an_error() -> None:
    result = run_scenario(
        scenario(
            cmd("fine", "TestUnitReady", repeat=5),
            finally_=(cmd("cleanup", "TestUnitReady", repeat=100, expect=expect("any")),),
            options={"gone_after": 20},
        ),
        seed=1,
    )
    steps = by_path(result)
    assert steps["1"].status == "passed"
    assert steps["finally.1"].status == "error"
    assert result.status == "error"


class _Refusing(SimTransport):
    """A sim disk whose driver refuses big transfers as the sg driver does (ENOMEM)."""

    def submit(self, ios: Any) -> int:
        for io in ios:
            if io.dxfer_len > 4 << 20:
                io.os_error = OSError(errno.ENOMEM, "the driver refused a 32 MiB transfer")
                raise TransportError(io, "refused")
            return super().submit([io])
        return 0

    def execute_sync(self, io: Any) -> bool:  # a depth-1 step's path: refused the same way
        if io.dxfer_len > 4 << 20:
            io.os_error = OSError(errno.ENOMEM, "the driver refused a 32 MiB transfer")
            io.complete()
            return True
        return super().execute_sync(io)


class _RefusingPlugin:
    @hookimpl
    def sgscript_open_target(self, target: str, options: dict[str, Any]) -> Any:
        return _Refusing("refusing") if target == "lab:big" else None


@pytest.mark.parametrize("how", ["good", "any"])
def test_a_transfer_the_driver_refuses_is_an_error_and_the_device_carries_on(how: str) -> None:
    pm = get_plugin_manager()
    pm.register(_RefusingPlugin())
    devices = {"a": Device("a", "lab:big")}
    result = run_scenario(
        scenario(
            cmd("huge", "Read16", fields={"lba": 0, "transfer_length": 65536}, expect=expect(how)),
            cmd("small", "Read10", fields={"lba": 0, "transfer_length": 1}),
            devices=devices,
            on_failure="continue",
        ),
        seed=1,
        plugins=pm,
    )
    steps = by_path(result)
    assert steps["1"].status == "error" and "32 MiB" in steps["1"].message
    assert steps["2"].status == "passed"  # the device is still there
    assert result.status == "error"


def test_device_open_failure_names_the_device() -> None:
    with pytest.raises(DeviceOpenError) as err:
        run_scenario(scenario(cmd("x", "TestUnitReady"), target="/dev/sg-does-not-exist"), seed=1)
    assert "device a (/dev/sg-does-not-exist)" in str(err.value)
    again = pickle.loads(pickle.dumps(err.value))
    assert str(again) == str(err.value)


def test_bad_sim_option_is_a_usage_error_naming_the_device() -> None:
    with pytest.raises(
        UsageError, match=r"device a \(sim:lu0\): unknown sim option 'medium_errors'.*did you mean"
    ):
        run_scenario(scenario(cmd("x", "TestUnitReady"), options={"medium_errors": 5}), seed=1)


def test_binding_overrides_the_target_and_options_still_apply() -> None:
    result = run_scenario(
        scenario(
            cmd(
                "bad block",
                "Read10",
                fields={"lba": 10, "transfer_length": 1},
                expect=expect("sense", "MEDIUM_ERROR"),
            ),
            options={"medium_error": "10-19"},
        ),
        bindings={"a": "sim:elsewhere", "unused": "/dev/sg9"},
        seed=1,
    )
    assert result.status == "passed"
    assert result.devices == {"a": "sim:elsewhere"}  # the options reach it all the same


def test_k_selects_steps_and_finally_still_runs() -> None:
    rec = Recorder()
    result = run_scenario(
        scenario(
            cmd("inquiry", "Inquiry", fields={"allocation_length": 36}),
            cmd("read capacity", "ReadCapacity10"),
            finally_=(cmd("cleanup", "TestUnitReady"),),
        ),
        select="capacity",
        seed=1,
        reporter=rec,
    )
    assert [s.path for s in result.steps] == ["2", "finally.1"]
    assert result.status == "passed"
    nothing = run_scenario(scenario(cmd("inquiry", "Inquiry")), select="nothing-matches", seed=1)
    assert nothing.status == "skipped" and not nothing.steps


# ----------------------------------------------------------------- plugins


class LabPlugin:
    """Opens ``lab:`` targets (as a simulated disk), vetoes LBA 7, watches results."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, dict[str, Any]]] = []
        self.steps: list[str] = []
        self.scenarios: list[str] = []

    @hookimpl
    def sgscript_open_target(self, target: str, options: dict[str, Any]) -> Any:
        if not target.startswith("lab:"):
            return None
        self.opened.append((target, options))
        return SimTransport("labdisk", queue_depth=options["queue_depth"], initiator="lab")

    @hookimpl
    def sgscript_check_command(self, ctx: Any) -> str | None:
        return "LBA 7 is off limits" if ctx.lba == 7 else None

    @hookimpl
    def sgscript_step_finished(self, result: Any) -> None:
        self.steps.append(result.path)

    @hookimpl
    def sgscript_scenario_finished(self, result: Any) -> None:
        self.scenarios.append(result.status)


def test_plugins_open_targets_check_commands_and_watch() -> None:
    plugin = LabPlugin()
    pm = get_plugin_manager()
    pm.register(plugin)
    devices = {
        "a": Device("a", "lab:rack1", initiator="host-a", queue_depth=4, options={"slot": 3})
    }
    result = run_scenario(
        scenario(
            cmd("fine", "Read10", fields={"lba": 0, "transfer_length": 1}, repeat=3),
            cmd("vetoed", "Read10", fields={"lba": 7, "transfer_length": 1}),
            devices=devices,
            on_failure="continue",
        ),
        seed=1,
        plugins=pm,
    )
    assert plugin.opened == [("lab:rack1", {"slot": 3, "queue_depth": 4, "initiator": "host-a"})]
    assert result.devices == {"a": "lab:rack1"}
    steps = by_path(result)
    assert (steps["1"].status, steps["1"].count) == ("passed", 3)
    assert steps["2"].status == "failed"
    assert "LBA 7 is off limits" in steps["2"].failures[0].message
    assert (plugin.steps, plugin.scenarios) == (["1", "2"], ["failed"])


# ----------------------------------------------------------------- interrupts


class InterruptAfter(Recorder):
    def __init__(self, n: int, how: str) -> None:
        super().__init__()
        self.n, self.how = n, how

    def command_done(self, path: str, io: Any, failure: Any) -> None:
        super().command_done(path, io, failure)
        if path == "1" and len(self.cdbs) == self.n:
            if self.how == "signal":
                os.kill(os.getpid(), signal.SIGINT)
            else:
                raise KeyboardInterrupt


@pytest.mark.parametrize("how", ["signal", "raise"])
def test_interrupt_stops_runs_finally_and_reports(how: str) -> None:
    rec = InterruptAfter(100, how)
    result = run_scenario(
        scenario(
            cmd("long", "TestUnitReady", repeat=1_000_000, queue_depth=8),
            cmd("never", "TestUnitReady"),
            finally_=(cmd("cleanup", "TestUnitReady"),),
        ),
        seed=1,
        reporter=rec,
    )
    steps = by_path(result)
    assert result.interrupted and result.status == "interrupted" and result.signal == "SIGINT"
    assert rec.finished is result and rec.events[-1][0] == "scenario_finished"
    assert 100 <= steps["1"].count < 1000 and steps["1"].status == "interrupted"
    assert steps["2"].status == "interrupted" and "interrupted" in steps["2"].message
    assert steps["finally.1"].status == "passed"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_as_ctrl_c_does(signum: int) -> None:
    class Kill(Recorder):
        def command_done(self, path: str, io: Any, failure: Any) -> None:
            super().command_done(path, io, failure)
            if len(self.cdbs) == 100:
                os.kill(os.getpid(), signum)

    before = signal.getsignal(signum)
    result = run_scenario(
        scenario(
            cmd("long", "TestUnitReady", repeat=1_000_000, queue_depth=8),
            finally_=(cmd("cleanup", "TestUnitReady"),),
        ),
        seed=1,
        reporter=Kill(),
    )
    steps = by_path(result)
    assert result.status == "interrupted" and result.signal == signal.Signals(signum).name
    assert steps["1"].status == "interrupted" and steps["1"].count < 10_000
    assert steps["finally.1"].status == "passed"
    assert signal.getsignal(signum) == before


def test_finally_after_a_signal_has_a_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    import sgscript.runner.runner as run_module

    monkeypatch.setattr(run_module, "FINALLY_TIMEOUT", 0.5)

    class Kill(Recorder):
        def command_done(self, path: str, io: Any, failure: Any) -> None:
            super().command_done(path, io, failure)
            if len(self.cdbs) == 10:
                os.kill(os.getpid(), signal.SIGTERM)

    t0 = time.monotonic()
    result = run_scenario(
        scenario(
            cmd("long", "TestUnitReady", repeat=1_000_000),
            finally_=(cmd("slow cleanup", "TestUnitReady", repeat=1_000_000),),
            options={"latency": "5ms"},
        ),
        seed=1,
        reporter=Kill(),
    )
    assert time.monotonic() - t0 < 20  # not 1,000,000 x 5 ms
    steps = by_path(result)
    assert steps["finally.1"].status == "interrupted" and steps["finally.1"].count > 0
    assert any("finally: abandoned" in n for n in result.notes)


def test_a_second_ctrl_c_abandons_finally() -> None:
    class TwoSignals(Recorder):
        def command_done(self, path: str, io: Any, failure: Any) -> None:
            super().command_done(path, io, failure)
            if len(self.cdbs) in (50, 60):  # in step 1, then in the first finally: step
                os.kill(os.getpid(), signal.SIGINT)

    result = run_scenario(
        scenario(
            cmd("long", "TestUnitReady", repeat=1_000_000, queue_depth=4),
            finally_=(
                cmd("slow cleanup", "TestUnitReady", repeat=1_000_000, queue_depth=4),
                cmd("never", "TestUnitReady"),
            ),
        ),
        seed=1,
        reporter=TwoSignals(),
    )
    steps = by_path(result)
    assert result.interrupted
    assert 0 < steps["finally.1"].count < 1000
    assert steps["finally.2"].status == "interrupted" and steps["finally.2"].count == 0


# ----------------------------------------------------------------- scale-out, memory


def test_arguments_and_result_pickle() -> None:
    spec = scenario(
        cmd(
            "w",
            "Write10",
            fields={"lba": {"random": [0, 99]}, "transfer_length": 1},
            data=DataSource(pattern="random"),
            repeat=4,
        ),
        cmd("r", "Read10", fields={"lba": 5000, "transfer_length": 1}, on_failure="continue"),
        options={"blocks": 1000},
    )
    args = pickle.loads(
        pickle.dumps((spec, {"a": "sim:lu0"}, 5, None, ["sgscript.verify.builtin"]))
    )
    result = run_scenario(args[0], bindings=args[1], seed=args[2], select=args[3])
    again = pickle.loads(pickle.dumps(result))
    assert again.to_dict() == result.to_dict()
    assert json.loads(json.dumps(result.to_dict()))["steps"][1]["status"] == "failed"
    assert again.steps[1].failures[0].sense is not None


@pytest.mark.slow
def test_memory_is_flat_over_a_long_repeat() -> None:
    """200,000 commands: the heap (allocated blocks) stays where it was after the first 20,000."""
    samples: list[int] = []

    class Sampler:
        n = 0

        def command_done(self, path: str, io: Any, failure: Any) -> None:
            self.n += 1
            if self.n % 20_000 == 0:
                samples.append(sys.getallocatedblocks())

    result = run_scenario(
        scenario(cmd("turs", "TestUnitReady", repeat=200_000, queue_depth=32)),
        seed=1,
        reporter=Sampler(),
    )
    assert result.steps[0].count == 200_000
    assert len(samples) == 10
    assert max(samples[1:]) - samples[1] < 2_000, samples


def test_latency_histogram_is_exact_then_within_one_percent() -> None:
    small = Latency()
    for x in (3e-3, 1e-3, 2e-3):
        small.add(x)
    stats = small.stats()
    assert stats is not None and (stats.min, stats.p50, stats.max) == (1e-3, 2e-3, 3e-3)
    big = Latency()
    values = [1e-6 * (1 + i % 1000) for i in range(100_000)]  # 1 us .. 1 ms, uniform
    for x in values:
        big.add(x)
    stats = big.stats()
    assert stats is not None
    assert stats.p50 == pytest.approx(500e-6, rel=0.015)
    assert stats.p99 == pytest.approx(990e-6, rel=0.015)
    assert (stats.min, stats.max) == (1e-6, 1e-3)
    assert stats.mean == pytest.approx(sum(values) / len(values))
    assert len(pickle.dumps(big)) < 40_000  # fixed size, whatever the count


def test_scenario_totals_count_every_command() -> None:
    start = time.perf_counter()
    result = run_scenario(
        scenario(cmd("turs", "TestUnitReady", repeat=20_000, queue_depth=32)), seed=1
    )
    assert result.commands == 20_000 and result.failed_commands == 0
    assert result.duration <= time.perf_counter() - start


def test_index_walks_a_range_in_order() -> None:
    from sgscript.scenario.load import load_scenario_text

    scenario = load_scenario_text(
        """
sgscript: 1
devices: {a: "sim:walk-index?blocks=1000"}
steps:
  - name: write in order
    device: a
    command: {Write10: {lba: "${index * 2}", transfer_length: 2}}
    data: {pattern: lba, seed: 3}
    repeat: 50
    queue_depth: 8
  - name: read back in order
    device: a
    command: {Read10: {lba: "${index * 2}", transfer_length: 2}}
    expect: {data: {pattern: lba, seed: 3}}
    repeat: 50
  - name: the last pair was written where the walk put it
    device: a
    command: {Read10: {lba: 98, transfer_length: 2}}
    expect: {data: {pattern: lba, seed: 3}}
  - name: nothing past the range
    device: a
    command: {Read10: {lba: 100, transfer_length: 1}}
    expect: {data: {pattern: zeros}}
""",
        file="walk.yaml",
    )
    result = run_scenario(scenario, seed=1)
    assert result.status == "passed", [s.failures for s in result.steps]
    assert [s.count for s in result.steps] == [50, 50, 1, 1]


class _Counting(SimTransport):
    """A sim disk that counts how commands reach it: blocking calls or reactor batches."""

    def __init__(self, target: str, interrupt_at: int = 0) -> None:
        super().__init__(target)
        self.sync = self.batched = 0
        self.interrupt_at = interrupt_at

    def submit(self, ios: Any) -> int:
        started = super().submit(ios)
        self.batched += started
        return started

    def execute_sync(self, io: Any) -> bool:
        if self.interrupt_at and self.sync + 1 == self.interrupt_at:
            # as SG_IO reports a signal that arrived while the command was at the device
            io.submitted_at = time.perf_counter()
            io.os_error = InterruptedError(errno.EINTR, "interrupted by a signal")
            io.complete()
            return True
        done = super().execute_sync(io)
        self.sync += done
        return done


class _CountingPlugin:
    def __init__(self, interrupt_at: int = 0) -> None:
        self.opened: list[_Counting] = []
        self.interrupt_at = interrupt_at

    @hookimpl
    def sgscript_open_target(self, target: str, options: dict[str, Any]) -> Any:
        if not target.startswith("lab:"):
            return None
        self.opened.append(_Counting(target[4:], self.interrupt_at))
        return self.opened[-1]


def _counted(*steps: Step, interrupt_at: int = 0) -> tuple[Any, _Counting]:
    pm = get_plugin_manager()
    plugin = _CountingPlugin(interrupt_at)
    pm.register(plugin)
    result = run_scenario(
        scenario(*steps, devices={"a": Device("a", "lab:count")}), seed=1, plugins=pm
    )
    (transport,) = plugin.opened
    return result, transport


def test_a_depth_one_step_alone_sends_each_command_in_one_blocking_call() -> None:
    """SG_IO (one system call) instead of write + poll + read, when nothing else is in
    flight: every command still judged, a failure still a failure."""
    result, transport = _counted(
        cmd("reads", "Read10", fields={"lba": "${index}", "transfer_length": 1}, repeat=500),
        cmd("past the end", "Read10", fields={"lba": 262144, "transfer_length": 1}),
    )
    steps = by_path(result)
    assert (steps["1"].status, steps["1"].count) == ("passed", 500)
    assert steps["2"].status == "failed"
    assert "OUT OF RANGE" in steps["2"].failures[0].message.upper()
    assert transport.sync >= 500 and transport.batched <= 5  # the open's own commands
    deep, transport = _counted(cmd("deep", "TestUnitReady", repeat=200, queue_depth=8))
    assert deep.steps[0].status == "passed" and transport.batched >= 200


def test_a_signal_during_a_blocking_call_is_an_interruption_not_a_device_fault() -> None:
    result, _ = _counted(cmd("soak", "TestUnitReady", repeat=1000), interrupt_at=10)
    step = result.steps[0]
    assert step.status == "interrupted", (step.status, step.message)
    assert "outcome is unknown" in step.message and "device error" not in step.message
    assert step.count < 1000

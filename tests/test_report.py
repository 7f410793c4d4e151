"""Reporters on their own: console text people read, JSON Lines and JUnit XML machines read.

The result objects here are small stand-ins shaped like ``sgscript.runner``'s
(``StepResult``, ``ScenarioResult``, ``FailureDetail`` with ``.to_dict()``),
and the commands are real ``Io`` objects, so the reporters are checked
without a runner, a plan or a device.
"""

from __future__ import annotations

import io as _io
import json
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sgscript import command
from sgscript.report import Reporters, failure_lines, format_seconds
from sgscript.report.console import ConsoleReporter
from sgscript.report.jsonl import MAX_FAILED_COMMANDS, JsonlReporter, run_header
from sgscript.report.junit import JunitReporter
from sgscript.transport.base import Io

LBA_OUT_OF_RANGE = bytes.fromhex("700005000000000a000000002100000000000000")


@dataclass
class Latency:
    min: float
    p50: float
    p99: float
    max: float
    mean: float


@dataclass
class Failure:
    index: int
    expected: str
    got: str
    cdb_hex: str
    sense: dict[str, Any] | None
    data_diff: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StepResult:
    name: str
    path: str
    device: str | None
    command: str | None
    status: str
    count: int
    failed: int
    latency: Latency | None
    failures: list[Failure] = field(default_factory=list)
    mark: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ScenarioResult:
    name: str
    file: str
    seed: int
    steps: list[StepResult]
    status: str
    duration: float
    interrupted: bool = False
    devices: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Step:
    name: str
    kind: str = "command"


@dataclass
class Scenario:
    name: str = "reserve_release"
    file: str = "specs/reserve_release.yaml"
    devices: dict[str, str] = field(default_factory=lambda: {"a": "sim:lu0", "b": "sim:lu0"})

    def all_steps(self) -> list[Step]:
        return [Step("a reserves"), Step("b is refused"), Step("b reads randomly")]


@dataclass
class Plan:
    seed: int = 1234
    bindings: dict[str, str] = field(default_factory=lambda: {"b": "/dev/sg4"})


def good_io(lba: int = 0, duration: float = 100e-6) -> Io:
    io = Io(command.Read10(lba=lba, transfer_length=1))
    io.submitted_at, io.completed_at, io.done = 1.0, 1.0 + duration, True
    return io


def failed_io(lba: int) -> Io:
    io = good_io(lba)
    io.status, io.sense_raw = 0x02, LBA_OUT_OF_RANGE
    return io


def failure_for(index: int, io: Io) -> Failure:
    assert io.sense is not None
    return Failure(
        index=index,
        expected="status GOOD",
        got="CHECK CONDITION",
        cdb_hex=io.cdb.hex(),
        sense={"summary": io.sense.summary(), "raw": io.sense_raw.hex()},
        data_diff=None,
        message=f"expected status GOOD, got CHECK CONDITION: {io.sense.summary()}",
    )


def drive(
    reporter: Any, *, finish: bool = True, repeat: int = 50, bad: tuple[int, ...] = (7,)
) -> ScenarioResult:
    """One scenario: a passing single command, a refused one (failed), a repeat with failures."""
    reporter = Reporters([reporter])  # every protocol method is optional
    scenario, plan = Scenario(), Plan()
    reporter.scenario_started(scenario, plan)
    steps: list[StepResult] = []

    reporter.step_started(Step("a reserves"), "0")
    reporter.command_done("0", good_io(), None)
    steps.append(StepResult("a reserves", "0", "a", "Read10", "passed", 1, 0, Latency(*[1e-4] * 5)))
    reporter.step_finished(steps[-1])

    reporter.step_started(Step("b is refused"), "1")
    io = failed_io(0x10)
    f = failure_for(0, io)
    reporter.command_done("1", io, f)
    lat = Latency(*[1e-4] * 5)
    steps.append(
        StepResult("b is refused", "1", "b", "Read10", "failed", 1, 1, lat, [f], "x.yaml:9:5")
    )
    reporter.step_finished(steps[-1])
    if not finish:
        return ScenarioResult(scenario.name, scenario.file, 1234, steps, "failed", 0.1, True)

    reporter.step_started(Step("b reads randomly"), "2")
    failures = []
    for i in range(repeat):
        io = failed_io(i) if i in bad else good_io(i, duration=(i + 1) * 1e-5)
        failure = failure_for(i, io) if i in bad else None
        if failure:
            failures.append(failure)
        reporter.command_done("2", io, failure)
    status = "failed" if bad else "passed"
    lat = Latency(1e-5, 2.5e-4, 4.9e-4, 5e-4, 2.5e-4)
    steps.append(
        StepResult(
            "b reads randomly", "2", "b", "Read10", status, repeat, len(bad), lat, failures[:10]
        )
    )
    reporter.step_finished(steps[-1])
    result = ScenarioResult(scenario.name, scenario.file, 1234, steps, "failed", 0.25)
    reporter.scenario_finished(result)
    return result


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -------------------------------------------------------------------- JSONL


def test_jsonl_header_then_a_record_per_step_then_the_scenario(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    header = run_header(seed=1234, specs=["specs/x.yaml"], bindings={"b": "/dev/sg4"}, argv=["run"])
    reporter = JsonlReporter(log, header=header)
    drive(reporter)
    reporter.close()
    records = lines_of(log)
    assert [r["type"] for r in records] == [
        "run",
        "scenario_start",
        "step",
        "step",
        "step",
        "scenario",
        "end",
    ]
    run = records[0]
    assert (
        run["seed"] == 1234
        and run["specs"] == ["specs/x.yaml"]
        and run["bindings"] == {"b": "/dev/sg4"}
    )
    assert {"sgscript", "python", "started", "argv"} <= run.keys()
    assert records[1]["devices"] == {"a": "sim:lu0", "b": "/dev/sg4"}  # the binding wins
    single, refused, repeated = records[2:5]
    # a non-repeated step logs its command; a repeated one only its failures, plus the aggregate
    assert [c["cdb"] for c in single["commands"]] == [
        command.Read10(lba=0, transfer_length=1).cdb.hex()
    ]
    assert single["commands"][0]["status"] == "GOOD" and single["commands"][0]["duration"] > 0
    assert refused["commands"][0]["sense"].startswith(
        "Illegal Request, Logical block address out of range"
    )
    assert refused["commands"][0]["failure"]["expected"] == "status GOOD"
    assert repeated["count"] == 50 and repeated["failed"] == 1
    assert [c["seq"] for c in repeated["commands"]] == [7]
    assert repeated["latency"]["p99"] == 4.9e-4
    assert records[5]["status"] == "failed" and len(records[5]["steps"]) == 3
    assert records[6] == {**records[6], "scenarios": 1, "interrupted": False}


def test_jsonl_log_commands_logs_every_command(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    reporter = JsonlReporter(log, header=run_header(seed=1, specs=[]), log_commands=True)
    drive(reporter, repeat=20)
    reporter.close()
    records = lines_of(log)
    commands = [r for r in records if r["type"] == "command" and r["step"] == "2"]
    assert [c["seq"] for c in commands] == list(range(20))
    assert "failure" in commands[7] and "failure" not in commands[6]


class _NumberedIo(Io):
    """An Io that knows its number in its step, as the runner's do."""

    __slots__ = ("index",)

    def __init__(self, cmd: Any, *, index: int) -> None:
        super().__init__(cmd)
        self.index = index


def test_jsonl_a_good_command_is_logged_exactly_as_the_full_record_says() -> None:
    """GOOD commands are formatted without a dict (the --log-commands fast path); every
    key, its order and its value are what ``io_record`` gives, for each data phase."""
    from sgscript.report import io_record

    out = _io.StringIO()
    reporter = JsonlReporter(out, log_commands=True)
    reporter.step_started(None, "1.2")
    write = good_io(lba=7, duration=123.456789e-6)
    write.data_out, write.buffer = b"x" * 512, None
    none = Io(command.TestUnitReady())
    none.submitted_at, none.completed_at, none.done = 1.0, 1.5, True
    short = good_io(duration=1e-7)
    short.resid = 100
    numbered = _NumberedIo(command.Read10(lba=3, transfer_length=1), index=41)
    numbered.submitted_at, numbered.completed_at, numbered.done = 1.0, 1.25, True
    ios = [good_io(), write, none, short, numbered]
    for io in ios:
        reporter.command_done("1.2", io, None)
    got = [json.loads(line) for line in out.getvalue().splitlines()][1:]  # after the header
    want = [
        {"type": "command", "step": "1.2", "seq": n, **io_record(io, getattr(io, "index", None))}
        for n, io in enumerate(ios)
    ]
    assert got[-1]["index"] == 41 and got[-1]["seq"] == 4
    assert got == want
    assert [list(g) for g in got] == [list(w) for w in want]  # the same key order


def test_jsonl_failed_commands_of_a_repeat_are_bounded(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    reporter = JsonlReporter(log, header=run_header(seed=1, specs=[]))
    drive(reporter, repeat=300, bad=tuple(range(300)))
    reporter.close()
    step = [r for r in lines_of(log) if r["type"] == "step"][-1]
    assert len(step["commands"]) == MAX_FAILED_COMMANDS
    assert step["commands_not_logged"] == 300 - MAX_FAILED_COMMANDS


def test_jsonl_a_run_cut_short_keeps_every_line_up_to_the_cut(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    reporter = JsonlReporter(log, header=run_header(seed=99, specs=["x.yaml"]))
    drive(reporter, finish=False)  # the process dies here: no scenario record, no close()
    records = lines_of(log)  # read by another handle, as after a crash
    assert [r["type"] for r in records] == ["run", "scenario_start", "step", "step"]
    assert records[-1]["status"] == "failed"
    reporter.close()  # the interrupted run's finally: says so
    end = lines_of(log)[-1]
    assert end["type"] == "end" and end["interrupted"] is True and end["scenarios"] == 0


def test_jsonl_to_a_stream() -> None:
    out = _io.StringIO()
    reporter = JsonlReporter(out, header={"type": "run", "seed": 3})
    drive(reporter)
    reporter.close()
    assert all(json.loads(line) for line in out.getvalue().splitlines())
    assert not out.closed  # not ours to close


# -------------------------------------------------------------------- JUnit


def test_junit_suite_per_scenario_case_per_step(tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    reporter = JunitReporter(out)
    drive(reporter, repeat=10, bad=(3, 4))
    reporter.close()
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "reserve_release"
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("skipped"),
        suite.get("errors"),
    ) == ("3", "2", "0", "0")
    assert float(suite.get("time", "-1")) >= 0 and suite.get("timestamp")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert (
        props["seed"] == "1234"
        and props["device.b"] == "/dev/sg4"
        and props["interrupted"] == "false"
    )
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["a reserves", "b is refused", "b reads randomly"]
    assert {c.get("classname") for c in cases} == {"reserve_release"}
    failure = cases[2].find("failure")
    assert failure is not None
    assert "Logical block address out of range" in failure.get("message", "")
    assert "2 of 10 command(s) failed" in (failure.text or "")
    assert "28 00 00 00 00 03 00 00 01 00" in (failure.text or "")  # the CDB of command #3
    assert cases[0].find("failure") is None
    assert root.get("tests") == "3" and root.get("failures") == "2"


def test_junit_skipped_step(tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    reporter = JunitReporter(out)
    reporter.scenario_started(Scenario(), Plan())
    reporter.step_started(Step("vendor opcode"), "0")
    skipped = StepResult("vendor opcode", "0", "a", "Read10", "skipped", 1, 0, None)
    reporter.step_finished(skipped)
    reporter.scenario_finished(
        ScenarioResult("reserve_release", "x.yaml", 1, [skipped], "passed", 0.01)
    )
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None and suite.get("skipped") == "1" and suite.get("failures") == "0"
    case = suite.find("testcase")
    assert case is not None and case.find("skipped") is not None


def test_junit_written_when_interrupted(tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    reporter = JunitReporter(out)
    drive(reporter, finish=False)  # Ctrl-C in the third step: no scenario_finished
    reporter.close()
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None
    names = [c.get("name") for c in suite.findall("testcase")]
    assert names == ["a reserves", "b is refused", "(interrupted)"]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    assert not list(tmp_path.glob("*.tmp*"))  # written by rename, nothing left behind


# ------------------------------------------------------------------ console


def test_console_plain_lines_then_summary() -> None:
    out = _io.StringIO()
    reporter = ConsoleReporter(out)  # a StringIO is not a terminal
    drive(reporter, repeat=50, bad=(7,))
    reporter.close()
    text = out.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert lines[0] == "reserve_release  (specs/reserve_release.yaml)  seed 1234"
    assert lines[1] == "  devices: a=sim:lu0, b=/dev/sg4"  # the --device binding shows
    assert lines[2].startswith("  PASS [1/3] a reserves  (a: Read10)")
    assert lines[3].startswith(
        "  FAIL [2/3] b is refused  (b: Read10), 1 failed: expected status GOOD"
    )
    assert lines[4].startswith("  FAIL [3/3] b reads randomly  (b: Read10)  50 commands, 1 failed")
    assert "reserve_release: FAILED  3 steps, 2 failed, 52 commands in 250ms, seed 1234" in text
    # the per-step table: counts and, for the repeat, min / p50 / p99 / max
    row = next(line for line in lines if "FAIL  b reads randomly" in line)
    assert "50" in row and "10us / 250us / 490us / 500us" in row
    # the failure details: what was expected, what came back, the CDB
    assert "FAIL step 1: b is refused [b: Read10]  (x.yaml:9:5)" in text
    assert "command #0: expected status GOOD, got CHECK CONDITION: Illegal Request" in text
    assert "cdb:        28 00 00 00 00 10 00 00 01 00" in text


def test_console_live_line_on_a_terminal_is_throttled() -> None:
    out = _io.StringIO()
    reporter = ConsoleReporter(out, live=True, colour=False, interval=3600)
    drive(reporter, repeat=5000, bad=())
    text = out.getvalue()
    redraws = text.count("\r\x1b[K")
    assert "cmd/s" in text and "step 2/3" in text
    assert redraws < 20  # not one per command: at most one per interval and one per step
    # the failed step was printed above the progress line, and the summary after it
    assert "  FAIL [2/3] b is refused" in text and "reserve_release: FAILED" in text


def test_console_live_line_shows_progress_and_failures() -> None:
    out = _io.StringIO()
    reporter = ConsoleReporter(out, live=True, colour=False, interval=0)
    drive(reporter, repeat=3, bad=())
    drawn = [part for part in out.getvalue().split("\r\x1b[K") if "cmd/s" in part]
    assert any("step 2/3" in d and "1 failed" in d for d in drawn)
    assert any("> b reads randomly" in d for d in drawn)


def test_console_total_over_several_scenarios() -> None:
    out = _io.StringIO()
    reporter = ConsoleReporter(out)
    drive(reporter)
    drive(reporter, bad=())
    reporter.close()
    assert "2 scenarios: 2 failed" in out.getvalue()


# ---------------------------------------------------------------- shared bits


def test_reporters_fan_out_and_close_all_even_when_one_fails(tmp_path: Path) -> None:
    class Broken:
        def close(self) -> None:
            raise OSError("disk full")

    out = tmp_path / "j.xml"
    log = tmp_path / "l.jsonl"
    both = Reporters([Broken(), JunitReporter(out), JsonlReporter(log), None])
    drive(both)
    try:
        both.close()
    except OSError as exc:
        assert "disk full" in str(exc)
    else:
        raise AssertionError("the broken reporter's error was swallowed")
    assert ET.parse(out).getroot().get("tests") == "3"
    assert lines_of(log)[-1]["type"] == "end"


def test_failure_lines_do_not_repeat_the_message() -> None:
    io = failed_io(5)
    text = "\n".join(failure_lines(failure_for(2, io)))
    assert text.count("Logical block address out of range") == 1
    assert "expected:" not in text  # already in the message
    assert "sense data: 70 00 05" in text


def test_format_seconds() -> None:
    assert [format_seconds(s) for s in (42e-6, 1.234e-3, 0.0456, 0.3, 2.5, None)] == [
        "42us",
        "1.23ms",
        "45.6ms",
        "300ms",
        "2.50s",
        "-",
    ]

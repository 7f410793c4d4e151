"""``sgscript run`` and ``sgscript plan`` end to end on ``sim:``: exit codes, output, logs.

Exit codes are what CI reads (the README's "Scenarios"): 0 every expectation
held, 1 one failed, 2 the spec or the command line is wrong (nothing sent), 3 a
device could not be opened or its transport broke, 130 interrupted with the
results so far written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sgscript import sim
from sgscript.cli import main


@pytest.fixture(autouse=True)
def _fresh_sim() -> None:
    sim.forget_targets()


PASSING = """\
sgscript: 1
name: smoke
devices:
  a: {target: "sim:cli_smoke", options: {blocks: 4096}}
steps:
  - name: the unit is ready
    device: a
    command: TestUnitReady
  - name: random reads
    device: a
    command: {Read10: {lba: {random: [0, 4095]}, transfer_length: 1}}
    repeat: 200
    queue_depth: 8
  - name: one block past the end is out of range
    device: a
    command: {Read16: {lba: 4096, transfer_length: 1}}
    expect: {sense: {key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0x00}}
"""

# The device answers GOOD; the spec says it must not: exit 1 and say why.
WRONG = """\
sgscript: 1
name: wrong
devices:
  a: "sim:cli_wrong"
steps:
  - name: the unit is ready
    device: a
    command: TestUnitReady
  - name: a read that should have been refused
    device: a
    command: {Read10: {lba: 0, transfer_length: 1}}
    expect: {status: RESERVATION_CONFLICT}
"""

MALFORMED = """\
sgscript: 1
name: malformed
devices:
  a: "sim:cli_bad"
steps:
  - name: no such command
    device: a
    command: TestUnitRaedy
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ exit codes


def test_exit_0_when_every_expectation_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "run", write(tmp_path, "smoke.yaml", PASSING), "--seed", "7")
    assert code == 0, out + err
    assert out.startswith("seed 7 (--seed 7 replays this run)")
    assert "smoke: PASSED  3 steps, 202 commands" in out
    assert "random reads" in out and " / " in out  # the repeat's latency min / p50 / p99 / max


def test_exit_1_when_an_expectation_fails_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "run", write(tmp_path, "wrong.yaml", WRONG))
    assert code == 1
    assert "wrong: FAILED" in out
    assert "FAIL step 2: a read that should have been refused [a: Read10]" in out
    assert "RESERVATION" in out and "GOOD" in out
    assert "28 00 00 00 00 00 00 00 01 00" in out  # the CDB that was sent


def test_exit_2_for_a_malformed_spec_with_file_line_col(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "smoke.yaml", PASSING)
    bad = write(tmp_path, "bad.yaml", MALFORMED)
    code, out, err = run(capsys, "run", good, bad)
    assert code == 2
    assert out == ""  # nothing ran, not even the good spec
    assert err.startswith(f"{bad}:8:14: ") and "TestUnitReady" in err  # did you mean
    assert "Traceback" not in err
    assert not sim.targets()  # no device was opened


def test_exit_2_for_a_device_no_spec_declares(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "run", write(tmp_path, "smoke.yaml", PASSING), "--device", "z=/dev/sg3"
    )
    assert code == 2 and out == ""
    assert "no spec declares a device 'z'" in err


def test_exit_2_for_a_report_file_that_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path, "smoke.yaml", PASSING)
    code, out, err = run(capsys, "run", spec, "--junit", str(tmp_path / "no" / "junit.xml"))
    assert (code, out) == (2, "")
    assert (
        err.strip()
        == f"sgscript: error: cannot write {tmp_path}/no/junit.xml: No such file or directory"
    )
    assert not sim.targets()  # found out before anything was sent


def test_exit_3_when_a_device_cannot_be_opened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path, "smoke.yaml", PASSING)
    junit = tmp_path / "junit.xml"
    argv = ["run", spec, "--device", "a=/dev/sg-nonexistent-99", "--junit", str(junit)]
    code, out, err = run(capsys, *argv)
    assert code == 3
    assert "/dev/sg-nonexistent-99" in err and "Traceback" not in err
    assert "smoke: ERROR  device a (/dev/sg-nonexistent-99): cannot open" in out
    error = ET.parse(junit).getroot().find("testsuite/testcase/error")
    assert error is not None and "/dev/sg-nonexistent-99" in error.get("message", "")


def test_exit_3_when_the_transport_breaks_and_the_other_specs_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = write(
        tmp_path,
        "gone.yaml",
        """\
sgscript: 1
name: gone
devices:
  a: {target: "sim:cli_gone", options: {gone_after: 5}}
steps:
  - name: reads until the disk drops off
    device: a
    command: {Read10: {lba: 0, transfer_length: 1}}
    repeat: 20
""",
    )
    junit = tmp_path / "junit.xml"
    code, out, _ = run(
        capsys, "run", gone, write(tmp_path, "smoke.yaml", PASSING), "--junit", str(junit)
    )
    assert code == 3
    assert "gone: ERROR" in out and "No such device" in out
    assert "smoke: PASSED" in out  # one broken drive does not stop the others
    suites = {s.get("name"): s for s in ET.parse(junit).getroot().findall("testsuite")}
    assert suites["gone"].get("errors") == "1" and suites["smoke"].get("failures") == "0"


@pytest.mark.slow
def test_exit_130_when_interrupted_with_results_written(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "long.yaml",
        """\
sgscript: 1
name: long
devices:
  a: {target: "sim:cli_long", options: {latency: 2ms}}
steps:
  - name: quick
    device: a
    command: TestUnitReady
  - name: a long soak
    device: a
    command: TestUnitReady
    repeat: 100000
""",
    )
    log, junit = tmp_path / "run.jsonl", tmp_path / "junit.xml"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sgscript", "run", spec, "--log", str(log), "--junit", str(junit)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # until the first step is on record
        if log.exists() and '"type":"step"' in log.read_text():
            break
        time.sleep(0.02)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records[0]["type"] == "run"
    assert next(r["name"] for r in records if r["type"] == "step") == "quick"
    assert records[-1]["type"] == "end" and records[-1]["interrupted"] is True
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (
        suite is not None
        and suite.find("properties/property[@name='interrupted']").get("value") == "true"
    )
    assert "quick" in [c.get("name") for c in suite.findall("testcase")]


# ------------------------------------------------------------------ reports


def test_log_and_junit_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write(tmp_path, "smoke.yaml", PASSING)
    log, junit = tmp_path / "run.jsonl", tmp_path / "junit.xml"
    code, _, _ = run(capsys, "run", spec, "--seed", "11", "--log", str(log), "--junit", str(junit))
    assert code == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert (
        records[0]["type"] == "run" and records[0]["seed"] == 11 and records[0]["specs"] == [spec]
    )
    steps = [r for r in records if r["type"] == "step"]
    assert [s["count"] for s in steps] == [1, 200, 1]
    assert len(steps[0]["commands"]) == 1 and steps[1]["commands"] == []  # a repeat: aggregate only
    assert [r["type"] for r in records[-2:]] == ["scenario", "end"]
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("3", "0")


def test_the_seed_replays_the_random_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path, "smoke.yaml", PASSING)

    def cdbs(log: Path) -> list[str]:
        assert run(capsys, "run", spec, "--seed", "42", "--log", str(log), "--log-commands")[0] == 0
        sim.forget_targets()
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        return sorted(
            r["cdb"] for r in lines if r["type"] == "command" and r["command"] == "Read10"
        )

    first, second = cdbs(tmp_path / "1.jsonl"), cdbs(tmp_path / "2.jsonl")
    assert len(first) == 200 and first == second
    assert len(set(first)) > 100  # random, not one LBA


# ------------------------------------------------------------------ --list, -k, plan


def test_list_shows_the_steps_and_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "run", write(tmp_path, "smoke.yaml", PASSING), "--list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("smoke  (")
    assert lines[2].split() == ["1", "the", "unit", "is", "ready", "a", "TestUnitReady"]
    assert "Read10 x200" in lines[3]
    assert not sim.targets()


def test_k_selects_steps_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write(tmp_path, "smoke.yaml", PASSING)
    code, out, _ = run(capsys, "run", spec, "-k", "random or ready")
    assert code == 0
    assert "the unit is ready" in out and "random reads" in out
    assert "past the end" not in out


def test_k_that_selects_nothing_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "run", write(tmp_path, "smoke.yaml", PASSING), "-k", "nosuchstep")
    assert code == 2 and out == ""
    assert "selects no step" in err


def test_plan_prints_the_compiled_stream_without_a_device(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "plan", write(tmp_path, "smoke.yaml", PASSING), "--seed", "5")
    assert code == 0
    assert "seed 5" in out.splitlines()[0]
    tur = next(line for line in out.splitlines() if line.lstrip().startswith("1 "))
    assert "00 00 00 00 00 00" in tur
    reads = next(line for line in out.splitlines() if line.lstrip().startswith("2 "))
    assert "28 00" in reads and "in 512" in reads and "x200" in reads
    assert not sim.targets()


# ------------------------------------------------------------------ --var

SOAK = str(Path(__file__).resolve().parents[1] / "specs" / "soak.yaml")


def test_var_overrides_a_declared_var(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "soak.jsonl"
    code, out, err = run(capsys, "run", SOAK, "--var", "commands=100", "--log", str(log))
    assert code == 0, out + err
    steps = [json.loads(line) for line in log.read_text().splitlines()]
    counts = {s["name"]: s["count"] for s in steps if s["type"] == "step"}
    # repeat: "${commands * 6 // 10}" and so on: 60 + 30 + 10 instead of 20,000
    assert (counts["soak reads"], counts["soak writes"]) == (60, 30)


@pytest.mark.parametrize("command", ["run", "plan", "validate"])
def test_var_naming_no_declared_var_is_a_usage_error(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, command, SOAK, "--var", "comands=100")
    assert code == 2
    assert err.strip().splitlines() == [
        "sgscript: error: --var comands=...: no spec declares a variable 'comands' "
        "(area, base, commands)"
    ]
    assert not sim.targets()  # nothing was opened


# ------------------------------------------------------------------ signals

LONG_WITH_FINALLY = """\
sgscript: 1
name: soak
devices:
  a: {target: "sim:cli_soak", options: {latency: 1ms}}
steps:
  - name: quick
    device: a
    command: TestUnitReady
  - name: a long soak
    device: a
    command: TestUnitReady
    repeat: 10000000
  - name: never reached
    device: a
    command: TestUnitReady
finally:
  - name: cleanup
    device: a
    command: TestUnitReady
    repeat: %d
"""


def _start(tmp_path: Path, cleanup_repeat: int = 1) -> tuple[subprocess.Popen[str], Path, Path]:
    spec = write(tmp_path, "soak.yaml", LONG_WITH_FINALLY % cleanup_repeat)
    log, junit = tmp_path / "run.jsonl", tmp_path / "junit.xml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sgscript", "run", spec, "--log", str(log), "--junit", str(junit)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # a child of a non-interactive shell may inherit an ignored SIGINT: start from the default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    _wait_for(log, '"name":"quick"')
    return proc, log, junit


def _wait_for(log: Path, text: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text():
            return
        time.sleep(0.02)
    raise AssertionError(f"{text} never appeared in {log}")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_a_stop_signal_runs_finally_and_completes_both_reports(
    tmp_path: Path, signum: int, code: int
) -> None:
    proc, log, junit = _start(tmp_path)
    time.sleep(0.3)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    name = signal.Signals(signum).name
    assert proc.returncode == code, out + err  # before: SIGTERM/SIGHUP killed it outright
    assert "Traceback" not in err
    records = [json.loads(line) for line in log.read_text().splitlines()]
    steps = {r["name"]: r for r in records if r["type"] == "step"}
    assert steps["cleanup"]["status"] == "passed" and steps["cleanup"]["final"]
    assert steps["a long soak"]["status"] == "interrupted"
    scenario = next(r for r in records if r["type"] == "scenario")
    assert (scenario["status"], scenario["signal"]) == ("interrupted", name)
    assert {s["name"]: s["status"] for s in scenario["steps"]}["never reached"] == "interrupted"
    end = records[-1]
    assert end["type"] == "end" and end["interrupted"] is True and end["signal"] == name
    root = ET.parse(junit).getroot()
    assert int(root.get("errors")) >= 1  # an interrupted run never reads as passed
    suite = root.find("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["(interrupted)"].find("error").get("message").startswith(f"interrupted by {name}")
    assert cases["cleanup"].find("failure") is None and cases["cleanup"].find("skipped") is None
    assert "interrupted" in cases["never reached"].find("skipped").get("message")


@pytest.mark.slow
def test_a_second_signal_skips_what_is_left_of_finally(tmp_path: Path) -> None:
    proc, log, junit = _start(tmp_path, cleanup_repeat=10_000_000)
    proc.send_signal(signal.SIGTERM)
    _wait_for(log, '"name":"a long soak"')  # the soak's record: finally: is running
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, out + err
    records = [json.loads(line) for line in log.read_text().splitlines()]
    cleanup = next(r for r in records if r["type"] == "step" and r["name"] == "cleanup")
    assert cleanup["status"] == "interrupted" and 0 < cleanup["count"] < 10_000_000
    assert records[-1]["type"] == "end" and records[-1]["signal"] == "SIGTERM"
    assert ET.parse(junit).getroot().get("errors") != "0"


@pytest.mark.slow
def test_junit_of_a_killed_run_reads_as_an_error(tmp_path: Path) -> None:
    proc, _, junit = _start(tmp_path)
    proc.kill()  # SIGKILL: nothing can run; what is on disk must not read as passed
    proc.communicate(timeout=60)
    root = ET.parse(junit).getroot()  # whole: written atomically
    assert root.get("errors") != "0"
    suite = root.find("testsuite")
    names = [c.get("name") for c in suite.findall("testcase")]
    assert "(interrupted)" in names


def test_junit_placeholder_reads_as_an_error(tmp_path: Path) -> None:
    from sgscript.report.junit import JunitReporter

    path = tmp_path / "junit.xml"
    JunitReporter(path).write()  # what the CLI writes before the first scenario
    root = ET.parse(path).getroot()
    # before: <testsuites tests="0" failures="0" errors="0"/>, green on many dashboards
    assert (root.get("tests"), root.get("errors")) == ("1", "1")
    assert "not finished" in root.find("testsuite/testcase/error").get("message")


def test_a_lost_device_under_expect_any_exits_3_with_an_error_in_junit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(
        tmp_path,
        "gone.yaml",
        """\
sgscript: 1
name: gone
devices:
  a: {target: "sim:cli_gone", options: {gone_after: 50}}
steps:
  - {name: soak, device: a, command: TestUnitReady, repeat: 1000, expect: any}
finally:
  - {name: cleanup, device: a, command: TestUnitReady, expect: any}
""",
    )
    log, junit = tmp_path / "run.jsonl", tmp_path / "junit.xml"
    code, out, _ = run(capsys, "run", spec, "--log", str(log), "--junit", str(junit))
    assert code == 3, out  # before: 1,000 commands "passed", exit 0
    steps = {
        r["name"]: r for r in map(json.loads, log.read_text().splitlines()) if r["type"] == "step"
    }
    assert steps["soak"]["status"] == "error" and steps["cleanup"]["status"] == "failed"
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert cases["soak"].find("error") is not None
    assert cases["cleanup"].find("failure") is not None

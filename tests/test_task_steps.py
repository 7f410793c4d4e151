"""``task:`` steps: task management functions in a scenario, on ``sim:`` and refused on sg.

The spec library's ``specs/task_management.yaml`` runs ABORT TASK, CLEAR TASK SET,
LOGICAL UNIT RESET and I_T NEXUS RESET end to end (``test_specs.py`` holds it passing);
here: what the records say, what is refused before anything is sent, and why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sgscript import sim
from sgscript.cli import main
from sgscript.runner import run_scenario
from sgscript.runner.safety import DestructiveRefused, check_plan
from sgscript.scenario import SpecError
from sgscript.scenario.load import load_scenario
from sgscript.scenario.plan import Plan

ROOT = Path(__file__).resolve().parent.parent

ABORT = """\
sgscript: 1
devices:
  a: {target: "sim:tmf_steps", initiator: host-a, options: {latency.Read10: 10s}}
steps:
  - {command: TestUnitReady, expect: any}
  - parallel:
      - - {name: slow read, command: {Read10: {transfer_length: 1}}, expect: EXPECT}
      - - {sleep: 10ms}
        - {task: abort_task, of: slow read}
"""


@pytest.fixture(autouse=True)
def _fresh_sim() -> None:
    sim.forget_targets()


def spec(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("expect", "status"),
    [("{fail: {error: TaskAborted}}", "passed"), ("good", "failed")],
)
def test_abort_task_in_a_parallel_branch_ends_the_other_branch_s_command(
    tmp_path: Path, expect: str, status: str
) -> None:
    result = run_scenario(load_scenario(spec(tmp_path, ABORT.replace("EXPECT", expect))), seed=1)
    steps = {s.path: s for s in result.steps}
    read, task = steps["2.1.1"], steps["2.2.2"]
    assert read.status == status
    assert read.latency is not None and read.latency.max < 5  # not the 10 s it was held for
    assert (task.status, task.command) == ("passed", "task abort_task")
    assert task.message == "ABORT TASK: 1 command of this nexus aborted"
    if status == "failed":  # what a reader of the failure learns: who ended it, and how
        assert read.failures[0].got.startswith("aborted by ABORT TASK from this nexus: no status")


def test_the_log_says_how_each_command_was_ended(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "log.jsonl"
    spec_file = ROOT / "specs" / "task_management.yaml"
    assert main(["run", str(spec_file), "--log", str(log), "--log-commands"]) == 0
    capsys.readouterr()
    records = [json.loads(line) for line in log.read_text().splitlines()]
    commands = {r["step"]: r for r in records if r["type"] == "command"}
    aborted, cleared = commands["3.1.1"], commands["5.1.1"]
    assert aborted["status"] == "aborted" and "timed_out" not in aborted
    assert aborted["ended"].startswith("aborted by ABORT TASK from this nexus")
    assert (cleared["status"], cleared["timed_out"], cleared["data_in"]) == ("timeout", True, 0)
    assert cleared["ended"] == (
        "the simulated unit had aborted it (CLEAR TASK SET from nexus host-a) without a"
        " status, as SAM-5 has it with TAS=0"
    )
    tasks = {r["path"]: r for r in records if r["type"] == "step" and r["kind"] == "task"}
    assert tasks["5.2.2"]["message"] == (
        "CLEAR TASK SET: 0 commands of this nexus aborted, 1 command of other nexuses"
        " (no status, TAS=0)"
    )


SG = """\
sgscript: 1
devices:
  a: {target: /dev/sg9}
steps:
  - parallel:
      - {name: slow read, command: {Read10: {transfer_length: 1}}}
      - {task: abort_task, of: slow read}
  - {task: lun_reset}
"""


def test_abort_task_through_the_sg_driver_is_refused_before_anything_opens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = spec(tmp_path, SG)
    refusal = (
        f"{path}:7:9: step 1.2.1: ABORT TASK cannot be sent through the Linux sg driver:"
        " user space gets only SG_SCSI_RESET (logical unit, target, bus or host reset);"
        " use task: lun_reset or target_reset, or a sim: target"
    )
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().out.splitlines() == [refusal]
    assert main(["run", str(path), "--allow-destructive"]) == 2  # /dev/sg9 is never opened
    assert refusal in capsys.readouterr().err


def test_a_task_step_changes_a_real_device_only_with_permission(tmp_path: Path) -> None:
    plan = Plan(load_scenario(spec(tmp_path, SG)), seed=0)
    with pytest.raises(DestructiveRefused) as refused:
        check_plan(plan, allow_destructive=False, holders=False)
    assert "task lun_reset is a task management function" in str(refused.value)
    assert "task abort_task" in str(refused.value)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            "{task: abort_task}",
            "4:10: steps[1].task: abort_task needs of: the step beside it",
        ),
        (
            "{task: abort_task, of: ready}",
            "4:26: steps[1].of: step 1 (ready) does not run beside it",
        ),
        ("{task: lun_reset, of: ready}", "4:21: steps[1].of: of is for abort_task"),
        ("{task: abort_tusk}", "4:10: steps[1].task: expected one of abort_task, "),
    ],
    ids=["no-of", "not-beside", "of-on-reset", "unknown-function"],
)
def test_a_task_step_that_cannot_mean_anything_is_a_one_line_error(
    tmp_path: Path, step: str, message: str
) -> None:
    text = f'sgscript: 1\ndevices: {{a: "sim:x"}}\nsteps: [{{name: ready, command: TestUnitReady}},\n  {step}]\n'
    with pytest.raises(SpecError) as error:
        load_scenario(spec(tmp_path, text))
    lines = str(error.value).splitlines()
    assert len(lines) == 1 and f"spec.yaml:{message}" in lines[0], lines


def test_a_timed_out_step_says_how_its_command_was_ended(tmp_path: Path) -> None:
    text = (
        ABORT.split("  - parallel:")[0]
        + "  - {command: {Read10: {transfer_length: 1}}, timeout: 50ms}\n"
    )
    result = run_scenario(load_scenario(spec(tmp_path, text)), seed=1)
    (detail,) = result.steps[1].failures
    assert detail.got == (
        "timed out after 0.05 s; the simulator aborted it: its latency (10 s) outlasted its timeout"
    )

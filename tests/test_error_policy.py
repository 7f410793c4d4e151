"""``on_error:``: what a run does with BUSY, UNIT ATTENTION, timeouts... that ``expect:``
did not accept — retried, ignored, logged, failed or stopping — applied and reported."""

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
    return run_scenario(load_scenario(str(path)), seed=2)


def test_busy_is_retried_with_backoff_until_the_command_goes_through(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """\
devices: {a: "sim:lu_busy?busy_every=3"}
on_error: {busy: retry 3 every 1ms}
steps:
  - {name: reads, command: {Read10: {lba: "${index}", transfer_length: 1}}, repeat: 30}
  - {name: queued, command: TestUnitReady, repeat: 30, queue_depth: 4}
""",
    )
    reads, queued = result.steps
    assert reads.status == "passed", reads.message
    assert reads.count > 30 and "busy retried" in reads.message  # 30 reads, and the retries
    assert queued.status == "passed" and queued.count > 30


def test_the_nearest_table_wins_and_exhausted_retries_fail(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """\
devices: {a: "sim:lu_busy2?busy_every=1"}
on_failure: continue
on_error: {busy: ignore}
steps:
  - {name: ignored, command: TestUnitReady, repeat: 5}
  - name: group
    on_error: {busy: log}
    group:
      - {name: logged, command: TestUnitReady, repeat: 2}
      - {name: retried, command: TestUnitReady, on_error: {busy: retry 2}}
""",
    )
    steps = {s.name: s for s in result.steps}
    assert steps["ignored"].status == "passed"
    assert "5 busy ignored" in steps["ignored"].message
    assert (
        steps["logged"].status == "passed"
        and "logged command 1: expected GOOD" in steps["logged"].message
    )
    retried = steps["retried"]
    assert retried.status == "failed" and retried.count == 3
    assert "(after 2 retries)" in retried.failures[0].message


def test_stop_ends_the_scenario_whatever_on_failure_says(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """\
devices: {a: "sim:lu_stop?busy_every=2"}
on_failure: continue
steps:
  - {name: busy stops, command: TestUnitReady, repeat: 4, on_error: {busy: stop}}
  - {name: never, command: TestUnitReady}
""",
    )
    first, never = result.steps
    assert first.status == "failed" and never.status == "skipped"
    assert "on_error busy: stop" in result.message


def test_an_expected_answer_is_never_handled_by_on_error(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """\
devices: {a: "sim:lu_ua"}
steps:
  - {command: {ModeSelect10: {}}, data: {ModeSelect10: {mode_pages: [{page_name: caching, wce: 0}]}}}
  - {command: {Inquiry: {allocation_length: 36}}}
""",
    )
    assert result.status == "passed"
    second = run(
        tmp_path,
        """\
devices: {a: "sim:lu_ua2", b: {target: "sim:lu_ua2", initiator: host-b}}
on_error: {unit_attention: retry 1}
steps:
  - {device: a, command: ModeSelect10, data: {ModeSelect10: {mode_pages: [{page_name: caching, wce: 0}]}}}
  - {device: b, command: TestUnitReady, expect: {sense: {key: UNIT_ATTENTION, asc: 0x2A, ascq: 1}}}
""",
    )
    assert second.status == "passed"  # expect: accepted it: not retried away
    assert second.steps[1].count == 1


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("{busy: retry}", "expected ignore, log, fail, stop, retry N"),
        ("{busy: retry 3 every soon}", "expected ignore, log, fail, stop, retry N"),
        ("{bussy: ignore}", "did you mean 'busy'"),
        ("{busy: {retry: 2, backoff: 1 parsec}}", "duration"),
    ],
)
def test_bad_tables_are_found_when_loading(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        f'sgscript: 1\ndevices: {{a: "sim:lu0"}}\non_error: {table}\nsteps: [{{command: TestUnitReady}}]\n'
    )
    with pytest.raises(SpecError) as info:
        load_scenario(str(path))
    assert message in str(info.value)


def test_the_run_sets_a_policy_under_the_specs_own_and_reproduce_repeats_it(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    spec = tmp_path / "s.yaml"
    spec.write_text(
        'sgscript: 1\ndevices: {a: "sim:lu_cli?busy_every=2"}\n'
        "steps:\n  - {command: TestUnitReady, repeat: 6}\n"
        "  - {command: TestUnitReady, repeat: 6, on_error: {busy: fail}}\n"
    )

    def sgscript(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sgscript", "run", str(spec), "--seed", "4", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    out = sgscript("--on-error", "busy=retry 2 every 1ms")
    assert out.returncode == 1, out.stdout  # step 2's own table says fail
    assert "6 busy retried" in out.stdout
    assert "--on-error 'busy=retry 2 every 0.001s'" in out.stdout  # on the reproduce line
    bad = sgscript("--on-error", "bussy=ignore")
    assert bad.returncode == 2 and "unknown event 'bussy'" in bad.stderr

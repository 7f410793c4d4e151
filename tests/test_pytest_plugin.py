"""The pytest plugin as users run it: ``pytest specs/``, ``pytest -n 2 specs/``."""

from __future__ import annotations

import re

import pytest

pytest_plugins = ["pytester"]

PASSING = """\
sgscript: 1
name: {name}
devices:
  a: "sim:{name}"
steps:
  - name: the unit is ready
    device: a
    command: TestUnitReady
  - name: reads
    device: a
    command: {{Read10: {{lba: {{random: [0, 100]}}, transfer_length: 1}}}}
    repeat: 50
"""

FAILING = """\
sgscript: 1
name: refused
devices:
  a: "sim:refused"
steps:
  - name: a read that should have been refused
    device: a
    command: {Read10: {lba: 0, transfer_length: 1}}
    expect: {status: RESERVATION_CONFLICT}
"""

MALFORMED = """\
sgscript: 1
name: malformed
devices:
  a: "sim:malformed"
steps:
  - name: no such command
    device: a
    command: TestUnitRaedy
"""


def test_a_passing_spec_is_one_item_named_after_its_scenario(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", smoke=PASSING.format(name="smoke"))
    pytester.makefile(".yaml", other="not: a spec\nsgscript_like: no\n")  # other YAML: ignored
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*smoke.yaml::smoke PASSED*", "*sgscript: 1 scenario(s), seed *"])


def test_a_spec_that_does_not_apply_is_skipped_saying_why(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml",
        thick="""\
sgscript: 1
name: thick only
when: "not device.lbpme"
devices: {a: "sim:pt_thick"}
steps: [{command: TestUnitReady}]
""",
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*NOT APPLICABLE: when: not device.lbpme is false*"])


def test_a_failing_spec_shows_what_failed(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", refused=FAILING)
    pytester.makefile(".yaml", smoke=PASSING.format(name="smoke"))
    result = pytester.runpytest("--sgscript-seed", "3")
    result.assert_outcomes(passed=1, failed=1)  # a failing drive does not stop the others
    result.stdout.fnmatch_lines(
        [
            "*refused: FAILED*seed 3*",
            "*FAIL step 1: a read that should have been refused*",
            "*28 00 00 00 00 00 00 00 01 00*",
            "replay: --sgscript-seed 3",
        ]
    )
    assert "RESERVATION" in result.stdout.str()
    # the short summary names the step and what went wrong
    result.stdout.fnmatch_lines(
        ["FAILED refused.yaml::refused - step 1 (a read that should have been refused)*"]
    )
    assert "Traceback" not in result.stdout.str()


def test_a_malformed_spec_is_a_collection_error_with_file_line_col(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".yaml", malformed=MALFORMED)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*malformed.yaml:8:14: *TestUnitReady*"])


def test_device_binding_that_cannot_be_opened_fails_that_item(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", smoke=PASSING.format(name="smoke"))
    result = pytester.runpytest("--sgscript-device", "a=/dev/sg-nonexistent-99")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*/dev/sg-nonexistent-99*"])


def test_log_dir_gets_a_jsonl_per_scenario(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", smoke=PASSING.format(name="smoke"))
    result = pytester.runpytest("--sgscript-log", "logs")
    result.assert_outcomes(passed=1)
    (log,) = (pytester.path / "logs").glob("*.jsonl")
    lines = log.read_text().splitlines()
    assert '"type":"run"' in lines[0] and '"type":"end"' in lines[-1]


@pytest.mark.slow
def test_xdist_runs_specs_in_separate_workers_with_one_seed(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is in the test extra: pip install -e .[test]")
    pytester.makefile(".yaml", one=PASSING.format(name="one"), two=PASSING.format(name="two"))
    pytester.makefile(".yaml", refused=FAILING)
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    seed = re.search(r"sgscript: 3 scenario\(s\), seed (\d+)", out)
    assert seed is not None, out
    # the worker that ran the failing spec used the session's seed: the replay hint is right
    assert f"replay: --sgscript-seed {seed[1]}" in out


BREAKS = """\
sgscript: 1
name: breaks
devices:
  a: "sim:breaks?gone_after=5"
steps:
  - name: the drive goes away under these reads
    device: a
    command: {Read10: {lba: 0, transfer_length: 1}}
    repeat: 20
"""


def test_a_device_that_breaks_mid_run_fails_the_item(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", breaks=BREAKS)
    result = pytester.runpytest("-ra")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*No such device*", "*FAILED breaks.yaml::breaks*"])


PAST_THE_END = """\
sgscript: 1
name: moved
devices:
  a: {target: "sim:moved", options: {blocks: 100}}
vars: {lba: 1000}
steps:
  - name: read at the var's LBA
    device: a
    command: {Read16: {lba: "${lba}", transfer_length: 1}}
"""


def test_sgscript_var_overrides_a_declared_var(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", moved=PAST_THE_END, smoke=PASSING.format(name="smoke"))
    assert pytester.runpytest().ret == pytest.ExitCode.TESTS_FAILED  # LBA 1000 of 100 blocks
    result = pytester.runpytest("--sgscript-var", "lba=99")  # smoke declares no lba: unchanged
    result.assert_outcomes(passed=2)
    typo = pytester.runpytest("--sgscript-var", "lab=99")
    assert typo.ret == pytest.ExitCode.USAGE_ERROR
    typo.stderr.fnmatch_lines(["*--sgscript-var lab=...: no spec declares a variable 'lab' (lba)*"])


@pytest.mark.slow
def test_sigterm_stops_the_session_runs_finally_and_exits_143(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import os
    from pathlib import Path

    # The child is a real pytest process (a signal must reach it): it finds this checkout and
    # loads the plugin by module name, installed as an entry point or not.
    root = str(Path(__file__).resolve().parents[1])
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    )

    pytester.makepyfile(
        term_after_quick="""
import os, signal
from sgscript.verify import hookimpl

@hookimpl
def sgscript_step_finished(result):
    if result.name == "quick":
        os.kill(os.getpid(), signal.SIGTERM)
"""
    )
    pytester.makefile(
        ".yaml",
        soak="""\
sgscript: 1
name: soak
devices: {a: "sim:pytest_soak"}
steps:
  - {name: quick, device: a, command: TestUnitReady}
  - {name: long, device: a, command: TestUnitReady, repeat: 100000000}
finally:
  - {name: cleanup, device: a, command: TestUnitReady}
""",
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-p",
        "no:sgscript",  # the entry point, when installed: the module below is the same plugin
        "-p",
        "sgscript.pytest_plugin",
        "--sgscript-plugin",
        "term_after_quick",
        "--sgscript-log",
        "logs",
    )
    assert result.ret == 143  # before: killed by the signal (-15), finally: never ran
    (log,) = (pytester.path / "logs").iterdir()
    records = [json.loads(line) for line in log.read_text().splitlines()]
    steps = {r["name"]: r["status"] for r in records if r["type"] == "step"}
    assert steps == {"quick": "passed", "long": "interrupted", "cleanup": "passed"}
    assert records[-1]["type"] == "end" and records[-1]["signal"] == "SIGTERM"
